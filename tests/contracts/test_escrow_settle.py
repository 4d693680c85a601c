"""settleLots when it accepts: pro-rata payment against the meter's signed reading, and lots it skips.

Expected amounts are worked out by hand from the rule (EnergyEscrow's NatSpec), at conftest's PRICE
of 23,456,789 base units per kWh: cost = ceil(wh x price / 1,000) when matched,
delivered = min(exported, sold), paid = floor(cost x delivered / sold), refunded = cost - paid.
The amounts are chosen so that no division is exact: rounding the wrong way changes the last digit.
"""

import pytest

from tests.contracts.conftest import FUNDS, GRACE, OTHER_METER, SELLER_METER, fill, lot_of, lot_trade

# ceil(1,234 x 23,456.789) = ceil(28,945,677.626) = 28,945,678
COST_1234 = 28_945_678
# ceil(300 x 23,456.789) = ceil(7,037,036.7) = 7,037,037; ceil(700 x 23,456.789) = ceil(16,419,752.3) = 16,419,753
COST_300, COST_700 = 7_037_037, 16_419_753


@pytest.fixture(scope="module")
def sold_1234(trade, buyer, goto):
    """1,234 Wh of meter 1 in slot 1 sold to buyer; the chain then in slot 2. Returns the lot's trades."""

    def sold_1234():
        trade(1_234)
        goto(2, 100)
        return [lot_trade(buyer, 1_234, COST_1234)]

    return sold_1234


@pytest.fixture(scope="module")
def sold_300_700(ask, bid, match, buyer, buyer2, goto):
    """1,000 Wh of meter 1 in slot 1: 300 to buyer, 700 to buyer2; the chain then in slot 2."""

    def sold_300_700():
        match([ask(1_000)], [bid(buyer, 300), bid(buyer2, 700)], [fill(0, 0, 300), fill(0, 1, 700)])
        goto(2, 100)
        return [lot_trade(buyer, 300, COST_300), lot_trade(buyer2, 700, COST_700)]

    return sold_300_700


def test_full_delivery_pays_the_seller_the_whole_cost(escrow, sold_1234, settle, seller, buyer):
    settle(SELLER_METER, 1, sold_1234(), 1_234)
    # 10,000,000,000 - 28,945,678 = 9,971,054,322 stays with the buyer, nothing comes back
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (COST_1234, 9_971_054_322)


def test_partial_delivery_pays_the_seller_pro_rata_rounded_down(escrow, sold_1234, settle, seller):
    settle(SELLER_METER, 1, sold_1234(), 500)
    # paid = floor(28,945,678 x 500 / 1,234) = floor(11,728,394.65) = 11,728,394
    assert escrow.balanceOf(seller) == 11_728_394


def test_partial_delivery_refunds_the_buyer_the_rest_of_its_cost(escrow, sold_1234, settle, buyer):
    settle(SELLER_METER, 1, sold_1234(), 500)
    # refunded = 28,945,678 - 11,728,394 = 17,217,284; 9,971,054,322 + 17,217,284 = 9,988,271,606
    assert escrow.balanceOf(buyer) == 9_988_271_606


def test_one_wh_delivered_pays_one_1234th_rounded_down(escrow, sold_1234, settle, seller, buyer):
    settle(SELLER_METER, 1, sold_1234(), 1)
    # paid = floor(28,945,678 / 1,234) = floor(23,456.79) = 23,456; refunded 28,945,678 - 23,456 = 28,922,222
    # the buyer: 9,971,054,322 + 28,922,222 = 9,999,976,544
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (23_456, 9_999_976_544)


def test_delivery_above_the_sold_wh_pays_no_more_than_the_cost(escrow, sold_1234, settle, seller):
    settle(SELLER_METER, 1, sold_1234(), 5_000)
    # delivered = min(5,000, 1,234) = 1,234: the cost, and no more
    assert escrow.balanceOf(seller) == COST_1234


def test_zero_delivery_refunds_every_buyer_in_full(escrow, sold_300_700, settle, seller, buyer, buyer2):
    settle(SELLER_METER, 1, sold_300_700(), 0)
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer), escrow.balanceOf(buyer2)) == (0, FUNDS, FUNDS)


def test_buyers_of_one_lot_share_the_shortfall_pro_rata(escrow, sold_300_700, settle, buyer, buyer2):
    settle(SELLER_METER, 1, sold_300_700(), 333)
    # 300 Wh: paid floor(7,037,037 x 333 / 1,000) = floor(2,343,333.321) = 2,343,333, refunded 4,693,704:
    #   10,000,000,000 - 7,037,037 + 4,693,704 = 9,997,656,667
    # 700 Wh: paid floor(16,419,753 x 333 / 1,000) = floor(5,467,777.749) = 5,467,777, refunded 10,951,976:
    #   10,000,000,000 - 16,419,753 + 10,951,976 = 9,994,532,223
    assert (escrow.balanceOf(buyer), escrow.balanceOf(buyer2)) == (9_997_656_667, 9_994_532_223)


def test_the_seller_gets_the_sum_of_the_trades_payments(escrow, sold_300_700, settle, seller):
    settle(SELLER_METER, 1, sold_300_700(), 333)
    # 2,343,333 + 5,467,777 = 7,811,110 (not floor(23,456,790 x 333 / 1,000) = 7,811,111: each trade rounds down)
    assert escrow.balanceOf(seller) == 7_811_110


