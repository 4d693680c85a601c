import brownie

from tests.contracts.conftest import INITIAL

MAX_UINT256 = 2**256 - 1


def test_transfer_from_moves_tokens_and_spends_allowance(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    token.transferFrom(admin, accounts[2], 200, {"from": accounts[1]})
    assert token.balanceOf(accounts[2]) == 200
    assert token.allowance(admin, accounts[1]) == 300


def test_transfer_from_emits_transfer_event(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    tx = token.transferFrom(admin, accounts[2], 200, {"from": accounts[1]})
    event = tx.events["Transfer"]
    assert (event["from"], event["to"], event["value"]) == (admin, accounts[2], 200)


def test_transfer_from_of_the_exact_allowance_leaves_zero(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    token.transferFrom(admin, accounts[2], 500, {"from": accounts[1]})
    assert token.allowance(admin, accounts[1]) == 0


def test_transfer_from_keeps_an_unlimited_allowance(token, admin, accounts):
    token.approve(accounts[1], MAX_UINT256, {"from": admin})
    token.transferFrom(admin, accounts[2], 200, {"from": accounts[1]})
    assert token.allowance(admin, accounts[1]) == MAX_UINT256


def test_transfer_from_reverts_without_allowance(token, admin, accounts):
    with brownie.reverts(f"ERC20InsufficientAllowance: {accounts[1].address.lower()}, 0, 1"):
        token.transferFrom(admin, accounts[2], 1, {"from": accounts[1]})


def test_transfer_from_reverts_when_allowance_is_short(token, admin, accounts):
    token.approve(accounts[1], 99, {"from": admin})
    with brownie.reverts(f"ERC20InsufficientAllowance: {accounts[1].address.lower()}, 99, 100"):
        token.transferFrom(admin, accounts[2], 100, {"from": accounts[1]})


def test_transfer_from_reverts_when_balance_is_short(token, admin, accounts):
    token.approve(accounts[1], MAX_UINT256, {"from": admin})
    with brownie.reverts(f"ERC20InsufficientBalance: {admin.address.lower()}, {INITIAL}, {INITIAL + 1}"):
        token.transferFrom(admin, accounts[2], INITIAL + 1, {"from": accounts[1]})


def test_transfer_from_to_the_zero_address_reverts(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    with brownie.reverts(f"ERC20InvalidReceiver: {brownie.ZERO_ADDRESS}"):
        token.transferFrom(admin, brownie.ZERO_ADDRESS, 1, {"from": accounts[1]})
