"""The runner's calls built from a plan, checked against the plan and the ABI on a real anvil deployment
(nothing is sent: the calls are decoded and compared)."""

from collections import Counter, defaultdict
from dataclasses import replace

import coincurve
import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.domain.eip712 import Signature
from p2p_energy.domain.keys import key_address
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.meters import Reading, simulated_meter_key
from p2p_energy.domain.orders import Ask, Bid, LotTrade
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.limits import MAX_ASKS_PER_CALL, MAX_BIDS_PER_CALL, MAX_DEPOSITS_PER_CALL, MAX_FILLS_PER_CALL
from p2p_energy.run.calls import match_calls, setup_calls
from p2p_energy.run.context import MarketTiming
from p2p_energy.run.encoding import (
    MAX_CALLDATA_BYTES,
    Lot,
    LotProof,
    lots_size,
    match_orders,
    match_orders_size,
    refund_lots,
    settle_lots,
)
from p2p_energy.run.state import Household, RunSetup, household_account, trader_key
from tests.library.conftest import deploy_local_market, first_account

SMALL_BLOCK_GAS = 4_000_000


def run_setup(chain, compiled, toolchain, name, **chain_spec) -> RunSetup:
    scenario = load_scenario(toolchain.root / "scenarios" / f"{name}.toml")
    scenario = replace(scenario, chain=replace(scenario.chain, **chain_spec))
    market = deploy_local_market(chain, compiled)
    plan = simulate_energy(scenario)
    names = scenario.household_names
    accounts = [household_account(market.chain, scenario.seed, n) for n in [*names, "attacker"]]
    households = [
        Household(
            i, n, accounts[i], i + 1, simulated_meter_key(scenario.seed, n), trader_key(accounts[i], scenario.seed, n)
        )
        for i, n in enumerate(names)
    ]
    genesis = market.view("MeterRegistry", "genesis")
    timing = MarketTiming(genesis, scenario.slot_length_s, scenario.chain.grace_period_s)
    return RunSetup(
        scenario, plan, clear_all(scenario, plan), market, first_account(chain), accounts[-1], households, timing, 2
    )


@pytest.fixture(scope="module")
def street(toolchain, compile_for):
    options = ChainOptions(accounts=1, block_gas_limit=SMALL_BLOCK_GAS)
    with LocalChain(toolchain.anvil, options) as chain:
        setup = run_setup(chain, compile_for("cancun"), toolchain, "street")
        yield setup
        setup.chain.close()


def recovered(domain, struct_hash: bytes, signature: tuple[bytes, bytes]) -> str:
    r, vs = signature
    s, v = int.from_bytes(vs, "big") & (2**255 - 1), int.from_bytes(vs, "big") >> 255
    digest = keccak(b"\x19\x01" + domain.separator() + struct_hash)
    public = coincurve.PublicKey.from_signature_and_message(r + s.to_bytes(32, "big") + bytes([v]), digest, hasher=None)
    return "0x" + keccak(public.format(compressed=False)[1:])[12:].hex()


def decoded(setup: RunSetup, slot: int):
    return [setup.market.codec.decode_arguments("matchOrders", call.data) for call in match_calls(setup, slot)]


def test_every_planned_take_is_one_fill_at_its_offers_price(street):
    for slot, market in enumerate(street.markets):
        planned = Counter(
            (market.offers[t.offer_index].seller, t.buyer, t.wh, market.offers[t.offer_index].price_per_kwh)
            for t in market.takes
        )
        filled = Counter()
        for _, asks, bids, fills in decoded(street, slot):
            for ask, bid, wh, price in fills:
                seller = street.meter_row[asks[ask][0][0]]
                buyer = street.row_by_address[bids[bid][0][0].lower()]
                filled[(seller, buyer, wh, price)] += 1
        assert filled == planned, slot


def test_asks_and_bids_are_sorted_signed_and_as_the_plan_says(street):
    minimum = street.scenario.market.min_trade_wh
    for slot, market in enumerate(street.markets):
        offered, lowest, bought = defaultdict(int), {}, defaultdict(int)
        for offer in market.offers:
            offered[offer.seller] += offer.wh
            lowest[offer.seller] = min(lowest.get(offer.seller, offer.ask_per_kwh), offer.ask_per_kwh)
        for take in market.takes:
            bought[take.buyer] += take.wh
        limits = {bid.buyer: bid.price_per_kwh for bid in market.bids}
        for chain_slot, asks, bids, _ in decoded(street, slot):
            assert chain_slot == street.c0 + slot
            assert [a[0][0] for a in asks] == sorted({a[0][0] for a in asks})
            assert [int(b[0][0], 16) for b in bids] == sorted({int(b[0][0], 16) for b in bids})
            for (meter, ask_slot, wh, min_wh, price), signature in asks:
                seller = street.households[street.meter_row[meter]]
                assert (ask_slot, wh, min_wh, price) == (
                    chain_slot,
                    offered[seller.index],
                    minimum,
                    lowest[seller.index],
                )
                struct = Ask(meter, ask_slot, wh, min_wh, price).struct_hash()
                assert recovered(street.orders, struct, signature).lower() == seller.account.address.lower()
            for (account, bid_slot, max_wh, max_price), signature in bids:
                buyer = street.row_by_address[account.lower()]
                assert (bid_slot, max_wh, max_price) == (chain_slot, bought[buyer], limits[buyer])
                struct = Bid(account, bid_slot, max_wh, max_price).struct_hash()
                assert recovered(street.orders, struct, signature).lower() == account.lower()


