"""Standing orders placed inside matchOrders: placed, replaced, or skipped with OrderSkipped and the reason;
setTrader's key."""

import brownie
from eth_utils.crypto import keccak

from p2p_energy.wire.eip712 import Signature, key_address
from p2p_energy.wire.orders import Bid, SignedOrder, order_domain, order_records
from p2p_energy.wire.records import AccountList
from tests.contracts.conftest import (
    ASK_PRICE,
    ASK_WH,
    BID_PRICE,
    BID_WH,
    OTHER_METER,
    SELLER_METER,
    UNTIL,
    error,
    key_of,
    order_skips,
    plain,
)

TRADER_KEY = keccak(text="a household's trading key")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def bid_of(escrow, account):
    """(price, Wh, until) of the account's standing bid."""
    view = escrow.accountOf(account)
    return (view["bidPrice"], view["bidWh"], view["bidUntil"])


def ask_of(escrow, account):
    view = escrow.askOf(account)
    return (view["meterId"], view["minPrice"], view["maxWh"], view["minWh"], view["until"])


# ------------------------------------------------------------------- bids


def test_a_signed_bid_becomes_the_accounts_standing_bid(escrow, match, bid, buyer):
    match(orders=[bid(buyer, wh=1_234, price=5_678, until=9)])
    assert bid_of(escrow, buyer) == (5_678, 1_234, 9)


def test_placing_a_bid_emits_bid_placed(match, bid, buyer):
    event = match(orders=[bid(buyer, wh=1_234, price=5_678, until=9)]).events["BidPlaced"]
    assert (event["account"], event["maxPricePerKWh"], event["maxWhPerSlot"], event["untilSlot"]) == (
        buyer,
        5_678,
        1_234,
        9,
    )


def test_a_bid_ending_later_replaces_the_standing_one(escrow, match, bid, buyer):
    match(orders=[bid(buyer, until=9)])
    match(orders=[bid(buyer, wh=7, price=8, until=10)])
    assert bid_of(escrow, buyer) == (8, 7, 10)


def test_a_bid_ending_in_the_same_slot_is_skipped_as_stale(escrow, match, bid, buyer):
    match(orders=[bid(buyer, until=9)])
    tx = match(orders=[bid(buyer, wh=7, price=8, until=9)])
    assert (order_skips(tx), bid_of(escrow, buyer)) == ([(buyer, "StaleOrder")], (BID_PRICE, BID_WH, 9))


def test_a_bid_ending_earlier_is_skipped_as_stale(escrow, match, bid, buyer):
    match(orders=[bid(buyer, until=9)])
    assert order_skips(match(orders=[bid(buyer, until=8)])) == [(buyer, "StaleOrder")]


def test_the_later_of_two_bids_in_one_call_stands_when_it_comes_second(escrow, match, bid, buyer):
    tx = match(orders=[bid(buyer, until=9), bid(buyer, wh=7, until=10)])
    assert (len(tx.events["BidPlaced"]), bid_of(escrow, buyer)) == (2, (BID_PRICE, 7, 10))


def test_a_bid_signed_by_another_key_is_skipped_with_bad_signature(escrow, match, bid, buyer, buyer2):
    tx = match(orders=[bid(buyer, key=key_of(buyer2))])
    assert (order_skips(tx), bid_of(escrow, buyer)) == ([(buyer, "BadSignature")], (0, 0, 0))


def test_a_bid_whose_price_was_raised_after_signing_is_skipped_with_bad_signature(match, bid, buyer):
    signed = bid(buyer, price=BID_PRICE)
    order = signed.order
    raised = SignedOrder(Bid(order.account, BID_PRICE * 10, order.max_wh_per_slot, order.until_slot), signed.signature)
    assert order_skips(match(orders=[raised])) == [(buyer, "BadSignature")]


def test_a_bid_signed_for_another_escrow_is_skipped_with_bad_signature(match, bid, buyer, chain, registry):
    # the same fields signed in the domain of another contract address (here: the registry's)
    assert order_skips(match(orders=[bid(buyer, domain=order_domain(chain.id, registry.address))])) == [
        (buyer, "BadSignature")
    ]


