"""The bench table: the city-day rows (time told two ways, each adding up to the run's wall time; gas per
settled trade before and after the redesign) and the gas rows of a report."""

import re
from decimal import Decimal

import pytest

from p2p_energy.bench import CityDay
from p2p_energy.bench_city import CITY_DAY_GAS_BEFORE, CITY_DAY_GAS_BEFORE_TOTAL, gas_steps, qtum_fee_per_kwh
from p2p_energy.bench_grid import CityGrid, grid_rows
from p2p_energy.bench_table import _before_after_rows, _city_rows, _settlement
from p2p_energy.gas import ERC20_TRANSFER_REFERENCE, BatchFigure, GasReport
from p2p_energy.output.timings import by_kind_of_work, phases
from tests.library.test_report import CITY_TIMINGS

WALL_S = 26.85
SETTLED = 32_250
#: Gas of a made-up city-day run per operation (not a measurement: the table's arithmetic is tested).
GAS = {
    "deploy": 4_900_000,
    "mint": 60_000,
    "approve": 46_000,
    "registerMeters": 30_000_000,
    "depositFor": 26_000_000,
    "matchOrders": 700_000_000,
    "settleLots": 290_000_000,
    "refundLots": 3_000_000,
    "withdraw": 40_000_000,
}


def city_day():
    return CityDay(
        scenario="city-day",
        households=1_000,
        slots=96,
        run_s=WALL_S,
        total_s=27.5,
        transactions=44_537,
        settled_trades=SETTLED,
        traded_wh=3_800_000,
        gas=sum(GAS.values()),
        python_peak_rss_bytes=146 * 2**20,
        anvil_peak_rss_bytes=460 * 2**20,
        settle_gas_per_settled_trade=GAS["settleLots"] // SETTLED,
        all_gas_per_settled_trade=sum(GAS.values()) // SETTLED,
        gas_per_operation=dict(GAS),
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


def test_the_before_figures_are_issue_13s_and_add_up_to_its_total():
    assert sum(CITY_DAY_GAS_BEFORE.values()) == CITY_DAY_GAS_BEFORE_TOTAL == 145_291


def test_every_operation_of_the_run_is_in_exactly_one_step():
    steps = gas_steps(GAS, SETTLED)
    assert [s.step for s in gas_steps({k: v for k, v in GAS.items() if k != "refundLots"}, SETTLED)] == [
        "matching",
        "settlement",
        "set-up and withdraw",
    ]
    assert [s.step for s in steps] == ["matching", "settlement", "refunds", "set-up and withdraw"]
    assert sorted(op for s in steps for op in s.after) == sorted(GAS)
    assert sum(s.before_total for s in steps) == CITY_DAY_GAS_BEFORE_TOTAL
    # each step's gas is summed before it is divided: the steps add up to the whole within their rounding
    assert sum(GAS.values()) // SETTLED - len(steps) < sum(s.after_total for s in steps) <= sum(GAS.values()) // SETTLED


def test_an_operation_of_no_step_is_shown_as_other():
    steps = gas_steps({**GAS, "somethingNew": 3 * SETTLED}, SETTLED)
    assert steps[-1].step == "other" and steps[-1].after == {"somethingNew": 3}


def test_nothing_settled_gives_no_steps():
    assert gas_steps(GAS, 0) == []


def test_the_before_after_rows_give_now_as_the_value_and_before_as_the_comparison():
    rows = {row[0]: row for row in _before_after_rows(city_day())}
    matching = rows["city-day gas per settled trade: matching"]
    assert matching[1] == f"{GAS['matchOrders'] // SETTLED:,}"
    assert matching[2].endswith("before: postOffer 24,795 + takeOffers 88,636 = 113,431")
    total = rows["city-day gas per settled trade: in all"]
    assert total[1] == f"{sum(GAS.values()) // SETTLED:,}" and "before: 145,291" in total[2]
    assert "before: not in the issue's table" in rows["city-day gas per settled trade: refunds"][2]
    assert rows["city-day gas per settled trade: set-up and withdraw"][2].endswith("; before: 6,720")


def test_the_qtum_fee_per_kwh_is_gas_at_40_satoshi_over_the_kwh_traded():
    # 2,500,000 gas x 40 sat = 1 QTUM, for 2 kWh
    assert qtum_fee_per_kwh(2_500_000, 2_000) == Decimal("0.5")
    assert qtum_fee_per_kwh(1, 0) is None
    city = city_day()
    ratio = city.qtum_fee_per_kwh_before / city.qtum_fee_per_kwh
    assert float(ratio) == pytest.approx(CITY_DAY_GAS_BEFORE_TOTAL * SETTLED / city.gas)


def test_the_city_day_json_carries_the_before_after_comparison():
    data = city_day().to_json()
    comparison = data["gas_per_settled_trade_before_after"]
    assert comparison["before_total"] == CITY_DAY_GAS_BEFORE_TOTAL
    assert comparison["after_total"] == sum(GAS.values()) // SETTLED
    assert {s["step"] for s in comparison["steps"]} >= {"matching", "settlement"}
    assert Decimal(data["qtum_fee_per_kwh_at_40_sat_per_gas"]) > 0


def test_the_settlement_cell_names_every_batch_the_short_delivery_and_the_refunds():
    report = GasReport(
        "cancun",
        4,
        {ERC20_TRANSFER_REFERENCE: 51_000},
        batches=[BatchFigure(1, 4, 64_000), BatchFigure(100, 400, 3_600_000), BatchFigure(200, 800, 7_100_000)],
        short_delivery=BatchFigure(100, 400, 5_800_000),
        refunds=[BatchFigure(1, 4, 66_000), BatchFigure(100, 400, 3_900_000)],
        largest_batch_bound="200 lots per call",
    )
    cell = _settlement(report)
    assert cell.startswith("1 / 100 / 200 lots: 16,000 / 9,000 / 8,875 (largest call: 200 lots per call)")
    assert "every lot short (buyers credited): 14,500" in cell
    assert cell.endswith("refundLots 1 / 100 lots: 16,500 / 9,750")


def city_grid():
    return CityGrid("city-day", "lv_schutterwald", 1_000, 15.2, 26.0, 0.4, 11.6, 0, 0, 516.3)


def test_the_city_day_on_a_network_row_gives_both_wall_times_and_their_ratio():
    (row, *_) = grid_rows(city_grid())
    assert row[1:] == ("26 s", "15 s without (1.71x)")


def test_the_city_grid_json_carries_its_ratio():
    assert city_grid().to_json()["ratio"] == pytest.approx(1.711, abs=1e-3)
