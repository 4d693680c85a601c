"""closeLots leaves a lot it cannot close (LotSkipped with the reason) and a closed group (GroupSkipped),
and reverts a call that gives a group other trades than its own, credits an account it did not load, or
carries malformed records."""

import brownie
import pytest
from eth_utils.crypto import keccak

from p2p_energy.limits import MAX_LOTS_PER_GROUP
from p2p_energy.wire.orders import order_domain
from p2p_energy.wire.readings import MeterKey, reading_domain
from p2p_energy.wire.records import AccountList, CloseCall, GroupClose, group_commitment, lot_key
from tests.contracts.conftest import (
    FUNDS,
    GRACE,
    OTHER_METER,
    PRICE,
    SELLER_METER,
    ListedCloseCall,
    close_streams,
    error,
    events,
    group,
    lot_skips,
    plain,
    trade,
)

KEY = lot_key(SELLER_METER, 1)
UNKNOWN_METER = 99


@pytest.fixture
def sold(standing, match, lot, buyer):
    """1,000 Wh of meter 1 in slot 1 sold to the buyer (cost: exactly PRICE); the group as closing takes it."""
    made = lot(trade(buyer, 1_000))
    match(made)
    return group(made)


@pytest.fixture
def pair(standing, match, lot, buyer, buyer2):
    """Two lots of slot 1 in one group: meter 1 to the buyer, meter 2 to buyer2 (1,000 Wh each)."""
    made = (lot(trade(buyer, 1_000)), lot(trade(buyer2, 1_000), meter=OTHER_METER))
    match(*made)
    return group(*made)


def still_open(escrow):
    return escrow.groupOf(1, 0)["open"]


# -------------------------------------------------------------- lots left open


def test_a_lot_before_its_slot_ends_is_skipped_with_not_over(escrow, sold, close, reading, next_block_at):
    next_block_at(escrow.slotEnd(1) - 1)
    tx = close(sold, readings=[reading(SELLER_METER, 1, 1_000)])
    assert (lot_skips(tx), still_open(escrow)) == ([(KEY, "NotOver")], 1)


def test_a_lot_within_grace_without_a_reading_is_skipped_with_no_reading(escrow, sold, close, goto):
    goto(2, 100)
    tx = close(sold)
    assert (lot_skips(tx), still_open(escrow)) == ([(KEY, "NoReading")], 1)


def test_a_lot_without_a_reading_one_second_before_its_refund_is_skipped_with_no_reading(
    escrow, sold, close, next_block_at
):
    next_block_at(escrow.slotEnd(1) + GRACE - 1)
    assert lot_skips(close(sold)) == [(KEY, "NoReading")]


def test_a_lot_proved_by_a_reading_signed_by_another_key_is_skipped_with_unproven(escrow, sold, close, reading, goto):
    goto(2, 100)
    forged = reading(SELLER_METER, 1, 1_000, key=MeterKey(keccak(text="the seller's own key, not its meter's")))
    tx = close(sold, readings=[forged])
    assert (lot_skips(tx), still_open(escrow)) == ([(KEY, "Unproven")], 1)


def test_a_lot_proved_by_a_reading_for_another_registry_is_skipped_with_unproven(
    sold, close, reading, goto, chain, escrow
):
    goto(2, 100)
    elsewhere = reading(SELLER_METER, 1, 1_000, domain=reading_domain(chain.id, escrow.address))
    assert lot_skips(close(sold, readings=[elsewhere])) == [(KEY, "Unproven")]


def test_a_lot_proved_by_a_reading_for_another_chain_is_skipped_with_unproven(
    sold, close, reading, goto, chain, registry
):
    goto(2, 100)
    elsewhere = reading(SELLER_METER, 1, 1_000, domain=reading_domain(chain.id + 1, registry.address))
    assert lot_skips(close(sold, readings=[elsewhere])) == [(KEY, "Unproven")]


def test_a_lot_proved_by_a_reading_of_another_slot_is_skipped_with_unproven(sold, close, reading, goto):
    goto(3, 100)
    # the meter exported 5,000 Wh in slot 2 and sold nothing then
    tx = close(sold, readings=[reading(SELLER_METER, 2, 5_000)], proofs={KEY: 0})
    assert lot_skips(tx) == [(KEY, "Unproven")]


