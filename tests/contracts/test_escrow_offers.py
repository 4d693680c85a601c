import brownie

from tests.contracts.conftest import OTHER_METER, PRICE, SELLER_METER


def test_posting_an_offer_stores_it(escrow, offer):
    offer_id = offer(1_000, slot=3)
    assert [int(v) for v in escrow.offerOf(offer_id)] == [SELLER_METER, 3, 1_000, PRICE]


def test_posting_an_offer_emits_offer_posted(escrow, seller):
    tx = escrow.postOffer(SELLER_METER, 2, 1_000, PRICE, {"from": seller})
    event = tx.events["OfferPosted"]
    assert (event["offerId"], event["meterId"], event["slot"], event["seller"]) == (1, SELLER_METER, 2, seller)
    assert (event["wh"], event["pricePerKWh"]) == (1_000, PRICE)


def test_offer_ids_count_up_from_one(escrow, offer):
    assert [offer(10), offer(20)] == [1, 2]
    assert escrow.nextOfferId() == 3


def test_offering_without_a_registered_meter_reverts(escrow, seller):
    with brownie.reverts("UnknownMeter: 77"):
        escrow.postOffer(77, 1, 1_000, PRICE, {"from": seller})


def test_offering_from_someone_elses_meter_reverts(escrow, seller, seller2):
    with brownie.reverts(f"NotMeterOwner: {OTHER_METER}, {seller.address.lower()}, {seller2.address.lower()}"):
        escrow.postOffer(OTHER_METER, 1, 1_000, PRICE, {"from": seller})


def test_offering_from_a_revoked_meter_reverts(escrow, registry, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(f"MeterNotActive: {SELLER_METER}"):
        escrow.postOffer(SELLER_METER, 1, 1_000, PRICE, {"from": seller})


def test_offering_for_the_current_slot_reverts(escrow, registry, seller):
    with brownie.reverts(f"TradingClosed: 0, {registry.slotStart(0)}"):
        escrow.postOffer(SELLER_METER, 0, 1_000, PRICE, {"from": seller})


def test_offering_for_a_slot_that_started_reverts(escrow, registry, goto, seller):
    goto(3)
    with brownie.reverts(f"TradingClosed: 3, {registry.slotStart(3)}"):
        escrow.postOffer(SELLER_METER, 3, 1_000, PRICE, {"from": seller})


def test_offering_no_energy_reverts(escrow, seller):
    with brownie.reverts("ZeroAmount: "):
        escrow.postOffer(SELLER_METER, 1, 0, PRICE, {"from": seller})


def test_offering_at_no_price_reverts(escrow, seller):
    with brownie.reverts("ZeroPrice: "):
        escrow.postOffer(SELLER_METER, 1, 1_000, 0, {"from": seller})


def test_cancelling_withdraws_the_whole_untaken_offer(escrow, offer, seller):
    offer_id = offer(1_000)
    tx = escrow.cancelOffer(offer_id, {"from": seller})
    assert tx.events["OfferCancelled"]["cancelledWh"] == 1_000
    assert escrow.offerOf(offer_id)[2] == 0


def test_cancelling_after_a_partial_take_keeps_the_trade(escrow, offer, take, seller):
    offer_id = offer(1_000)
    take((offer_id, 300))
    tx = escrow.cancelOffer(offer_id, {"from": seller})
    assert tx.events["OfferCancelled"]["cancelledWh"] == 700
    assert escrow.lotOf(SELLER_METER, 1)[0] == 300


def test_cancelling_someone_elses_offer_reverts(escrow, offer, seller, buyer):
    offer_id = offer(1_000)
    with brownie.reverts(f"NotMeterOwner: {SELLER_METER}, {buyer.address.lower()}, {seller.address.lower()}"):
        escrow.cancelOffer(offer_id, {"from": buyer})


def test_cancelling_after_the_slot_started_reverts(escrow, offer, goto, registry, seller):
    offer_id = offer(1_000)
    goto(1)
    with brownie.reverts(f"TradingClosed: 1, {registry.slotStart(1)}"):
        escrow.cancelOffer(offer_id, {"from": seller})


def test_cancelling_twice_reverts(escrow, offer, seller):
    offer_id = offer(1_000)
    escrow.cancelOffer(offer_id, {"from": seller})
    with brownie.reverts(f"OfferUnavailable: {offer_id}"):
        escrow.cancelOffer(offer_id, {"from": seller})


def test_escrow_accepts_no_native_value(escrow, buyer):
    with brownie.reverts():
        buyer.transfer(escrow, 1)