def test_a_bid_signed_for_another_chain_is_skipped_with_bad_signature(match, bid, buyer, chain, escrow):
    assert order_skips(match(orders=[bid(buyer, domain=order_domain(chain.id + 1, escrow.address))])) == [
        (buyer, "BadSignature")
    ]


def test_a_bid_with_the_high_s_twin_of_its_signature_is_skipped_with_bad_signature(match, bid, buyer):
    signed = bid(buyer)
    vs = int.from_bytes(signed.signature.vs, "big")
    s, parity = vs & (2**255 - 1), vs >> 255
    twin = ((SECP256K1_N - s) | ((1 - parity) << 255)).to_bytes(32, "big")
    malleated = SignedOrder(signed.order, Signature(signed.signature.r, twin))
    assert order_skips(match(orders=[malleated])) == [(buyer, "BadSignature")]


def test_a_stale_bid_is_skipped_as_stale_before_its_signature_is_checked(match, bid, buyer, buyer2):
    match(orders=[bid(buyer, until=9)])
    assert order_skips(match(orders=[bid(buyer, until=9, key=key_of(buyer2))])) == [(buyer, "StaleOrder")]


def test_a_bid_of_an_account_that_is_only_named_reverts_with_unknown_account(escrow, matcher, bid, buyer):
    accounts = AccountList.of([], [str(buyer)])
    orders = order_records([bid(buyer)], accounts.index)
    with brownie.reverts(error("UnknownAccount", 0, 0)):
        escrow.matchOrders(accounts.data, 0, orders, b"", {"from": matcher})


# ------------------------------------------------------------------- asks


def test_a_signed_ask_for_an_owned_active_meter_becomes_the_standing_ask(escrow, match, ask, seller):
    match(orders=[ask(SELLER_METER, wh=4_321, min_wh=12, price=3_456, until=9)])
    assert ask_of(escrow, seller) == (SELLER_METER, 3_456, 4_321, 12, 9)


def test_placing_an_ask_emits_ask_placed(match, ask, seller):
    event = match(orders=[ask(SELLER_METER, wh=4_321, min_wh=12, price=3_456, until=9)]).events["AskPlaced"]
    assert dict(event) == {
        "account": seller,
        "meterId": SELLER_METER,
        "minPricePerKWh": 3_456,
        "maxWhPerSlot": 4_321,
        "minWh": 12,
        "untilSlot": 9,
    }


def test_an_ask_ending_later_replaces_the_standing_one(escrow, match, ask, seller):
    match(orders=[ask(until=9)])
    match(orders=[ask(wh=5, min_wh=2, price=3, until=10)])
    assert ask_of(escrow, seller) == (SELLER_METER, 3, 5, 2, 10)


def test_an_ask_ending_in_the_same_slot_is_skipped_as_stale(escrow, match, ask, seller):
    match(orders=[ask(until=9)])
    tx = match(orders=[ask(wh=5, until=9)])
    assert (order_skips(tx), ask_of(escrow, seller)) == (
        [(seller, "StaleOrder")],
        (SELLER_METER, ASK_PRICE, ASK_WH, 1, 9),
    )


def test_an_ask_signed_by_another_key_is_skipped_with_bad_signature(escrow, match, ask, seller, buyer):
    tx = match(orders=[ask(key=key_of(buyer))])
    assert (order_skips(tx), ask_of(escrow, seller)) == ([(seller, "BadSignature")], (0, 0, 0, 0, 0))


def test_an_ask_for_a_meter_of_another_owner_is_skipped_with_not_meter_owner(escrow, match, ask, seller):
    tx = match(orders=[ask(OTHER_METER, account=seller)])
    assert (order_skips(tx), ask_of(escrow, seller)) == ([(seller, "NotMeterOwner")], (0, 0, 0, 0, 0))


def test_an_ask_for_an_unknown_meter_is_skipped_with_not_meter_owner(match, ask, seller):
    assert order_skips(match(orders=[ask(77, account=seller)])) == [(seller, "NotMeterOwner")]


