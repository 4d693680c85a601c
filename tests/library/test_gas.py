"""`p2p-energy gas` on escrow v3: every operation measured from receipts on a real anvil (quick mode: small shapes,
about a second), the per-item costs solved from them, and the gas model of wire.cutting checked against every
matchOrders and closeLots call."""

import json

import pytest

from p2p_energy.chain.backends import NodePrograms
from p2p_energy.defaults import DEFAULT_BACKEND
from p2p_energy.errors import UsageError
from p2p_energy.gas import GasModelError, GasReport, gas_tables, run_gas_report
from p2p_energy.gas_figures import (
    CANCEL_ORDERS,
    CLOSE_ITEMS,
    DEPOSIT,
    DEPOSIT_FOR,
    ERC20_TRANSFER_REFERENCE,
    MATCH_ITEMS,
    NAME_OWN_KEYS,
    PAY_OUT,
    PER_DEPOSIT,
    PER_METER,
    PER_OWN_KEY,
    PER_PAYOUT,
    REGISTER_FIRST_METER,
    REGISTER_METER,
    REGISTER_METERS,
    SET_TRADER,
    WITHDRAW,
    CallFigure,
    predict,
    solve_items,
)
from p2p_energy.limits import MAX_TRADES_PER_LOT
from p2p_energy.wire.cutting import MAX_CALL_GAS, MAX_CALLDATA_BYTES

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

HOUR = "a busy city-day hour: 2 slots x 20 lots x 3 fills"


#: Calls the gas model (wire/cutting.py) is known not to be enough for, as their gas limit. A slot costs a
#: matchOrders call about 47,700 gas (two fresh storage words and an event) where the model counts 36,000, so a
#: call of several slots with few lots each uses more than the model. A closeLots call that clears a group's word
#: gets 4,800 gas back, but only at its end: it needs that gas while it runs, and the model (3,200 per group) does
#: not count it, so a call of several groups of one lot each runs out of gas at the model though it uses less.
@pytest.fixture(scope="module")
def report(toolchain, compile_for) -> GasReport:
    """One quick run with 4 trades per lot (it raises GasModelError if the model is below any call)."""
    return run_gas_report(
        DEFAULT_BACKEND, NodePrograms(toolchain.anvil, "cancun"), compile_for("cancun"), 4, quick=True
    )


def calls_of(report: GasReport, function: str) -> list[CallFigure]:
    return [c for c in report.calls if c.function == function]


def test_every_operation_of_the_interface_is_measured(report):
    expected = {ERC20_TRANSFER_REFERENCE, DEPOSIT, DEPOSIT_FOR, REGISTER_FIRST_METER, REGISTER_METER, REGISTER_METERS}
    expected |= {SET_TRADER, NAME_OWN_KEYS, CANCEL_ORDERS, WITHDRAW, PAY_OUT}
    expected |= {f"deploy {name}" for name in ("EnergyToken", "MeterRegistry", "EnergyEscrow")}
    assert set(report.operations) == expected
    assert set(report.per_item) == {PER_DEPOSIT, PER_METER, PER_PAYOUT, PER_OWN_KEY}
    assert set(report.match_items) == {"base", *MATCH_ITEMS}
    assert set(report.close_items) == {"base", *CLOSE_ITEMS}


def test_every_figure_is_gas_a_transaction_used(report):
    figures = [*report.operations.values(), *report.per_item.values(), *(c.gas for c in report.calls)]
    assert all(isinstance(gas, int) and 21_000 <= gas < MAX_CALL_GAS for gas in figures)


def test_both_batch_calls_are_measured_in_many_shapes(report):
    assert len(calls_of(report, "matchOrders")) >= 15
    assert len(calls_of(report, "closeLots")) >= 15


def test_array_calls_cost_less_per_item_than_single_calls(report):
    assert report.per_item[PER_DEPOSIT] < report.operations[DEPOSIT]
    assert report.per_item[PER_METER] < report.operations[REGISTER_METER] < report.operations[REGISTER_FIRST_METER]


