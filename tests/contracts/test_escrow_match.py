"""matchOrders when it accepts: what a fill moves, what it records, and which keys may sign.

Costs at conftest's PRICE (23,456,789 base units per kWh, 23,456.789 per Wh), worked out by hand:
cost = ceil(wh x price / 1,000).
"""

import pytest
from p2p_energy.domain.orders import LotTrade, commitment

from p2p_energy.domain.keys import key_address
from p2p_energy.limits import MAX_HORIZON_S
from tests.contracts.conftest import FUNDS, OTHER_METER, PRICE, SELLER_METER, account_of, fill, lot_of

# ceil(1,234 x 23,456,789 / 1,000) = ceil(28,945,677.626) = 28,945,678
COST_1234 = 28_945_678
# ceil(600 x 23,456.789) = ceil(14,074,073.4) = 14,074,074; ceil(400 x 23,456.789) = ceil(9,382,715.6) = 9,382,716
COST_600, COST_400 = 14_074_074, 9_382_716
LOT_1 = (SELLER_METER << 64) | 1
TRADER_KEY = bytes(31) + b"\x2a"


@pytest.fixture(scope="module")
def two_buyers(ask, bid, match, buyer, buyer2):
    """match_two(): 1,000 Wh of meter 1 in slot 1, 600 to buyer and 400 to buyer2 (buyer < buyer2 by address)."""

    def match_two():
        bids = [bid(buyer, 600), bid(buyer2, 400)]
        return match([ask(1_000)], bids, [fill(0, 0, 600), fill(0, 1, 400)])

    return match_two


def test_a_fill_moves_its_cost_out_of_the_buyers_balance(escrow, trade, buyer):
    trade(1_234)
    # 10,000,000,000 - 28,945,678 = 9,971,054,322
    assert escrow.balanceOf(buyer) == 9_971_054_322


def test_a_fill_moves_its_cost_from_total_balances_to_total_locked(escrow, trade):
    trade(1_234)
    # 20,000,000,000 - 28,945,678 = 19,971,054,322
    assert (escrow.totalBalances(), escrow.totalLocked()) == (19_971_054_322, COST_1234)


def test_a_fill_rounds_its_cost_up(escrow, trade, buyer):
    trade(1, price=999)
    # 1 Wh at 999 per kWh: ceil(0.999) = 1, not 0
    assert escrow.balanceOf(buyer) == FUNDS - 1


def test_a_fill_emits_traded_with_its_lot_key_and_cost(trade, buyer):
    event = trade(1_234).events["Traded"]
    assert (event["lotKey"], event["buyer"], event["wh"], event["pricePerKWh"], event["cost"]) == (
        LOT_1,
        buyer,
        1_234,
        PRICE,
        COST_1234,
    )


def test_a_fill_opens_the_lot_word_with_its_commitment_sold_wh_and_one_trade(escrow, trade, buyer):
    trade(1_234)
    expected = commitment([LotTrade(str(buyer), 1_234, COST_1234)])
    assert lot_of(escrow, SELLER_METER, 1) == (expected, 1_234, 1)


def test_fills_of_one_call_enter_the_lot_in_fill_order(escrow, two_buyers, buyer, buyer2):
    two_buyers()
    trades = [LotTrade(str(buyer), 600, COST_600), LotTrade(str(buyer2), 400, COST_400)]
    assert lot_of(escrow, SELLER_METER, 1) == (commitment(trades), 1_000, 2)


def test_one_call_emits_a_traded_event_per_fill_in_fill_order(two_buyers, buyer, buyer2):
    events = two_buyers().events["Traded"]
    assert [(e["buyer"], e["cost"]) for e in events] == [(buyer, COST_600), (buyer2, COST_400)]


def test_each_buyer_pays_for_its_own_fills(escrow, two_buyers, buyer, buyer2):
    two_buyers()
    # 10,000,000,000 - 14,074,074 = 9,985,925,926; 10,000,000,000 - 9,382,716 = 9,990,617,284
    assert (escrow.balanceOf(buyer), escrow.balanceOf(buyer2)) == (9_985_925_926, 9_990_617_284)


def test_a_lot_grows_across_calls_with_the_ask_given_again(escrow, ask, bid, match, buyer, buyer2):
    match([ask(1_000)], [bid(buyer, 600)], [fill(0, 0, 600)])
    match([ask(1_000)], [bid(buyer2, 400)], [fill(0, 0, 400)])
    trades = [LotTrade(str(buyer), 600, COST_600), LotTrade(str(buyer2), 400, COST_400)]
    assert lot_of(escrow, SELLER_METER, 1) == (commitment(trades), 1_000, 2)


