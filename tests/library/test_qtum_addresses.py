"""Qtum base58 addresses <-> the 20-byte hex that contracts see.

Expected values come from Janus' README (the regtest pair) or from a
base58check written here independently of p2p_energy.chain.qtum_keys.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.chain.qtum_keys import decode_address, fromhexaddress, gethexaddress
from p2p_energy.errors import UsageError
from tests.library.base58_reference import ALPHABET, reference_b58check

JANUS_ADDRESS = "qUbxboqjBRp96j3La8D1RYkyqx5uQbJPoW"
JANUS_HEX = "7926223070547d2d15b2ef5e7383e541c338ffe9"
VERSIONS = {"qtum-mainnet": 58, "qtum-testnet": 120, "qtum-regtest": 120}


def test_gethexaddress_of_the_janus_example_is_its_hex():
    assert gethexaddress(JANUS_ADDRESS) == JANUS_HEX


def test_fromhexaddress_on_regtest_gives_the_janus_example():
    assert fromhexaddress(JANUS_HEX, "qtum-regtest") == JANUS_ADDRESS


def test_testnet_and_regtest_share_one_address_format():
    assert fromhexaddress(JANUS_HEX, "qtum-testnet") == fromhexaddress(JANUS_HEX, "qtum-regtest")


def test_mainnet_address_has_version_58_and_starts_with_capital_q():
    address = fromhexaddress(JANUS_HEX, "qtum-mainnet")
    assert address == reference_b58check(bytes([58]) + bytes.fromhex(JANUS_HEX))
    assert address.startswith("Q")


def test_fromhexaddress_accepts_0x_and_upper_case_hex():
    assert fromhexaddress("0x" + JANUS_HEX.upper(), "qtum-regtest") == JANUS_ADDRESS


def test_gethexaddress_checks_the_network_when_one_is_named():
    assert gethexaddress(JANUS_ADDRESS, "qtum-regtest") == JANUS_HEX


def test_address_of_another_network_is_rejected_naming_both():
    mainnet = reference_b58check(bytes([58]) + bytes.fromhex(JANUS_HEX))
    with pytest.raises(UsageError, match=r"of qtum-mainnet \(version 58\), not of qtum-regtest \(version 120\)"):
        gethexaddress(mainnet, "qtum-regtest")


def test_bitcoin_address_is_not_a_qtum_address():
    with pytest.raises(UsageError, match="not a Qtum P2PKH address: version 0"):
        gethexaddress("1LoVGDgRs9hTfTNJNuXKSpywcbdvwRXpmK")


def test_mistyped_character_fails_the_checksum():
    mistyped = JANUS_ADDRESS[:10] + ("a" if JANUS_ADDRESS[10] != "a" else "b") + JANUS_ADDRESS[11:]
    with pytest.raises(UsageError, match="bad checksum"):
        gethexaddress(mistyped)


def test_payload_of_the_wrong_length_is_rejected():
    short = reference_b58check(bytes([120]) + bytes(19))
    with pytest.raises(UsageError, match="holds 19 bytes after the version, not 20"):
        gethexaddress(short)


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", " ", "-"])
def test_character_outside_base58_is_named_with_its_position(bad):
    with pytest.raises(UsageError, match=rf"character 3 is {bad!r}"):
        gethexaddress(JANUS_ADDRESS[:2] + bad + JANUS_ADDRESS[3:])


def test_too_short_string_is_rejected():
    with pytest.raises(UsageError, match="too short"):
        gethexaddress("q1")


@pytest.mark.parametrize("hexaddress", [JANUS_HEX[:-2], JANUS_HEX + "00", ""])
def test_fromhexaddress_wants_exactly_40_hex_characters(hexaddress):
    with pytest.raises(UsageError, match="expected 40 hex characters"):
        fromhexaddress(hexaddress, "qtum-regtest")


def test_fromhexaddress_rejects_non_hex_characters():
    with pytest.raises(UsageError, match="not hex"):
        fromhexaddress("zz" + JANUS_HEX[2:], "qtum-regtest")


def test_local_chain_has_no_base58_addresses():
    with pytest.raises(UsageError, match="local is not a Qtum network"):
        fromhexaddress(JANUS_HEX, "local")


def test_unknown_network_name_lists_the_known_ones():
    with pytest.raises(UsageError, match="choose one of local, qtum-mainnet, qtum-testnet, qtum-regtest"):
        fromhexaddress(JANUS_HEX, "qtum-devnet")


@settings(database=None, deadline=None)
@given(payload=st.binary(min_size=20, max_size=20), name=st.sampled_from(sorted(VERSIONS)))
def test_base58_matches_an_independent_base58check(payload, name):
    assert fromhexaddress(payload.hex(), name) == reference_b58check(bytes([VERSIONS[name]]) + payload)


@settings(database=None, deadline=None)
@given(payload=st.binary(min_size=20, max_size=20), name=st.sampled_from(sorted(VERSIONS)))
def test_hex_to_base58_and_back_is_the_identity(payload, name):
    assert decode_address(fromhexaddress(payload.hex(), name), name) == payload


@settings(database=None, deadline=None)
@given(payload=st.binary(min_size=20, max_size=20), position=st.integers(0, 33), data=st.data())
def test_any_single_character_change_is_caught(payload, position, data):
    address = reference_b58check(bytes([120]) + payload)
    position %= len(address)
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != address[position]]))
    with pytest.raises(UsageError):
        decode_address(address[:position] + replacement + address[position + 1 :], "qtum-regtest")
