"""Every reason a fill is skipped (FillSkipped with its Skip reason, the call goes on), each at its edge:
a fill exactly at a limit is made, one unit past it is skipped.

The standing orders (the `standing` fixture): asks of ASK_WH Wh per slot from ASK_PRICE per kWh, fills of at
least 1 Wh; bids of BID_WH Wh per slot up to BID_PRICE per kWh; all until slot UNTIL.
"""

from p2p_energy.limits import MAX_HORIZON_S, MAX_TRADES_PER_LOT
from p2p_energy.wire.records import lot_key
from tests.contracts.conftest import (
    ASK_PRICE,
    ASK_WH,
    BID_PRICE,
    BID_WH,
    FUNDS,
    OTHER_METER,
    PRICE,
    SELLER_METER,
    UNTIL,
    UncheckedLot,
    fill_skips,
    trade,
    trades_of,
)

KEY = lot_key(SELLER_METER, 1)


def made(tx):
    """The Wh of each fill `tx` made."""
    return [wh for _, _, wh, _ in trades_of(tx)]


# ------------------------------------------------------------- the slot's time


def test_a_fill_for_the_slot_under_way_is_skipped_with_trading_closed(standing, match, lot, buyer):
    assert fill_skips(match(lot(trade(buyer, 1_000), slot=0))) == [(lot_key(SELLER_METER, 0), buyer, "TradingClosed")]


def test_a_fill_in_the_slots_first_second_is_skipped_with_trading_closed(
    escrow, standing, match, lot, buyer, next_block_at
):
    next_block_at(escrow.slotStart(1))
    assert fill_skips(match(lot(trade(buyer, 1_000)))) == [(KEY, buyer, "TradingClosed")]


def test_a_fill_in_the_last_second_before_the_slot_is_made(escrow, standing, match, lot, buyer, next_block_at):
    next_block_at(escrow.slotStart(1) - 1)
    assert made(match(lot(trade(buyer, 1_000)))) == [1_000]


def test_a_fill_for_a_slot_starting_exactly_max_horizon_ahead_is_made(
    escrow, match, lot, ask, bid, buyer, next_block_at
):
    far = 800  # 720,000 s after genesis: beyond 7 days (604,800 s), so the horizon, not the start, decides
    next_block_at(escrow.slotStart(far) - MAX_HORIZON_S)
    tx = match(lot(trade(buyer, 1_000), slot=far), orders=[ask(until=far), bid(buyer, until=far)])
    assert made(tx) == [1_000]


def test_a_fill_for_a_slot_starting_one_second_past_max_horizon_is_skipped_with_slot_too_far(
    escrow, match, lot, ask, bid, buyer, next_block_at
):
    far = 800
    next_block_at(escrow.slotStart(far) - MAX_HORIZON_S - 1)
    tx = match(lot(trade(buyer, 1_000), slot=far), orders=[ask(until=far), bid(buyer, until=far)])
    assert fill_skips(tx) == [(lot_key(SELLER_METER, far), buyer, "SlotTooFar")]


def test_every_fill_of_a_lot_in_a_closed_slot_is_skipped(standing, match, lot, buyer, buyer2):
    tx = match(lot(trade(buyer, 1_000), trade(buyer2, 1_000), slot=0))
    assert [reason for _, _, reason in fill_skips(tx)] == ["TradingClosed", "TradingClosed"]


# ----------------------------------------------------------------- the ask


def test_a_fill_of_a_seller_with_no_ask_is_skipped_with_no_ask(escrow, match, lot, bid, buyer):
    # no ask, so no meter: the lot's key has meter 0
    tx = match(lot(trade(buyer, 1_000)), orders=[bid(buyer)])
    assert fill_skips(tx) == [(lot_key(0, 1), buyer, "NoAsk")]


def test_a_fill_in_the_asks_last_slot_is_made(match, lot, ask, bid, buyer):
    assert made(match(lot(trade(buyer, 1_000), slot=3), orders=[ask(until=3), bid(buyer)])) == [1_000]


def test_a_fill_in_the_slot_after_the_asks_last_is_skipped_with_ask_expired(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 1_000), slot=4), orders=[ask(until=3), bid(buyer)])
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 4), buyer, "AskExpired")]


