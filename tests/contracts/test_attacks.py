"""Attacks on the market (the project's issue 19), one test each, named for the attack: each shows that it no
longer works on escrow v3. Then the hardening of earlier rounds: forged readings, readings of another
lot, escrows and registries that could not work.

Costs at PRICE (23,456,789 per kWh): 1,000 Wh cost exactly PRICE; cost = ceil(wh x PRICE / 1,000) otherwise.
"""

import brownie
import pytest
from eth_utils.crypto import keccak

from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.orders import order_domain
from p2p_energy.wire.readings import MeterKey, reading_domain
from p2p_energy.wire.records import CloseCall, MatchCall, lot_key
from tests.contracts.conftest import (
    BID_PRICE,
    FUNDS,
    GRACE,
    OTHER_METER,
    PRICE,
    SELLER_METER,
    UNPROVEN,
    error,
    events,
    everyone_in,
    fill_skips,
    group,
    lot_skips,
    order_skips,
    plain,
    proofs_of,
    trade,
    trades_of,
)

KEY = lot_key(SELLER_METER, 1)


def proven(registry, escrow, *readings):
    """(reason, first slot not proven) per reading, as `escrow` asks the registry."""
    words = registry.provenExports(b"".join(r.record for r in readings), {"from": str(escrow)})
    return [(UNPROVEN[(int(w) >> 32) & 0xFF], int(w) & 0xFFFFFFFF) for w in words]


def close_call(*groups, readings=()):
    """The CloseCall a matcher would send: each lot proved by its meter's reading, everyone loaded."""
    return CloseCall(tuple(groups), tuple(readings), proofs_of(groups, readings), everyone_in(groups))


# -------------------------------------------- (1) one reading paid twice through two escrows


def test_a_reading_proves_its_meters_export_only_to_the_escrow_the_meter_sells_through(
    escrow, rival, registry, reading
):
    signed = reading(SELLER_METER, 1, 1_000)
    assert (proven(registry, escrow, signed), proven(registry, rival, signed)) == (
        [("None", 2)],
        [("OtherMarket", 1)],
    )


def test_one_reading_pays_the_seller_once_when_its_meter_sold_through_two_escrows(
    escrow, rival, standing, match, close, lot, ask, bid, reading, goto, chain, seller, buyer, buyer2
):
    # the seller sells the same 1,000 Wh of slot 1 through its own escrow and a rival sharing the registry
    here, there = lot(trade(buyer, 1_000)), lot(trade(buyer2, 1_000))
    match(here)
    domain = order_domain(chain.id, rival.address)
    match(there, orders=[ask(domain=domain), bid(buyer2, domain=domain)], on=rival)
    goto(2, 100)
    signed = reading(SELLER_METER, 1, 1_000)
    close(group(here), readings=[signed])
    tx = close(group(there), readings=[signed], on=rival)
    assert (escrow.balanceOf(seller), rival.balanceOf(seller), lot_skips(tx)) == (PRICE, 0, [(KEY, "Unproven")])


def test_the_rival_escrows_buyer_gets_its_money_back_after_grace(
    rival, match, close, lot, ask, bid, reading, next_block_at, chain, buyer2
):
    there = lot(trade(buyer2, 1_000))
    domain = order_domain(chain.id, rival.address)
    match(there, orders=[ask(domain=domain), bid(buyer2, domain=domain)], on=rival)
    next_block_at(rival.slotEnd(1) + GRACE)
    close(group(there), readings=[reading(SELLER_METER, 1, 1_000)], on=rival)
    assert (rival.balanceOf(buyer2), rival.totalLocked()) == (FUNDS, 0)


# ------------------------------------- (2) a later bid of the buyer's locks it out of earlier slots


def test_a_stranger_holding_a_buyers_later_bid_cannot_submit_it(escrow, match, lot, ask, bid, stranger, matcher, buyer):
    later = bid(buyer, until=50)
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        match(lot(trade(buyer, 1), slot=50), orders=[ask(until=50), later], sender=stranger)


def test_placing_a_buyers_later_bid_does_not_move_its_slot_counter(escrow, match, bid, buyer):
    match(orders=[bid(buyer, until=50)])
    assert escrow.accountOf(buyer)["lastSlot"] == 0


def test_a_skipped_fill_in_a_later_slot_does_not_move_the_buyers_slot_counter(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1, BID_PRICE + 1), slot=50))  # skipped: AboveBid
    assert escrow.accountOf(buyer)["lastSlot"] == 0


def test_the_buyer_still_buys_in_an_earlier_slot_after_a_later_slots_fill_was_skipped(standing, match, lot, buyer):
    match(lot(trade(buyer, 1, BID_PRICE + 1), slot=50))
    assert len(trades_of(match(lot(trade(buyer, 1_000), slot=2)))) == 1