def test_a_shapes_counts_are_read_from_its_call(report):
    assert report.call("1 slot, 65 lots of 1 fill (2 groups)").counts == {
        "loaded account": 1,
        "named account": 65,
        "slot": 1,
        "lot": 65,
        "fill": 65,
        "extra group": 1,
        "bid": 0,
        "ask": 0,
    }
    short = report.call("1 group, 1 lot, 12 trades of 12 buyers, delivered short").counts
    assert (short["loaded account"], short["named account"], short["trade"]) == (13, 0, 12)


def test_the_per_item_costs_are_positive(report):
    assert all(gas > 0 for gas in [*report.match_items.values(), *report.close_items.values()])


@pytest.mark.parametrize("function", ["matchOrders", "closeLots"])
def test_the_per_item_costs_predict_every_call_within_5_percent(report, function):
    """But the empty call and refunds: no items, or no readings (so no call to the registry) are not what the
    shapes the costs come from do."""
    items = report.match_items if function == "matchOrders" else report.close_items
    calls = [c for c in calls_of(report, function) if "refunded" not in c.name and c.name != "empty call"]
    off = {c.name: predict(items, c.counts) / c.gas for c in calls}
    assert all(0.95 <= ratio <= 1.05 for ratio in off.values()), off


def test_more_lots_per_closing_call_cost_less_per_trade(report):
    full = [report.settlement_of(f"{n} lot{'s' if n > 1 else ''} of 4 trades, delivered in full") for n in (1, 10, 100)]
    per_trade = [f.close_gas_per_trade for f in full]
    assert per_trade == sorted(per_trade, reverse=True)
    assert all(f.settled_trades == f.trades == 4 * f.lots for f in full)


def test_a_short_delivery_costs_more_than_a_full_one_since_every_buyer_is_credited(report):
    short = report.settlement_of("10 lots of 4 trades, every lot short")
    full = report.settlement_of("10 lots of 4 trades, delivered in full")
    assert short.settled_trades == full.settled_trades == 40
    assert short.close_gas > full.close_gas


def test_a_refund_settles_nothing(report):
    refund = report.settlement_of("10 lots of 4 trades, refunded after the grace period")
    assert (refund.trades, refund.settled_trades) == (40, 0)


def test_the_busy_hour_is_matched_and_closed_in_calls_within_the_bounds(report):
    hour = report.settlement_of(f"{HOUR}, delivered in full")
    assert (hour.lots, hour.trades, hour.settled_trades) == (40, 120, 120)
    calls = [c for c in report.calls if c.name.startswith(HOUR)]
    assert all(c.calldata_bytes <= MAX_CALLDATA_BYTES and c.model <= MAX_CALL_GAS for c in calls)


# ------------------------------------------------------------- the gas model


@pytest.mark.parametrize(
    "shape",
    [
        "orders only: 12 bids",
        "orders only: 12 asks",
        "1 slot, 1 lot, 1 fill",
        "1 lot, 12 fills of 12 buyers",
        "1 slot, 65 lots of 1 fill (2 groups)",
        "100 lots of 4 trades (to deliver in full)",
        HOUR,
        "1 group, 1 lot, 1 trade",
        "1 group, 1 lot, 12 trades of 12 buyers, delivered short",
        "100 lots of 4 trades, delivered in full",
        "10 lots of 4 trades, refunded after the grace period",
        "12 slots, 1 lot of 1 fill each",
        "12 slots, 1 lot of 1 fill each, 12 sellers",
        "12 groups (slots), 1 seller: 1 reading of 12 slots",
    ],
)
def test_the_gas_model_is_enough_for_the_call_as_its_gas_limit(report, shape):
    call = report.call(shape)
    assert call.model >= call.gas and not call.ran_out


def test_the_model_is_enough_for_every_call(report):
    assert [c.name for c in report.model_failures()] == []