def test_a_fill_at_exactly_the_asks_min_price_is_made(standing, match, lot, buyer):
    assert made(match(lot(trade(buyer, 1_000, ASK_PRICE)))) == [1_000]


def test_a_fill_one_unit_below_the_asks_min_price_is_skipped_with_below_ask(standing, match, lot, buyer):
    assert fill_skips(match(lot(trade(buyer, 1_000, ASK_PRICE - 1)))) == [(KEY, buyer, "BelowAsk")]


def test_a_fill_at_price_zero_is_skipped_with_below_ask_even_for_an_ask_from_zero(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 1_000), trade(buyer, 1_000, 0)), orders=[ask(price=0), bid(buyer)])
    assert fill_skips(tx) == [(KEY, buyer, "BelowAsk")]


def test_a_fill_of_exactly_the_asks_min_wh_is_made(match, lot, ask, bid, buyer):
    assert made(match(lot(trade(buyer, 100)), orders=[ask(min_wh=100), bid(buyer)])) == [100]


def test_a_fill_one_wh_below_the_asks_min_wh_is_skipped_with_too_small(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 99)), orders=[ask(min_wh=100), bid(buyer)])
    assert fill_skips(tx) == [(KEY, buyer, "TooSmall")]


def test_a_fill_of_zero_wh_is_skipped_with_too_small(standing, match, lot, buyer):
    assert fill_skips(match(lot(trade(buyer, 1_000), trade(buyer, 0)))) == [(KEY, buyer, "TooSmall")]


def test_fills_selling_exactly_the_asks_wh_are_made(standing, match, lot, buyer, buyer2):
    assert made(match(lot(trade(buyer, BID_WH), trade(buyer2, ASK_WH - BID_WH)))) == [BID_WH, ASK_WH - BID_WH]


def test_a_fill_selling_one_wh_past_the_asks_wh_is_skipped_with_ask_full(standing, match, lot, buyer, buyer2):
    tx = match(lot(trade(buyer, BID_WH), trade(buyer2, ASK_WH - BID_WH + 1)))
    assert fill_skips(tx) == [(KEY, buyer2, "AskFull")]


def test_a_lots_fill_after_one_that_overfilled_the_ask_can_still_be_made(standing, match, lot, buyer, buyer2):
    tx = match(lot(trade(buyer, BID_WH), trade(buyer2, ASK_WH), trade(buyer2, ASK_WH - BID_WH)))
    assert (made(tx), fill_skips(tx)) == ([BID_WH, ASK_WH - BID_WH], [(KEY, buyer2, "AskFull")])


def test_the_lots_fill_number_max_trades_per_lot_is_made(standing, match, buyer, seller):
    tx = match(UncheckedLot(SELLER_METER, 1, str(seller), (trade(buyer, 1),) * MAX_TRADES_PER_LOT))
    assert (len(made(tx)), fill_skips(tx)) == (MAX_TRADES_PER_LOT, [])


def test_the_lots_fill_after_max_trades_per_lot_is_skipped_with_lot_full(standing, match, buyer, seller):
    tx = match(UncheckedLot(SELLER_METER, 1, str(seller), (trade(buyer, 1),) * (MAX_TRADES_PER_LOT + 1)))
    assert (len(made(tx)), fill_skips(tx)) == (MAX_TRADES_PER_LOT, [(KEY, buyer, "LotFull")])


# ------------------------------------------------------------------ the bid


def test_a_fill_for_a_buyer_with_no_bid_is_skipped_with_no_bid(match, lot, ask, buyer):
    assert fill_skips(match(lot(trade(buyer, 1_000)), orders=[ask()])) == [(KEY, buyer, "NoBid")]


def test_a_fill_in_the_bids_last_slot_is_made(match, lot, ask, bid, buyer):
    assert made(match(lot(trade(buyer, 1_000), slot=3), orders=[ask(), bid(buyer, until=3)])) == [1_000]


def test_a_fill_in_the_slot_after_the_bids_last_is_skipped_with_bid_expired(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 1_000), slot=4), orders=[ask(), bid(buyer, until=3)])
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 4), buyer, "BidExpired")]


