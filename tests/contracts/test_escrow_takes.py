import brownie

from p2p_energy.limits import MAX_TAKES_PER_CALL, MAX_TRADES_PER_LOT
from tests.contracts.conftest import BUYER_FUNDS, OTHER_METER, SELLER_METER

OPEN = 1
UINT64_MAX = 2**64 - 1
UINT96_MAX = 2**96 - 1

# Costs worked out by hand at conftest's PRICE, 23,456,789 base units per kWh (23,456.789 per Wh),
# rounded up: 400 Wh ceil(9,382,715.6) = 9,382,716; 500 Wh ceil(11,728,394.5) = 11,728,395;
# 600 Wh ceil(14,074,073.4) = 14,074,074; 1,000 Wh 23,456,789; 1,234 Wh ceil(28,945,677.626) = 28,945,678.


def test_taking_a_whole_offer_locks_its_cost_in_escrow(escrow, token, offer, take, buyer):
    take((offer(1_234), 1_234))
    assert (token.balanceOf(escrow), escrow.totalLocked()) == (28_945_678, 28_945_678)
    assert token.balanceOf(buyer) == BUYER_FUNDS - 28_945_678


def test_taking_part_of_an_offer_leaves_the_rest(escrow, offer, take):
    offer_id = offer(1_000)
    take((offer_id, 400))
    assert escrow.offerOf(offer_id)[2] == 600


def test_taking_opens_a_trade_with_an_event(escrow, offer, take, buyer):
    offer_id = offer(1_000)
    tx = take((offer_id, 400))
    event = tx.events["TradeOpened"]
    trade_id = escrow.tradeIdOf(SELLER_METER, 1, 0)
    assert (event["tradeId"], event["offerId"], event["buyer"]) == (trade_id, offer_id, buyer)
    assert (event["wh"], event["cost"]) == (400, 9_382_716)
    assert (escrow.tradeOf(trade_id)[0], escrow.tradeOf(trade_id)[1]) == (buyer, 9_382_716)


def test_several_buyers_can_take_one_offer(escrow, offer, take, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 400))
    take((offer_id, 600), by=buyer2)
    lot = [int(v) for v in escrow.lotOf(SELLER_METER, 1)]
    # each take rounds up on its own: 9,382,716 + 14,074,074 = 23,456,790, one unit more than 1 kWh's cost
    assert lot == [1_000, 23_456_790, 2, OPEN]


def test_one_call_takes_several_offers_and_pulls_once(escrow, token, offer, take, seller2, buyer):
    first, second = offer(1_000), offer(500, meter_id=OTHER_METER, by=seller2)
    tx = take((first, 1_000), (second, 500))
    assert len(tx.events["TradeOpened"]) == 2
    assert len(tx.events["Transfer"]) == 1
    assert tx.return_value == 35_185_184  # 23,456,789 + 11,728,395


def test_cost_is_rounded_up_so_no_take_is_free(escrow, offer, take):
    tx = take((offer(1_000, price=999), 1))
    assert tx.events["TradeOpened"]["cost"] == 1


def test_taking_more_than_offered_reverts(offer, take):
    offer_id = offer(1_000)
    with brownie.reverts(f"ExceedsOffer: {offer_id}, 1001, 1000"):
        take((offer_id, 1_001))


def test_taking_more_than_is_left_after_another_take_reverts(offer, take, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 700), by=buyer2)
    with brownie.reverts(f"ExceedsOffer: {offer_id}, 400, 300"):
        take((offer_id, 400))


def test_taking_nothing_reverts(offer, take):
    with brownie.reverts("ZeroAmount: "):
        take((offer(1_000), 0))


def test_taking_an_offer_that_does_not_exist_reverts(take):
    with brownie.reverts("OfferUnavailable: 42"):
        take((42, 1))


def test_taking_a_cancelled_offer_reverts(escrow, offer, take, seller):
    offer_id = offer(1_000)
    escrow.cancelOffer(offer_id, {"from": seller})
    with brownie.reverts(f"OfferUnavailable: {offer_id}"):
        take((offer_id, 1))


def test_taking_an_expired_offer_reverts(offer, take, goto, registry):
    offer_id = offer(1_000)
    goto(1)
    with brownie.reverts(f"TradingClosed: 1, {registry.slotStart(1)}"):
        take((offer_id, 1))


def test_taking_an_offer_of_a_revoked_meter_reverts(offer, take, registry, admin):
    offer_id = offer(1_000)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(f"MeterNotActive: {SELLER_METER}"):
        take((offer_id, 1))


def test_a_seller_cannot_buy_its_own_offer(offer, take, seller, token, escrow, admin):
    token.mint(seller, 10**8, {"from": admin})
    token.approve(escrow, 10**8, {"from": seller})
    offer_id = offer(1_000)
    with brownie.reverts(f"BuyerIsSeller: {offer_id}, {seller.address.lower()}"):
        take((offer_id, 1), by=seller)


def test_taking_without_allowance_reverts(escrow, offer, take, stranger):
    with brownie.reverts(f"ERC20InsufficientAllowance: {escrow.address.lower()}, 0, 1"):
        take((offer(1_000, price=1_000), 1), by=stranger)


def test_taking_beyond_the_buyers_balance_reverts(offer, take, escrow, token, stranger):
    token.approve(escrow, 2**256 - 1, {"from": stranger})
    with brownie.reverts(f"ERC20InsufficientBalance: {stranger.address.lower()}, 0, 1"):
        take((offer(1_000, price=1_000), 1), by=stranger)


def test_a_cost_beyond_96_bits_reverts(offer, take):
    offer_id = offer(UINT64_MAX, price=UINT96_MAX)
    cost = -(-UINT64_MAX * UINT96_MAX // 1_000)
    with brownie.reverts(f"AmountTooLarge: {cost}, {UINT96_MAX}"):
        take((offer_id, UINT64_MAX))


def test_sold_energy_beyond_64_bits_in_one_lot_reverts(offer, take, token, buyer, admin):
    token.mint(buyer, UINT64_MAX, {"from": admin})
    first, second = offer(UINT64_MAX, price=1), offer(UINT64_MAX, price=1)
    take((first, UINT64_MAX))
    with brownie.reverts(f"AmountTooLarge: {UINT64_MAX + 1}, {UINT64_MAX}"):
        take((second, 1))


def test_a_lot_holds_at_most_fifty_trades(escrow, offer, take):
    offer_id = offer(1_000)
    take(*[(offer_id, 1)] * MAX_TRADES_PER_LOT)
    with brownie.reverts(f"LotFull: {SELLER_METER}, 1, {MAX_TRADES_PER_LOT}"):
        take((offer_id, 1))


def test_one_call_takes_at_most_one_hundred_parts(escrow, offer, take):
    offer_id = offer(1_000)
    with brownie.reverts(f"BatchTooLarge: {MAX_TAKES_PER_CALL + 1}, {MAX_TAKES_PER_CALL}"):
        take(*[(offer_id, 1)] * (MAX_TAKES_PER_CALL + 1))
