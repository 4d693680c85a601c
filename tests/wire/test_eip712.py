"""EIP-712 hashing and signing of the escrow's and the registry's structs, against eth-account's own encoder."""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given
from hypothesis import strategies as st

from p2p_energy.errors import UsageError
from p2p_energy.wire.eip712 import Eip712Domain, Signature, StructType, key_address, sign_struct
from p2p_energy.wire.orders import ASK_TYPE, BID_TYPE, Ask, Bid, order_domain
from p2p_energy.wire.readings import READING_TYPE, Reading, reading_domain

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
keys = st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < SECP256K1_N)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


def uints(bits):
    return st.integers(min_value=0, max_value=2**bits - 1)


def typed_data(struct: StructType, domain: Eip712Domain, message: dict):
    """The same struct through eth-account's generic encoder."""
    return encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                struct.name: [{"name": name, "type": t} for name, t in struct.fields],
            },
            "primaryType": struct.name,
            "domain": {
                "name": domain.name,
                "version": domain.version,
                "chainId": domain.chain_id,
                "verifyingContract": domain.contract,
            },
            "message": message,
        }
    )


def expanded(signature: Signature) -> bytes:
    """The 65-byte r || s || v form of an EIP-2098 compact signature."""
    vs = int.from_bytes(signature.vs, "big")
    return signature.r + (vs & (2**255 - 1)).to_bytes(32, "big") + bytes([27 + (vs >> 255)])


@given(key=keys, account=addresses, price=uints(48), wh=uints(24), until=uints(32))
def test_a_bids_signature_is_eth_accounts_typed_data_signature(key, account, price, wh, until):
    domain, bid = order_domain(81, CONTRACT), Bid(account, price, wh, until)
    message = dict(zip((n for n, _ in BID_TYPE.fields), bid.values(), strict=True))
    signature = sign_struct(key, domain, bid.struct_hash())
    assert expanded(signature) == Account.sign_message(typed_data(BID_TYPE, domain, message), key).signature


@given(key=keys, account=addresses, meter=uints(32), price=uints(48), wh=uints(24), minimum=uints(24))
def test_an_asks_signature_is_eth_accounts_typed_data_signature(key, account, meter, price, wh, minimum):
    domain, ask = order_domain(8890, CONTRACT), Ask(account, meter, price, wh, minimum, 96)
    message = dict(zip((n for n, _ in ASK_TYPE.fields), ask.values(), strict=True))
    signature = sign_struct(key, domain, ask.struct_hash())
    assert expanded(signature) == Account.sign_message(typed_data(ASK_TYPE, domain, message), key).signature


@given(key=keys, meter=uints(32), first=uints(24), exported=st.lists(uints(32), min_size=1, max_size=96))
def test_a_readings_signature_is_eth_accounts_typed_data_signature(key, meter, first, exported):
    domain, reading = reading_domain(31337, CONTRACT), Reading(meter, first, tuple(exported))
    message = {"meterId": meter, "firstSlot": first, "exportedWh": exported}
    signature = sign_struct(key, domain, reading.struct_hash())
    assert expanded(signature) == Account.sign_message(typed_data(READING_TYPE, domain, message), key).signature


@given(key=keys)
def test_a_signature_recovers_to_the_keys_address(key):
    domain, reading = reading_domain(1, CONTRACT), Reading(1, 2, (3,))
    message = {"meterId": 1, "firstSlot": 2, "exportedWh": [3]}
    signature = expanded(sign_struct(key, domain, reading.struct_hash()))
    assert Account.recover_message(typed_data(READING_TYPE, domain, message), signature=signature) == key_address(key)


@given(key=keys)
def test_signatures_are_low_s_as_openzeppelin_requires(key):
    signature = sign_struct(key, reading_domain(1, CONTRACT), Reading(1, 2, (3,)).struct_hash())
    assert int.from_bytes(signature.vs, "big") & (2**255 - 1) <= SECP256K1_N // 2


def test_the_type_strings_are_the_contracts():
    assert BID_TYPE.type_string == "Bid(address account,uint48 maxPricePerKWh,uint24 maxWhPerSlot,uint32 untilSlot)"
    assert ASK_TYPE.type_string == (
        "Ask(address account,uint32 meterId,uint48 minPricePerKWh,uint24 maxWhPerSlot,uint24 minWh,uint32 untilSlot)"
    )
    assert READING_TYPE.type_string == "Reading(uint32 meterId,uint32 firstSlot,uint32[] exportedWh)"


def test_a_digest_binds_the_chain_id_and_the_contract():
    struct_hash = Reading(1, 2, (3,)).struct_hash()
    digests = {
        reading_domain(chain_id, contract).digest(struct_hash)
        for chain_id in (1, 2)
        for contract in (CONTRACT, "0x" + "11" * 20)
    }
    assert len(digests) == 4


@pytest.mark.parametrize(("field", "value"), [("max_price_per_kwh", 2**48), ("max_wh_per_slot", 2**24)])
def test_an_order_field_beyond_its_type_is_refused_naming_it(field, value):
    values = {"account": CONTRACT, "max_price_per_kwh": 1, "max_wh_per_slot": 1, "until_slot": 1, field: value}
    name = {"max_price_per_kwh": "maxPricePerKWh", "max_wh_per_slot": "maxWhPerSlot"}[field]
    with pytest.raises(UsageError, match=f"Bid.{name} must fit"):
        Bid(**values).struct_hash()


def test_a_struct_of_an_unsupported_type_cannot_be_written():
    with pytest.raises(ValueError, match="unsupported EIP-712 type string"):
        StructType("Bad", (("name", "string"),))