def test_a_fill_of_the_sellers_own_energy_is_skipped_with_buyer_is_seller(match, lot, ask, bid, seller):
    tx = match(lot(trade(seller, 1_000)), orders=[ask(), bid(seller)])
    assert fill_skips(tx) == [(KEY, seller, "BuyerIsSeller")]


def test_a_fill_at_exactly_the_bids_max_price_is_made(standing, match, lot, buyer):
    assert made(match(lot(trade(buyer, 1_000, BID_PRICE)))) == [1_000]


def test_a_fill_one_unit_above_the_bids_max_price_is_skipped_with_above_bid(standing, match, lot, buyer):
    assert fill_skips(match(lot(trade(buyer, 1_000, BID_PRICE + 1)))) == [(KEY, buyer, "AboveBid")]


def test_fills_buying_exactly_the_bids_wh_in_a_slot_are_made(standing, match, lot, buyer):
    tx = match(lot(trade(buyer, BID_WH - 1)), lot(trade(buyer, 1), meter=OTHER_METER))
    assert made(tx) == [BID_WH - 1, 1]


def test_a_fill_buying_one_wh_past_the_bids_wh_in_a_slot_is_skipped_with_bid_full(standing, match, lot, buyer):
    tx = match(lot(trade(buyer, BID_WH - 1)), lot(trade(buyer, 2), meter=OTHER_METER))
    assert fill_skips(tx) == [(lot_key(OTHER_METER, 1), buyer, "BidFull")]


def test_the_bids_wh_in_a_slot_count_across_calls(standing, match, lot, buyer):
    match(lot(trade(buyer, BID_WH - 1)))
    tx = match(lot(trade(buyer, 2), meter=OTHER_METER))
    assert fill_skips(tx) == [(lot_key(OTHER_METER, 1), buyer, "BidFull")]


def test_a_fill_in_a_slot_before_the_buyers_last_is_skipped_with_bid_out_of_order(standing, match, lot, buyer):
    tx = match(lot(trade(buyer, 1_000), slot=3), lot(trade(buyer, 1_000), slot=2))
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 2), buyer, "BidOutOfOrder")]


def test_a_buyers_slot_order_counts_across_calls(standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000), slot=3))
    assert fill_skips(match(lot(trade(buyer, 1_000), slot=2))) == [(lot_key(SELLER_METER, 2), buyer, "BidOutOfOrder")]


def test_a_fill_costing_exactly_the_buyers_whole_balance_is_made(escrow, standing, match, lot, buyer):
    # 1,000 Wh at PRICE cost exactly PRICE: leave the buyer exactly that
    escrow.withdraw(FUNDS - PRICE, {"from": buyer})
    tx = match(lot(trade(buyer, 1_000)))
    assert (made(tx), escrow.balanceOf(buyer)) == ([1_000], 0)


def test_a_fill_costing_one_unit_more_than_the_buyers_balance_is_skipped_with_insufficient_balance(
    escrow, standing, match, lot, buyer
):
    escrow.withdraw(FUNDS - PRICE + 1, {"from": buyer})
    tx = match(lot(trade(buyer, 1_000)))
    assert (fill_skips(tx), escrow.balanceOf(buyer)) == ([(KEY, buyer, "InsufficientBalance")], PRICE - 1)


def test_a_buyers_balance_is_spent_fill_by_fill_within_a_call(escrow, standing, match, lot, buyer):
    # 1,000 Wh cost exactly PRICE each: the third fill finds the balance spent
    escrow.withdraw(FUNDS - 2 * PRICE, {"from": buyer})
    tx = match(lot(trade(buyer, 1_000), trade(buyer, 1_000), trade(buyer, 1)))
    assert (made(tx), fill_skips(tx)) == ([1_000, 1_000], [(KEY, buyer, "InsufficientBalance")])


def test_each_fill_is_rounded_up_on_its_own(escrow, standing, match, lot, buyer):
    # 600 Wh cost ceil(14,074,073.4) = 14,074,074 and 400 Wh ceil(9,382,715.6) = 9,382,716: one unit more than
    # the 23,456,789 of 1,000 Wh in one fill, so a balance of exactly PRICE pays for the first only
    escrow.withdraw(FUNDS - PRICE, {"from": buyer})
    tx = match(lot(trade(buyer, 600), trade(buyer, 400)))
    assert (made(tx), fill_skips(tx)) == ([600], [(KEY, buyer, "InsufficientBalance")])


