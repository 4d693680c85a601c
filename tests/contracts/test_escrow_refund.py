import brownie

from p2p_energy.limits import MAX_TRADES_PER_CALL, MAX_TRADES_PER_LOT
from tests.contracts.conftest import GRACE, SELLER_METER

SETTLED, REFUNDED = 2, 3


def test_after_the_grace_period_buyers_are_refunded_in_full(escrow, offer, take, registry, mine_at, buyer, buyer2):
    offer_id = offer(1_000)
    take((offer_id, 600))
    take((offer_id, 400), by=buyer2)
    mine_at(registry.slotEnd(1) + GRACE)
    escrow.refundLot(SELLER_METER, 1, {"from": buyer})
    # at 23,456,789 per kWh: ceil(14,074,073.4) = 14,074,074 for 600 Wh, ceil(9,382,715.6) = 9,382,716 for 400 Wh
    assert (escrow.creditOf(buyer), escrow.creditOf(buyer2)) == (14_074_074, 9_382_716)


def test_refund_emits_lot_refunded_and_closes_each_trade(escrow, offer, take, registry, mine_at, buyer):
    take((offer(1_000), 1_000))
    mine_at(registry.slotEnd(1) + GRACE)
    tx = escrow.refundLot(SELLER_METER, 1, {"from": buyer})
    # 1 kWh at 23,456,789 per kWh
    assert tx.events["LotRefunded"]["refunded"] == 23_456_789
    assert (tx.events["TradeClosed"]["paid"], tx.events["TradeClosed"]["refunded"]) == (0, 23_456_789)
    assert escrow.lotOf(SELLER_METER, 1)[3] == REFUNDED


def test_a_meter_that_stayed_offline_leaves_its_buyers_refunded(escrow, offer, take, goto, registry, mine_at, sign):
    take((offer(1_000), 1_000))
    goto(1)
    registry.submitReading(*sign(SELLER_METER, 0, 0, 10_000), {"from": escrow})  # no reading of slot 1 follows
    mine_at(registry.slotEnd(1) + GRACE)
    escrow.refundLot(SELLER_METER, 1, {"from": escrow})
    assert escrow.totalLocked() == 0


def test_refund_before_the_grace_period_ends_reverts(escrow, offer, take, registry, mine_at, buyer):
    take((offer(1_000), 1_000))
    due = registry.slotEnd(1) + GRACE
    mine_at(due - 1)
    with brownie.reverts(f"RefundNotYetDue: {SELLER_METER}, 1, {due}"):
        escrow.refundLot(SELLER_METER, 1, {"from": buyer})


def test_reclaiming_after_settlement_reverts(escrow, offer, take, deliver, registry, mine_at, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 1_000)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})
    mine_at(registry.slotEnd(1) + GRACE)
    with brownie.reverts(f"LotNotOpen: {SELLER_METER}, 1, {SETTLED}"):
        escrow.refundLot(SELLER_METER, 1, {"from": buyer})


def test_refunding_twice_reverts(escrow, offer, take, registry, mine_at, buyer):
    take((offer(1_000), 1_000))
    mine_at(registry.slotEnd(1) + GRACE)
    escrow.refundLot(SELLER_METER, 1, {"from": buyer})
    with brownie.reverts(f"LotNotOpen: {SELLER_METER}, 1, {REFUNDED}"):
        escrow.refundLot(SELLER_METER, 1, {"from": buyer})


def test_refund_lots_refunds_several_lots_in_one_call(escrow, offer, take, registry, mine_at, buyer):
    take((offer(1_000, slot=1), 1_000), (offer(1_000, slot=2), 1_000))
    mine_at(registry.slotEnd(2) + GRACE)
    tx = escrow.refundLots([(SELLER_METER, 1), (SELLER_METER, 2)], {"from": buyer})
    assert len(tx.events["LotRefunded"]) == 2
    assert escrow.creditOf(buyer) == 46_913_578  # 2 x 23,456,789


def test_refund_lots_rejects_more_trades_than_fit_a_call(escrow, offer, take, registry, mine_at, buyer):
    # One full lot more than a call can close: 17 lots of 50 trades, 850 > MAX_TRADES_PER_CALL (800).
    count = MAX_TRADES_PER_CALL // MAX_TRADES_PER_LOT + 1
    slots = range(1, count + 1)
    for slot in slots:
        offer_id = offer(MAX_TRADES_PER_LOT, slot=slot)
        take(*[(offer_id, 1)] * MAX_TRADES_PER_LOT)
    mine_at(registry.slotEnd(count) + GRACE)
    with brownie.reverts(f"BatchTooLarge: {count * MAX_TRADES_PER_LOT}, {MAX_TRADES_PER_CALL}"):
        escrow.refundLots([(SELLER_METER, slot) for slot in slots], {"from": buyer})