# ------------------------------------------------------------------------ (3) the mempool copier


@pytest.fixture
def pending_match(standing, lot, buyer, buyer2):
    """The matcher's pending matchOrders call: 1,000 Wh of meter 1 to each buyer in slot 1."""
    return MatchCall((), (lot(trade(buyer, 1_000), trade(buyer2, 1_000)),))


def test_a_copier_sending_the_matchers_pending_calldata_itself_reverts_with_not_matcher(
    escrow, pending_match, stranger, matcher
):
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        stranger.transfer(escrow, 0, data=pending_match.calldata)


def test_a_copier_repricing_the_matchers_fills_up_to_the_bids_reverts_with_not_matcher(
    escrow, standing, lot, stranger, matcher, buyer, buyer2
):
    repriced = MatchCall((), (lot(trade(buyer, 1_000, BID_PRICE), trade(buyer2, 1_000, BID_PRICE)),))
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        stranger.transfer(escrow, 0, data=repriced.calldata)


def test_a_copier_stuffing_lots_with_minimum_fills_reverts_with_not_matcher(
    escrow, standing, lot, stranger, matcher, buyer, buyer2
):
    stuffed = MatchCall((), (lot(*(trade(b, 1) for b in (buyer, buyer2) * 25)),))
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        stranger.transfer(escrow, 0, data=stuffed.calldata)


def test_the_matchers_call_is_made_as_sent_after_a_copiers_attempts(escrow, pending_match, stranger, matcher):
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        stranger.transfer(escrow, 0, data=pending_match.calldata)
    matcher.transfer(escrow, 0, data=pending_match.calldata)
    assert escrow.totalLocked() == 2 * PRICE


@pytest.fixture
def closing(standing, match, lot, reading, goto, buyer, buyer2):
    """Two lots of slot 1 in one group, after the slot: meter 1 sold 1,234 + 777 Wh and exported 1,001; meter 2
    sold 1,000 Wh and exported 999. Returns the matcher's pending closeLots call."""
    made = (lot(trade(buyer, 1_234), trade(buyer2, 777)), lot(trade(buyer, 1_000), meter=OTHER_METER))
    match(*made)
    goto(2, 100)
    return close_call(group(*made), readings=[reading(SELLER_METER, 1, 1_001), reading(OTHER_METER, 1, 999)])


def test_a_copier_closing_lots_first_with_the_matchers_calldata_pays_exactly_the_rule(
    escrow, closing, stranger, seller, seller2
):
    stranger.transfer(escrow, 0, data=closing.calldata)
    first = settle_lot([trade_cost(1_234, PRICE), trade_cost(777, PRICE)], 2_011, 1_001).seller_payout
    second = settle_lot([PRICE], 1_000, 999).seller_payout
    assert (escrow.balanceOf(seller), escrow.balanceOf(seller2), escrow.balanceOf(stranger)) == (first, second, 0)


def test_the_matchers_close_call_after_a_copiers_skips_the_closed_group_and_does_not_revert(
    escrow, closing, stranger, matcher, seller
):
    stranger.transfer(escrow, 0, data=closing.calldata)
    paid = escrow.balanceOf(seller)
    tx = matcher.transfer(escrow, 0, data=closing.calldata)
    assert (tx.status, [e["group"] for e in tx.events["GroupSkipped"]], escrow.balanceOf(seller)) == (1, [0], paid)


def test_the_matchers_close_call_after_a_copiers_partial_copy_skips_the_closed_lot_as_not_open(
    escrow, closing, stranger, matcher, seller, seller2
):
    # the copier drops meter 2's reading: meter 1's lot settles, meter 2's is left (NoReading)
    partial = CloseCall(closing.groups, closing.readings[:1], {KEY: 0}, closing.credited)
    stranger.transfer(escrow, 0, data=partial.calldata)
    tx = matcher.transfer(escrow, 0, data=closing.calldata)
    assert (lot_skips(tx), events(tx, "LotSettled")[0]["lotKey"], escrow.groupOf(1, 0)["open"]) == (
        [(KEY, "NotOpen")],
        lot_key(OTHER_METER, 1),
        0,
    )


def test_a_signed_bid_copied_into_the_copiers_own_escrow_is_skipped_with_bad_signature(
    EnergyEscrow, token, registry, bid, stranger, buyer
):
    # the copier deploys an escrow of its own, with itself as matcher, and places the buyer's bid there
    copy = EnergyEscrow.deploy(token, registry, GRACE, stranger, {"from": stranger})
    call = MatchCall((bid(buyer),), ())
    tx = stranger.transfer(copy, 0, data=call.calldata)
    assert (order_skips(tx), plain(copy.accountOf(buyer))[1:4]) == ([(buyer, "BadSignature")], (0, 0, 0))


