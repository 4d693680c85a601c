"""settleLots refusals: each custom error with the arguments it names.

Each test settles meter 1's slot-1 lot: 600 Wh to buyer, then 400 Wh to buyer2, at conftest's PRICE:
costs ceil(600 x 23,456.789) = ceil(14,074,073.4) = 14,074,074 and ceil(400 x 23,456.789) = ceil(9,382,715.6)
= 9,382,716.
"""

import brownie
import pytest
from eth_utils.crypto import keccak
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain

from p2p_energy.limits import MAX_LOTS_PER_CALL, MAX_TRADES_PER_LOT
from tests.contracts.conftest import GRACE, OTHER_METER, SELLER_METER, error, fill, lot_trade, meter_key, recovered

FORGER = MeterKey(keccak(text="a forger's key"))


@pytest.fixture(scope="module")
def trades(buyer, buyer2):
    return [lot_trade(buyer, 600, 14_074_074), lot_trade(buyer2, 400, 9_382_716)]


@pytest.fixture(scope="module")
def sold(ask, bid, match, buyer, buyer2, goto, trades):
    """sold(now_slot=2, offset=100): the lot matched, then the chain moved to `now_slot` + `offset` seconds."""

    def sold(now_slot=2, offset=100):
        match([ask(1_000)], [bid(buyer, 600), bid(buyer2, 400)], [fill(0, 0, 600), fill(0, 1, 400)])
        goto(now_slot, offset)
        return trades

    return sold


def test_a_trade_left_out_reverts(sold, settle):
    trades = sold()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, trades[:1], 600)


def test_a_trade_added_reverts(sold, settle, buyer):
    trades = sold()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, [*trades, lot_trade(buyer, 1, 24)], 600)


def test_a_trade_with_more_wh_reverts(sold, settle, buyer):
    trades = sold()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, [lot_trade(buyer, 601, 14_074_074), trades[1]], 600)


def test_a_trade_with_a_lower_cost_reverts(sold, settle, buyer):
    trades = sold()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, [lot_trade(buyer, 600, 14_074_073), trades[1]], 600)


def test_a_trade_with_another_buyer_reverts(sold, settle, stranger):
    trades = sold()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, [lot_trade(stranger, 600, 14_074_074), trades[1]], 600)


def test_trades_out_of_match_order_revert(sold, settle):
    trades = sold()
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, trades[::-1], 600)


def test_a_reading_of_another_slot_reverts(escrow, sold, reading, stranger):
    trades = sold(now_slot=3)
    with brownie.reverts(error("ReadingOfOtherLot", SELLER_METER, 1, SELLER_METER, 2)):
        escrow.settleLots([((SELLER_METER, 1, trades), *reading(SELLER_METER, 2, 1_000))], {"from": stranger})


def test_a_reading_of_another_meter_reverts(escrow, sold, reading, stranger):
    trades = sold()
    with brownie.reverts(error("ReadingOfOtherLot", SELLER_METER, 1, OTHER_METER, 1)):
        escrow.settleLots([((SELLER_METER, 1, trades), *reading(OTHER_METER, 1, 1_000))], {"from": stranger})


def test_a_reading_forged_with_another_key_reverts(escrow, sold, proof, stranger):
    proofs = [proof(SELLER_METER, 1, sold(), 1_000, key=FORGER)]
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, FORGER.address, meter_key(SELLER_METER).address)):
        escrow.settleLots(proofs, {"from": stranger})


def test_a_reading_signed_by_another_meters_key_reverts(escrow, sold, proof, stranger):
    other, own = meter_key(OTHER_METER), meter_key(SELLER_METER)
    proofs = [proof(SELLER_METER, 1, sold(), 1_000, key=other)]
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, other.address, own.address)):
        escrow.settleLots(proofs, {"from": stranger})


def test_a_reading_with_a_raised_export_reverts(escrow, sold, reading, readings, stranger):
    trades = sold()
    _, signature = reading(SELLER_METER, 1, 500)
    raised = Reading(SELLER_METER, 1, 1_000)
    signer = recovered(readings, raised, signature)
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, signer, meter_key(SELLER_METER).address)):
        escrow.settleLots([((SELLER_METER, 1, trades), raised.as_tuple(), signature)], {"from": stranger})


def test_a_reading_signed_for_another_registry_reverts(escrow, sold, reading, readings, chain, stranger):
    trades = sold()
    signed, signature = reading(SELLER_METER, 1, 1_000, domain=reading_domain(chain.id, str(stranger)))
    signer = recovered(readings, Reading(*signed), signature)
    with brownie.reverts(error("InvalidMeterSignature", SELLER_METER, signer, meter_key(SELLER_METER).address)):
        escrow.settleLots([((SELLER_METER, 1, trades), signed, signature)], {"from": stranger})


def test_settling_before_the_slot_is_over_reverts(escrow, sold, settle):
    trades = sold(now_slot=1, offset=450)
    with brownie.reverts(error("SlotNotOver", SELLER_METER, 1, escrow.slotEnd(1))):
        settle(SELLER_METER, 1, trades, 1_000)


def test_settling_in_the_last_second_of_the_slot_reverts(escrow, sold, settle, next_block_at):
    trades = sold(now_slot=1)
    next_block_at(escrow.slotEnd(1) - 1)
    with brownie.reverts(error("SlotNotOver", SELLER_METER, 1, escrow.slotEnd(1))):
        settle(SELLER_METER, 1, trades, 1_000)


def test_settling_once_the_grace_period_is_over_reverts(escrow, sold, settle, next_block_at):
    trades = sold()
    next_block_at(escrow.slotEnd(1) + GRACE)
    with brownie.reverts(error("SettlementWindowClosed", SELLER_METER, 1, escrow.slotEnd(1) + GRACE)):
        settle(SELLER_METER, 1, trades, 1_000)


def test_settling_a_lot_of_a_revoked_meter_reverts(registry, sold, settle, admin):
    trades = sold()
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterNotActive", SELLER_METER)):
        settle(SELLER_METER, 1, trades, 1_000)


def test_one_refused_lot_reverts_the_whole_batch(escrow, trade, sold, proof, admin, seller, stranger):
    escrow.depositFor([seller], [10**9], {"from": admin})
    trade(1_234, by=seller, meter=OTHER_METER)
    trades = sold()
    # ceil(1,234 x 23,456.789) = ceil(28,945,677.626) = 28,945,678
    valid = proof(OTHER_METER, 1, [lot_trade(seller, 1_234, 28_945_678)], 1_234)
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        escrow.settleLots([valid, proof(SELLER_METER, 1, trades[:1], 1)], {"from": stranger})


def test_one_lot_more_than_a_call_takes_reverts(escrow, proof, buyer, stranger):
    proofs = [proof(OTHER_METER, slot, [lot_trade(buyer, 1, 24)], 1) for slot in range(MAX_LOTS_PER_CALL + 1)]
    with brownie.reverts(error("BatchTooLarge", 201, 200)):
        escrow.settleLots(proofs, {"from": stranger})


def test_one_trade_more_than_a_call_takes_reverts(escrow, proof, buyer, stranger):
    # 16 lots of 50 trades and one of 1: 801 trades (lots that were never matched: they are counted all the same)
    full = [lot_trade(buyer, 1, 24)] * MAX_TRADES_PER_LOT
    proofs = [proof(OTHER_METER, slot, full, 1) for slot in range(16)] + [proof(OTHER_METER, 16, full[:1], 1)]
    with brownie.reverts(error("BatchTooLarge", 801, 800)):
        escrow.settleLots(proofs, {"from": stranger})
