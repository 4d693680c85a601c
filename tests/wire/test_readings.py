"""Meter readings: a window of interval exports, its packed record, the meter's key."""

import pytest

from p2p_energy.errors import UsageError
from p2p_energy.wire.readings import MAX_SLOTS_PER_READING, MeterKey, Reading, reading_domain, reading_size

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
KEY = MeterKey(b"\x42" * 32)


def test_a_reading_covers_its_consecutive_slots():
    reading = Reading(7, 100, (5, 0, 9))
    assert list(reading.slots) == [100, 101, 102]
    assert reading.exported(102) == 9


@pytest.mark.parametrize("slots", [0, MAX_SLOTS_PER_READING + 1])
def test_a_reading_of_no_slot_or_more_than_a_day_is_refused(slots):
    with pytest.raises(UsageError, match=f"a reading covers 1 to {MAX_SLOTS_PER_READING} slots"):
        Reading(1, 0, (1,) * slots)


def test_a_reading_of_a_whole_day_is_accepted():
    assert len(Reading(1, 0, (1,) * MAX_SLOTS_PER_READING).slots) == MAX_SLOTS_PER_READING


def test_an_export_beyond_32_bits_is_refused():
    with pytest.raises(UsageError, match=r"Reading\.exportedWh must fit uint32"):
        Reading(1, 0, (2**32,))


def test_the_record_is_meter_first_slot_count_values_and_signature():
    signed = KEY.sign(reading_domain(1, REGISTRY), Reading(0x01020304, 0x0A0B0C0D, (1, 2)))
    record = signed.record
    assert record[:9] == bytes.fromhex("010203040a0b0c0d02")
    assert record[9:17] == bytes.fromhex("0000000100000002")
    assert record[17:] == signed.signature.r + signed.signature.vs
    assert len(record) == reading_size(2)


def test_a_malformed_meter_key_is_refused():
    with pytest.raises(UsageError, match="not a valid meter key"):
        MeterKey.from_hex("0x12")
