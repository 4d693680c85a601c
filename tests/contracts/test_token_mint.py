import brownie
from web3 import Web3

from tests.contracts.conftest import INITIAL, error

MINTER_ROLE = Web3.keccak(text="MINTER_ROLE").to_0x_hex()
DEFAULT_ADMIN_ROLE = bytes(32)


def test_minter_mints_to_an_account(token, admin, accounts):
    token.mint(accounts[1], 42, {"from": admin})
    assert token.balanceOf(accounts[1]) == 42


def test_mint_raises_total_supply(token, admin, accounts):
    token.mint(accounts[1], 42, {"from": admin})
    assert token.totalSupply() == INITIAL + 42


def test_mint_emits_transfer_from_the_zero_address(token, admin, accounts):
    tx = token.mint(accounts[1], 42, {"from": admin})
    event = tx.events["Transfer"]
    assert (event["from"], event["to"], event["value"]) == (brownie.ZERO_ADDRESS, accounts[1], 42)


def test_admin_holds_the_minter_role(token, admin):
    assert token.hasRole(MINTER_ROLE, admin)


def test_mint_by_an_account_without_the_role_reverts(token, accounts):
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[1], bytes.fromhex(MINTER_ROLE[2:]))):
        token.mint(accounts[1], 42, {"from": accounts[1]})


def test_granted_minter_can_mint(token, admin, accounts):
    token.grantRole(MINTER_ROLE, accounts[1], {"from": admin})
    token.mint(accounts[2], 5, {"from": accounts[1]})
    assert token.balanceOf(accounts[2]) == 5


def test_revoked_minter_can_no_longer_mint(token, admin, accounts):
    token.grantRole(MINTER_ROLE, accounts[1], {"from": admin})
    token.revokeRole(MINTER_ROLE, accounts[1], {"from": admin})
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[1], bytes.fromhex(MINTER_ROLE[2:]))):
        token.mint(accounts[2], 5, {"from": accounts[1]})


def test_granting_a_role_emits_role_granted(token, admin, accounts):
    tx = token.grantRole(MINTER_ROLE, accounts[1], {"from": admin})
    event = tx.events["RoleGranted"]
    assert (event["role"], event["account"], event["sender"]) == (MINTER_ROLE, accounts[1], admin)


def test_only_the_admin_grants_roles(token, accounts):
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[1], DEFAULT_ADMIN_ROLE)):
        token.grantRole(MINTER_ROLE, accounts[2], {"from": accounts[1]})
    assert not token.hasRole(MINTER_ROLE, accounts[2])


def test_mint_to_the_zero_address_reverts(token, admin):
    with brownie.reverts(f"ERC20InvalidReceiver: {brownie.ZERO_ADDRESS}"):
        token.mint(brownie.ZERO_ADDRESS, 1, {"from": admin})


def test_mint_that_would_overflow_total_supply_reverts(token, admin, accounts):
    # Solidity's checked addition: Panic(0x11), which brownie names "Integer overflow"
    with brownie.reverts("Integer overflow"):
        token.mint(accounts[1], 2**256 - 1, {"from": admin})