def test_settlement_emits_lot_settled_with_the_lots_totals(sold_300_700, settle, seller):
    event = settle(SELLER_METER, 1, sold_300_700(), 333).events["LotSettled"]
    # refunded 4,693,704 + 10,951,976 = 15,645,680
    assert dict(event) == {
        "meterId": SELLER_METER,
        "slot": 1,
        "seller": seller,
        "soldWh": 1_000,
        "deliveredWh": 333,
        "paid": 7_811_110,
        "refunded": 15_645_680,
    }


def test_settlement_clears_the_lot_word(escrow, sold_1234, settle):
    settle(SELLER_METER, 1, sold_1234(), 500)
    assert lot_of(escrow, SELLER_METER, 1) == (bytes(24), 0, 0)


def test_settlement_moves_the_lots_cost_from_locked_to_balances(escrow, token, sold_1234, settle):
    settle(SELLER_METER, 1, sold_1234(), 500)
    assert (escrow.totalLocked(), escrow.totalBalances(), token.balanceOf(escrow)) == (0, 2 * FUNDS, 2 * FUNDS)


def test_a_lot_matched_in_two_calls_settles_with_its_trades_in_match_order(
    escrow, ask, bid, match, settle, goto, seller, buyer, buyer2
):
    match([ask(1_234)], [bid(buyer2, 777)], [fill(0, 0, 777)])
    match([ask(1_234)], [bid(buyer, 457)], [fill(0, 0, 457)])
    goto(2, 100)
    # costs: ceil(777 x 23,456.789) = ceil(18,225,925.053) = 18,225,926; ceil(457 x 23,456.789) = ceil(10,719,752.573)
    # = 10,719,753; paid at 1,000 of 1,234 Wh: floor(14,769,794.16) = 14,769,794 and floor(8,686,995.95) = 8,686,995
    settle(SELLER_METER, 1, [lot_trade(buyer2, 777, 18_225_926), lot_trade(buyer, 457, 10_719_753)], 1_000)
    assert escrow.balanceOf(seller) == 14_769_794 + 8_686_995


def test_settlement_is_accepted_in_the_first_second_after_the_slot(escrow, trade, settle, next_block_at, buyer):
    trade(1_234)
    next_block_at(escrow.slotEnd(1))
    tx = settle(SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)], 1_234)
    assert tx.events["LotSettled"]["paid"] == COST_1234


def test_settlement_is_accepted_in_the_last_second_of_the_grace_period(escrow, trade, settle, next_block_at, buyer):
    trade(1_234)
    next_block_at(escrow.slotEnd(1) + GRACE - 1)
    tx = settle(SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)], 1_234)
    assert tx.events["LotSettled"]["paid"] == COST_1234


def test_a_batch_settles_every_lot_it_names(escrow, trade, proof, goto, stranger, seller, seller2, buyer, buyer2):
    trade(1_234)
    trade(1_234, by=buyer2, meter=OTHER_METER)
    goto(2, 100)
    proofs = [
        proof(SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)], 1_234),
        proof(OTHER_METER, 1, [lot_trade(buyer2, 1_234, COST_1234)], 500),
    ]
    escrow.settleLots(proofs, {"from": stranger})
    # meter 2 delivered 500 of 1,234 Wh: floor(28,945,678 x 500 / 1,234) = 11,728,394
    assert (escrow.balanceOf(seller), escrow.balanceOf(seller2), escrow.totalLocked()) == (COST_1234, 11_728_394, 0)


def test_a_lot_settled_alone_first_is_skipped_by_a_later_batch(
    escrow, trade, proof, settle, goto, stranger, seller2, buyer, buyer2
):
    trade(1_234)
    trade(1_234, by=buyer2, meter=OTHER_METER)
    goto(2, 100)
    first = [lot_trade(buyer, 1_234, COST_1234)]
    settle(SELLER_METER, 1, first, 1_234)
    proofs = [proof(SELLER_METER, 1, first, 1_234), proof(OTHER_METER, 1, [lot_trade(buyer2, 1_234, COST_1234)], 1_234)]
    tx = escrow.settleLots(proofs, {"from": stranger})
    skipped, settled = tx.events["LotSkipped"], tx.events["LotSettled"]
    assert ((skipped["meterId"], skipped["slot"]), (settled["meterId"], settled["seller"])) == (
        (SELLER_METER, 1),
        (OTHER_METER, seller2),
    )


def test_a_skipped_lot_pays_nobody_twice(escrow, sold_1234, settle, seller, buyer):
    trades = sold_1234()
    settle(SELLER_METER, 1, trades, 500)
    settle(SELLER_METER, 1, trades, 1_234)
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (11_728_394, 9_988_271_606)


def test_a_lot_named_twice_in_one_batch_is_settled_once_and_skipped_once(escrow, sold_1234, proof, stranger):
    trades = sold_1234()
    tx = escrow.settleLots([proof(SELLER_METER, 1, trades, 500)] * 2, {"from": stranger})
    assert (len(tx.events["LotSettled"]), len(tx.events["LotSkipped"])) == (1, 1)


def test_a_lot_that_was_never_matched_is_skipped(settle, goto, buyer):
    goto(2, 100)
    tx = settle(OTHER_METER, 1, [lot_trade(buyer, 1, 1)], 1)
    assert (tx.events["LotSkipped"]["meterId"], "LotSettled" in tx.events) == (OTHER_METER, False)
