import brownie

from p2p_energy.domain.settlement import trade_cost
from tests.contracts.conftest import BUYER_FUNDS, PRICE, SELLER_METER


def settle_half(escrow, offer, take, deliver, buyer):
    take((offer(1_000), 1_000))
    deliver(SELLER_METER, 1, 500)
    escrow.settleLot(SELLER_METER, 1, {"from": buyer})


def test_withdraw_pays_the_seller_its_credit(escrow, token, offer, take, deliver, seller, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    credit = escrow.creditOf(seller)
    escrow.withdraw({"from": seller})
    assert token.balanceOf(seller) == credit
    assert escrow.creditOf(seller) == 0


def test_withdraw_returns_the_buyers_refund(escrow, token, offer, take, deliver, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    escrow.withdraw({"from": buyer})
    cost = trade_cost(1_000, PRICE)
    assert token.balanceOf(buyer) == BUYER_FUNDS - cost + (cost - cost // 2)


def test_withdraw_emits_withdrawn(escrow, offer, take, deliver, seller, buyer):
    settle_half(escrow, offer, take, deliver, buyer)
    credit = escrow.creditOf(seller)
    tx = escrow.withdraw({"from": seller})
    assert (tx.events["Withdrawn"]["account"], tx.events["Withdrawn"]["amount"]) == (seller, credit)


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