def test_a_lot_proved_by_a_reading_of_another_meter_is_skipped_with_unproven(sold, close, reading, goto):
    goto(2, 100)
    tx = close(sold, readings=[reading(OTHER_METER, 1, 5_000)], proofs={KEY: 0})
    assert lot_skips(tx) == [(KEY, "Unproven")]


def test_a_lot_proved_by_a_reading_of_an_unknown_meter_is_skipped_with_unproven(sold, close, reading, goto):
    goto(2, 100)
    tx = close(sold, readings=[reading(UNKNOWN_METER, 1, 5_000)], proofs={KEY: 0})
    assert lot_skips(tx) == [(KEY, "Unproven")]


def test_a_lot_of_a_meter_revoked_in_its_slot_is_skipped_with_unproven(registry, admin, sold, close, reading, goto):
    goto(1, 100)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    goto(2, 100)
    assert lot_skips(close(sold, readings=[reading(SELLER_METER, 1, 1_000)])) == [(KEY, "Unproven")]


def test_a_lot_of_a_meter_revoked_in_its_slot_is_refunded_after_grace(
    escrow, registry, admin, sold, close, reading, goto, next_block_at, buyer
):
    goto(1, 100)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    next_block_at(escrow.slotEnd(1) + GRACE)
    tx = close(sold, readings=[reading(SELLER_METER, 1, 1_000)])
    assert (tx.events["LotRefunded"]["refunded"], escrow.balanceOf(buyer)) == (PRICE, FUNDS)


def test_a_lot_of_a_meter_sold_through_another_escrow_is_skipped_with_unproven(
    rival, match, close, lot, ask, bid, reading, goto, chain, buyer
):
    # meter 1 sells through `escrow`; its owner's ask is placed on the rival, which checks ownership only
    domain = order_domain(chain.id, rival.address)
    made = lot(trade(buyer, 1_000))
    match(made, orders=[ask(domain=domain), bid(buyer, domain=domain)], on=rival)
    goto(2, 100)
    tx = close(group(made), readings=[reading(SELLER_METER, 1, 1_000)], on=rival)
    assert (lot_skips(tx), rival.totalLocked()) == ([(KEY, "Unproven")], PRICE)


def test_a_lot_closed_already_is_skipped_with_not_open(escrow, pair, close, reading, goto):
    goto(2, 100)
    close(pair, readings=[reading(SELLER_METER, 1, 1_000)])
    tx = close(pair, readings=[reading(SELLER_METER, 1, 1_000), reading(OTHER_METER, 1, 1_000)])
    assert (lot_skips(tx), len(tx.events["LotSettled"]), still_open(escrow)) == ([(KEY, "NotOpen")], 1, 0)


def test_a_lot_skipped_keeps_its_costs_locked(escrow, sold, close, goto):
    goto(2, 100)
    close(sold)
    assert escrow.totalLocked() == PRICE


# ---------------------------------------------------------------- groups skipped


def test_a_closed_group_is_skipped_with_group_skipped(sold, close, reading, goto):
    goto(2, 100)
    close(sold, readings=[reading(SELLER_METER, 1, 1_000)])
    tx = close(sold, readings=[reading(SELLER_METER, 1, 1_000)])
    assert ([(e["slot"], e["group"]) for e in tx.events["GroupSkipped"]], lot_skips(tx)) == ([(1, 0)], [])


def test_a_group_that_was_never_matched_is_skipped_with_group_skipped(standing, close, lot, buyer, goto):
    goto(2, 100)
    tx = close(GroupClose(1, 7, (lot(trade(buyer, 1_000)),)))
    assert [(e["slot"], e["group"]) for e in tx.events["GroupSkipped"]] == [(1, 7)]


def test_a_closed_group_does_not_stop_the_next_group(escrow, standing, match, lot, close, reading, goto, buyer):
    first, later = lot(trade(buyer, 1_000)), lot(trade(buyer, 1_000), meter=OTHER_METER)
    match(first)
    match(later)
    goto(2, 100)
    readings = [reading(SELLER_METER, 1, 1_000), reading(OTHER_METER, 1, 1_000)]
    close(group(first), readings=readings)
    tx = close(group(first), group(later, number=1), readings=readings)
    assert (len(tx.events["GroupSkipped"]), len(tx.events["LotSettled"]), escrow.totalLocked()) == (1, 1, 0)