# ------------------------------------------------------------ which reason first


# A fill failing two checks is skipped with the first in the contract's order (_makeFills' NatSpec): BuyerIsSeller,
# NoBid, BidExpired, BelowAsk, AboveBid, TooSmall, AskFull, LotFull, BidOutOfOrder, BidFull, InsufficientBalance.


def test_buyer_is_seller_comes_before_no_bid(match, lot, ask, seller):
    assert fill_skips(match(lot(trade(seller, 1_000)), orders=[ask()])) == [(KEY, seller, "BuyerIsSeller")]


def test_no_bid_comes_before_bid_expired(match, lot, ask, buyer):
    # no bid: its last slot is 0, before slot 1
    assert fill_skips(match(lot(trade(buyer, 1_000)), orders=[ask()])) == [(KEY, buyer, "NoBid")]


def test_bid_expired_comes_before_below_ask(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 1_000, ASK_PRICE - 1), slot=4), orders=[ask(), bid(buyer, until=3)])
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 4), buyer, "BidExpired")]


def test_below_ask_comes_before_above_bid(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 1_000, 35_000_000)), orders=[ask(price=40_000_000), bid(buyer, price=30_000_000)])
    assert fill_skips(tx) == [(KEY, buyer, "BelowAsk")]


def test_above_bid_comes_before_too_small(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 5, BID_PRICE + 1)), orders=[ask(min_wh=10), bid(buyer)])
    assert fill_skips(tx) == [(KEY, buyer, "AboveBid")]


def test_too_small_comes_before_ask_full(match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 5)), orders=[ask(wh=4, min_wh=10), bid(buyer)])
    assert fill_skips(tx) == [(KEY, buyer, "TooSmall")]


def test_ask_full_comes_before_lot_full(match, ask, bid, buyer, seller):
    fills = (trade(buyer, 1),) * (MAX_TRADES_PER_LOT + 1)
    tx = match(UncheckedLot(SELLER_METER, 1, str(seller), fills), orders=[ask(wh=MAX_TRADES_PER_LOT), bid(buyer)])
    assert fill_skips(tx) == [(KEY, buyer, "AskFull")]


def test_lot_full_comes_before_bid_out_of_order(standing, match, lot, buyer, buyer2, seller):
    match(lot(trade(buyer, 1), slot=3))
    fills = (trade(buyer2, 1),) * MAX_TRADES_PER_LOT + (trade(buyer, 1),)
    tx = match(UncheckedLot(SELLER_METER, 2, str(seller), fills))
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 2), buyer, "LotFull")]


def test_bid_out_of_order_comes_before_bid_full(standing, match, lot, buyer):
    match(lot(trade(buyer, 1), slot=3))
    tx = match(lot(trade(buyer, BID_WH + 1), slot=2))
    assert fill_skips(tx) == [(lot_key(SELLER_METER, 2), buyer, "BidOutOfOrder")]


def test_bid_full_comes_before_insufficient_balance(escrow, standing, match, lot, buyer):
    escrow.withdraw(FUNDS, {"from": buyer})
    assert fill_skips(match(lot(trade(buyer, BID_WH + 1)))) == [(KEY, buyer, "BidFull")]


def test_a_skipped_fill_moves_nothing_and_counts_nothing(escrow, standing, match, lot, buyer):
    before = (escrow.balanceOf(buyer), escrow.totalLocked(), tuple(escrow.accountOf(buyer)))
    match(lot(trade(buyer, 1_000, BID_PRICE + 1), slot=3))
    assert (escrow.balanceOf(buyer), escrow.totalLocked(), tuple(escrow.accountOf(buyer))) == before


def test_fills_at_prices_between_the_orders_are_made_at_their_own_price(standing, match, lot, buyer):
    assert trades_of(match(lot(trade(buyer, 1_000, PRICE)))) == [(KEY, buyer, 1_000, PRICE)]


def test_a_fill_in_the_standing_orders_last_slot_is_made(standing, match, lot, buyer):
    assert made(match(lot(trade(buyer, 1_000), slot=UNTIL))) == [1_000]
