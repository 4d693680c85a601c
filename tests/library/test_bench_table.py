"""The bench table: the city-day rows (time told two ways, each adding up to the run's wall time; gas per settled
trade by operation next to v2's; the Qtum fee per kWh), and the gas rows of a report measured on a real anvil."""

import re
from decimal import Decimal

import pytest

from p2p_energy.bench import CityDay, measure_gas_report, settlement_batch
from p2p_energy.bench_city import (
    BEFORE_SOURCE,
    CITY_DAY_GAS_BEFORE,
    CITY_DAY_GAS_BEFORE_TOTAL,
    gas_steps,
    qtum_fee_per_kwh,
)
from p2p_energy.bench_grid import CityGrid, grid_rows
from p2p_energy.bench_table import _before_after_rows, _city_rows, _model_rows, _operation_rows, _settlement
from p2p_energy.gas import ERC20_TRANSFER_REFERENCE, GasReport
from p2p_energy.gas_figures import CallFigure, SettlementFigure
from p2p_energy.output.timings import by_kind_of_work, phases
from tests.library.test_report import CITY_TIMINGS

WALL_S = 26.85
SETTLED = 32_250
#: Gas of a made-up city-day run per operation (not a measurement: the table's arithmetic is tested).
GAS = {
    "mint": 60_000,
    "approve": 46_000,
    "registerMeters": 30_000_000,
    "depositFor": 26_000_000,
    "matchOrders": 300_000_000,
    "closeLots": 150_000_000,
    "payOut": 28_000_000,
}


