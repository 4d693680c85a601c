"""`p2p-energy gas`: every operation of the market measured on a real anvil (figures measured, none assumed)."""

import json

import pytest

from p2p_energy.cli import main
from p2p_energy.errors import UsageError
from p2p_energy.gas import (
    DEPOSIT,
    ERC20_TRANSFER_REFERENCE,
    MATCH_CITY_SLOT,
    MATCH_ONE,
    REFUND_ONE,
    REGISTER_METER,
    SET_TRADER,
    SETTLE_ONE,
    WITHDRAW,
    run_gas_report,
)
from p2p_energy.gas_figures import (
    CITY_SLOT_ASKS,
    CITY_SLOT_BIDS,
    CITY_SLOT_FILLS,
    DEPOSIT_FOR,
    PER_ASK,
    PER_BID,
    PER_CALL,
    PER_DEPOSIT,
    PER_FILL,
    PER_METER,
    REGISTER_METERS,
    MatchCosts,
    MatchFigure,
)
from p2p_energy.limits import MAX_LOTS_PER_CALL, MAX_TRADES_PER_CALL, MAX_TRADES_PER_LOT

# Gas is deterministic for given code and inputs, so these are regression
# guards for the target, not timing tests.
TARGET_GAS_PER_SETTLED_TRADE = 25_000


@pytest.fixture(scope="module")
def report(toolchain, compile_for):
    """One trade per lot: the worst case for settlement."""
    return run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=1)


@pytest.fixture(scope="module")
def report_4(toolchain, compile_for):
    """Four trades per lot: `p2p-energy gas`'s default."""
    return run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=4)


def test_report_covers_every_operation(report):
    expected = {ERC20_TRANSFER_REFERENCE, DEPOSIT, DEPOSIT_FOR, REGISTER_METER, REGISTER_METERS, SET_TRADER}
    expected |= {MATCH_ONE, MATCH_CITY_SLOT, SETTLE_ONE, REFUND_ONE, WITHDRAW}
    expected |= {f"deploy {name}" for name in ("EnergyToken", "MeterRegistry", "EnergyEscrow")}
    assert expected <= set(report.operations)
    assert set(report.per_item) == {PER_DEPOSIT, PER_METER, PER_ASK, PER_BID, PER_FILL, PER_CALL}


def test_every_figure_is_gas_some_transaction_used(report):
    figures = [*report.operations.values(), *report.per_item.values()]
    figures += [f.gas for f in [*report.matches, *report.batches, *report.refunds, report.short_delivery]]
    assert all(isinstance(gas, int) and gas > 0 for gas in figures)


def test_batches_of_1_10_100_lots_and_the_largest_call_are_measured(report):
    # With one trade per lot, lots (not trades) bound a settleLots call.
    expected = [(1, 1), (10, 10), (100, 100), (MAX_LOTS_PER_CALL, MAX_LOTS_PER_CALL)]
    assert [(b.lots, b.trades) for b in report.batches] == expected
    assert report.operations[SETTLE_ONE] == report.batches[0].gas


def test_the_largest_batch_names_the_escrow_bound_that_limits_it(report):
    assert report.largest_batch_bound == f"{MAX_LOTS_PER_CALL} lots per call"


def test_the_largest_batch_fits_a_block(report):
    assert 0 < report.largest_batch.gas <= report.block_gas_limit


def test_batching_lowers_the_gas_per_settled_trade(report, report_4):
    for each in (report, report_4):
        per_trade = [b.gas_per_trade for b in each.batches]
        assert per_trade == sorted(per_trade, reverse=True)


def test_a_batch_of_100_four_trade_lots_meets_the_gas_target(report_4):
    assert report_4.batch(100).trades == 400
    assert report_4.batch(100).gas_per_trade <= TARGET_GAS_PER_SETTLED_TRADE


def test_settling_even_a_single_trade_lot_in_a_batch_costs_less_than_an_erc20_transfer(report):
    # One trade per lot misses the 25,000 target (the lot's reading, its signature check and the
    # seller's credit are paid by one trade); it must stay well under a plain token transfer.
    assert report.batch(100).gas_per_trade < report.operations[ERC20_TRANSFER_REFERENCE]


