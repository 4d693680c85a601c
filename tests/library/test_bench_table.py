"""The bench table's city-day rows: the run's time told two ways, each adding up to the run's wall time."""

import re

import pytest

from p2p_energy.bench import CityDay
from p2p_energy.bench_table import _city_rows
from p2p_energy.output.timings import by_kind_of_work, phases
from tests.library.test_report import CITY_TIMINGS

WALL_S = 26.85


def city_day():
    return CityDay(
        scenario="city-day",
        households=1_000,
        slots=96,
        run_s=WALL_S,
        total_s=27.5,
        transactions=44_537,
        settled_trades=32_250,
        python_peak_rss_bytes=146 * 2**20,
        anvil_peak_rss_bytes=460 * 2**20,
        settle_gas_per_settled_trade=12_910,
        settlement_gas_per_settled_trade=25_140,
        phases=phases(WALL_S, CITY_TIMINGS),
        work=by_kind_of_work(WALL_S, CITY_TIMINGS),
        receipts_s=CITY_TIMINGS["receipts"],
    )


def seconds_listed(text):
    """The numbers of "name 1.2, other name 3.4 (of which receipts 5.6), ..." outside brackets."""
    return [float(n) for n in re.findall(r"(?<![\d.])(\d+\.\d)(?![\d.])", re.sub(r"\([^)]*\)", "", text))]


@pytest.mark.parametrize("label", ["the run's time by phase, s", "the same time by kind of work, s"])
def test_each_split_of_the_city_days_time_adds_up_to_the_run(label):
    (row,) = [row for row in _city_rows(city_day()) if row[0] == f"city-day: {label}"]
    assert sum(seconds_listed(row[2])) == pytest.approx(WALL_S, abs=0.3)


def test_receipts_are_named_as_part_of_mining_and_waiting():
    (row,) = [row for row in _city_rows(city_day()) if "by kind of work" in row[0]]
    assert "mining and waiting 13.1 (of which receipts 5.4)" in row[2]
