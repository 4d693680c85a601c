"""nameOwnKeys: the order key of a Qtum account named from its public key, by anyone, never over a key the
account named itself."""

import brownie
import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.qtum_keys import QtumKey
from p2p_energy.limits import MAX_KEYS_PER_CALL
from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.orders import own_key_calldata, public_key
from tests.contracts.conftest import error, events

KEYS = [keccak(text=f"a qtum household {i}") for i in range(3)]


def qtum_address(key: bytes) -> str:
    """The account's address on Qtum: HASH160 of the compressed public key."""
    return QtumKey(key).hash160_address


def test_a_public_key_names_its_ecrecover_address_as_the_order_key_of_its_qtum_account(escrow, stranger):
    escrow.nameOwnKeys(own_key_calldata(KEYS[:1]), {"from": stranger})
    assert escrow.traderOf(qtum_address(KEYS[0])) == key_address(KEYS[0])


@pytest.mark.parametrize("index", range(len(KEYS)))
def test_every_key_of_a_call_is_named_for_its_own_account(escrow, stranger, index):
    escrow.nameOwnKeys(own_key_calldata(KEYS), {"from": stranger})
    assert escrow.traderOf(qtum_address(KEYS[index])) == key_address(KEYS[index])


def test_a_key_whose_y_is_odd_and_one_whose_y_is_even_both_give_their_accounts(escrow, stranger):
    parities = {public_key(k)[63] % 2: k for k in (keccak(text=f"parity {i}") for i in range(20))}
    assert set(parities) == {0, 1}
    escrow.nameOwnKeys(own_key_calldata(list(parities.values())), {"from": stranger})
    assert [escrow.traderOf(qtum_address(k)) for k in parities.values()] == [key_address(k) for k in parities.values()]


def test_naming_own_keys_emits_trader_set_per_account(escrow, stranger):
    tx = escrow.nameOwnKeys(own_key_calldata(KEYS), {"from": stranger})
    named = [(e["account"], e["signer"]) for e in events(tx, "TraderSet")]
    assert named == [(qtum_address(k), key_address(k)) for k in KEYS]


def test_a_key_an_account_named_itself_is_never_replaced(escrow, stranger, accounts):
    own = KEYS[0]
    account = accounts.at(qtum_address(own), force=True)  # the Qtum account, sending as itself
    stranger.transfer(account, "1 ether")
    chosen = key_address(keccak(text="the key the account chose"))
    escrow.setTrader(chosen, {"from": account})
    tx = escrow.nameOwnKeys(own_key_calldata([own]), {"from": stranger})
    assert events(tx, "TraderSet") == []
    assert escrow.traderOf(account) == chosen


def test_an_own_key_named_once_is_not_named_again(escrow, stranger):
    escrow.nameOwnKeys(own_key_calldata(KEYS[:1]), {"from": stranger})
    assert events(escrow.nameOwnKeys(own_key_calldata(KEYS[:1]), {"from": stranger}), "TraderSet") == []


def test_a_call_of_exactly_max_keys_per_call_is_accepted(escrow, stranger):
    keys = [keccak(text=f"max {i}") for i in range(MAX_KEYS_PER_CALL)]
    tx = escrow.nameOwnKeys(own_key_calldata(keys), {"from": stranger})
    assert len(events(tx, "TraderSet")) == MAX_KEYS_PER_CALL


def test_a_call_of_more_than_max_keys_per_call_reverts_with_batch_too_large(escrow, stranger):
    keys = [keccak(text=f"over {i}") for i in range(MAX_KEYS_PER_CALL + 1)]
    with brownie.reverts(error("BatchTooLarge", MAX_KEYS_PER_CALL + 1, MAX_KEYS_PER_CALL)):
        escrow.nameOwnKeys(own_key_calldata(keys), {"from": stranger})


def test_keys_that_are_not_whole_64_byte_keys_revert_with_malformed_keys(escrow, stranger):
    with brownie.reverts(error("MalformedKeys", 65)):
        escrow.nameOwnKeys(own_key_calldata(KEYS[:1]) + b"\x00", {"from": stranger})


def test_a_mempool_copier_sending_the_operators_keys_first_names_only_what_the_operator_would(escrow, stranger, admin):
    # The copier sees the operator's nameOwnKeys and sends its calldata first: the names are the keys' own.
    escrow.nameOwnKeys(own_key_calldata(KEYS), {"from": stranger})
    after_operator = escrow.nameOwnKeys(own_key_calldata(KEYS), {"from": admin})
    assert events(after_operator, "TraderSet") == []
    assert [escrow.traderOf(qtum_address(k)) for k in KEYS] == [key_address(k) for k in KEYS]
