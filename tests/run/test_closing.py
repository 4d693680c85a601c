"""The closeLots calls a run builds from its books: which lots settle with which readings, which are refunded,
who is credited (nothing is sent; the books are those all of faults.toml's planned fills would give)."""

import pytest

from p2p_energy.run.calls import closings
from p2p_energy.wire.records import credited_by, lot_key
from tests.run.setups import C0, booked

OFFLINE = "solar-002"  # faults.toml: offline in slots 4 and 5


@pytest.fixture(scope="module")
def faults(make_setup):
    return make_setup("faults", window_slots=2, grace_period_s=3 * 900)


def time_of(setup, slot: float) -> int:
    return int(setup.slot_start(C0) + slot * setup.timing.slot_length)


def lots_of(calls):
    return {lot.key: (lot, call) for call in calls for group in call.groups for lot in group.lots}


def test_nothing_closes_before_any_slot_ended(faults):
    assert closings(faults, booked(faults), time_of(faults, 0.5)) == []


def test_a_lot_whose_slot_ended_is_settled_with_its_meters_reading_of_that_slot(faults):
    books = booked(faults)
    calls = closings(faults, books, time_of(faults, 1.5))
    settled = {key for call in calls for key in call.proofs}
    slot0 = {lot_key(lot.meter_id, C0) for lot in books.ledger.open_lots(0)}
    assert slot0 and slot0 <= settled
    for call in calls:
        for key, place in call.proofs.items():
            reading = call.readings[place].reading
            meter, chain_slot = key >> 64, key & (2**64 - 1)
            assert reading.meter_id == meter and chain_slot in reading.slots
            row = faults.meter_row[meter]
            assert reading.exported(chain_slot) == faults.plan.export_wh[row, chain_slot - C0]


def test_an_offline_meters_lots_get_no_reading_within_the_grace_period(faults):
    books = booked(faults)
    row = faults.scenario.household_names.index(OFFLINE)
    meter = faults.households[row].meter_id
    calls = closings(faults, books, time_of(faults, 6.5))
    offline = {lot_key(meter, C0 + s) for s in (4, 5)} & set(lots_of(calls))
    assert offline and not offline & {key for call in calls for key in call.proofs}
    assert all(C0 + 4 not in r.reading.slots for call in calls for r in call.readings if r.reading.meter_id == meter)


def test_a_lot_past_its_grace_period_is_refunded_crediting_every_buyer(faults):
    books = booked(faults)
    calls = closings(faults, books, time_of(faults, 1 + 3 + 0.5))
    lots = lots_of(calls)
    key = next(lot_key(lot.meter_id, C0) for lot in books.ledger.open_lots(0))
    lot, call = lots[key]
    assert key not in call.proofs
    assert lot.buyers <= set(call.accounts.loaded)


def test_a_call_loads_exactly_the_sellers_it_pays_and_the_buyers_it_refunds(faults):
    books = booked(faults)
    for call in closings(faults, books, time_of(faults, 1.5)):
        credited = set()
        for group in call.groups:
            for lot in group.lots:
                if lot.key in call.proofs:
                    exported = faults.plan.export_wh[faults.meter_row[lot.meter_id], lot.slot - C0]
                    credited |= credited_by(lot, int(exported))
        assert set(call.accounts.loaded) == credited


def test_a_closing_call_gives_a_group_with_all_its_lots_even_those_it_leaves(faults):
    books = booked(faults)
    for call in closings(faults, books, time_of(faults, 6.5)):
        for group in call.groups:
            assert [(lot.meter_id, lot.slot - C0) for lot in group.lots] == books.ledger.groups[
                (group.slot, group.group)
            ]
