import brownie

from p2p_energy.limits import MAX_TRADES_PER_CALL, MAX_TRADES_PER_LOT
from tests.contracts.conftest import GRACE, OTHER_METER, SELLER_METER, meter_key

SETTLED = 2

# Expected amounts are worked out by hand from the rule (README, "The settlement rule"), at
# conftest's PRICE of 23,456,789 base units per kWh: cost = ceil(wh x price / 1,000) when taken,
# paid = floor(cost x delivered / sold), refunded = cost - paid. The amounts are chosen so that
# no division is exact: rounding the wrong way changes the last digit.


def test_full_delivery_pays_the_seller_everything(escrow, offer, take, deliver, seller, buyer):
    take((offer(1_234), 1_234))
    deliver(SELLER_METER, 1, 1_234)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # cost = ceil(1,234 x 23,456,789 / 1,000) = ceil(28,945,677.626) = 28,945,678, all of it paid
    assert (escrow.creditOf(seller), escrow.creditOf(buyer)) == (28_945_678, 0)


def test_partial_delivery_pays_the_seller_pro_rata_rounded_down(escrow, offer, take, deliver, seller, buyer):
    take((offer(1_234), 1_234))
    deliver(SELLER_METER, 1, 500)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # cost 28,945,678 (as above); paid = floor(28,945,678 x 500 / 1,234) = floor(11,728,394.65) = 11,728,394;
    # refunded = 28,945,678 - 11,728,394 = 17,217,284
    assert (escrow.creditOf(seller), escrow.creditOf(buyer)) == (11_728_394, 17_217_284)


def test_zero_export_refunds_every_buyer_in_full(escrow, offer, take, deliver, seller, buyer, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 600))
    take((offer_id, 400), by=buyer2)
    deliver(SELLER_METER, 1, 0)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # costs, refunded whole: ceil(600 x 23,456.789) = ceil(14,074,073.4) = 14,074,074;
    # ceil(400 x 23,456.789) = ceil(9,382,715.6) = 9,382,716
    assert (escrow.creditOf(seller), escrow.creditOf(buyer), escrow.creditOf(buyer2)) == (0, 14_074_074, 9_382_716)


def test_over_delivery_pays_no_more_than_the_price(escrow, offer, take, deliver, seller, buyer):
    take((offer(1_234), 1_234))
    deliver(SELLER_METER, 1, 5_000)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # delivered = min(5,000, 1,234) = 1,234: the cost, 28,945,678, and no more
    assert escrow.creditOf(seller) == 28_945_678


def test_several_buyers_of_one_offer_share_the_shortfall(escrow, offer, take, deliver, seller, buyer, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 300))
    take((offer_id, 700), by=buyer2)
    deliver(SELLER_METER, 1, 333)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # 300 Wh: cost ceil(7,037,036.7) = 7,037,037; paid floor(7,037,037 x 333 / 1,000) = floor(2,343,333.321)
    #   = 2,343,333; refunded 7,037,037 - 2,343,333 = 4,693,704
    # 700 Wh: cost ceil(16,419,752.3) = 16,419,753; paid floor(16,419,753 x 333 / 1,000) = floor(5,467,777.749)
    #   = 5,467,777; refunded 16,419,753 - 5,467,777 = 10,951,976
    # seller: 2,343,333 + 5,467,777 = 7,811,110
    assert (escrow.creditOf(seller), escrow.creditOf(buyer), escrow.creditOf(buyer2)) == (
        7_811_110,
        4_693_704,
        10_951_976,
    )


def test_several_offers_of_one_seller_in_one_slot_settle_as_one_lot(escrow, offer, take, deliver, seller, buyer):
    cheap, dear = offer(400), offer(600, price=31_415_927)
    take((cheap, 400), (dear, 600))
    deliver(SELLER_METER, 1, 777)
    tx = escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # one lot of 1,000 Wh sold, 777 delivered:
    # 400 Wh: cost ceil(9,382,715.6) = 9,382,716; paid floor(9,382,716 x 777 / 1,000) = floor(7,290,370.332) = 7,290,370
    # 600 Wh at 31,415,927: cost ceil(18,849,556.2) = 18,849,557;
    #   paid floor(18,849,557 x 777 / 1,000) = floor(14,646,105.789) = 14,646,105
    # paid 7,290,370 + 14,646,105 = 21,936,475; refunded 9,382,716 + 18,849,557 - 21,936,475 = 6,295,798
    settled = tx.events["LotSettled"]
    assert (settled["soldWh"], settled["deliveredWh"], settled["paid"], settled["refunded"]) == (
        1_000,
        777,
        21_936_475,
        6_295_798,
    )
    assert len(tx.events["TradeClosed"]) == 2


def test_settlement_closes_each_trade_with_an_event(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 250)
    tx = escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    closed = tx.events["TradeClosed"]
    assert (closed["tradeId"], closed["buyer"]) == (escrow.tradeIdOf(SELLER_METER, 1, 0), buyer)
    # cost 23,456,789 (1 kWh); paid floor(23,456,789 x 250 / 1,000) = floor(5,864,197.25) = 5,864,197;
    # refunded 23,456,789 - 5,864,197 = 17,592,592
    assert (closed["paid"], closed["refunded"]) == (5_864_197, 17_592_592)


def test_settlement_moves_the_lot_from_locked_to_credited(escrow, offer, take, deliver, buyer):
    take((offer(1_234), 1_234))
    deliver(SELLER_METER, 1, 700)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    # the whole cost, 28,945,678, moves: paid to the seller or refunded to the buyer, both credited
    assert (escrow.totalLocked(), escrow.totalCredited()) == (0, 28_945_678)


