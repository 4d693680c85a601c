"""closeLots settles a lot against its meter's reading by the settlement rule (compared with
p2p_energy.domain.settlement.settle_lot on awkward numbers), or refunds it in full after its grace period."""

import pytest

from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.wire.records import lot_key
from tests.contracts.conftest import (
    BID_PRICE,
    FUNDS,
    GRACE,
    PRICE,
    SELLER_METER,
    events,
    group,
    lot_skips,
    plain,
    trade,
)

COST_1234 = 28_945_678  # ceil(1,234 x 23,456.789) = ceil(28,945,677.626)
# Three trades with three prices, so the lot's records carry their own prices: 1,234 + 777 + 5 = 2,016 Wh sold.
AWKWARD = ((1_234, PRICE), (777, PRICE + 1), (5, BID_PRICE))
SOLD = 2_016


@pytest.fixture
def awkward_lot(standing, match, lot, buyer, buyer2):
    """The AWKWARD lot of slot 1, matched: buyer, buyer2, buyer."""
    made = lot(*(trade(b, wh, price) for b, (wh, price) in zip((buyer, buyer2, buyer), AWKWARD, strict=True)))
    match(made)
    return made


@pytest.mark.parametrize("exported", [0, 1, 1_000, SOLD - 1, SOLD, SOLD + 1, 2**32 - 1])
def test_a_lot_settles_by_the_settlement_rule(
    escrow, awkward_lot, close, reading, goto, seller, buyer, buyer2, exported
):
    goto(2, 100)
    close(group(awkward_lot), readings=[reading(SELLER_METER, 1, exported)])
    costs = [trade_cost(wh, price) for wh, price in AWKWARD]
    rule = settle_lot(costs, SOLD, exported)
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer), escrow.balanceOf(buyer2)) == (
        rule.seller_payout,
        FUNDS - costs[0] - costs[2] + rule.refunded[0] + rule.refunded[2],
        FUNDS - costs[1] + rule.refunded[1],
    )


@pytest.mark.parametrize("exported", [0, 1_001, SOLD, SOLD + 1])
def test_settling_emits_lot_settled_with_sold_delivered_and_paid(
    escrow, awkward_lot, close, reading, goto, seller, exported
):
    goto(2, 100)
    tx = close(group(awkward_lot), readings=[reading(SELLER_METER, 1, exported)])
    rule = settle_lot([trade_cost(wh, price) for wh, price in AWKWARD], SOLD, exported)
    assert dict(tx.events["LotSettled"]) == {
        "lotKey": lot_key(SELLER_METER, 1),
        "seller": seller,
        "soldWh": SOLD,
        "deliveredWh": min(exported, SOLD),
        "paid": rule.seller_payout,
    }


def test_a_short_delivery_pays_by_hand_worked_numbers(
    escrow, standing, match, lot, close, reading, goto, seller, buyer
):
    match(lot(trade(buyer, 1_234)))
    goto(2, 100)
    close(group(lot(trade(buyer, 1_234))), readings=[reading(SELLER_METER, 1, 500)])
    # paid = floor(28,945,678 x 500 / 1,234) = floor(11,728,394.65) = 11,728,394; the rest back to the buyer
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (11_728_394, FUNDS - 11_728_394)


def test_settling_releases_the_lots_costs_from_escrow(escrow, token, awkward_lot, close, reading, goto):
    goto(2, 100)
    close(group(awkward_lot), readings=[reading(SELLER_METER, 1, 1_001)])
    assert (escrow.totalLocked(), escrow.totalBalances(), token.balanceOf(escrow)) == (0, 2 * FUNDS, 2 * FUNDS)


def test_a_full_delivery_credits_only_the_seller(escrow, standing, match, lot, close, reading, goto, seller, buyer):
    made = lot(trade(buyer, 1_234))
    match(made)
    goto(2, 100)
    # the buyer is only named: a lot delivered in full changes no buyer's balance
    close(group(made), readings=[reading(SELLER_METER, 1, 1_234)], credited=[seller])
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (COST_1234, FUNDS - COST_1234)


def test_a_lot_with_no_export_credits_only_its_buyers(escrow, standing, match, lot, close, reading, goto, buyer):
    made = lot(trade(buyer, 1_234))
    match(made)
    goto(2, 100)
    tx = close(group(made), readings=[reading(SELLER_METER, 1, 0)], credited=[buyer])
    assert (tx.events["LotSettled"]["paid"], escrow.balanceOf(buyer)) == (0, FUNDS)


