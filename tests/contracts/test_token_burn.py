import brownie

from tests.contracts.conftest import INITIAL


def test_burn_lowers_balance_and_total_supply(token, admin):
    token.burn(100, {"from": admin})
    assert token.balanceOf(admin) == INITIAL - 100
    assert token.totalSupply() == INITIAL - 100


def test_burn_emits_transfer_to_the_zero_address(token, admin):
    tx = token.burn(100, {"from": admin})
    event = tx.events["Transfer"]
    assert (event["from"], event["to"], event["value"]) == (admin, brownie.ZERO_ADDRESS, 100)


def test_burn_above_balance_reverts(token, accounts):
    with brownie.reverts(f"ERC20InsufficientBalance: {accounts[1].address.lower()}, 0, 1"):
        token.burn(1, {"from": accounts[1]})


def test_burn_from_spends_allowance(token, admin, accounts):
    token.approve(accounts[1], 100, {"from": admin})
    token.burnFrom(admin, 60, {"from": accounts[1]})
    assert token.allowance(admin, accounts[1]) == 40
    assert token.totalSupply() == INITIAL - 60


def test_burn_from_without_allowance_reverts(token, admin, accounts):
    with brownie.reverts(f"ERC20InsufficientAllowance: {accounts[1].address.lower()}, 0, 1"):
        token.burnFrom(admin, 1, {"from": accounts[1]})
