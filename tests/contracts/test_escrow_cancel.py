"""cancelOrders(untilSlot): the standing orders end, and no signed order ending at or before untilSlot can
be placed any more; trades already matched stay."""

from p2p_energy.wire.records import lot_key
from tests.contracts.conftest import PRICE, SELLER_METER, UNTIL, fill_skips, order_skips, plain, trade


def test_cancel_orders_clears_the_standing_bid_and_keeps_its_last_slot(escrow, match, bid, buyer):
    match(orders=[bid(buyer, until=9)])
    escrow.cancelOrders(5, {"from": buyer})
    view = escrow.accountOf(buyer)
    assert (view["bidPrice"], view["bidWh"], view["bidUntil"]) == (0, 0, 9)


def test_cancel_orders_clears_the_standing_ask_and_keeps_its_meter(escrow, match, ask, seller):
    match(orders=[ask(until=9)])
    escrow.cancelOrders(5, {"from": seller})
    assert plain(escrow.askOf(seller)) == (SELLER_METER, 0, 0, 0, 9)


def test_cancel_orders_raises_the_last_slot_to_until_slot(escrow, match, bid, buyer):
    match(orders=[bid(buyer, until=9)])
    escrow.cancelOrders(40, {"from": buyer})
    assert escrow.accountOf(buyer)["bidUntil"] == 40


def test_cancel_orders_emits_orders_cancelled(escrow, buyer):
    event = escrow.cancelOrders(40, {"from": buyer}).events["OrdersCancelled"]
    assert (event["account"], event["untilSlot"]) == (buyer, 40)


def test_a_signed_bid_ending_at_until_slot_is_skipped_as_stale_after_cancelling(escrow, match, bid, buyer):
    escrow.cancelOrders(40, {"from": buyer})
    assert order_skips(match(orders=[bid(buyer, until=40)])) == [(buyer, "StaleOrder")]


def test_a_signed_bid_ending_after_until_slot_is_placed_after_cancelling(escrow, match, bid, buyer):
    escrow.cancelOrders(40, {"from": buyer})
    assert (order_skips(match(orders=[bid(buyer, until=41)])), escrow.accountOf(buyer)["bidUntil"]) == ([], 41)


def test_a_signed_ask_ending_at_until_slot_is_skipped_as_stale_after_cancelling(escrow, match, ask, seller):
    escrow.cancelOrders(40, {"from": seller})
    assert order_skips(match(orders=[ask(until=40)])) == [(seller, "StaleOrder")]


def test_a_fill_for_a_cancelled_bid_is_skipped_with_no_bid(escrow, standing, match, lot, buyer):
    escrow.cancelOrders(0, {"from": buyer})
    tx = match(lot(trade(buyer, 1_000)))
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 1), buyer, "NoBid")]


def test_a_fill_of_a_cancelled_ask_is_skipped_with_ask_full(escrow, standing, match, lot, seller, buyer):
    # the cancelled ask keeps its meter and last slot with no Wh to sell: every fill overfills it
    escrow.cancelOrders(0, {"from": seller})
    tx = match(lot(trade(buyer, 1_000)))
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 1), buyer, "AskFull")]


def test_a_fill_of_a_cancelled_ask_beyond_its_last_slot_is_skipped_with_ask_expired(
    escrow, standing, match, lot, seller, buyer
):
    escrow.cancelOrders(0, {"from": seller})
    tx = match(lot(trade(buyer, 1_000), slot=UNTIL + 1))
    assert fill_skips(tx) == [(lot_key(SELLER_METER, UNTIL + 1), buyer, "AskExpired")]


def test_cancelling_keeps_the_trades_already_matched(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000)))
    escrow.cancelOrders(UNTIL, {"from": buyer})
    assert (escrow.totalLocked(), escrow.groupOf(1, 0)["open"]) == (PRICE, 1)
