import pytest

from p2p_energy.errors import UsageError
from p2p_energy.gas import (
    ERC20_TRANSFER_REFERENCE,
    REFUND_ONE,
    SETTLE_ONE,
    TAKE_ONE,
    TAKE_TEN,
    WITHDRAW,
    run_gas_report,
)
from p2p_energy.limits import MAX_LOTS_PER_CALL, MAX_TRADES_PER_CALL, MAX_TRADES_PER_LOT

# Gas is deterministic for given code and inputs, so this is a regression
# guard for the target, not a timing test.
TARGET_GAS_PER_SETTLED_TRADE = 25_000


@pytest.fixture(scope="module")
def report(toolchain, compile_for):
    return run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=1)


def test_report_covers_every_operation(report):
    expected = {"post offer", "submit 1 reading", TAKE_ONE, TAKE_TEN, SETTLE_ONE, REFUND_ONE, WITHDRAW}
    assert expected | {ERC20_TRANSFER_REFERENCE} <= set(report.operations)


def test_batches_of_1_10_100_lots_and_the_largest_call_are_measured(report):
    # With one trade per lot, lots (not trades) bound a settleLots call.
    expected = [(1, 1), (10, 10), (100, 100), (MAX_LOTS_PER_CALL, MAX_LOTS_PER_CALL)]
    assert [(b.lots, b.trades) for b in report.batches] == expected


def test_the_largest_batch_names_the_escrow_bound_that_limits_it(report):
    assert report.largest_batch_bound == f"{MAX_LOTS_PER_CALL} lots per call"


def test_the_largest_batch_fits_a_block(report):
    assert 0 < report.largest_batch.gas <= report.block_gas_limit


def test_taking_10_offers_in_one_call_costs_less_than_10_single_takes(report):
    assert report.operations[TAKE_TEN] < 10 * report.operations[TAKE_ONE]


def test_batching_lowers_the_gas_per_settled_trade(report):
    per_trade = [b.gas_per_trade for b in report.batches]
    assert per_trade == sorted(per_trade, reverse=True)


def test_a_batch_of_100_single_trade_lots_meets_the_gas_target(report):
    (batch_of_100,) = [b for b in report.batches if b.lots == 100]
    assert batch_of_100.gas_per_trade <= TARGET_GAS_PER_SETTLED_TRADE


def test_settling_a_trade_in_a_batch_costs_less_than_an_erc20_transfer(report):
    assert report.largest_batch.gas_per_trade < report.operations[ERC20_TRANSFER_REFERENCE]


def test_big_lots_cap_the_batches_at_the_escrows_trades_per_call(toolchain, compile_for):
    report = run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=20)
    assert [b.lots for b in report.batches] == [1, 10, MAX_TRADES_PER_CALL // 20]
    assert report.largest_batch_bound == f"{MAX_TRADES_PER_CALL} trades per call"


def test_trades_per_lot_beyond_the_lot_limit_are_rejected(toolchain, compile_for):
    with pytest.raises(UsageError, match=f"between 1 and {MAX_TRADES_PER_LOT}"):
        run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=MAX_TRADES_PER_LOT + 1)