def test_a_bid_is_matched_across_calls_up_to_its_max_wh(escrow, ask, bid, match, buyer):
    match([ask(600)], [bid(buyer, 1_000)], [fill(0, 0, 600)])
    match([ask(400, meter=OTHER_METER)], [bid(buyer, 1_000)], [fill(0, 0, 400)])
    # 10,000,000,000 - 14,074,074 - 9,382,716 = 9,976,543,210
    assert account_of(escrow, buyer) == (9_976_543_210, 1, 1_000)


def test_a_bid_in_a_later_slot_counts_its_wh_from_zero(escrow, trade, buyer):
    trade(600, slot=1)
    trade(400, slot=2)
    assert account_of(escrow, buyer)[1:] == (2, 400)


def test_the_price_is_the_fills_not_the_orders(escrow, ask, bid, match, buyer):
    tx = match([ask(1_234, price=20_000_000)], [bid(buyer, 1_234, price=30_000_000)], [fill(0, 0, 1_234, PRICE)])
    assert tx.events["Traded"]["cost"] == COST_1234


def test_the_price_may_equal_the_asks_minimum(ask, bid, match, buyer):
    tx = match([ask(1_234, price=PRICE)], [bid(buyer, 1_234, price=PRICE + 1)], [fill(0, 0, 1_234, PRICE)])
    assert tx.events["Traded"]["pricePerKWh"] == PRICE


def test_the_price_may_equal_the_bids_maximum(ask, bid, match, buyer):
    tx = match([ask(1_234, price=PRICE - 1)], [bid(buyer, 1_234, price=PRICE)], [fill(0, 0, 1_234, PRICE)])
    assert tx.events["Traded"]["pricePerKWh"] == PRICE


def test_a_fill_of_exactly_the_asks_minimum_wh_is_accepted(ask, bid, match, buyer):
    tx = match([ask(1_000, min_wh=250)], [bid(buyer, 1_000)], [fill(0, 0, 250)])
    assert tx.events["Traded"]["wh"] == 250


def test_an_ask_may_be_filled_to_its_last_wh(escrow, ask, bid, match, buyer, buyer2):
    bids = [bid(buyer, 777), bid(buyer2, 1_000)]
    match([ask(1_234)], bids, [fill(0, 0, 777), fill(0, 1, 457)])
    assert lot_of(escrow, SELLER_METER, 1)[1] == 1_234


def test_a_slot_starting_exactly_at_the_horizon_is_open(escrow, registry, trade, next_block_at):
    slot = 700  # 630,000 s after genesis, more than 7 days (604,800 s) ahead of the first blocks
    next_block_at(registry.slotStart(slot) - MAX_HORIZON_S)
    trade(1_234, slot=slot)
    assert lot_of(escrow, SELLER_METER, slot)[1] == 1_234


def test_the_last_second_before_the_slot_starts_is_open(escrow, registry, trade, next_block_at):
    next_block_at(registry.slotStart(1) - 1)
    trade(1_234)
    assert lot_of(escrow, SELLER_METER, 1)[1] == 1_234


def test_a_key_named_with_set_trader_signs_the_accounts_bids(escrow, ask, bid, match, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    match([ask(1_234)], [bid(buyer, 1_234, key=TRADER_KEY)], [fill(0, 0, 1_234)])
    assert escrow.balanceOf(buyer) == FUNDS - COST_1234


def test_a_key_named_with_set_trader_signs_the_owners_asks(escrow, ask, bid, match, seller, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": seller})
    match([ask(1_234, key=TRADER_KEY)], [bid(buyer, 1_234)], [fill(0, 0, 1_234)])
    assert lot_of(escrow, SELLER_METER, 1)[1] == 1_234


def test_the_accounts_own_key_still_signs_after_set_trader(escrow, trade, buyer, seller):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    escrow.setTrader(key_address(TRADER_KEY), {"from": seller})
    trade(1_234)
    assert escrow.balanceOf(buyer) == FUNDS - COST_1234


def test_a_call_without_fills_moves_nothing(escrow, ask, bid, match, buyer):
    match([ask(1_234)], [bid(buyer, 1_234)], [])
    assert (escrow.balanceOf(buyer), escrow.totalLocked(), lot_of(escrow, SELLER_METER, 1)[2]) == (FUNDS, 0, 0)
