"""MeterRegistry.provenExports: per reading its byte offset, why later slots are not proven and the first slot
it does not prove; only to the meter's own escrow, only before the slot the meter was revoked in. A bad
reading never reverts; malformed bytes do."""

import brownie
import pytest
from eth_utils.crypto import keccak

from p2p_energy.wire.readings import MAX_SLOTS_PER_READING, MeterKey, Reading, reading_domain, reading_records
from tests.contracts.conftest import OTHER_METER, SELLER_METER, UNPROVEN, error, meter_key

UNKNOWN_METER = 99


class UncheckedReading(Reading):
    """A Reading the wire refuses to build (no slots, or more than MAX_SLOTS_PER_READING), written and signed by
    the wire's own code: to show that the registry refuses it too."""

    def __post_init__(self):
        pass


def decoded(word):
    """(byte offset, reason, first slot not proven) of one proof word."""
    return (word >> 64, UNPROVEN[(word >> 32) & 0xFF], word & 0xFFFFFFFF)


@pytest.fixture
def proven(registry, escrow):
    """proven(*signed readings, by=escrow) -> each reading's decoded proof, asked by `by` (an eth_call from it)."""

    def proven(*readings, by=None):
        words = registry.provenExports(reading_records(readings), {"from": str(by or escrow)})
        return [decoded(int(w)) for w in words]

    return proven


def test_a_reading_signed_by_its_meter_proves_every_slot_it_covers(proven, reading):
    assert proven(reading(SELLER_METER, 5, 10, 20, 30)) == [(0, "None", 8)]


def test_each_proof_gives_its_readings_byte_offset(proven, reading):
    # 9 header bytes, 4 per slot, 64 of signature: 77 for one slot, 85 for three
    readings = [reading(SELLER_METER, 5, 1), reading(OTHER_METER, 5, 1, 2, 3), reading(SELLER_METER, 9, 1)]
    assert [offset for offset, _, _ in proven(*readings)] == [0, 77, 162]


def test_a_reading_of_an_unknown_meter_proves_nothing_with_unknown_meter(proven, reading):
    assert proven(reading(UNKNOWN_METER, 5, 10)) == [(0, "UnknownMeter", 5)]


def test_a_reading_asked_for_by_another_escrow_proves_nothing_with_other_market(
    proven, reading, rival, registry, admin
):
    registry.registerMeter(77, admin, MeterKey(keccak(text="m77")).address, rival, {"from": admin})  # rival: market 2
    assert proven(reading(SELLER_METER, 5, 10), by=rival) == [(0, "OtherMarket", 5)]


def test_a_reading_asked_for_by_an_account_that_is_no_market_proves_nothing_with_other_market(
    proven, reading, stranger
):
    assert proven(reading(SELLER_METER, 5, 10), by=stranger) == [(0, "OtherMarket", 5)]


def test_a_reading_signed_by_another_key_proves_nothing_with_bad_signature(proven, reading):
    forged = reading(SELLER_METER, 5, 10, key=MeterKey(keccak(text="not the meter's key")))
    assert proven(forged) == [(0, "BadSignature", 5)]


def test_a_reading_signed_by_another_meters_key_proves_nothing_with_bad_signature(proven, reading):
    assert proven(reading(SELLER_METER, 5, 10, key=meter_key(OTHER_METER))) == [(0, "BadSignature", 5)]


def test_a_reading_signed_for_another_registry_proves_nothing_with_bad_signature(proven, reading, chain, escrow):
    elsewhere = reading(SELLER_METER, 5, 10, domain=reading_domain(chain.id, escrow.address))
    assert proven(elsewhere) == [(0, "BadSignature", 5)]


def test_a_reading_signed_for_another_chain_proves_nothing_with_bad_signature(proven, reading, chain, registry):
    elsewhere = reading(SELLER_METER, 5, 10, domain=reading_domain(chain.id + 1, registry.address))
    assert proven(elsewhere) == [(0, "BadSignature", 5)]


def test_a_reading_of_slots_before_the_revocation_proves_them_all(proven, reading, registry, admin, goto):
    goto(8, 100)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert proven(reading(SELLER_METER, 5, 10, 20, 30)) == [(0, "None", 8)]


def test_a_reading_across_the_revocation_proves_the_slots_before_it_with_revoked(
    proven, reading, registry, admin, goto
):
    goto(7, 100)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert proven(reading(SELLER_METER, 5, 10, 20, 30)) == [(0, "Revoked", 7)]


def test_a_reading_from_the_revoked_slot_on_proves_nothing_with_revoked(proven, reading, registry, admin, goto):
    goto(7, 100)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert proven(reading(SELLER_METER, 9, 10)) == [(0, "Revoked", 9)]


def test_a_bad_reading_does_not_spoil_the_next(proven, reading):
    forged = reading(SELLER_METER, 5, 10, key=MeterKey(keccak(text="not the meter's key")))
    assert [why for _, why, _ in proven(forged, reading(OTHER_METER, 5, 10))] == ["BadSignature", "None"]


def test_no_readings_prove_nothing(registry, escrow):
    assert list(registry.provenExports(b"", {"from": str(escrow)})) == []


def test_a_reading_of_max_slots_per_reading_slots_proves_them_all(proven, reading):
    assert proven(reading(SELLER_METER, 5, *range(MAX_SLOTS_PER_READING))) == [(0, "None", 5 + MAX_SLOTS_PER_READING)]


def test_a_reading_of_one_slot_past_max_slots_per_reading_reverts_with_malformed_readings(
    registry, escrow, readings_domain
):
    long = meter_key(SELLER_METER).sign(
        readings_domain, UncheckedReading(SELLER_METER, 5, tuple(range(MAX_SLOTS_PER_READING + 1)))
    )
    with brownie.reverts(error("MalformedReadings", 0)):
        registry.provenExports(long.record, {"from": str(escrow)})


def test_a_reading_of_no_slots_reverts_with_malformed_readings(registry, escrow, reading, readings_domain):
    empty = meter_key(SELLER_METER).sign(readings_domain, UncheckedReading(SELLER_METER, 5, ()))
    with brownie.reverts(error("MalformedReadings", 77)):
        registry.provenExports(reading(SELLER_METER, 5, 1).record + empty.record, {"from": str(escrow)})


def test_readings_cut_inside_a_signature_revert_with_malformed_readings_at_the_cut_reading(registry, escrow, reading):
    data = reading(SELLER_METER, 5, 1).record + reading(SELLER_METER, 6, 1).record
    with brownie.reverts(error("MalformedReadings", 77)):
        registry.provenExports(data[:-1], {"from": str(escrow)})


def test_readings_cut_inside_a_header_revert_with_malformed_readings(registry, escrow, reading):
    with brownie.reverts(error("MalformedReadings", 0)):
        registry.provenExports(reading(SELLER_METER, 5, 1).record[:8], {"from": str(escrow)})


def test_the_reading_digest_view_is_what_the_meter_key_signs(registry, readings_domain):
    signed = Reading(SELLER_METER, 5, (10, 20, 2**32 - 1))
    assert bytes(registry.readingDigest(signed.values())) == readings_domain.digest(signed.struct_hash())