def test_an_ask_for_a_revoked_meter_is_skipped_with_not_meter_owner(registry, admin, match, ask, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert order_skips(match(orders=[ask(SELLER_METER)])) == [(seller, "NotMeterOwner")]


def test_an_ask_of_another_owner_with_a_bad_signature_is_skipped_with_bad_signature_first(match, ask, seller, buyer):
    assert order_skips(match(orders=[ask(OTHER_METER, account=seller, key=key_of(buyer))])) == [
        (seller, "BadSignature")
    ]


def test_an_ask_names_its_account_itself_so_the_seller_need_not_be_listed(escrow, match, ask, seller):
    tx = match(orders=[ask()])
    assert (tx.events["AskPlaced"]["account"], escrow.accountOf(seller)["balance"]) == (seller, 0)


# ---------------------------------------------------------------- setTrader


def test_set_trader_names_the_key_that_signs_the_accounts_orders(escrow, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    assert escrow.traderOf(buyer) == key_address(TRADER_KEY)


def test_set_trader_emits_trader_set(escrow, buyer):
    event = escrow.setTrader(key_address(TRADER_KEY), {"from": buyer}).events["TraderSet"]
    assert (event["account"], event["signer"]) == (buyer, key_address(TRADER_KEY))


def test_set_trader_to_the_zero_address_reverts(escrow, buyer):
    with brownie.reverts(error("InvalidAccount")):
        escrow.setTrader(brownie.ZERO_ADDRESS, {"from": buyer})


def test_a_bid_signed_by_the_named_trader_key_is_placed(escrow, match, bid, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    match(orders=[bid(buyer, key=TRADER_KEY)])
    assert bid_of(escrow, buyer) == (BID_PRICE, BID_WH, UNTIL)


def test_an_ask_signed_by_the_named_trader_key_is_placed(escrow, match, ask, seller):
    escrow.setTrader(key_address(TRADER_KEY), {"from": seller})
    assert order_skips(match(orders=[ask(key=TRADER_KEY)])) == []


def test_the_accounts_own_key_still_signs_after_it_names_a_trader(escrow, match, bid, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    assert order_skips(match(orders=[bid(buyer)])) == []


def test_a_replaced_trader_key_no_longer_signs(escrow, match, bid, buyer):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer})
    escrow.setTrader(key_address(keccak(text="the new key")), {"from": buyer})
    assert order_skips(match(orders=[bid(buyer, key=TRADER_KEY)])) == [(buyer, "BadSignature")]


def test_a_trader_key_named_by_one_account_cannot_sign_for_another(escrow, match, bid, buyer, buyer2):
    escrow.setTrader(key_address(TRADER_KEY), {"from": buyer2})
    assert order_skips(match(orders=[bid(buyer, key=TRADER_KEY)])) == [(buyer, "BadSignature")]


def test_an_account_names_no_trader_until_it_sets_one(escrow, buyer):
    assert escrow.traderOf(buyer) == brownie.ZERO_ADDRESS


def test_a_bid_and_an_ask_in_one_call_are_both_placed(escrow, match, ask, bid, seller, buyer):
    tx = match(orders=[ask(), bid(buyer)])
    assert (len(tx.events["AskPlaced"]), len(tx.events["BidPlaced"]), order_skips(tx)) == (1, 1, [])


def test_placing_orders_moves_no_tokens(escrow, match, ask, bid, buyer, buyer2):
    before = (escrow.totalBalances(), escrow.totalLocked(), escrow.balanceOf(buyer))
    match(orders=[ask(), ask(OTHER_METER), bid(buyer), bid(buyer2)])
    assert (escrow.totalBalances(), escrow.totalLocked(), escrow.balanceOf(buyer)) == before


def test_orders_alone_commit_no_group(escrow, match, ask, bid, buyer):
    tx = match(orders=[ask(), bid(buyer)])
    assert ("GroupMatched" in tx.events, plain(escrow.slotOf(1))) == (False, (0, 0))


def test_standing_fixture_places_an_ask_per_meter_and_a_bid_per_buyer(escrow, standing, seller, seller2, buyer2):
    assert (ask_of(escrow, seller)[0], ask_of(escrow, seller2)[0], bid_of(escrow, buyer2)) == (
        SELLER_METER,
        OTHER_METER,
        (BID_PRICE, BID_WH, UNTIL),
    )
