import brownie

from tests.contracts.conftest import SELLER_METER

# settle_half at conftest's PRICE (23,456,789 base units per kWh): 1,000 Wh cost 23,456,789;
# half delivered pays the seller floor(23,456,789 / 2) = floor(11,728,394.5) = 11,728,394 and
# refunds the buyer 23,456,789 - 11,728,394 = 11,728,395.
SELLER_CREDIT, BUYER_CREDIT = 11_728_394, 11_728_395


def settle_half(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 500)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_withdraw_pays_the_seller_its_credit(escrow, token, offer, take, deliver, seller, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    escrow.withdraw({"from": seller})
    assert (token.balanceOf(seller), escrow.creditOf(seller)) == (SELLER_CREDIT, 0)


def test_withdraw_returns_the_buyers_refund(escrow, token, offer, take, deliver, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    escrow.withdraw({"from": buyer})
    # BUYER_FUNDS - cost + refund: 10,000,000,000 - 23,456,789 + 11,728,395 = 9,988,271,606
    assert token.balanceOf(buyer) == 9_988_271_606


def test_withdraw_emits_withdrawn(escrow, offer, take, deliver, seller, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    tx = escrow.withdraw({"from": seller})
    assert (tx.events["Withdrawn"]["account"], tx.events["Withdrawn"]["amount"]) == (seller, SELLER_CREDIT)


def test_withdrawing_everything_empties_the_escrow(escrow, token, offer, take, deliver, seller, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    escrow.withdraw({"from": seller})
    escrow.withdraw({"from": buyer})
    assert token.balanceOf(escrow) == 0
    assert (escrow.totalLocked(), escrow.totalCredited()) == (0, 0)


def test_withdrawing_with_nothing_credited_reverts(escrow, stranger):
    with brownie.reverts(f"NothingToWithdraw: {stranger.address.lower()}"):
        escrow.withdraw({"from": stranger})


def test_withdrawing_twice_reverts(escrow, offer, take, deliver, seller, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    escrow.withdraw({"from": seller})
    with brownie.reverts(f"NothingToWithdraw: {seller.address.lower()}"):
        escrow.withdraw({"from": seller})