def test_a_lot_settles_in_the_first_second_after_its_slot(
    escrow, standing, match, lot, close, reading, next_block_at, seller, buyer
):
    made = lot(trade(buyer, 1_234))
    match(made)
    next_block_at(escrow.slotEnd(1))
    close(group(made), readings=[reading(SELLER_METER, 1, 1_234)])
    assert escrow.balanceOf(seller) == COST_1234


def test_a_lot_settles_in_the_last_second_of_its_grace_period(
    escrow, standing, match, lot, close, reading, next_block_at, seller, buyer
):
    made = lot(trade(buyer, 1_234))
    match(made)
    next_block_at(escrow.slotEnd(1) + GRACE - 1)
    close(group(made), readings=[reading(SELLER_METER, 1, 1_234)])
    assert escrow.balanceOf(seller) == COST_1234


def test_a_reading_of_a_window_settles_each_of_its_slots_lots(
    escrow, standing, match, lot, close, reading, goto, seller, buyer
):
    one, two = lot(trade(buyer, 1_000), slot=1), lot(trade(buyer, 1_000), slot=2)
    match(one, two)
    goto(3, 100)
    close(group(one), group(two), readings=[reading(SELLER_METER, 1, 1_000, 500)])
    # 1,000 Wh at PRICE cost exactly PRICE: all of it for slot 1, half for slot 2 (floor(PRICE / 2))
    assert escrow.balanceOf(seller) == PRICE + PRICE // 2


# ------------------------------------------------------------------- refunds


def test_a_lot_is_refunded_in_full_from_the_end_of_its_grace_period(
    escrow, standing, match, lot, close, next_block_at, buyer
):
    made = lot(trade(buyer, 1_234))
    match(made)
    next_block_at(escrow.slotEnd(1) + GRACE)
    close(group(made))
    assert (escrow.balanceOf(buyer), escrow.totalLocked()) == (FUNDS, 0)


def test_a_refund_emits_lot_refunded_with_the_lots_costs(escrow, awkward_lot, close, next_block_at):
    next_block_at(escrow.slotEnd(1) + GRACE)
    tx = close(group(awkward_lot))
    costs = sum(trade_cost(wh, price) for wh, price in AWKWARD)
    assert (tx.events["LotRefunded"]["lotKey"], tx.events["LotRefunded"]["refunded"]) == (
        lot_key(SELLER_METER, 1),
        costs,
    )


def test_a_lot_is_refunded_after_its_grace_period_even_with_a_reading(
    escrow, standing, match, lot, close, reading, next_block_at, seller, buyer
):
    made = lot(trade(buyer, 1_234))
    match(made)
    next_block_at(escrow.slotEnd(1) + GRACE)
    tx = close(group(made), readings=[reading(SELLER_METER, 1, 1_234)])
    assert (events(tx, "LotSettled"), escrow.balanceOf(seller), escrow.balanceOf(buyer)) == ([], 0, FUNDS)


def test_a_refund_credits_each_buyer_its_own_costs(escrow, awkward_lot, close, next_block_at, buyer, buyer2):
    next_block_at(escrow.slotEnd(1) + GRACE)
    close(group(awkward_lot))
    assert (escrow.balanceOf(buyer), escrow.balanceOf(buyer2)) == (FUNDS, FUNDS)


def test_a_refunded_lot_is_closed_for_good(escrow, standing, match, lot, close, reading, next_block_at, buyer):
    made = lot(trade(buyer, 1_234))
    match(made, lot(trade(buyer, 1), meter=2))
    next_block_at(escrow.slotEnd(1) + GRACE)
    close(group(made, lot(trade(buyer, 1), meter=2)))
    tx = close(group(made, lot(trade(buyer, 1), meter=2)))
    assert ([e["group"] for e in tx.events["GroupSkipped"]], lot_skips(tx), plain(escrow.groupOf(1, 0))) == (
        [0],
        [],
        (bytes(24), 0),
    )


def test_a_lot_whose_payout_is_one_unit_pays_the_seller_that_unit(
    escrow, match, lot, ask, bid, close, reading, goto, seller, buyer
):
    made = lot(trade(buyer, 1, 1))  # 1 Wh at 1 unit per kWh: it costs ceil(1 / 1,000) = 1 unit
    match(made, orders=[ask(price=1), bid(buyer)])
    goto(2, 100)
    tx = close(group(made), readings=[reading(SELLER_METER, 1, 1)])
    assert (escrow.balanceOf(seller), events(tx, "LotSettled")[0]["paid"]) == (1, 1)
