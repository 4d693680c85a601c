"""matchOrders refusals: each custom error with the arguments it names.

Costs at conftest's PRICE (23,456.789 base units per Wh), worked out by hand: cost = ceil(wh x price / 1,000).
"""

import brownie
from p2p_energy.domain.orders import Ask, Bid, order_domain, sign_order

from p2p_energy.domain.keys import key_address
from p2p_energy.limits import MAX_ASKS_PER_CALL, MAX_BIDS_PER_CALL, MAX_FILLS_PER_CALL, MAX_HORIZON_S
from tests.contracts.conftest import FUNDS, OTHER_METER, PRICE, SELLER_METER, error, fill, key_of, recovered

ZERO = brownie.ZERO_ADDRESS
TRADER_KEY = bytes(31) + b"\x2a"


def test_an_ask_of_another_slot_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("WrongSlot", 2, 1)):
        match([ask(1_000, slot=2)], [bid(buyer, 1_000)], [fill(0, 0, 1_000)])


def test_a_bid_of_another_slot_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("WrongSlot", 2, 1)):
        match([ask(1_000)], [bid(buyer, 1_000, slot=2)], [fill(0, 0, 1_000)])


def test_matching_a_slot_under_way_reverts(registry, trade, goto):
    goto(1, 450)
    with brownie.reverts(error("TradingClosed", 1, registry.slotStart(1))):
        trade(1_000)


def test_matching_in_the_first_second_of_the_slot_reverts(registry, trade, next_block_at):
    next_block_at(registry.slotStart(1))
    with brownie.reverts(error("TradingClosed", 1, registry.slotStart(1))):
        trade(1_000)


def test_matching_a_slot_starting_a_second_beyond_the_horizon_reverts(registry, trade, next_block_at):
    slot = 700  # starts 630,000 s after genesis, more than 7 days (604,800 s) ahead of the first blocks
    now = registry.slotStart(slot) - MAX_HORIZON_S - 1
    next_block_at(now)
    with brownie.reverts(error("SlotTooFar", slot, registry.slotStart(slot), now + MAX_HORIZON_S)):
        trade(1_000, slot=slot)


def test_asks_out_of_meter_order_revert(ask, bid, match, buyer):
    asks = [ask(500, meter=OTHER_METER), ask(500)]
    with brownie.reverts(error("OrdersNotSorted", 1)):
        match(asks, [bid(buyer, 1_000)], [fill(0, 0, 500), fill(1, 0, 500)])


def test_two_asks_of_one_meter_in_a_call_revert(ask, bid, match, buyer):
    with brownie.reverts(error("OrdersNotSorted", 1)):
        match([ask(500), ask(600)], [bid(buyer, 1_000)], [fill(0, 0, 500)])


def test_bids_out_of_account_order_revert(ask, bid, match, buyer, buyer2):
    bids = [bid(buyer2, 500), bid(buyer, 500)]  # buyer's address is the lower one
    with brownie.reverts(error("OrdersNotSorted", 1)):
        match([ask(1_000)], bids, [fill(0, 0, 500), fill(0, 1, 500)])


def test_two_bids_of_one_account_in_a_call_revert(ask, bid, match, buyer):
    with brownie.reverts(error("OrdersNotSorted", 1)):
        match([ask(1_000)], [bid(buyer, 500), bid(buyer, 600)], [fill(0, 0, 500)])


def test_an_ask_of_a_revoked_meter_reverts(registry, trade, admin):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterNotActive", SELLER_METER)):
        trade(1_000)


def test_an_ask_of_an_unknown_meter_reverts(ask, bid, match, buyer, seller):
    with brownie.reverts(error("UnknownMeter", 7)):
        match([ask(1_000, meter=7, key=key_of(seller))], [bid(buyer, 1_000)], [fill(0, 0, 1_000)])


def test_an_ask_signed_by_a_key_that_is_not_the_owners_reverts(ask, bid, match, seller, buyer, stranger):
    with brownie.reverts(error("InvalidOrderSignature", seller, stranger, ZERO)):
        match([ask(1_000, key=key_of(stranger))], [bid(buyer, 1_000)], [fill(0, 0, 1_000)])


def test_a_bid_signed_by_another_accounts_key_reverts(ask, bid, match, buyer, buyer2):
    with brownie.reverts(error("InvalidOrderSignature", buyer, buyer2, ZERO)):
        match([ask(1_000)], [bid(buyer, 1_000, key=key_of(buyer2))], [fill(0, 0, 1_000)])


def test_a_bid_signed_by_a_key_other_than_the_named_trader_reverts(escrow, ask, bid, match, buyer, stranger):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    with brownie.reverts(error("InvalidOrderSignature", buyer, stranger, key_address(TRADER_KEY))):
        match([ask(1_000)], [bid(buyer, 1_000, key=key_of(stranger))], [fill(0, 0, 1_000)])