# ------------------------------------------------------------- (4) matching is not all-or-nothing


def test_a_buyer_withdrawing_while_a_batch_is_pending_makes_only_its_own_fills_skip(
    escrow, pending_match, matcher, buyer, buyer2
):
    escrow.withdraw(FUNDS, {"from": buyer})
    tx = matcher.transfer(escrow, 0, data=pending_match.calldata)
    assert (fill_skips(tx), [t[1] for t in trades_of(tx)]) == ([(KEY, buyer, "InsufficientBalance")], [buyer2])


def test_a_rotated_trader_key_skips_only_the_order_it_signed(escrow, match, lot, ask, bid, matcher, buyer, buyer2):
    old = keccak(text="the buyer's old trading key")
    escrow.setTrader(key_address(old), {"from": buyer})
    pending = MatchCall((ask(), bid(buyer, key=old), bid(buyer2)), (lot(trade(buyer, 1_000), trade(buyer2, 1_000)),))
    escrow.setTrader(key_address(keccak(text="its new key")), {"from": buyer})
    tx = matcher.transfer(escrow, 0, data=pending.calldata)
    assert (order_skips(tx), fill_skips(tx), [t[1] for t in trades_of(tx)]) == (
        [(buyer, "BadSignature")],
        [(KEY, buyer, "NoBid")],
        [buyer2],
    )


def test_a_stale_order_skips_only_that_order(escrow, standing, match, lot, ask, bid, buyer, buyer2):
    tx = match(lot(trade(buyer, 1_000), trade(buyer2, 1_000)), orders=[bid(buyer, until=5), bid(buyer2, until=97)])
    assert (order_skips(tx), len(tx.events["BidPlaced"]), len(trades_of(tx))) == ([(buyer, "StaleOrder")], 1, 2)


# --------------------------------------------------- (5) revoking a meter right after its slot


def test_revoking_a_meter_right_after_a_slot_still_proves_that_slot(registry, escrow, admin, reading, goto):
    goto(2, 1)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert proven(registry, escrow, reading(SELLER_METER, 1, 1_000, 2_000, 3_000)) == [("Revoked", 2)]


def test_revoking_a_meter_right_after_a_slot_does_not_cancel_payment_for_that_slot(
    escrow, registry, admin, standing, match, close, lot, reading, goto, seller, buyer
):
    sold = lot(trade(buyer, 1_000))
    match(sold)
    goto(2, 1)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    close(group(sold), readings=[reading(SELLER_METER, 1, 1_000)])
    assert escrow.balanceOf(seller) == PRICE


