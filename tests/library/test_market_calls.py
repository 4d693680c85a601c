"""market_calls: a slot's trades as matchOrders calls within the limits, and the lots as settleLots gets them."""

import coincurve
import pytest
from eth_utils import to_checksum_address
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.market import market_codec
from p2p_energy.domain.eip712 import Eip712Domain
from p2p_energy.domain.keys import key_address
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.orders import Ask, Bid, LotTrade, order_domain
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.errors import UsageError
from p2p_energy.market_calls import (
    CallLimits,
    SlotMatch,
    Trade,
    lot_proof,
    lot_trades,
    needs_trader,
    trader_of,
)
from p2p_energy.run.encoding import lots_size, match_orders_size

DOMAIN = order_domain(31337, "0x" + "e5" * 20)
SLOT = 42
PRICE = 20_000_000


def account(label):
    return Account.from_key(keccak(text=f"test_market_calls:{label}"))


SELLERS = [account(f"seller {i}") for i in range(4)]
BUYERS = [account(f"buyer {i}") for i in range(5)]


def trades():
    """20 trades: meter m (owned by seller m % 4) to buyer (m + j) % 5, j = 0..3."""
    return [
        Trade(m, SELLERS[m % 4], BUYERS[(m + j) % 5], 100 + 10 * j, PRICE + j) for m in range(1, 6) for j in range(4)
    ]


def recover(domain: Eip712Domain, order, signature) -> str:
    """The ecrecover address of a compact (r, vs) order signature, as OpenZeppelin's ECDSA reads it."""
    r, vs = signature
    s, v = int.from_bytes(vs, "big") & ((1 << 255) - 1), vs[0] >> 7
    recoverable = r + s.to_bytes(32, "big") + bytes([v])
    public = coincurve.PublicKey.from_signature_and_message(
        recoverable, domain.digest(order.struct_hash()), hasher=None
    )
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[12:])


def test_one_call_holds_every_trade_when_the_limits_allow():
    (call,) = SlotMatch(DOMAIN, SLOT, trades()).calls(CallLimits(200, 400, 800))
    slot, asks, bids, fills = call
    assert slot == SLOT
    assert [a[0][0] for a in asks] == [1, 2, 3, 4, 5]
    assert [int(b[0][0], 16) for b in bids] == sorted(int(b.address, 16) for b in BUYERS)
    assert len(fills) == 20


def test_orders_are_signed_by_their_traders_for_their_totals():
    (call,) = SlotMatch(DOMAIN, SLOT, trades()).calls(CallLimits(200, 400, 800))
    _, asks, bids, _ = call
    for (meter, slot, wh, min_wh, min_price), signature in asks:
        assert (slot, wh, min_wh, min_price) == (SLOT, 100 + 110 + 120 + 130, 100, PRICE)
        assert recover(DOMAIN, Ask(meter, slot, wh, min_wh, min_price), signature) == SELLERS[meter % 4].address
    for (buyer, slot, max_wh, max_price), signature in bids:
        bought = [t for t in trades() if t.buyer.address == buyer]
        assert (max_wh, max_price) == (sum(t.wh for t in bought), max(t.price_per_kwh for t in bought))
        assert recover(DOMAIN, Bid(buyer, slot, max_wh, max_price), signature) == buyer


@pytest.mark.parametrize("limits", [CallLimits(2, 5, 800), CallLimits(200, 2, 800), CallLimits(200, 400, 3)])
def test_calls_keep_within_the_limits_and_fill_every_trade_in_order(limits):
    calls = SlotMatch(DOMAIN, SLOT, trades()).calls(limits)
    assert len(calls) > 1
    filled = []
    for _, asks, bids, fills in calls:
        assert len(asks) <= limits.asks and len(bids) <= limits.bids and len(fills) <= limits.fills
        for ask, bid, wh, price in fills:
            filled.append((asks[ask][0][0], bids[bid][0][0], wh, price))
    assert filled == [(t.meter_id, t.buyer.address, t.wh, t.price_per_kwh) for t in trades()]


def test_an_order_given_in_several_calls_is_the_same_signed_order():
    calls = SlotMatch(DOMAIN, SLOT, trades()).calls(CallLimits(200, 400, 3))
    seen = {}
    for _, asks, bids, _ in calls:
        for order in asks + bids:
            assert seen.setdefault(order[0][0], order) == order


def test_lots_are_each_meters_trades_in_match_order_with_their_costs():
    lots = SlotMatch(DOMAIN, SLOT, trades()).lots()
    assert sorted(lots) == [1, 2, 3, 4, 5]
    assert lots[2] == [
        LotTrade(BUYERS[(2 + j) % 5].address, 100 + 10 * j, trade_cost(100 + 10 * j, PRICE + j)) for j in range(4)
    ]


def test_a_lot_proof_carries_the_lot_its_reading_and_the_meters_signature():
    meter = MeterKey(keccak(text="test_market_calls:meter"))
    domain = reading_domain(31337, "0x" + "ab" * 20)
    trades_ = [LotTrade(BUYERS[0].address, 100, 2_000_000)]
    reading = Reading(7, SLOT, 90)
    lot, given, signature = lot_proof(meter, domain, reading, trades_)
    assert lot == lot_trades(7, SLOT, trades_) == (7, SLOT, [(BUYERS[0].address, 100, 2_000_000)])
    assert given == (7, SLOT, 90)
    assert signature == meter.sign(domain, reading).as_tuple()


def test_an_account_whose_address_is_its_keys_needs_no_trader():
    assert not needs_trader(BUYERS[0])
    qtum_like = Account("0x" + "12" * 20, BUYERS[0].private_key)
    assert needs_trader(qtum_like)
    assert trader_of(qtum_like) == key_address(BUYERS[0].private_key) == BUYERS[0].address


def test_orders_of_an_account_without_a_key_here_cannot_be_signed():
    held = Account.held_by_node(BUYERS[0].address)
    with pytest.raises(UsageError, match="node holds the key"):
        SlotMatch(DOMAIN, SLOT, [Trade(1, SELLERS[0], held, 100, PRICE)])


def test_a_match_needs_a_trade():
    with pytest.raises(UsageError, match="at least one trade"):
        SlotMatch(DOMAIN, SLOT, [])


@pytest.mark.parametrize("limits", [CallLimits(200, 400, 800), CallLimits(200, 400, 800, calldata=3_000)])
def test_calldata_sizes_are_those_the_abi_encoding_gives(compile_for, limits):
    codec = market_codec(compile_for("cancun"))
    calls = SlotMatch(DOMAIN, SLOT, trades()).calls(limits)
    for args in calls:
        size = len(codec.encode("matchOrders", *args))
        assert size == match_orders_size(len(args[1]), len(args[2]), len(args[3]))
        assert limits.calldata is None or size <= limits.calldata
    assert (len(calls) > 1) == (limits.calldata is not None)
    lots = SlotMatch(DOMAIN, SLOT, trades()).lots()
    meter = MeterKey(keccak(text="test_market_calls:meter"))
    domain = reading_domain(31337, "0x" + "ab" * 20)
    proofs = [lot_proof(meter, domain, Reading(m, SLOT, 100), lot) for m, lot in lots.items()]
    assert len(codec.encode("settleLots", proofs)) == lots_size(len(lots), 20, settle=True)