def test_a_report_with_a_call_above_its_model_fails_its_check():
    below = CallFigure("matchOrders", "a shape", {"slot": 2}, 300, gas=120_000, model=100_000)
    report = GasReport("cancun", 4, calls=[below])
    with pytest.raises(GasModelError, match="not enough for 1 of 1 measured calls: matchOrders a shape"):
        report.check_model()


def test_a_call_that_ran_out_of_gas_at_the_model_fails_the_check_though_it_used_less():
    refunded = CallFigure("closeLots", "many groups", {"group": 12}, 700, gas=170_000, model=190_000, ran_out=True)
    assert GasReport("cancun", 4, calls=[refunded]).model_failures() == [refunded]


# ------------------------------------------------------------------ solving


def test_per_item_costs_are_solved_exactly_from_independent_shapes():
    costs = {"base": 30_000, "lot": 2_000, "fill": 3_300}
    shapes = [{"lot": 1, "fill": 1}, {"lot": 1, "fill": 10}, {"lot": 5, "fill": 5}]
    figures = [CallFigure("matchOrders", str(s), s, 0, gas=int(predict(costs, s)), model=0) for s in shapes]
    assert solve_items(("lot", "fill"), figures) == costs


def test_shapes_that_cannot_tell_the_items_apart_are_refused():
    same = [CallFigure("matchOrders", "same", {"lot": 1, "fill": 1}, 0, gas=100_000, model=0)] * 3
    with pytest.raises(ValueError, match="do not tell"):
        solve_items(("lot", "fill"), same)


def test_the_solved_costs_are_exact_before_rounding(report):
    """The solving shapes are reproduced to within rounding (a gas or two per item)."""
    call = report.call("1 lot, 12 fills of 12 buyers")
    assert abs(predict(report.match_items, call.counts) - call.gas) <= len(MATCH_ITEMS)


# ------------------------------------------------------------------ output


def test_the_report_as_json_gives_every_call_against_the_model(report):
    data = json.loads(json.dumps(report.to_json()))
    assert data["chain"] == "anvil" and data["quick"] is True
    assert len(data["calls"]) == len(report.calls)
    assert all(c["model_over_used"] == round(c["model"] / c["gas"], 4) for c in data["calls"])
    assert data["model_check"]["not_enough_for"] == [c.name for c in report.model_failures()]
    assert all(isinstance(s["match_and_close_gas_per_trade"], int) for s in data["settlement"])


def test_the_tables_name_each_section(report):
    titles = [table.title for table in gas_tables(report)]
    assert titles[0] == "gas per operation, cancun, anvil (quick: small shapes)"
    assert any("gas model" in str(t) for t in titles) and any("settlement" in str(t) for t in titles)


def test_trades_per_lot_beyond_the_lot_limit_are_rejected(toolchain, compile_for):
    with pytest.raises(UsageError, match=f"between 1 and {MAX_TRADES_PER_LOT}"):
        run_gas_report(
            DEFAULT_BACKEND,
            NodePrograms(toolchain.anvil, "cancun"),
            compile_for("cancun"),
            MAX_TRADES_PER_LOT + 1,
            quick=True,
        )


def test_p2p_energy_gas_prints_its_tables_or_fails_naming_the_calls_the_model_is_not_enough_for(
    tmp_path, capsys, report
):
    from p2p_energy.cli import main  # the CLI imports every command's module

    out = tmp_path / "gas" / "gas.json"
    code = main(["gas", "--trades-per-lot", "2", "--json", str(out)])
    captured = capsys.readouterr()
    if report.model_failures():  # the quick run has the full run's solving shapes: it finds the same
        assert code == 1 and not out.exists()
        assert "the gas model of p2p_energy/wire/cutting.py" in captured.err
        return
    assert code == 0
    assert "gas per operation, cancun, anvil" in captured.out
    assert json.loads(out.read_text())["trades_per_lot"] == 2
