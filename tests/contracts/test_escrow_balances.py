"""Balances in the escrow: deposit, depositFor, withdraw, and setTrader (the key that signs an account's orders)."""

import brownie
import pytest

from p2p_energy.domain.keys import key_address
from p2p_energy.limits import MAX_DEPOSITS_PER_CALL
from tests.contracts.conftest import FUNDS, error

AMOUNT = 1_234_567_891
TRADER_KEY = bytes(31) + b"\x2a"


@pytest.fixture(scope="module")
def funded(token, escrow, admin, stranger):
    """The stranger's wallet holds AMOUNT, and the escrow may take all of it."""
    token.transfer(stranger, AMOUNT, {"from": admin})
    token.approve(escrow, AMOUNT, {"from": stranger})
    return stranger


def addresses(n):
    return [f"0x{i + 1:040x}" for i in range(n)]


def test_deposit_moves_tokens_from_the_wallet_into_the_balance(escrow, token, funded):
    escrow.deposit(AMOUNT, {"from": funded})
    assert (escrow.balanceOf(funded), token.balanceOf(funded)) == (AMOUNT, 0)


def test_deposit_raises_total_balances(escrow, funded):
    escrow.deposit(AMOUNT, {"from": funded})
    assert escrow.totalBalances() == 2 * FUNDS + AMOUNT


def test_deposit_emits_deposited(escrow, funded):
    event = escrow.deposit(AMOUNT, {"from": funded}).events["Deposited"]
    assert (event["account"], event["amount"]) == (funded, AMOUNT)


def test_deposit_of_zero_reverts(escrow, funded):
    with brownie.reverts(error("ZeroAmount")):
        escrow.deposit(0, {"from": funded})


def test_deposit_beyond_the_allowance_reverts(escrow, funded):
    with brownie.reverts(error("ERC20InsufficientAllowance", escrow, AMOUNT, AMOUNT + 1)):
        escrow.deposit(AMOUNT + 1, {"from": funded})


def test_deposit_for_credits_each_account_its_amount(escrow, buyer, stranger, admin):
    escrow.depositFor([stranger, buyer], [AMOUNT, 7], {"from": admin})
    assert (escrow.balanceOf(stranger), escrow.balanceOf(buyer)) == (AMOUNT, FUNDS + 7)


def test_deposit_for_takes_the_total_from_the_caller(escrow, token, buyer, stranger, admin):
    before = token.balanceOf(admin)
    escrow.depositFor([stranger, buyer], [AMOUNT, 7], {"from": admin})
    assert token.balanceOf(admin) == before - AMOUNT - 7


def test_deposit_for_emits_deposited_per_account(escrow, buyer, stranger, admin):
    events = escrow.depositFor([stranger, buyer], [AMOUNT, 7], {"from": admin}).events["Deposited"]
    assert [(e["account"], e["amount"]) for e in events] == [(stranger, AMOUNT), (buyer, 7)]


def test_deposit_for_the_same_account_twice_adds_both_amounts(escrow, stranger, admin):
    escrow.depositFor([stranger, stranger], [AMOUNT, 7], {"from": admin})
    assert escrow.balanceOf(stranger) == AMOUNT + 7


def test_deposit_for_with_fewer_accounts_than_amounts_reverts(escrow, stranger, admin):
    with brownie.reverts(error("LengthMismatch", 1, 2)):
        escrow.depositFor([stranger], [AMOUNT, 7], {"from": admin})


def test_deposit_for_with_a_zero_amount_reverts(escrow, buyer, stranger, admin):
    with brownie.reverts(error("ZeroAmount")):
        escrow.depositFor([stranger, buyer], [AMOUNT, 0], {"from": admin})


def test_deposit_for_the_zero_account_reverts(escrow, stranger, admin):
    with brownie.reverts(error("InvalidAccount")):
        escrow.depositFor([stranger, brownie.ZERO_ADDRESS], [AMOUNT, 7], {"from": admin})