# ------------------------------------------------------------------- refusals


def test_a_group_given_without_one_of_its_trades_reverts_with_trades_mismatch(
    standing, match, lot, close, reading, goto, buyer, buyer2
):
    match(lot(trade(buyer, 1_000), trade(buyer2, 500)))
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(buyer, 1_000))), readings=[reading(SELLER_METER, 1, 1_000)])


def test_a_group_given_with_a_trade_redirected_to_another_buyer_reverts_with_trades_mismatch(
    sold, close, lot, goto, next_block_at, escrow, stranger
):
    next_block_at(escrow.slotEnd(1) + GRACE)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(stranger, 1_000))))


def test_a_group_given_with_a_trade_of_more_wh_reverts_with_trades_mismatch(sold, close, lot, reading, goto, buyer):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(buyer, 1_001))), readings=[reading(SELLER_METER, 1, 1_000)])


def test_a_group_given_with_a_trade_at_another_price_reverts_with_trades_mismatch(
    sold, close, lot, reading, goto, buyer
):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(buyer, 1_000, PRICE + 1))), readings=[reading(SELLER_METER, 1, 1_000)])


def test_a_group_given_with_another_seller_reverts_with_trades_mismatch(
    sold, close, lot, reading, goto, buyer, stranger
):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(buyer, 1_000), seller=stranger)), readings=[reading(SELLER_METER, 1, 1_000)])


def test_a_group_given_with_its_lots_in_another_order_reverts_with_trades_mismatch(pair, close, goto):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(GroupClose(1, 0, pair.lots[::-1]))


def test_a_group_given_without_one_of_its_lots_reverts_with_trades_mismatch(pair, close, reading, goto):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(GroupClose(1, 0, pair.lots[:1]), readings=[reading(SELLER_METER, 1, 1_000)])


def test_a_group_given_with_an_extra_lot_reverts_with_trades_mismatch(sold, close, lot, goto, buyer):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(GroupClose(1, 0, (*sold.lots, lot(trade(buyer, 1), meter=OTHER_METER))))


def test_a_mismatched_group_closes_nothing(escrow, sold, close, lot, reading, goto, buyer):
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(buyer, 999))), readings=[reading(SELLER_METER, 1, 1_000)])
    assert (plain(escrow.groupOf(1, 0)), escrow.totalLocked()) == ((group_commitment(sold.lots), 1), PRICE)


def test_a_buyer_refunded_in_part_but_only_named_reverts_with_account_not_loaded(
    escrow, sold, close, reading, goto, seller, buyer
):
    goto(2, 100)
    closing = CloseCall((sold,), (reading(SELLER_METER, 1, 500),), {KEY: 0}, frozenset({str(seller).lower()}))
    with brownie.reverts(error("AccountNotLoaded", closing.accounts.index[str(buyer).lower()])):
        escrow.closeLots(*close_streams(closing), {"from": seller})


def test_a_seller_paid_but_only_named_reverts_with_account_not_loaded(escrow, sold, reading, goto, seller, buyer):
    goto(2, 100)
    closing = CloseCall((sold,), (reading(SELLER_METER, 1, 1_000),), {KEY: 0}, frozenset())
    with brownie.reverts(error("AccountNotLoaded", closing.accounts.index[str(seller).lower()])):
        escrow.closeLots(*close_streams(closing), {"from": seller})


def test_a_buyer_refunded_but_only_named_reverts_with_account_not_loaded(escrow, sold, next_block_at, buyer):
    next_block_at(escrow.slotEnd(1) + GRACE)
    closing = CloseCall((sold,), (), {}, frozenset())
    with brownie.reverts(error("AccountNotLoaded", closing.accounts.index[str(buyer).lower()])):
        escrow.closeLots(*close_streams(closing), {"from": buyer})


