import brownie

from tests.contracts.conftest import INITIAL


def test_transfer_moves_balance_from_sender_to_receiver(token, admin, accounts):
    token.transfer(accounts[1], 300, {"from": admin})
    assert token.balanceOf(admin) == INITIAL - 300
    assert token.balanceOf(accounts[1]) == 300


def test_transfer_keeps_total_supply(token, admin, accounts):
    token.transfer(accounts[1], 300, {"from": admin})
    assert token.totalSupply() == INITIAL


def test_transfer_emits_transfer_event(token, admin, accounts):
    tx = token.transfer(accounts[1], 300, {"from": admin})
    event = tx.events["Transfer"]
    assert (event["from"], event["to"], event["value"]) == (admin, accounts[1], 300)


def test_transfer_of_whole_balance_leaves_zero(token, admin, accounts):
    token.transfer(accounts[1], INITIAL, {"from": admin})
    assert token.balanceOf(admin) == 0


def test_transfer_of_zero_is_allowed(token, admin, accounts):
    tx = token.transfer(accounts[1], 0, {"from": admin})
    assert token.balanceOf(accounts[1]) == 0
    assert "Transfer" in tx.events


def test_transfer_to_self_keeps_balance(token, admin):
    token.transfer(admin, 300, {"from": admin})
    assert token.balanceOf(admin) == INITIAL


def test_transfer_reverts_when_balance_is_short(token, admin, accounts):
    with brownie.reverts(f"ERC20InsufficientBalance: {admin.address.lower()}, {INITIAL}, {INITIAL + 1}"):
        token.transfer(accounts[1], INITIAL + 1, {"from": admin})


def test_transfer_reverts_from_an_empty_account(token, accounts):
    with brownie.reverts(f"ERC20InsufficientBalance: {accounts[2].address.lower()}, 0, 1"):
        token.transfer(accounts[1], 1, {"from": accounts[2]})


def test_transfer_to_the_zero_address_reverts(token, admin):
    with brownie.reverts(f"ERC20InvalidReceiver: {brownie.ZERO_ADDRESS}"):
        token.transfer(brownie.ZERO_ADDRESS, 1, {"from": admin})
