"""The matchOrders calls a run builds from its plan: standing orders, lots and the rounds' calls (nothing is sent)."""

from collections import defaultdict

import coincurve
import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.run.calls import setup_calls
from p2p_energy.run.matching import match_schedule, standing_orders, standing_terms
from p2p_energy.run.state import Household
from p2p_energy.wire.cutting import call_gas
from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.orders import Ask, Bid, order_domain
from tests.run.setups import C0


@pytest.fixture(scope="module")
def street(make_setup):
    return make_setup("street", window_slots=4, grace_period_s=4 * 3600)


@pytest.fixture(scope="module")
def schedule(street):
    return match_schedule(street)


def planned_trades(setup):
    """(chain slot, meter, buyer address, Wh, price) of every planned take."""
    trades = []
    for market in setup.markets:
        for take in market.takes:
            offer = market.offers[take.offer_index]
            seller, buyer = setup.households[offer.seller], setup.households[take.buyer]
            trades.append(
                (C0 + market.slot, seller.meter_id, buyer.account.address.lower(), take.wh, offer.price_per_kwh)
            )
    return trades


def scheduled_trades(schedule):
    return [
        (lot.slot, lot.meter_id, t.buyer.lower(), t.wh, t.price_per_kwh)
        for calls in schedule.values()
        for call in calls
        for lot in call.lots
        for t in lot.trades
    ]


def test_every_planned_take_is_one_trade_at_its_offers_price(street, schedule):
    assert sorted(scheduled_trades(schedule)) == sorted(planned_trades(street))


def test_a_round_goes_out_at_its_first_slot_and_trades_only_its_window(street, schedule):
    assert set(schedule) <= set(range(0, street.scenario.slots, 4))
    for tick, calls in schedule.items():
        assert {lot.slot - C0 for call in calls for lot in call.lots} <= set(range(tick, tick + 4))


def test_a_slots_lots_come_in_increasing_meter_id_across_its_calls(schedule):
    by_slot = defaultdict(list)
    for calls in schedule.values():
        for call in calls:
            for lot in call.lots:
                by_slot[lot.slot].append(lot.meter_id)
    assert all(meters == sorted(set(meters)) for meters in by_slot.values())


def test_the_standing_orders_allow_every_planned_trade(street):
    terms = standing_terms(street)
    row = {h.account.address.lower(): h.index for h in street.households}
    meter_row = {h.meter_id: h.index for h in street.households}
    bought, sold = defaultdict(int), defaultdict(int)
    for slot, meter, buyer, wh, price in planned_trades(street):
        assert terms[meter_row[meter]].ask_price <= price <= terms[row[buyer]].bid_price
        bought[(row[buyer], slot)] += wh
        sold[(meter_row[meter], slot)] += wh
    assert all(wh <= terms[r].bid_wh for (r, _), wh in bought.items())
    assert all(wh <= terms[r].ask_wh for (r, _), wh in sold.items())


def test_each_order_is_placed_once_before_the_fills_that_need_it(schedule):
    placed, seen = [], set()
    for tick in sorted(schedule):
        for call in schedule[tick]:
            orders = [(o.account.lower(), isinstance(o.order, Bid)) for o in call.orders]
            placed += orders
            seen |= set(orders)
            for lot in call.lots:
                assert (lot.seller.lower(), False) in seen
                assert all((t.buyer.lower(), True) in seen for t in lot.trades)
    assert len(placed) == len(set(placed))


def test_each_order_is_signed_by_its_households_key_for_this_escrow(street):
    domain = order_domain(street.chain.chain_id, street.addresses.escrow)
    for signed in (o for orders in standing_orders(street).values() for o in orders):
        r, vs = signed.signature.r, int.from_bytes(signed.signature.vs, "big")
        compact = r + (vs & (2**255 - 1)).to_bytes(32, "big") + bytes([vs >> 255])
        digest = domain.digest(signed.order.struct_hash())
        public = coincurve.PublicKey.from_signature_and_message(compact, digest, hasher=None)
        recovered = keccak(public.format(compressed=False)[1:])[12:].hex()
        assert "0x" + recovered == signed.account.lower()


def test_a_sellers_ask_names_its_own_meter_and_lasts_the_whole_run(street):
    until = C0 + street.scenario.slots - 1
    for h in street.households:
        for signed in standing_orders(street).get(h.account.address.lower(), []):
            assert signed.order.until_slot == until
            if isinstance(signed.order, Ask):
                assert signed.order.meter_id == h.meter_id


def test_every_call_keeps_to_a_qtum_transactions_size_and_the_gas_bound(street, schedule):
    for call in (c for calls in schedule.values() for c in calls):
        assert len(call.calldata) <= street.bounds.calldata
        assert call_gas(call) <= street.bounds.gas


def test_set_up_registers_only_the_meters_that_export_each_bound_to_this_escrow(street):
    first, _ = setup_calls(street)
    codec = street.market.codec
    registered = [codec.decode_arguments("registerMeters", c.data) for c in first if c.label == "registerMeters"]
    meters = [m for ids, *_ in registered for m in ids]
    exporting = [h.meter_id for h in street.households if street.plan.export_wh[h.index].any()]
    assert sorted(meters) == exporting and len(exporting) < len(street.households)
    assert all(market.lower() == street.addresses.escrow.lower() for *_, market in registered)


def test_set_up_mints_approves_then_deposits_in_batches_without_set_trader_on_anvil(street):
    first, deposits = setup_calls(street)
    assert [c.label for c in first[:2]] == ["mint", "approve"]
    assert "setTrader" not in {c.label for c in first}
    assert {c.label for c in deposits} == {"depositFor"}


def test_a_household_names_its_order_key_only_where_ecrecover_does_not_give_its_address():
    key = b"\x07" * 32
    own = Account.from_hex("0x" + key.hex())
    node_held = Account.held_by_node("0x" + "ab" * 20)
    assert not Household(0, "a", own, 1, None, key).needs_trader  # type: ignore[arg-type]
    assert Household(0, "b", node_held, 2, None, key).needs_trader  # type: ignore[arg-type]
    assert Household(0, "b", node_held, 2, None, key).trader == key_address(key)  # type: ignore[arg-type]