def test_settle_before_the_slot_is_over_reverts(escrow, offer, take, goto, buyer, registry):
    take((offer(1_000), 1_000))
    goto(1, 10)
    with brownie.reverts(f"SlotNotOver: {SELLER_METER}, 1, {registry.slotEnd(1)}"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_without_readings_reverts(escrow, offer, take, goto, buyer):
    take((offer(1_000), 1_000))
    goto(2)
    with brownie.reverts(f"DeliveryUnknown: {SELLER_METER}, 1"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_with_no_reading_of_the_previous_slot_reverts(escrow, offer, take, goto, sign, registry, buyer):
    take((offer(1_000), 1_000))
    goto(2)
    registry.submitReading(*sign(SELLER_METER, 1, 0, 5_000), {"from": buyer})
    with brownie.reverts(f"DeliveryUnknown: {SELLER_METER}, 1"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_twice_reverts(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 1_000)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    with brownie.reverts(f"LotNotOpen: {SELLER_METER}, 1, {SETTLED}"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_a_lot_without_trades_reverts(escrow, deliver, buyer):
    deliver(SELLER_METER, 1, 1_000)
    with brownie.reverts(f"LotNotOpen: {SELLER_METER}, 1, 0"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_after_the_grace_period_reverts(escrow, offer, take, deliver, registry, mine_at, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 1_000)
    closes = registry.slotEnd(1) + GRACE
    mine_at(closes)
    with brownie.reverts(f"SettlementWindowClosed: {SELLER_METER}, 1, {closes}"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_of_a_revoked_meter_reverts(escrow, offer, take, deliver, registry, admin, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 1_000)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(f"MeterNotActive: {SELLER_METER}"):
        escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_settle_lots_settles_every_lot_in_one_call(escrow, offer, take, deliver, seller, seller2, buyer):
    take((offer(1_000), 1_000), (offer(1_999, meter_id=OTHER_METER, by=seller2), 1_999))
    deliver(SELLER_METER, 1, 1_000)
    deliver(OTHER_METER, 1, 1_000)
    tx = escrow.settleLots([(SELLER_METER, 1), (OTHER_METER, 1)], {"from": buyer})
    assert len(tx.events["LotSettled"]) == 2
    # seller: the cost of 1 kWh, 23,456,789, in full
    # seller2: cost ceil(1,999 x 23,456.789) = ceil(46,890,121.211) = 46,890,122;
    #   paid floor(46,890,122 x 1,000 / 1,999) = floor(23,456,789.39) = 23,456,789
    assert (escrow.creditOf(seller), escrow.creditOf(seller2)) == (23_456_789, 23_456_789)


def test_settle_lots_is_all_or_nothing(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 1_000)
    with brownie.reverts(f"LotNotOpen: {OTHER_METER}, 1, 0"):
        escrow.settleLots([(SELLER_METER, 1), (OTHER_METER, 1)], {"from": buyer})
    assert escrow.lotOf(SELLER_METER, 1)["state"] == 1


def test_settle_lots_rejects_too_many_lots(escrow, buyer):
    too_many = escrow.MAX_LOTS_PER_CALL() + 1
    with brownie.reverts(f"BatchTooLarge: {too_many}, {too_many - 1}"):
        escrow.settleLots([(SELLER_METER, 1)] * too_many, {"from": buyer})


def full_lots(count, registry, admin, seller, offer, take, buyers):
    """`count` full lots (MAX_TRADES_PER_LOT one-Wh trades each), one per new meter, all in slot 1."""
    meters = range(100, 100 + count)
    for meter_id in meters:
        registry.registerMeter(meter_id, seller, meter_key(meter_id).address, {"from": admin})
        offer_id = offer(MAX_TRADES_PER_LOT, meter_id=meter_id)
        take(*[(offer_id, 1)] * MAX_TRADES_PER_LOT, by=buyers[meter_id % len(buyers)])
    return [(meter_id, 1) for meter_id in meters]


def record_slot_one(lots, registry, sign, mine_at, stranger):
    mine_at(registry.slotEnd(1))
    # 100 Wh exported of MAX_TRADES_PER_LOT (50) sold: sellers are paid in full, buyers get nothing back.
    signed = [sign(meter_id, slot, 0, 100 * slot) for meter_id, _ in lots for slot in (0, 1)]
    registry.submitReadings([r for r, _ in signed], [s for _, s in signed], {"from": stranger})


def test_settle_lots_rejects_more_trades_than_fit_a_call(
    escrow, registry, admin, seller, offer, take, sign, mine_at, stranger, buyer
):
    count = MAX_TRADES_PER_CALL // MAX_TRADES_PER_LOT + 1  # 17 lots, 850 trades > 800
    lots = full_lots(count, registry, admin, seller, offer, take, [buyer])
    record_slot_one(lots, registry, sign, mine_at, stranger)
    with brownie.reverts(f"BatchTooLarge: {count * MAX_TRADES_PER_LOT}, {MAX_TRADES_PER_CALL}"):
        escrow.settleLots(lots, {"from": buyer})


def test_settling_the_most_trades_a_call_allows_fits_a_block(
    escrow, registry, admin, seller, offer, take, sign, mine_at, stranger, buyer, buyer2
):
    count = MAX_TRADES_PER_CALL // MAX_TRADES_PER_LOT  # 16 lots, 800 trades
    lots = full_lots(count, registry, admin, seller, offer, take, [buyer, buyer2])
    record_slot_one(lots, registry, sign, mine_at, stranger)
    tx = escrow.settleLots(lots, {"from": buyer})
    assert len(tx.events["TradeClosed"]) == MAX_TRADES_PER_CALL
    assert tx.gas_used < 30_000_000