def test_the_lots_from_the_revoked_slot_on_are_refunded_after_grace(
    escrow, registry, admin, standing, match, close, lot, reading, goto, next_block_at, seller, buyer
):
    slots = [lot(trade(buyer, 1_000), slot=s) for s in (1, 2, 3)]
    match(*slots)
    goto(2, 1)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    goto(4, 100)
    signed = reading(SELLER_METER, 1, 1_000, 1_000, 1_000)
    skipped = lot_skips(close(*(group(s) for s in slots), readings=[signed]))
    next_block_at(escrow.slotEnd(3) + GRACE)
    close(*(group(s) for s in slots[1:]), readings=[signed])
    assert (skipped, escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (
        [(lot_key(SELLER_METER, 2), "Unproven"), (lot_key(SELLER_METER, 3), "Unproven")],
        PRICE,
        FUNDS - PRICE,
    )


# ------------------------------------------- (6) cancelling a signed order, finding one's trades


def test_a_signed_bid_cancelled_before_the_matcher_places_it_is_skipped_as_stale(
    escrow, match, lot, ask, bid, matcher, buyer
):
    pending = MatchCall((ask(), bid(buyer, until=40)), (lot(trade(buyer, 1_000), slot=2),))
    escrow.cancelOrders(40, {"from": buyer})
    tx = matcher.transfer(escrow, 0, data=pending.calldata)
    assert (order_skips(tx), fill_skips(tx), escrow.balanceOf(buyer)) == (
        [(buyer, "StaleOrder")],
        [(lot_key(SELLER_METER, 2), buyer, "NoBid")],
        FUNDS,
    )


def test_a_standing_bid_cancelled_before_its_slot_makes_no_more_trades(escrow, standing, match, lot, buyer):
    escrow.cancelOrders(0, {"from": buyer})
    assert (trades_of(match(lot(trade(buyer, 1_000), slot=2))), escrow.balanceOf(buyer)) == ([], FUNDS)


def test_a_buyer_finds_exactly_its_trades_by_filtering_traded_on_its_address(
    escrow, web3, standing, match, lot, buyer, buyer2
):
    match(lot(trade(buyer, 100), trade(buyer2, 200), trade(buyer, 300)), lot(trade(buyer2, 400), meter=OTHER_METER))
    match(lot(trade(buyer, 500), slot=2), lot(trade(buyer2, 600), slot=2, meter=OTHER_METER))
    topic = "0x" + keccak(text="Traded(uint96,address,uint24,uint48)").hex()
    logs = web3.eth.get_logs(
        {
            "address": str(escrow),
            "fromBlock": 0,
            "topics": [topic, None, "0x" + bytes(12).hex() + str(buyer)[2:].lower()],
        }
    )
    whs = [int.from_bytes(bytes(log["data"])[:32], "big") for log in logs]
    assert whs == [100, 300, 500]


# ------------------------------------------------------------------ earlier hardening


def test_inflating_a_lots_export_with_a_forged_reading_proves_nothing_with_bad_signature(
    escrow, registry, standing, match, close, lot, reading, goto, buyer
):
    sold = lot(trade(buyer, 1_000))
    match(sold)
    goto(2, 100)
    forged = reading(SELLER_METER, 1, 1_000, key=MeterKey(keccak(text="the seller's own key, not its meter's")))
    assert (proven(registry, escrow, forged), lot_skips(close(group(sold), readings=[forged]))) == (
        [("BadSignature", 1)],
        [(KEY, "Unproven")],
    )


def test_settling_a_lot_with_the_reading_of_a_better_slot_proves_nothing_for_it(
    standing, match, close, lot, reading, goto, buyer
):
    sold = lot(trade(buyer, 1_000))
    match(sold)
    goto(3, 100)
    better = reading(SELLER_METER, 2, 5_000)  # the meter exported 5,000 Wh in slot 2, and sold nothing then
    assert lot_skips(close(group(sold), readings=[better], proofs={KEY: 0})) == [(KEY, "Unproven")]


def test_settling_a_lot_with_another_meters_reading_proves_nothing_for_it(
    standing, match, close, lot, reading, goto, buyer
):
    sold = lot(trade(buyer, 1_000))
    match(sold)
    goto(2, 100)
    other = reading(OTHER_METER, 1, 5_000)
    assert lot_skips(close(group(sold), readings=[other], proofs={KEY: 0})) == [(KEY, "Unproven")]


def test_a_reading_signed_for_another_chain_proves_nothing_with_bad_signature(escrow, registry, reading, chain):
    elsewhere = reading(SELLER_METER, 1, 1_000, domain=reading_domain(chain.id + 1, registry.address))
    assert proven(registry, escrow, elsewhere) == [("BadSignature", 1)]


def test_a_reading_signed_for_another_registry_proves_nothing_with_bad_signature(
    escrow, registry, reading, chain, MeterRegistry, admin
):
    other = MeterRegistry.deploy(admin, registry.genesis(), registry.slotLength(), {"from": admin})
    elsewhere = reading(SELLER_METER, 1, 1_000, domain=reading_domain(chain.id, other.address))
    assert proven(registry, escrow, elsewhere) == [("BadSignature", 1)]


def test_redirecting_a_refund_to_the_settler_reverts_with_trades_mismatch(
    escrow, standing, match, close, lot, next_block_at, buyer, stranger
):
    match(lot(trade(buyer, 1_000)))
    next_block_at(escrow.slotEnd(1) + GRACE)
    with brownie.reverts(error("TradesMismatch", 1, 0)):
        close(group(lot(trade(stranger, 1_000))))


def test_an_escrow_whose_lots_could_never_be_settled_cannot_be_deployed(EnergyEscrow, token, registry, admin):
    with brownie.reverts(error("InvalidGracePeriod")):
        EnergyEscrow.deploy(token, registry, 0, admin, {"from": admin})


def test_a_registry_nobody_administers_cannot_be_deployed(MeterRegistry, admin, chain):
    with brownie.reverts(error("ZeroAdmin")):
        MeterRegistry.deploy(brownie.ZERO_ADDRESS, chain[-1].timestamp, 900, {"from": admin})


def test_consumption_never_reaches_the_chain(registry, escrow):
    # a reading carries export only; no function or event of either contract takes an import figure
    names = {
        p["name"].lower()
        for contract in (registry, escrow)
        for item in contract.abi
        for p in item.get("inputs", []) + item.get("outputs", [])
    }
    assert {n for n in names if "import" in n or "consum" in n} == set()
