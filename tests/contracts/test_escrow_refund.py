"""refundLots: after the grace period every buyer of an unsettled lot gets its full cost back.

The lot: meter 1's slot 1, 600 Wh to buyer, then 400 Wh to buyer2, at conftest's PRICE: costs
ceil(600 x 23,456.789) = ceil(14,074,073.4) = 14,074,074 and ceil(400 x 23,456.789) = ceil(9,382,715.6) = 9,382,716.
"""

import brownie
import pytest

from p2p_energy.limits import MAX_LOTS_PER_CALL, MAX_TRADES_PER_LOT
from tests.contracts.conftest import FUNDS, GRACE, OTHER_METER, SELLER_METER, error, fill, lot_of, lot_trade


@pytest.fixture(scope="module")
def trades(buyer, buyer2):
    return [lot_trade(buyer, 600, 14_074_074), lot_trade(buyer2, 400, 9_382_716)]


@pytest.fixture(scope="module")
def sold(ask, bid, match, buyer, buyer2, trades):
    def sold():
        match([ask(1_000)], [bid(buyer, 600), bid(buyer2, 400)], [fill(0, 0, 600), fill(0, 1, 400)])
        return trades

    return sold


@pytest.fixture(scope="module")
def refund(escrow, stranger):
    """refund(meter, slot, trades): refundLots of one lot, sent by a stranger (anyone may)."""

    def refund(meter, slot, trades):
        return escrow.refundLots([(meter, slot, trades)], {"from": stranger})

    return refund


@pytest.fixture(scope="module")
def after_grace(escrow, next_block_at):
    """after_grace(slot=1, by=0): the next block `by` seconds after slot's grace period ends."""

    def after_grace(slot=1, by=0):
        next_block_at(escrow.slotEnd(slot) + GRACE + by)

    return after_grace


def test_after_the_grace_period_every_buyer_gets_its_full_cost_back(escrow, sold, refund, after_grace, buyer, buyer2):
    trades = sold()
    after_grace()
    refund(SELLER_METER, 1, trades)
    assert (escrow.balanceOf(buyer), escrow.balanceOf(buyer2)) == (FUNDS, FUNDS)


def test_a_refund_pays_the_seller_nothing(escrow, sold, refund, after_grace, seller):
    trades = sold()
    after_grace(by=600)
    refund(SELLER_METER, 1, trades)
    assert escrow.balanceOf(seller) == 0


def test_a_refund_emits_lot_refunded_with_the_lots_cost(sold, refund, after_grace):
    trades = sold()
    after_grace()
    event = refund(SELLER_METER, 1, trades).events["LotRefunded"]
    # 14,074,074 + 9,382,716 = 23,456,790
    assert (event["meterId"], event["slot"], event["refunded"]) == (SELLER_METER, 1, 23_456_790)


def test_a_refund_clears_the_lot_and_unlocks_its_cost(escrow, sold, refund, after_grace):
    trades = sold()
    after_grace()
    refund(SELLER_METER, 1, trades)
    assert (lot_of(escrow, SELLER_METER, 1), escrow.totalLocked(), escrow.totalBalances()) == (
        (bytes(24), 0, 0),
        0,
        2 * FUNDS,
    )


def test_a_refund_in_the_last_second_of_the_grace_period_reverts(escrow, sold, refund, after_grace):
    trades = sold()
    after_grace(by=-1)
    with brownie.reverts(error("RefundNotYetDue", SELLER_METER, 1, escrow.slotEnd(1) + GRACE)):
        refund(SELLER_METER, 1, trades)


def test_a_refund_before_the_slot_starts_reverts(escrow, sold, refund):
    trades = sold()
    with brownie.reverts(error("RefundNotYetDue", SELLER_METER, 1, escrow.slotEnd(1) + GRACE)):
        refund(SELLER_METER, 1, trades)


def test_a_refund_with_a_trade_left_out_reverts(sold, refund, after_grace):
    trades = sold()
    after_grace()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        refund(SELLER_METER, 1, trades[1:])


def test_a_refund_with_a_raised_cost_reverts(sold, refund, after_grace, buyer):
    trades = sold()
    after_grace()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        refund(SELLER_METER, 1, [lot_trade(buyer, 600, 14_074_075), trades[1]])


def test_a_settled_lot_is_skipped_by_a_refund(escrow, sold, settle, refund, goto, after_grace, seller, buyer):
    trades = sold()
    goto(2, 100)
    settle(SELLER_METER, 1, trades, 1_000)
    after_grace()
    tx = refund(SELLER_METER, 1, trades)
    # settled in full: the seller keeps 23,456,790 and the buyer gets nothing back
    assert (tx.events["LotSkipped"]["meterId"], escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (
        SELLER_METER,
        23_456_790,
        FUNDS - 14_074_074,
    )


def test_a_refunded_lot_is_skipped_by_a_second_refund(escrow, sold, refund, after_grace, buyer):
    trades = sold()
    after_grace()
    refund(SELLER_METER, 1, trades)
    tx = refund(SELLER_METER, 1, trades)
    assert ("LotRefunded" in tx.events, escrow.balanceOf(buyer)) == (False, FUNDS)


def test_a_lot_of_a_revoked_meter_is_refunded(escrow, registry, sold, refund, after_grace, admin, buyer):
    trades = sold()
    registry.revokeMeter(SELLER_METER, {"from": admin})
    after_grace()
    refund(SELLER_METER, 1, trades)
    assert escrow.balanceOf(buyer) == FUNDS


def test_a_refund_batch_skips_closed_lots_and_refunds_the_rest(escrow, sold, trade, refund, after_grace, buyer2):
    trades = sold()
    trade(1_234, by=buyer2, meter=OTHER_METER, slot=2)
    after_grace(slot=2)
    refund(SELLER_METER, 1, trades)
    # ceil(1,234 x 23,456.789) = ceil(28,945,677.626) = 28,945,678
    lots = [(SELLER_METER, 1, trades), (OTHER_METER, 2, [lot_trade(buyer2, 1_234, 28_945_678)])]
    tx = escrow.refundLots(lots, {"from": buyer2})
    assert (tx.events["LotSkipped"]["meterId"], tx.events["LotRefunded"]["meterId"]) == (SELLER_METER, OTHER_METER)


def test_one_lot_more_than_a_call_refunds_reverts(escrow, buyer, stranger):
    lots = [(OTHER_METER, slot, [lot_trade(buyer, 1, 24)]) for slot in range(MAX_LOTS_PER_CALL + 1)]
    with brownie.reverts(error("BatchTooLarge", 201, 200)):
        escrow.refundLots(lots, {"from": stranger})


def test_one_trade_more_than_a_call_refunds_reverts(escrow, buyer, stranger):
    full = [lot_trade(buyer, 1, 24)] * MAX_TRADES_PER_LOT
    lots = [(OTHER_METER, slot, full) for slot in range(16)] + [(OTHER_METER, 16, full[:1])]
    with brownie.reverts(error("BatchTooLarge", 801, 800)):
        escrow.refundLots(lots, {"from": stranger})
