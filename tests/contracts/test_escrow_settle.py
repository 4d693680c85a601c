import brownie

from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.limits import MAX_TRADES_PER_CALL, MAX_TRADES_PER_LOT
from tests.contracts.conftest import GRACE, PRICE, SELLER_METER, meter_key

SETTLED = 2


def test_full_delivery_pays_the_seller_everything(escrow, offer, take, deliver, seller, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 1_000)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    assert escrow.creditOf(seller) == trade_cost(1_000, PRICE)
    assert escrow.creditOf(buyer) == 0


def test_half_delivery_splits_each_trade_pro_rata(escrow, offer, take, deliver, seller, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 500)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    cost = trade_cost(1_000, PRICE)
    assert escrow.creditOf(seller) == cost // 2
    assert escrow.creditOf(buyer) == cost - cost // 2


def test_zero_export_refunds_every_buyer_in_full(escrow, offer, take, deliver, seller, buyer, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 600))
    take((offer_id, 400), by=buyer2)
    deliver(SELLER_METER, 1, 0)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    assert escrow.creditOf(seller) == 0
    assert escrow.creditOf(buyer) == trade_cost(600, PRICE)
    assert escrow.creditOf(buyer2) == trade_cost(400, PRICE)


def test_over_delivery_pays_no_more_than_the_price(escrow, offer, take, deliver, seller, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 5_000)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    assert escrow.creditOf(seller) == trade_cost(1_000, PRICE)


def test_several_buyers_of_one_offer_share_the_shortfall(escrow, offer, take, deliver, seller, buyer, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 300))
    take((offer_id, 700), by=buyer2)
    deliver(SELLER_METER, 1, 333)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    expected = settle_lot([trade_cost(300, PRICE), trade_cost(700, PRICE)], 1_000, 333)
    assert escrow.creditOf(seller) == expected.seller_payout
    assert [escrow.creditOf(buyer), escrow.creditOf(buyer2)] == list(expected.refunded)


def test_several_offers_of_one_seller_in_one_slot_settle_as_one_lot(escrow, offer, take, deliver, seller, buyer):
    cheap, dear = offer(400, price=PRICE), offer(600, price=2 * PRICE)
    take((cheap, 400), (dear, 600))
    deliver(SELLER_METER, 1, 500)
    tx = escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    expected = settle_lot([trade_cost(400, PRICE), trade_cost(600, 2 * PRICE)], 1_000, 500)
    assert tx.events["LotSettled"]["paid"] == expected.seller_payout
    assert len(tx.events["TradeClosed"]) == 2


def test_settlement_closes_each_trade_with_an_event(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 250)
    tx = escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    closed = tx.events["TradeClosed"]
    cost = trade_cost(1_000, PRICE)
    assert (closed["tradeId"], closed["buyer"]) == (escrow.tradeIdOf(SELLER_METER, 1, 0), buyer)
    assert (closed["paid"], closed["refunded"]) == (cost // 4, cost - cost // 4)


def test_settlement_moves_the_lot_from_locked_to_credited(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 700)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    assert (escrow.totalLocked(), escrow.totalCredited()) == (0, trade_cost(1_000, PRICE))


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
    from tests.contracts.conftest import OTHER_METER

    take((offer(1_000), 1_000), (offer(2_000, meter_id=OTHER_METER, by=seller2), 2_000))
    deliver(SELLER_METER, 1, 1_000)
    deliver(OTHER_METER, 1, 1_000)
    tx = escrow.settleLots([(SELLER_METER, 1), (OTHER_METER, 1)], {"from": buyer})
    assert len(tx.events["LotSettled"]) == 2
    assert escrow.creditOf(seller2) == trade_cost(2_000, PRICE) // 2


def test_settle_lots_is_all_or_nothing(escrow, offer, take, deliver, buyer):
    from tests.contracts.conftest import OTHER_METER

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
