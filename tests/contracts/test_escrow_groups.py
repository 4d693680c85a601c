"""Groups: up to MAX_LOTS_PER_GROUP lots of one (call, slot) in one storage word (a commitment and a bitmap
of open lots); a slot's lots in strictly increasing meter id across all calls (LotsNotSorted)."""

import brownie
import pytest

from p2p_energy.limits import MAX_LOTS_PER_GROUP
from p2p_energy.wire.records import group_commitment
from tests.contracts.conftest import (
    OTHER_METER,
    SELLER_METER,
    error,
    fill_skips,
    group,
    plain,
    trade,
)

ALL_OPEN = 2**MAX_LOTS_PER_GROUP - 1


@pytest.fixture
def crowd_lots(crowd, lot, ask, bid, buyer):
    """crowd_lots(n, slot=1) -> (the asks of the crowd's first n sellers and the buyer's bid, their n lots of
    1 Wh each)."""

    def crowd_lots(n, slot=1):
        households = crowd[:n]
        orders = [ask(h.meter, account=h.address, key=h.key) for h in households] + [bid(buyer)]
        return orders, [lot(trade(buyer, 1), slot=slot, meter=h.meter, seller=h.address) for h in households]

    return crowd_lots


def test_max_lots_per_group_lots_of_a_slot_in_one_call_are_one_group(match, crowd_lots):
    orders, lots = crowd_lots(MAX_LOTS_PER_GROUP)
    tx = match(*lots, orders=orders)
    assert [(e["slot"], e["group"], e["lots"]) for e in tx.events["GroupMatched"]] == [(1, 0, MAX_LOTS_PER_GROUP)]


def test_a_full_group_commits_its_lots_with_every_bit_open(escrow, match, crowd_lots):
    orders, lots = crowd_lots(MAX_LOTS_PER_GROUP)
    match(*lots, orders=orders)
    assert plain(escrow.groupOf(1, 0)) == (group_commitment(lots), ALL_OPEN)


def test_the_lot_after_max_lots_per_group_starts_the_slots_next_group(escrow, match, crowd_lots):
    orders, lots = crowd_lots(MAX_LOTS_PER_GROUP + 1)
    tx = match(*lots, orders=orders)
    assert [(e["group"], e["lots"]) for e in tx.events["GroupMatched"]] == [(0, MAX_LOTS_PER_GROUP), (1, 1)]


def test_the_next_group_commits_only_its_own_lots(escrow, match, crowd_lots):
    orders, lots = crowd_lots(MAX_LOTS_PER_GROUP + 1)
    match(*lots, orders=orders)
    assert plain(escrow.groupOf(1, 1)) == (group_commitment(lots[MAX_LOTS_PER_GROUP:]), 1)


def test_a_slot_with_two_groups_records_two_groups_and_its_highest_meter(escrow, match, crowd_lots, crowd):
    orders, lots = crowd_lots(MAX_LOTS_PER_GROUP + 1)
    match(*lots, orders=orders)
    assert plain(escrow.slotOf(1)) == (crowd[MAX_LOTS_PER_GROUP].meter, 2)


def test_lots_of_one_slot_in_two_calls_are_two_groups(escrow, standing, match, lot, buyer):
    first, second = lot(trade(buyer, 100)), lot(trade(buyer, 200), meter=OTHER_METER)
    match(first)
    tx = match(second)
    assert (tx.events["GroupMatched"]["group"], plain(escrow.groupOf(1, 1)), plain(escrow.slotOf(1))) == (
        1,
        (group_commitment([second]), 1),
        (OTHER_METER, 2),
    )


def test_a_lot_of_a_lower_meter_in_a_later_call_reverts_with_lots_not_sorted(standing, match, lot, buyer):
    match(lot(trade(buyer, 100), meter=OTHER_METER))
    with brownie.reverts(error("LotsNotSorted", 1, SELLER_METER, OTHER_METER)):
        match(lot(trade(buyer, 100), meter=SELLER_METER))


def test_a_lot_matched_again_in_a_later_call_reverts_with_lots_not_sorted(standing, match, lot, buyer):
    match(lot(trade(buyer, 100)))
    with brownie.reverts(error("LotsNotSorted", 1, SELLER_METER, SELLER_METER)):
        match(lot(trade(buyer, 100)))


def test_lots_out_of_meter_order_in_one_call_revert_with_lots_not_sorted(standing, match, lot, buyer):
    with brownie.reverts(error("LotsNotSorted", 1, SELLER_METER, OTHER_METER)):
        match(lot(trade(buyer, 100), meter=OTHER_METER), lot(trade(buyer, 100), meter=SELLER_METER))


def test_a_lot_whose_fills_were_all_skipped_still_takes_its_meters_place(standing, match, lot, buyer):
    assert fill_skips(match(lot(trade(buyer, 0))))
    with brownie.reverts(error("LotsNotSorted", 1, SELLER_METER, SELLER_METER)):
        match(lot(trade(buyer, 100)))


def test_a_lot_of_a_seller_with_no_ask_takes_no_meters_place(escrow, standing, match, lot, buyer, buyer2):
    match(lot(trade(buyer, 100), seller=buyer2))  # buyer2 has no ask: NoAsk
    assert plain(escrow.slotOf(1)) == (0, 0)


def test_each_slot_keeps_its_own_meter_order(standing, match, lot, buyer):
    match(lot(trade(buyer, 100), meter=OTHER_METER, slot=1))
    assert len(match(lot(trade(buyer, 100), meter=SELLER_METER, slot=2)).events["Traded"]) == 1


def test_a_lot_whose_fills_were_all_skipped_is_left_out_of_the_group(escrow, standing, match, lot, buyer, crowd_lots):
    orders, (third,) = crowd_lots(1)
    first, skipped = lot(trade(buyer, 100)), lot(trade(buyer, 0), meter=OTHER_METER)
    tx = match(first, skipped, third, orders=orders)
    assert (tx.events["GroupMatched"]["lots"], plain(escrow.groupOf(1, 0))) == (
        2,
        (group_commitment([first, third]), 0b11),
    )


def test_settling_some_lots_of_a_group_clears_their_bits(escrow, standing, match, lot, close, reading, goto, buyer):
    first, second = lot(trade(buyer, 100)), lot(trade(buyer, 200), meter=OTHER_METER)
    match(first, second)
    goto(2, 100)
    close(group(first, second), readings=[reading(OTHER_METER, 1, 200)])
    assert plain(escrow.groupOf(1, 0)) == (group_commitment([first, second]), 0b01)


def test_closing_the_last_open_lot_of_a_group_clears_its_word(
    escrow, standing, match, lot, close, reading, goto, buyer
):
    first, second = lot(trade(buyer, 100)), lot(trade(buyer, 200), meter=OTHER_METER)
    match(first, second)
    goto(2, 100)
    close(group(first, second), readings=[reading(OTHER_METER, 1, 200)])
    close(group(first, second), readings=[reading(SELLER_METER, 1, 100)])
    assert plain(escrow.groupOf(1, 0)) == (bytes(24), 0)


def test_a_full_group_closes_in_one_call(escrow, match, crowd_lots, close, reading, goto):
    orders, lots = crowd_lots(MAX_LOTS_PER_GROUP)
    match(*lots, orders=orders)
    goto(2, 100)
    tx = close(group(*lots), readings=[reading(lot.meter_id, 1, 1) for lot in lots])
    assert (len(tx.events["LotSettled"]), plain(escrow.groupOf(1, 0)), escrow.totalLocked()) == (
        MAX_LOTS_PER_GROUP,
        (bytes(24), 0),
        0,
    )