def city_day():
    return CityDay(
        scenario="city-day",
        households=1_000,
        slots=96,
        run_s=WALL_S,
        total_s=27.5,
        transactions=1_537,
        settled_trades=SETTLED,
        traded_wh=3_800_000,
        gas=sum(GAS.values()),
        python_peak_rss_bytes=146 * 2**20,
        anvil_peak_rss_bytes=460 * 2**20,
        settle_gas_per_settled_trade=GAS["closeLots"] // SETTLED,
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


def test_the_before_figures_are_v2s_and_add_up_to_its_total_within_their_rounding():
    parts = sum(sum(step.values()) for step in CITY_DAY_GAS_BEFORE.values())
    assert CITY_DAY_GAS_BEFORE_TOTAL == 39_217 and CITY_DAY_GAS_BEFORE_TOTAL - len(CITY_DAY_GAS_BEFORE) < parts
    assert BEFORE_SOURCE == "before (v2, measured 2026-11-30)"


def test_every_operation_of_the_run_is_in_exactly_one_step():
    steps = gas_steps(GAS, SETTLED)
    assert [s.step for s in steps] == ["matching", "settlement", "set-up and pay-out"]
    assert sorted(op for s in steps for op in s.after) == sorted(GAS)
    assert sum(s.before_total for s in steps) == sum(sum(step.values()) for step in CITY_DAY_GAS_BEFORE.values())
    # each step's gas is summed before it is divided: the steps add up to the whole within their rounding
    assert sum(GAS.values()) // SETTLED - len(steps) < sum(s.after_total for s in steps) <= sum(GAS.values()) // SETTLED


def test_an_operation_of_no_step_is_shown_as_other():
    steps = gas_steps({**GAS, "somethingNew": 3 * SETTLED}, SETTLED)
    assert steps[-1].step == "other" and steps[-1].after == {"somethingNew": 3} and steps[-1].before == {}


def test_nothing_settled_gives_no_steps():
    assert gas_steps(GAS, 0) == []


def test_the_before_after_rows_give_now_as_the_value_and_v2_as_the_labelled_reference():
    rows = {row[0]: row for row in _before_after_rows(city_day())}
    matching = rows["city-day gas per settled trade: matching"]
    assert matching[1] == f"{GAS['matchOrders'] // SETTLED:,}"
    assert matching[2].endswith("; before (v2, measured 2026-11-30): matchOrders 24,437")
    settlement = rows["city-day gas per settled trade: settlement"]
    assert settlement[2].startswith(f"closeLots {GAS['closeLots'] // SETTLED:,};")
    total = rows["city-day gas per settled trade: in all (every transaction of the run)"]
    assert total[1] == f"{sum(GAS.values()) // SETTLED:,}"
    assert total[2] == (
        "before (v2, measured 2026-11-30): 39,217 = matchOrders 24,437 + settleLots 10,456 + set-up/withdraw 4,322 "
        "(each rounded down)"
    )


def test_the_qtum_fee_per_kwh_is_all_gas_at_40_satoshi_over_the_kwh_traded():
    # 2,500,000 gas x 40 sat = 1 QTUM, for 2 kWh
    assert qtum_fee_per_kwh(2_500_000, 2_000) == Decimal("0.5")
    assert qtum_fee_per_kwh(1, 0) is None
    city = city_day()
    assert city.qtum_fee_per_kwh == Decimal(city.gas * 40) / Decimal(10**8) / Decimal("3800")
    (row,) = [row for row in _city_rows(city) if "Qtum fee per kWh" in row[0]]
    assert row[1] == f"{city.qtum_fee_per_kwh:.4f} QTUM" and row[2] == f"{city.gas:,} gas, 3,800 kWh traded"


def test_the_city_day_json_carries_the_comparison_with_v2():
    data = city_day().to_json()
    comparison = data["gas_per_settled_trade_before_after"]
    assert comparison["before_source"] == BEFORE_SOURCE
    assert comparison["before_total"] == CITY_DAY_GAS_BEFORE_TOTAL
    assert comparison["after_total"] == sum(GAS.values()) // SETTLED
    assert {s["step"] for s in comparison["steps"]} == {"matching", "settlement", "set-up and pay-out"}
    assert Decimal(data["qtum_fee_per_kwh_at_40_sat_per_gas"]) > 0


def test_the_settlement_cell_names_every_batch_the_short_delivery_and_the_refunds():
    figures = [
        SettlementFigure("1 lot of 4 trades, delivered in full", 1, 4, 4, 120_000, 64_000),
        SettlementFigure("100 lots of 4 trades, delivered in full", 100, 400, 400, 4_300_000, 2_800_000),
        SettlementFigure("100 lots of 4 trades, every lot short", 100, 400, 400, 4_300_000, 5_200_000),
        SettlementFigure("a busy city-day hour: 4 slots, delivered in full", 1200, 3600, 3600, 24_000_000, 1),
        SettlementFigure("1 lot of 4 trades, refunded after the grace period", 1, 4, 0, 120_000, 62_000),
    ]
    cell = _settlement(GasReport("cancun", 4, settlement=figures))
    assert cell == (
        "1 / 100 lots: 16,000 / 7,000; every lot short (buyers credited): 100 lots: 13,000; "
        "refunded after the grace period 1 lot: 15,500"
    )


# ------------------------------------------------------- a measured report


@pytest.fixture(scope="module")
def report(toolchain, compile_for) -> GasReport:
    """A quick gas report on a real anvil, as the bench keeps it (also where the model check fails)."""
    return measure_gas_report(toolchain, compile_for("cancun"), 4, lambda _: None, quick=True)


def test_the_bench_keeps_the_report_whatever_the_model_check_says(report):
    assert report.calls and report.settlement_of(settlement_batch(report)).trades == 400


def test_every_operation_row_compares_with_an_erc20_transfer(report):
    rows = _operation_rows(report)
    transfer = report.operations[ERC20_TRANSFER_REFERENCE]
    (yardstick,) = [r for r in rows if r[2] == "the yardstick"]
    assert yardstick == (f"gas: {ERC20_TRANSFER_REFERENCE}", f"{transfer:,}", "the yardstick")
    assert not any(r[0].startswith("gas: deploy") for r in rows)
    assert [r[0] for r in rows[-2:]] == ["gas: matchOrders per item", "gas: closeLots per item"]


def test_the_model_row_counts_the_calls_the_model_is_enough_for(report):
    (row,) = _model_rows({4: report})
    below = report.model_failures()
    assert row[1] == f"{len(report.calls) - len(below)} of {len(report.calls)} calls"
    assert ("NOT enough for" in row[2]) == bool(below)


def test_a_call_the_model_is_not_enough_for_is_named_in_the_model_row():
    below = CallFigure("matchOrders", "4 slots of 1 lot", {"slot": 4}, 400, gas=250_000, model=200_000)
    (row,) = _model_rows({4: GasReport("cancun", 4, calls=[below])})
    assert row[1] == "0 of 1 calls" and row[2].endswith("NOT enough for: 4 slots of 1 lot")


def city_grid():
    return CityGrid("city-day", "lv_schutterwald", 1_000, 15.2, 26.0, 0.4, 11.6, 0, 0, 516.3)


def test_the_city_day_on_a_network_row_gives_both_wall_times_and_their_ratio():
    (row, *_) = grid_rows(city_grid())
    assert row[1:] == ("26 s", "15 s without (1.71x)")


def test_the_city_grid_json_carries_its_ratio():
    assert city_grid().to_json()["ratio"] == pytest.approx(1.711, abs=1e-3)
