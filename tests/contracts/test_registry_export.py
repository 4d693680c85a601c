"""MeterRegistry.exportProven: what a meter's signed reading proves, and what proves nothing."""

import brownie
from eth_utils.crypto import keccak
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain

from tests.contracts.conftest import SELLER_METER, error, meter_key, recovered

FORGER = MeterKey(keccak(text="a forger's key"))
EXPORTED = 2**63 + 12_345  # a 64-bit value with its top bit set: no field may be cut short


def proven(registry, signed_reading):
    owner, active, exported_wh = registry.exportProven(*signed_reading)
    return (owner, active, int(exported_wh))


def test_a_reading_proves_the_owner_the_state_and_the_export(registry, escrow, reading, seller):
    assert proven(registry, reading(SELLER_METER, 5, EXPORTED)) == (seller, True, EXPORTED)


def test_a_reading_of_a_revoked_meter_proves_it_inactive(registry, escrow, reading, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert proven(registry, reading(SELLER_METER, 5, EXPORTED)) == (seller, False, EXPORTED)


def test_a_reading_of_a_slot_not_yet_over_proves_its_export_all_the_same(registry, escrow, reading, seller):
    # the registry does not judge time: the escrow settles a lot only after its slot
    assert proven(registry, reading(SELLER_METER, 10**6, 1))[2] == 1


def test_a_reading_of_an_unknown_meter_reverts(registry, reading):
    with brownie.reverts(error("UnknownMeter", 7)):
        registry.exportProven(*reading(7, 5, EXPORTED, key=meter_key(SELLER_METER)))


def test_a_reading_signed_by_another_key_reverts(registry, escrow, reading):
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, FORGER.address, meter_key(SELLER_METER).address)):
        registry.exportProven(*reading(SELLER_METER, 5, EXPORTED, key=FORGER))


def test_a_reading_changed_after_signing_reverts(registry, escrow, reading, readings):
    _, signature = reading(SELLER_METER, 5, EXPORTED)
    changed = Reading(SELLER_METER, 5, EXPORTED + 1)
    signer = recovered(readings, changed, signature)
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, signer, meter_key(SELLER_METER).address)):
        registry.exportProven(changed.as_tuple(), signature)


def test_a_reading_signed_for_another_chain_reverts(registry, escrow, reading, readings, chain):
    signed, signature = reading(SELLER_METER, 5, EXPORTED, domain=reading_domain(chain.id + 1, registry.address))
    signer = recovered(readings, Reading(*signed), signature)
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, signer, meter_key(SELLER_METER).address)):
        registry.exportProven(signed, signature)
