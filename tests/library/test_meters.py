import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given
from hypothesis import strategies as st

from p2p_energy.domain.eip712 import Eip712Domain, Signature
from p2p_energy.domain.meters import DOMAIN_NAME, DOMAIN_VERSION, MeterKey, Reading, reading_domain
from p2p_energy.errors import UsageError
from p2p_energy.run.state import sign_typed

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
u64 = st.integers(min_value=0, max_value=2**64 - 1)
keys = st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < SECP256K1_N)


def typed_data(domain: Eip712Domain, reading: Reading):
    return encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Reading": [
                    {"name": "meterId", "type": "uint32"},
                    {"name": "slot", "type": "uint64"},
                    {"name": "exportedWh", "type": "uint64"},
                ],
            },
            "primaryType": "Reading",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": domain.chain_id,
                "verifyingContract": domain.contract,
            },
            "message": {"meterId": reading.meter_id, "slot": reading.slot, "exportedWh": reading.exported_wh},
        }
    )


def expanded(signature: Signature) -> bytes:
    """The 65-byte r || s || v form of an EIP-2098 compact signature."""
    vs = int.from_bytes(signature.vs, "big")
    return signature.r + (vs & (2**255 - 1)).to_bytes(32, "big") + bytes([27 + (vs >> 255)])


@given(key=keys, meter=st.integers(min_value=0, max_value=2**32 - 1), slot=u64, exported=u64)
def test_signature_equals_eth_accounts_typed_data_signature(key, meter, slot, exported):
    domain, reading = reading_domain(8890, REGISTRY), Reading(meter, slot, exported)
    signature = MeterKey(key).sign(domain, reading)
    assert expanded(signature) == Account.sign_message(typed_data(domain, reading), key).signature


@given(key=keys, slot=u64)
def test_signature_recovers_to_the_meter_address(key, slot):
    domain, reading = reading_domain(31337, REGISTRY), Reading(1, slot, 0)
    signature = MeterKey(key).sign(domain, reading)
    assert Account.recover_message(typed_data(domain, reading), signature=expanded(signature)) == MeterKey(key).address


@given(key=keys)
def test_signatures_are_low_s_as_openzeppelin_requires(key):
    signature = MeterKey(key).sign(reading_domain(1, REGISTRY), Reading(1, 2, 3))
    assert int.from_bytes(signature.vs, "big") & (2**255 - 1) <= SECP256K1_N // 2


@given(key=keys, slot=u64, exported=u64)
def test_the_runners_signing_gives_the_meters_signature(key, slot, exported):
    domain, reading = reading_domain(8890, REGISTRY), Reading(7, slot, exported)
    assert sign_typed(key, domain, reading.struct_hash()) == MeterKey(key).sign(domain, reading)


def test_digest_binds_the_chain_id():
    reading = Reading(1, 2, 3)
    digests = {reading_domain(chain_id, REGISTRY).digest(reading.struct_hash()) for chain_id in (1, 2)}
    assert len(digests) == 2


@pytest.mark.parametrize("field", ["slot", "exported_wh"])
def test_reading_rejects_values_beyond_64_bits(field):
    values = {"meter_id": 1, "slot": 0, "exported_wh": 0, field: 2**64}
    with pytest.raises(UsageError, match=f"reading {field} must fit 64 bits"):
        Reading(**values)


def test_reading_rejects_a_meter_id_beyond_32_bits():
    with pytest.raises(UsageError, match="meter id must fit 32 bits"):
        Reading(2**32, 0, 0)


def test_meter_key_rejects_malformed_hex():
    with pytest.raises(UsageError, match="not a valid meter key"):
        MeterKey.from_hex("0x12")