def test_an_ask_with_a_tampered_wh_reverts(ask, bid, match, orders, seller, buyer):
    signed, signature = ask(1_000)
    tampered = Ask(*signed[:2], 2_000, *signed[3:])
    with brownie.reverts(error("InvalidOrderSignature", seller, recovered(orders, tampered, signature), ZERO)):
        match([(tampered.as_tuple(), signature)], [bid(buyer, 2_000)], [fill(0, 0, 2_000)])


def test_an_ask_with_a_tampered_min_price_reverts(ask, bid, match, orders, seller, buyer):
    signed, signature = ask(1_000, price=PRICE)
    tampered = Ask(*signed[:4], PRICE // 2)
    with brownie.reverts(error("InvalidOrderSignature", seller, recovered(orders, tampered, signature), ZERO)):
        match([(tampered.as_tuple(), signature)], [bid(buyer, 1_000)], [fill(0, 0, 1_000, PRICE // 2)])


def test_a_bid_with_a_tampered_max_price_reverts(ask, bid, match, orders, buyer):
    signed, signature = bid(buyer, 1_000, price=PRICE)
    tampered = Bid(*signed[:3], PRICE * 2)
    with brownie.reverts(error("InvalidOrderSignature", buyer, recovered(orders, tampered, signature), ZERO)):
        match([ask(1_000, price=PRICE * 2)], [(tampered.as_tuple(), signature)], [fill(0, 0, 1_000, PRICE * 2)])


def test_a_bid_with_a_tampered_max_wh_reverts(ask, bid, match, orders, buyer):
    signed, signature = bid(buyer, 1_000)
    tampered = Bid(signed[0], signed[1], 5_000, signed[3])
    with brownie.reverts(error("InvalidOrderSignature", buyer, recovered(orders, tampered, signature), ZERO)):
        match([ask(5_000)], [(tampered.as_tuple(), signature)], [fill(0, 0, 5_000)])


def test_a_bid_signed_for_another_escrow_reverts(ask, match, orders, chain, buyer):
    other = order_domain(chain.id, key_address(TRADER_KEY))
    order = Bid(str(buyer), 1, 1_000, PRICE)
    signature = sign_order(key_of(buyer), other, order).as_tuple()
    # this escrow reads the signature as one over its own domain's digest: it recovers some other address
    with brownie.reverts(error("InvalidOrderSignature", buyer, recovered(orders, order, signature), ZERO)):
        match([ask(1_000)], [(order.as_tuple(), signature)], [fill(0, 0, 1_000)])


def test_a_seller_buying_its_own_energy_reverts(ask, bid, match, seller):
    with brownie.reverts(error("BuyerIsSeller", 0, seller)):
        match([ask(1_000)], [bid(seller, 1_000)], [fill(0, 0, 1_000)])


def test_a_price_below_the_asks_minimum_reverts(ask, bid, match, buyer):
    asks, bids = [ask(1_000, price=PRICE)], [bid(buyer, 1_000, price=PRICE + 1_000)]
    with brownie.reverts(error("PriceOutsideOrders", 0, PRICE - 1, PRICE, PRICE + 1_000)):
        match(asks, bids, [fill(0, 0, 1_000, PRICE - 1)])


def test_a_price_above_the_bids_maximum_reverts(ask, bid, match, buyer):
    asks, bids = [ask(1_000, price=PRICE)], [bid(buyer, 1_000, price=PRICE + 1_000)]
    with brownie.reverts(error("PriceOutsideOrders", 0, PRICE + 1_001, PRICE, PRICE + 1_000)):
        match(asks, bids, [fill(0, 0, 1_000, PRICE + 1_001)])


def test_a_zero_price_reverts_even_where_both_orders_allow_it(ask, bid, match, buyer):
    with brownie.reverts(error("PriceOutsideOrders", 0, 0, 0, PRICE)):
        match([ask(1_000, price=0)], [bid(buyer, 1_000)], [fill(0, 0, 1_000, 0)])


def test_a_refused_fill_is_named_by_its_index(ask, bid, match, buyer, buyer2):
    bids = [bid(buyer, 1_000), bid(buyer2, 1_000, price=PRICE - 1)]
    with brownie.reverts(error("PriceOutsideOrders", 1, PRICE, PRICE, PRICE - 1)):
        match([ask(2_000)], bids, [fill(0, 0, 1_000), fill(0, 1, 1_000)])


def test_a_fill_below_the_asks_minimum_wh_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("FillTooSmall", 0, 249, 250)):
        match([ask(1_000, min_wh=250)], [bid(buyer, 1_000)], [fill(0, 0, 249)])


def test_a_fill_of_zero_wh_reverts_even_where_the_ask_has_no_minimum(ask, bid, match, buyer):
    with brownie.reverts(error("FillTooSmall", 0, 0, 0)):
        match([ask(1_000, min_wh=0)], [bid(buyer, 1_000)], [fill(0, 0, 0)])


def test_fills_beyond_the_asks_wh_in_one_call_revert(ask, bid, match, buyer, buyer2):
    bids = [bid(buyer, 600), bid(buyer2, 600)]
    with brownie.reverts(error("ExceedsAsk", SELLER_METER, 1, 1_001, 1_000)):
        match([ask(1_000)], bids, [fill(0, 0, 600), fill(0, 1, 401)])


def test_fills_beyond_the_asks_wh_across_two_calls_revert(ask, bid, match, buyer, buyer2):
    match([ask(1_000)], [bid(buyer, 600)], [fill(0, 0, 600)])
    with brownie.reverts(error("ExceedsAsk", SELLER_METER, 1, 1_001, 1_000)):
        match([ask(1_000)], [bid(buyer2, 600)], [fill(0, 0, 401)])


def test_fills_beyond_the_bids_wh_in_one_call_revert(ask, bid, match, buyer):
    asks = [ask(300), ask(300, meter=OTHER_METER)]
    with brownie.reverts(error("ExceedsBid", buyer, 1, 501, 500)):
        match(asks, [bid(buyer, 500)], [fill(0, 0, 300), fill(1, 0, 201)])


def test_fills_beyond_the_bids_wh_across_two_calls_revert(ask, bid, match, buyer):
    match([ask(300)], [bid(buyer, 500)], [fill(0, 0, 300)])
    with brownie.reverts(error("ExceedsBid", buyer, 1, 501, 500)):
        match([ask(300, meter=OTHER_METER)], [bid(buyer, 500)], [fill(0, 0, 201)])


def test_a_bid_of_an_earlier_slot_than_one_matched_reverts(trade, buyer):
    trade(500, slot=2)
    with brownie.reverts(error("BidOutOfOrder", buyer, 1, 2)):
        trade(500, slot=1)


def test_a_fill_naming_an_ask_that_is_not_in_the_call_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("UnknownOrder", 0)):
        match([ask(1_000)], [bid(buyer, 1_000)], [fill(1, 0, 1_000)])


def test_a_fill_naming_a_bid_that_is_not_in_the_call_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("UnknownOrder", 1)):
        match([ask(1_000)], [bid(buyer, 1_000)], [fill(0, 0, 500), fill(0, 1, 500)])


def test_the_fifty_first_trade_of_a_lot_reverts(ask, bid, match, buyer):
    # 51 fills of 10 Wh: cost ceil(234,567.89) = 234,568 each, 11,962,968 in all, well within the balance
    with brownie.reverts(error("LotFull", SELLER_METER, 1, 50)):
        match([ask(510)], [bid(buyer, 510)], [fill(0, 0, 10)] * 51)


def test_a_fill_costing_more_than_the_buyers_balance_reverts(ask, bid, match, buyer):
    # ceil(500,001 x 23,456.789) = ceil(11,728,417,956.789) = 11,728,417,957 > 10,000,000,000
    with brownie.reverts(error("InsufficientBalance", buyer, FUNDS, 11_728_417_957)):
        match([ask(500_001)], [bid(buyer, 500_001)], [fill(0, 0, 500_001)])


def test_a_fill_costing_more_than_what_earlier_fills_left_reverts(ask, bid, match, buyer):
    # first fill: ceil(400,001 x 23,456.789) = ceil(9,382,739,056.789) = 9,382,739,057, leaving
    # 10,000,000,000 - 9,382,739,057 = 617,260,943; second: ceil(30,001 x 23,456.789) = ceil(703,727,126.789)
    # = 703,727,127, more than is left
    asks = [ask(400_001), ask(30_001, meter=OTHER_METER)]
    with brownie.reverts(error("InsufficientBalance", buyer, 617_260_943, 703_727_127)):
        match(asks, [bid(buyer, 430_002)], [fill(0, 0, 400_001), fill(1, 0, 30_001)])


def test_a_bid_of_an_account_with_no_balance_reverts(trade, stranger):
    # ceil(1,234 x 23,456.789) = ceil(28,945,677.626) = 28,945,678
    with brownie.reverts(error("InsufficientBalance", stranger, 0, 28_945_678)):
        trade(1_234, by=stranger)


def test_a_cost_beyond_96_bits_reverts(ask, bid, match, buyer):
    wh, price = 2**64 - 1, 2**96 - 1
    cost = -(-wh * price // 1_000)
    with brownie.reverts(error("AmountTooLarge", cost, 2**96 - 1)):
        match([ask(wh, price=price)], [bid(buyer, wh, price=price)], [fill(0, 0, wh, price)])


def test_a_lot_beyond_48_bits_of_wh_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("AmountTooLarge", 2**48, 2**48 - 1)):
        match([ask(2**48, price=1)], [bid(buyer, 2**48, price=1)], [fill(0, 0, 2**48, 1)])


def test_one_ask_more_than_a_call_takes_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("BatchTooLarge", 201, 200)):
        match([ask(1_000)] * (MAX_ASKS_PER_CALL + 1), [bid(buyer, 1_000)], [])


def test_one_bid_more_than_a_call_takes_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("BatchTooLarge", 401, 400)):
        match([ask(1_000)], [bid(buyer, 1_000)] * (MAX_BIDS_PER_CALL + 1), [])


def test_one_fill_more_than_a_call_takes_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("BatchTooLarge", 801, 800)):
        match([ask(1_000)], [bid(buyer, 1_000)], [fill(0, 0, 1)] * (MAX_FILLS_PER_CALL + 1))