def test_a_lot_whose_seller_is_past_the_account_list_reverts_with_unknown_account(escrow, sold, goto, seller, buyer):
    goto(2, 100)
    listed = AccountList.of([str(buyer)], [str(seller)])
    accounts, _, readings, closes = close_streams(ListedCloseCall((sold,), (), {}, frozenset(), listed))
    with brownie.reverts(error("UnknownAccount", 1, 1)):
        escrow.closeLots(accounts[:20], 1, readings, closes, {"from": buyer})


def test_a_group_of_no_lots_reverts_with_group_size(sold, close, goto):
    goto(2, 100)
    with brownie.reverts(error("GroupSize", 0)):
        close(GroupClose(1, 0, ()))


def test_a_group_of_one_lot_past_max_lots_per_group_reverts_with_group_size(sold, close, goto):
    goto(2, 100)
    with brownie.reverts(error("GroupSize", MAX_LOTS_PER_GROUP + 1)):
        close(GroupClose(1, 0, sold.lots * (MAX_LOTS_PER_GROUP + 1)))


def test_a_closes_stream_cut_inside_a_trade_reverts_with_malformed_records(escrow, sold, goto, buyer):
    goto(2, 100)
    accounts, loaded, readings, closes = close_streams(CloseCall((sold,), (), {}, frozenset({str(buyer).lower()})))
    with brownie.reverts(error("MalformedRecords", 9)):  # the lot's header, after the 9-byte group header
        escrow.closeLots(accounts, loaded, readings, closes[:-1], {"from": buyer})


def test_a_closes_stream_cut_inside_a_group_header_reverts_with_malformed_records(escrow, sold, goto, buyer):
    goto(2, 100)
    accounts, loaded, readings, closes = close_streams(CloseCall((sold,), (), {}, frozenset({str(buyer).lower()})))
    with brownie.reverts(error("MalformedRecords", 0)):
        escrow.closeLots(accounts, loaded, readings, closes[:8], {"from": buyer})


def test_a_malformed_reading_reverts_the_call_with_the_registrys_malformed_readings(escrow, sold, reading, goto, buyer):
    goto(2, 100)
    closing = CloseCall((sold,), (reading(SELLER_METER, 1, 1_000),), {KEY: 0}, frozenset({str(buyer).lower()}))
    accounts, loaded, readings, closes = close_streams(closing)
    with brownie.reverts(error("MalformedReadings", 0)):
        escrow.closeLots(accounts, loaded, readings[:-1], closes, {"from": buyer})


def test_a_credit_taking_a_balance_to_exactly_two_to_the_96_minus_one_is_made(
    escrow, token, sold, close, reading, goto, admin, seller
):
    token.mint(admin, 2**96, {"from": admin})
    escrow.depositFor([seller], [2**96 - 1 - PRICE], {"from": admin})
    goto(2, 100)
    close(sold, readings=[reading(SELLER_METER, 1, 1_000)])
    assert escrow.balanceOf(seller) == 2**96 - 1


def test_a_payment_taking_a_balance_past_two_to_the_96_minus_one_reverts_with_amount_too_large(
    escrow, token, sold, close, reading, goto, admin, seller
):
    token.mint(admin, 2**96, {"from": admin})
    escrow.depositFor([seller], [2**96 - PRICE], {"from": admin})
    goto(2, 100)
    with brownie.reverts(error("AmountTooLarge", 2**96, 2**96 - 1)):
        close(sold, readings=[reading(SELLER_METER, 1, 1_000)])


def test_a_refund_taking_a_balance_past_two_to_the_96_minus_one_reverts_with_amount_too_large(
    escrow, token, sold, close, next_block_at, admin, buyer
):
    token.mint(admin, 2**96, {"from": admin})
    # the buyer holds FUNDS - PRICE; with 2^96 - FUNDS more, the refund of PRICE takes it to 2^96
    escrow.depositFor([buyer], [2**96 - FUNDS], {"from": admin})
    next_block_at(escrow.slotEnd(1) + GRACE)
    with brownie.reverts(error("AmountTooLarge", 2**96, 2**96 - 1)):
        close(sold)


def test_anyone_may_close_lots(escrow, sold, close, reading, goto, buyer):
    goto(2, 100)
    tx = close(sold, readings=[reading(SELLER_METER, 1, 1_000)], sender=buyer)
    assert len(events(tx, "LotSettled")) == 1