def test_each_lot_is_matched_in_one_call_within_the_limits_and_the_block(street):
    split = 0
    for slot in range(street.scenario.slots):
        calls = match_calls(street, slot)
        split += len(calls) > 1
        meters = Counter()
        for call, (_, asks, bids, fills) in zip(calls, decoded(street, slot), strict=True):
            assert call.gas <= SMALL_BLOCK_GAS and len(call.data) <= MAX_CALLDATA_BYTES
            assert (
                len(asks) <= MAX_ASKS_PER_CALL and len(bids) <= MAX_BIDS_PER_CALL and len(fills) <= MAX_FILLS_PER_CALL
            )
            meters.update(a[0][0] for a in asks)
        assert set(meters.values()) <= {1}
    assert split, "no slot needed two calls: the block gas limit no longer tests the split"


def test_set_up_mints_approves_registers_then_deposits_in_batches_without_set_trader_on_anvil(street):
    first, deposits = setup_calls(street)
    assert [c.label for c in first[:2]] == ["mint", "approve"]
    assert {c.label for c in first[2:]} == {"registerMeters"}
    assert all(c.sender == street.admin and c.gas <= SMALL_BLOCK_GAS for c in first + deposits)
    funded = []
    for call in deposits:
        accounts, amounts = street.market.codec.decode_arguments("depositFor", call.data)
        assert len(accounts) <= MAX_DEPOSITS_PER_CALL and set(amounts) == {street.scenario.prices.funding}
        funded += [a.lower() for a in accounts]
    assert funded == [h.account.address.lower() for h in street.households]
    assert not any(h.needs_trader for h in street.households)


def test_a_household_names_its_order_key_only_where_ecrecover_does_not_give_its_address():
    own = Account.from_key(keccak(text="own key"))
    held = Account.held_by_node("0x" + "12" * 20)
    meter = simulated_meter_key(1, "x")
    assert not Household(0, "x", own, 1, meter, trader_key(own, 1, "x")).needs_trader
    household = Household(0, "x", held, 1, meter, trader_key(held, 1, "x"))
    assert household.needs_trader and household.trader == key_address(household.trader_key)


SIGNATURE = Signature(b"\x11" * 32, b"\x92" * 32)


def test_the_calldata_written_word_by_word_is_the_abis(street):
    codec = street.market.codec
    asks = [(Ask(i + 1, 9, 100 + i, 10, 12_345 + i), SIGNATURE) for i in range(3)]
    bids = [(Bid("0x" + f"{i + 7:040x}", 9, 50, 30_000_000), SIGNATURE) for i in range(2)]
    fills = [(0, 1, 20, 13_000), (2, 0, 30, 14_000), (1, 1, 10, 20_000)]
    selector = codec.encode("matchOrders", 0, [], [], [])[:4]
    assert match_orders(selector, 9, asks, bids, fills) == codec.encode(
        "matchOrders",
        9,
        [(a.as_tuple(), s.as_tuple()) for a, s in asks],
        [(b.as_tuple(), s.as_tuple()) for b, s in bids],
        fills,
    )
    lots = [
        Lot(3, 9, (LotTrade("0x" + "ab" * 20, 5, 6), LotTrade("0x" + "cd" * 20, 7, 8))),
        Lot(4, 10, (LotTrade("0x" + "ef" * 20, 1, 2),)),
    ]
    proofs = [LotProof(lot, Reading(lot.meter_id, lot.slot, 77), SIGNATURE) for lot in lots]

    def abi_lot(lot):
        return (lot.meter_id, lot.slot, [t.as_tuple() for t in lot.trades])

    assert settle_lots(codec.encode("settleLots", [])[:4], proofs) == codec.encode(
        "settleLots", [(abi_lot(p.lot), p.reading.as_tuple(), p.signature.as_tuple()) for p in proofs]
    )
    assert refund_lots(codec.encode("refundLots", [])[:4], lots) == codec.encode(
        "refundLots", [abi_lot(x) for x in lots]
    )


def test_the_calldata_sizes_the_batches_are_cut_by_are_exact(street):
    codec = street.market.codec
    asks = [(Ask(i + 1, 9, 100, 10, 12_345), SIGNATURE) for i in range(4)]
    bids = [(Bid("0x" + f"{i + 7:040x}", 9, 50, 30_000_000), SIGNATURE) for i in range(3)]
    fills = [(0, 1, 20, 13_000)] * 5
    selector = codec.encode("matchOrders", 0, [], [], [])[:4]
    assert len(match_orders(selector, 9, asks, bids, fills)) == match_orders_size(4, 3, 5)
    lots = [Lot(3, 9, (LotTrade("0x" + "ab" * 20, 5, 6),) * n) for n in (1, 4, 7)]
    proofs = [LotProof(lot, Reading(lot.meter_id, lot.slot, 77), SIGNATURE) for lot in lots]
    assert len(settle_lots(selector, proofs)) == lots_size(3, 12, settle=True)
    assert len(refund_lots(selector, lots)) == lots_size(3, 12, settle=False)
