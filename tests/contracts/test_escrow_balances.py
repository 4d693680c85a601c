"""Balances: deposit, depositFor, withdraw and the matcher's payOut."""

import brownie

from tests.contracts.conftest import FUNDS, PRICE, error, events, trade

MAX_BALANCE = 2**96 - 1


def test_deposit_moves_tokens_from_the_wallet_into_the_balance(escrow, token, admin, stranger):
    token.transfer(stranger, 500, {"from": admin})
    token.approve(escrow, 500, {"from": stranger})
    escrow.deposit(300, {"from": stranger})
    assert (escrow.balanceOf(stranger), token.balanceOf(stranger), token.balanceOf(escrow)) == (
        300,
        200,
        2 * FUNDS + 300,
    )


def test_deposit_adds_to_total_balances(escrow, admin):
    escrow.deposit(300, {"from": admin})
    assert escrow.totalBalances() == 2 * FUNDS + 300


def test_deposit_emits_deposited(escrow, admin):
    event = escrow.deposit(300, {"from": admin}).events["Deposited"]
    assert (event["account"], event["amount"]) == (admin, 300)


def test_deposit_of_zero_reverts(escrow, admin):
    with brownie.reverts(error("ZeroAmount")):
        escrow.deposit(0, {"from": admin})


def test_deposit_without_an_allowance_reverts(escrow, token, admin, stranger):
    token.transfer(stranger, 500, {"from": admin})
    with brownie.reverts(error("ERC20InsufficientAllowance", escrow, 0, 300)):
        escrow.deposit(300, {"from": stranger})


def test_deposit_for_credits_each_account_its_amount(escrow, admin, seller, seller2):
    escrow.depositFor([seller, seller2], [7, 11], {"from": admin})
    assert (escrow.balanceOf(seller), escrow.balanceOf(seller2), escrow.totalBalances()) == (7, 11, 2 * FUNDS + 18)


def test_deposit_for_takes_the_total_from_the_callers_wallet_once(escrow, token, admin, seller, seller2):
    before = token.balanceOf(admin)
    tx = escrow.depositFor([seller, seller2], [7, 11], {"from": admin})
    assert (before - token.balanceOf(admin), len(events(tx, "Transfer"))) == (18, 1)


def test_deposit_for_emits_deposited_per_account(escrow, admin, seller, seller2):
    tx = escrow.depositFor([seller, seller2], [7, 11], {"from": admin})
    assert [(e["account"], e["amount"]) for e in tx.events["Deposited"]] == [(seller, 7), (seller2, 11)]


def test_deposit_for_with_more_amounts_than_accounts_reverts(escrow, admin, seller):
    with brownie.reverts(error("LengthMismatch", 1, 2)):
        escrow.depositFor([seller], [7, 11], {"from": admin})


def test_deposit_for_with_a_zero_amount_reverts(escrow, admin, seller, seller2):
    with brownie.reverts(error("ZeroAmount")):
        escrow.depositFor([seller, seller2], [7, 0], {"from": admin})


def test_deposit_for_the_zero_address_reverts(escrow, admin, seller):
    with brownie.reverts(error("InvalidAccount")):
        escrow.depositFor([seller, brownie.ZERO_ADDRESS], [7, 11], {"from": admin})


def test_a_balance_of_exactly_two_to_the_96_minus_one_is_accepted(escrow, token, admin, seller):
    token.mint(admin, MAX_BALANCE, {"from": admin})
    escrow.depositFor([seller], [MAX_BALANCE], {"from": admin})
    assert escrow.balanceOf(seller) == MAX_BALANCE


def test_a_deposit_taking_a_balance_past_two_to_the_96_minus_one_reverts(escrow, token, admin, seller):
    token.mint(admin, MAX_BALANCE + 1, {"from": admin})
    escrow.depositFor([seller], [MAX_BALANCE], {"from": admin})
    with brownie.reverts(error("AmountTooLarge", MAX_BALANCE + 1, MAX_BALANCE)):
        escrow.depositFor([seller], [1], {"from": admin})


def test_a_single_deposit_of_two_to_the_96_reverts(escrow, token, admin):
    token.mint(admin, MAX_BALANCE + 1, {"from": admin})
    with brownie.reverts(error("AmountTooLarge", MAX_BALANCE + 1, MAX_BALANCE)):
        escrow.deposit(MAX_BALANCE + 1, {"from": admin})


def test_withdraw_sends_tokens_from_the_balance_to_the_wallet(escrow, token, buyer):
    escrow.withdraw(FUNDS // 4, {"from": buyer})
    assert (escrow.balanceOf(buyer), token.balanceOf(buyer), escrow.totalBalances()) == (
        FUNDS - FUNDS // 4,
        FUNDS // 4,
        2 * FUNDS - FUNDS // 4,
    )


def test_withdraw_emits_withdrawn(escrow, buyer):
    event = escrow.withdraw(5, {"from": buyer}).events["Withdrawn"]
    assert (event["account"], event["amount"]) == (buyer, 5)


def test_withdraw_of_the_whole_balance_empties_it(escrow, token, buyer):
    escrow.withdraw(FUNDS, {"from": buyer})
    assert (escrow.balanceOf(buyer), token.balanceOf(buyer)) == (0, FUNDS)


def test_withdraw_of_one_more_than_the_balance_reverts(escrow, buyer):
    with brownie.reverts(error("InsufficientBalance", buyer, FUNDS, FUNDS + 1)):
        escrow.withdraw(FUNDS + 1, {"from": buyer})


def test_withdraw_of_zero_reverts(escrow, buyer):
    with brownie.reverts(error("ZeroAmount")):
        escrow.withdraw(0, {"from": buyer})


def test_withdrawing_tokens_locked_in_a_trade_reverts(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000)))
    # cost = ceil(1,000 x 23,456,789 / 1,000) = 23,456,789
    with brownie.reverts(error("InsufficientBalance", buyer, FUNDS - PRICE, FUNDS)):
        escrow.withdraw(FUNDS, {"from": buyer})


def test_pay_out_sends_each_account_its_whole_balance(escrow, token, matcher, buyer, buyer2):
    escrow.payOut([buyer, buyer2], {"from": matcher})
    assert (token.balanceOf(buyer), token.balanceOf(buyer2), escrow.balanceOf(buyer), escrow.totalBalances()) == (
        FUNDS,
        FUNDS,
        0,
        0,
    )


def test_pay_out_passes_over_an_empty_balance(escrow, token, matcher, buyer, seller):
    tx = escrow.payOut([seller, buyer], {"from": matcher})
    assert ([e["account"] for e in tx.events["Withdrawn"]], token.balanceOf(seller)) == ([buyer], 0)


def test_pay_out_emits_withdrawn_per_account_paid(escrow, matcher, buyer, buyer2):
    tx = escrow.payOut([buyer, buyer2], {"from": matcher})
    assert [(e["account"], e["amount"]) for e in tx.events["Withdrawn"]] == [(buyer, FUNDS), (buyer2, FUNDS)]


def test_pay_out_naming_an_account_twice_pays_it_once(escrow, token, matcher, buyer):
    escrow.payOut([buyer, buyer], {"from": matcher})
    assert (token.balanceOf(buyer), escrow.totalBalances()) == (FUNDS, FUNDS)


def test_pay_out_by_anyone_but_the_matcher_reverts(escrow, matcher, buyer):
    with brownie.reverts(error("NotMatcher", buyer, matcher)):
        escrow.payOut([buyer], {"from": buyer})