def test_deposit_for_the_most_accounts_a_call_funds_is_accepted(escrow, admin):
    accounts = addresses(MAX_DEPOSITS_PER_CALL)
    escrow.depositFor(accounts, [3] * len(accounts), {"from": admin})
    assert (escrow.balanceOf(accounts[0]), escrow.balanceOf(accounts[-1])) == (3, 3)


def test_deposit_for_one_account_more_than_a_call_funds_reverts(escrow, admin):
    accounts = addresses(MAX_DEPOSITS_PER_CALL + 1)
    with brownie.reverts(error("BatchTooLarge", 201, 200)):
        escrow.depositFor(accounts, [3] * len(accounts), {"from": admin})


def test_withdraw_sends_the_amount_to_the_caller(escrow, token, buyer):
    escrow.withdraw(AMOUNT, {"from": buyer})
    # FUNDS - AMOUNT = 10,000,000,000 - 1,234,567,891 = 8,765,432,109
    assert (token.balanceOf(buyer), escrow.balanceOf(buyer)) == (AMOUNT, 8_765_432_109)


def test_withdraw_lowers_total_balances_and_the_escrows_tokens(escrow, token, buyer):
    escrow.withdraw(AMOUNT, {"from": buyer})
    assert escrow.totalBalances() == token.balanceOf(escrow) == 2 * FUNDS - AMOUNT


def test_withdraw_emits_withdrawn(escrow, buyer):
    event = escrow.withdraw(AMOUNT, {"from": buyer}).events["Withdrawn"]
    assert (event["account"], event["amount"]) == (buyer, AMOUNT)


def test_withdrawing_the_whole_balance_is_accepted(escrow, token, buyer):
    escrow.withdraw(FUNDS, {"from": buyer})
    assert (token.balanceOf(buyer), escrow.balanceOf(buyer)) == (FUNDS, 0)


def test_withdrawing_more_than_the_balance_reverts(escrow, buyer):
    with brownie.reverts(error("InsufficientBalance", buyer, FUNDS, FUNDS + 1)):
        escrow.withdraw(FUNDS + 1, {"from": buyer})


def test_withdrawing_from_an_empty_balance_reverts(escrow, stranger):
    with brownie.reverts(error("InsufficientBalance", stranger, 0, 1)):
        escrow.withdraw(1, {"from": stranger})


def test_withdrawing_zero_reverts(escrow, buyer):
    with brownie.reverts(error("ZeroAmount")):
        escrow.withdraw(0, {"from": buyer})


def test_tokens_locked_in_a_trade_cannot_be_withdrawn(escrow, trade, buyer):
    trade(1_234)
    # the trade locked ceil(1,234 x 23,456,789 / 1,000) = ceil(28,945,677.626) = 28,945,678:
    # 10,000,000,000 - 28,945,678 = 9,971,054,322 are left
    with brownie.reverts(error("InsufficientBalance", buyer, 9_971_054_322, FUNDS)):
        escrow.withdraw(FUNDS, {"from": buyer})


def test_set_trader_names_the_key_that_signs_the_callers_orders(escrow, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    assert escrow.traderOf(buyer) == key_address(TRADER_KEY)


def test_set_trader_emits_trader_set(escrow, buyer):
    event = escrow.setTrader(key_address(TRADER_KEY), {"from": buyer}).events["TraderSet"]
    assert (event["account"], event["signer"]) == (buyer, key_address(TRADER_KEY))


def test_set_trader_replaces_the_key_named_before(escrow, buyer, stranger):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    escrow.setTrader(stranger, {"from": buyer})
    assert escrow.traderOf(buyer) == stranger


def test_set_trader_to_the_zero_address_reverts(escrow, buyer):
    with brownie.reverts(error("InvalidAccount")):
        escrow.setTrader(brownie.ZERO_ADDRESS, {"from": buyer})
