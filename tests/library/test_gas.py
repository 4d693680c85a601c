import pytest

from p2p_energy.errors import UsageError
from p2p_energy.gas import ERC20_TRANSFER_REFERENCE, run_gas_report

# Gas is deterministic for given code and inputs, so this is a regression
# guard for the target, not a timing test.
TARGET_GAS_PER_SETTLED_TRADE = 25_000


@pytest.fixture(scope="module")
def report(toolchain, compile_for):
    return run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=1)


def test_report_covers_every_operation(report):
    expected = {"post offer", "take 1 offer part", "take 10 offer parts", "submit 1 reading", "withdraw"}
    assert expected | {ERC20_TRANSFER_REFERENCE, "settle 1 lot (settleLot)", "refund 1 lot (refundLot)"} <= set(
        report.operations
    )


def test_batches_of_1_10_and_100_lots_are_measured(report):
    assert [(b.lots, b.trades) for b in report.batches] == [(1, 1), (10, 10), (100, 100)]


def test_batching_lowers_the_gas_per_settled_trade(report):
    per_trade = [b.gas_per_trade for b in report.batches]
    assert per_trade == sorted(per_trade, reverse=True)


def test_a_batch_of_100_single_trade_lots_meets_the_gas_target(report):
    assert report.batches[-1].gas_per_trade <= TARGET_GAS_PER_SETTLED_TRADE


def test_settling_a_trade_in_a_batch_costs_less_than_an_erc20_transfer(report):
    assert report.batches[-1].gas_per_trade < report.operations[ERC20_TRANSFER_REFERENCE]


def test_trades_per_lot_beyond_the_lot_limit_are_rejected(toolchain, compile_for):
    with pytest.raises(UsageError, match="between 1 and 50"):
        run_gas_report(toolchain.anvil, compile_for("cancun"), trades_per_lot=51)