def test_more_trades_per_lot_make_a_settled_trade_cheaper(report, report_4):
    assert report_4.batch(100).gas_per_trade < report.batch(100).gas_per_trade


def test_a_short_delivery_costs_more_than_a_full_one_since_every_buyer_is_credited(report_4):
    short = report_4.short_delivery
    assert (short.lots, short.trades) == (100, 400)
    assert short.gas > report_4.batch(100).gas


def test_refunds_of_one_lot_and_of_a_batch_are_measured(report_4):
    assert [(b.lots, b.trades) for b in report_4.refunds] == [(1, 4), (100, 400)]
    assert report_4.refunds[1].gas_per_trade < report_4.refunds[0].gas_per_trade


def test_batch_calls_cost_less_per_item_than_single_calls(report):
    assert report.per_item[PER_DEPOSIT] < report.operations[DEPOSIT]
    assert report.per_item[PER_METER] < report.operations[REGISTER_METER]


def test_the_city_day_slot_is_one_call_of_its_shape(report):
    city = report.city_slot
    assert (city.asks, city.bids, city.fills) == (CITY_SLOT_ASKS, CITY_SLOT_BIDS, CITY_SLOT_FILLS)
    assert report.operations[MATCH_CITY_SLOT] == city.gas
    assert city.gas_per_fill < report.operations[MATCH_ONE]


def test_the_derived_figures_predict_the_city_day_slot_within_5_percent(report):
    items = report.per_item
    costs = MatchCosts(items[PER_CALL], items[PER_ASK], items[PER_BID], items[PER_FILL])
    city = report.city_slot
    assert costs.predict(city.asks, city.bids, city.fills) == pytest.approx(city.gas, rel=0.05)


def test_match_costs_are_solved_exactly_from_four_shapes():
    def gas(asks, bids, fills):
        return 30_000 + 36_000 * asks + 14_000 * bids + 5_500 * fills

    shapes = [(1, 1, 1), (10, 1, 10), (1, 10, 10), (10, 10, 100)]
    figures = [MatchFigure(str(s), *s, gas(*s)) for s in shapes]
    assert MatchCosts.solve(figures) == MatchCosts(30_000, 36_000, 14_000, 5_500)


def test_shapes_that_cannot_tell_the_unknowns_apart_are_refused():
    figures = [MatchFigure("same", 1, 1, 1, 100_000)] * 4
    with pytest.raises(ValueError, match="do not tell"):
        MatchCosts.solve(figures)


def test_the_report_as_json_gives_the_per_call_figures(report):
    data = report.to_json()
    assert all(isinstance(b["gas_per_trade"], int) for b in data["batches"] + data["refunds"])
    assert all(isinstance(m["gas_per_fill"], int) for m in data["matches"])
    assert data["short_delivery"]["trades"] == report.short_delivery.trades
    assert data["chain"] == "anvil"


def test_big_lots_cap_the_batches_at_the_escrows_trades_per_call(toolchain, compile_for):
    report = run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=20)
    assert [b.lots for b in report.batches] == [1, 10, MAX_TRADES_PER_CALL // 20]
    assert report.largest_batch_bound == f"{MAX_TRADES_PER_CALL} trades per call"


def test_trades_per_lot_beyond_the_lot_limit_are_rejected(toolchain, compile_for):
    with pytest.raises(UsageError, match=f"between 1 and {MAX_TRADES_PER_LOT}"):
        run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=MAX_TRADES_PER_LOT + 1)


def test_p2p_energy_gas_prints_its_tables_and_writes_the_report_as_json(tmp_path, capsys):
    out = tmp_path / "gas" / "gas.json"
    assert main(["gas", "--trades-per-lot", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for title in ("gas per operation, cancun, anvil", "gas per item of a batch call", "matching", "2 trades per lot"):
        assert title in printed
    data = json.loads(out.read_text())
    assert data["trades_per_lot"] == 2 and data["chain"] == "anvil"
    assert [b["trades"] for b in data["batches"]] == [2, 20, 200, 400]
