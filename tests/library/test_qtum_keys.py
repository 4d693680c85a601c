"""WIF keys, and the two addresses one key has on Qtum.

The WIF vectors are Bitcoin's (same versions 128/239); the address
definitions are computed here from hashlib, coincurve and eth-account,
not through p2p_energy.chain.qtum_keys.
"""

import hashlib

import coincurve
import pytest
from Crypto.Hash import RIPEMD160
from eth_account import Account
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.chain.qtum_keys import QtumKey, gethexaddress
from p2p_energy.errors import UsageError
from tests.library.base58_reference import reference_b58check

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

# Bitcoin wiki, "Wallet import format": one key, uncompressed and compressed.
KEY = bytes.fromhex("0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d")
WIF_UNCOMPRESSED = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
WIF_COMPRESSED = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617"
WIF_TESTNET_COMPRESSED = "cMzLdeGd5vEqxB8B6VFQoRopQ3sLAAvEzDAoQgvX54xwofSWj1fx"
# HASH160 of its compressed public key: the payload of 1LoVGDgRs9hTfTNJNuXKSpywcbdvwRXpmK.
KEY_HASH160 = "d9351dcbad5b8f3b8bfa2f2cdc85c28118ca9326"
ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

private_keys = st.integers(min_value=1, max_value=ORDER - 1).map(lambda n: n.to_bytes(32, "big"))
qtum_networks = st.sampled_from(["qtum-mainnet", "qtum-testnet", "qtum-regtest"])


def reference_hash160(private_key: bytes) -> str:
    digest = hashlib.sha256(coincurve.PrivateKey(private_key).public_key.format(compressed=True)).digest()
    try:
        return hashlib.new("ripemd160", digest).hexdigest()
    except ValueError:  # OpenSSL 3 without its legacy provider
        return RIPEMD160.new(digest).hexdigest()


def test_compressed_mainnet_wif_is_read():
    key = QtumKey.from_wif(WIF_COMPRESSED, "qtum-mainnet")
    assert (key.private_key, key.compressed) == (KEY, True)


def test_uncompressed_wif_is_read_as_uncompressed():
    key = QtumKey.from_wif(WIF_UNCOMPRESSED)
    assert (key.private_key, key.compressed) == (KEY, False)


def test_mainnet_wif_is_written():
    assert QtumKey(KEY).to_wif("qtum-mainnet") == WIF_COMPRESSED
    assert QtumKey(KEY, compressed=False).to_wif("qtum-mainnet") == WIF_UNCOMPRESSED


def test_testnet_wif_has_version_239_and_the_compressed_flag():
    assert QtumKey(KEY).to_wif("qtum-testnet") == reference_b58check(bytes([239]) + KEY + b"\x01")
    assert QtumKey(KEY).to_wif("qtum-testnet") == WIF_TESTNET_COMPRESSED


def test_regtest_wif_is_the_testnet_wif():
    assert QtumKey(KEY).to_wif("qtum-regtest") == QtumKey(KEY).to_wif("qtum-testnet")


def test_hash160_of_the_wiki_key_is_its_bitcoin_address_payload():
    assert QtumKey(KEY).hash160.hex() == KEY_HASH160


def test_qtum_address_holds_the_hash160():
    assert gethexaddress(QtumKey(KEY).qtum_address("qtum-mainnet"), "qtum-mainnet") == KEY_HASH160


def test_wif_of_another_network_is_rejected_naming_both():
    with pytest.raises(UsageError, match=r"is for qtum-mainnet \(version 128\), not for qtum-regtest \(version 239\)"):
        QtumKey.from_wif(WIF_COMPRESSED, "qtum-regtest")


def test_wif_with_a_non_qtum_version_is_rejected():
    with pytest.raises(UsageError, match="not a Qtum WIF key: version 58"):
        QtumKey.from_wif(reference_b58check(bytes([58]) + KEY + b"\x01"))


def test_wif_with_a_bad_checksum_is_rejected():
    mistyped = WIF_COMPRESSED[:-1] + ("8" if WIF_COMPRESSED[-1] != "8" else "9")
    with pytest.raises(UsageError, match="bad checksum"):
        QtumKey.from_wif(mistyped)


@pytest.mark.parametrize("body", [KEY[:31], KEY + b"\x02", KEY + b"\x01\x01"], ids=["31 bytes", "bad flag", "too long"])
def test_wif_of_the_wrong_length_or_flag_is_rejected(body):
    with pytest.raises(UsageError, match="not a WIF private key"):
        QtumKey.from_wif(reference_b58check(bytes([128]) + body))


@pytest.mark.parametrize("number", [0, ORDER, 2**256 - 1])
def test_key_outside_the_curve_order_is_rejected(number):
    with pytest.raises(UsageError, match="out of range"):
        QtumKey(number.to_bytes(32, "big"))


def test_key_of_the_wrong_length_is_rejected():
    with pytest.raises(UsageError, match="32 bytes, got 31"):
        QtumKey(KEY[:31])


def test_local_chain_has_no_wif_keys():
    with pytest.raises(UsageError, match="not a Qtum network"):
        QtumKey(KEY).to_wif("local")


def test_hex_key_must_be_hex():
    with pytest.raises(UsageError, match="64 hex characters"):
        QtumKey.from_hex("0x" + "zz" * 32)


@settings(database=None, deadline=None)
@given(private_key=private_keys)
def test_hash160_address_is_ripemd160_of_sha256_of_the_compressed_public_key(private_key):
    assert QtumKey(private_key).hash160_address.lower() == "0x" + reference_hash160(private_key)


@settings(database=None, deadline=None)
@given(private_key=private_keys)
def test_keccak_address_is_what_eth_account_derives(private_key):
    assert QtumKey(private_key).keccak_address == Account.from_key(private_key).address


@settings(database=None, deadline=None)
@given(private_key=private_keys)
def test_keccak_address_is_the_last_20_bytes_of_keccak_of_the_public_key(private_key):
    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)[1:]
    assert QtumKey(private_key).keccak_address.lower() == "0x" + keccak(public)[12:].hex()


@settings(database=None, deadline=None)
@given(private_key=private_keys)
def test_one_key_has_two_different_addresses(private_key):
    key = QtumKey(private_key)
    assert key.hash160_address != key.keccak_address


@settings(database=None, deadline=None)
@given(private_key=private_keys, compressed=st.booleans(), network=qtum_networks)
def test_wif_round_trip_keeps_the_key_and_its_form(private_key, compressed, network):
    key = QtumKey(private_key, compressed)
    assert QtumKey.from_wif(key.to_wif(network), network) == key


@settings(database=None, deadline=None)
@given(private_key=private_keys, network=qtum_networks)
def test_qtum_address_decodes_to_the_sender_address(private_key, network):
    key = QtumKey(private_key)
    assert "0x" + gethexaddress(key.qtum_address(network), network) == key.sender_address(network).lower()


@settings(database=None, deadline=None)
@given(private_key=private_keys)
def test_sender_on_a_local_chain_is_the_keccak_address(private_key):
    key = QtumKey(private_key)
    assert key.sender_address("local") == key.keccak_address


@settings(database=None, deadline=None)
@given(private_key=private_keys)
def test_meter_key_registers_the_keccak_address(private_key):
    key = QtumKey(private_key)
    assert key.meter_key().address == key.keccak_address
