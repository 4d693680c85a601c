"""Bids, the three market modes and the feeder limit: prices within bid and ask, one clearing price,
pay as bid, the feeder's cap, the escrow's limits and budgets, and old scenarios planned as before."""

import hashlib
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.domain.market import clear_all, clear_slot
from p2p_energy.domain.profiles import EnergyPlan, simulate_energy
from p2p_energy.domain.scenario import MARKET_MODES, Scenario, load_scenario, parse_scenario
from p2p_energy.limits import MAX_TRADES_PER_LOT
from tests.library.test_market import check_invariants, plan_of, street, taken_per_offer
from tests.library.test_profiles import nrg

SOURCE = Path("test.toml")
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
TARIFF = 30_000_000  # base units per kWh: 0.30 NRG


# ------------------------------------------------------------------ helpers


def price_of(market, take):
    return market.offers[take.offer_index].price_per_kwh


def bid_of(market, buyer):
    return next(bid.price_per_kwh for bid in market.bids if bid.buyer == buyer)


def spent_per_buyer(markets):
    spent = Counter()
    for market in markets:
        for take in market.takes:
            spent[take.buyer] += market.cost(take)
    return spent


@dataclass(frozen=True)
class Case:
    """A small market: its scenario, the data the scenario was parsed from, and an energy plan."""

    made: Scenario
    data: dict
    plan: EnergyPlan

    def without_feeder(self):
        return parse_scenario({**self.data, "grid": {}}, SOURCE)


@st.composite
def small_markets(draw, feeder=None):
    """A Case: 1-5 sellers and 1-6 buyers over 1-3 slots, with bids, in any mode, with or without
    a feeder limit; asks straddle the tariff, bids reach up to it, funding from nothing to plenty."""
    sellers, buyers = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    slots = draw(st.integers(1, 3))
    bid_low = draw(st.integers(1, TARIFF))
    bid_high = draw(st.integers(bid_low, TARIFF))
    # Mostly asks that some bids reach, sometimes any: then often nothing trades.
    ask_low = draw(st.one_of(st.integers(1, bid_high), st.integers(1, TARIFF)))
    has_feeder = draw(st.booleans()) if feeder is None else feeder
    data = {
        "seed": draw(st.integers(0, 2**32)),
        "slots": slots,
        "households": [
            {"name": "s", "count": sellers, "pv_kwp": 5, "load_kwh_per_day": 5},
            {"name": "b", "count": buyers, "load_kwh_per_day": 5},
        ],
        "prices": {
            "ask": [nrg(ask_low), nrg(draw(st.integers(ask_low, 2 * TARIFF)))],
            "bid": [nrg(bid_low), nrg(bid_high)],
            "grid_tariff": nrg(TARIFF),
            "funding": draw(st.sampled_from(["0.00000001", "0.0005", "0.05", "1000", "1000", "1000"])),
        },
        "market": {
            "mode": draw(st.sampled_from(MARKET_MODES)),
            "min_trade_wh": draw(st.integers(1, 50)),
            "split_offers": draw(st.booleans()),
        },
        "grid": {"feeder_limit_kw": draw(st.floats(0.01, 12))} if has_feeder else {},
    }
    made = parse_scenario(data, SOURCE)
    wh = st.integers(0, 3000)
    export = [draw(wh) for _ in range(sellers * slots)] + [0] * (buyers * slots)
    shortfall = [0] * (sellers * slots) + [draw(wh) for _ in range(buyers * slots)]
    return Case(made, data, plan_of(made, export, shortfall))


def in_mode(mode, **sections):
    """Three sellers and two buyers (rows 3 and 4) of `street`, in `mode`."""
    return street(market={"mode": mode}, **sections)


# ------------------------------------------------------------------ properties


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_no_trade_is_above_its_buyers_bid_or_below_its_sellers_ask(case):
    made, plan = case.made, case.plan
    for slot in clear_all(made, plan):
        for take in slot.takes:
            offer = slot.offers[take.offer_index]
            assert 0 < offer.ask_per_kwh <= offer.price_per_kwh <= bid_of(slot, take.buyer) <= TARIFF


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_every_mode_keeps_the_escrows_limits_and_every_buyers_needs(case):
    made, plan = case.made, case.plan
    for slot in clear_all(made, plan):
        check_invariants(made, plan, slot)


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_no_buyer_locks_more_than_its_funding_over_the_run(case):
    made, plan = case.made, case.plan
    assert max(spent_per_buyer(clear_all(made, plan)).values(), default=0) <= made.prices.funding


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_the_feeder_limit_is_never_exceeded(case):
    made, plan = case.made, case.plan
    limit = made.grid.feeder_limit_wh(made.slot_hours)
    for slot in clear_all(made, plan):
        assert limit is None or slot.traded_wh <= limit
        assert limit is not None or not slot.feeder_bound


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets(feeder=True))
def test_feeder_bound_is_true_exactly_when_the_limit_cut_the_slots_trading(case):
    made, plan = case.made, case.plan
    unlimited = case.without_feeder()
    for slot in range(made.slots):
        cut, free = clear_slot(made, plan, slot), clear_slot(unlimited, plan, slot)
        assert cut.feeder_bound == (free.traded_wh > cut.traded_wh)


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets(feeder=True))
def test_a_binding_feeder_is_filled_to_within_one_minimum_trade(case):
    made, plan = case.made, case.plan
    limit = made.grid.feeder_limit_wh(made.slot_hours)
    for slot in clear_all(made, plan):
        if slot.feeder_bound:
            assert slot.traded_wh > limit - made.market.min_trade_wh


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_pay_as_clear_trades_every_slot_at_its_clearing_price(case):
    made, plan = case.made, case.plan
    if made.market.mode != "pay_as_clear":
        return
    for slot in clear_all(made, plan):
        assert {price_of(slot, take) for take in slot.takes} <= {slot.clearing_price}
        assert (slot.clearing_price is None) == (not slot.takes)


def unmatched_pairs(made, slot, budgets, trade_price):
    """(bid, offer) pairs that could still trade after `slot`: the bid at least the price and the offer's ask
    at most it, the buyer short of at least a minimum trade it can afford, the offer with at least a minimum
    trade left in a lot with room, buyer and seller different."""
    minimum = made.market.min_trade_wh
    bought = Counter()
    for take in slot.takes:
        bought[take.buyer] += take.wh
    taken, trades = taken_per_offer(slot), Counter(slot.offers[t.offer_index].seller for t in slot.takes)
    pairs = []
    for bid in slot.bids:
        for offer in slot.offers:
            price = trade_price(bid, offer)
            if not offer.ask_per_kwh <= price <= bid.price_per_kwh or offer.seller == bid.buyer:
                continue
            short = min(bid.wh - bought[bid.buyer], budgets[bid.buyer] * 1000 // price)
            if (
                short >= minimum
                and offer.wh - taken[offer.index] >= minimum
                and trades[offer.seller] < MAX_TRADES_PER_LOT
            ):
                pairs.append((bid, offer))
    return pairs


def budgets_after(made, markets, slot):
    spent = spent_per_buyer(markets[: slot + 1])
    return [made.prices.funding - spent[row] for row in range(len(made.households))]


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_pay_as_clear_leaves_no_bid_at_or_above_the_price_beside_an_ask_at_or_below_it(case):
    made, plan = case.made, case.plan
    if made.market.mode != "pay_as_clear":
        return
    markets = clear_all(made, plan)
    for slot in markets:
        if slot.clearing_price is None or slot.feeder_bound:
            continue
        budgets = budgets_after(made, markets, slot.slot)
        assert not unmatched_pairs(made, slot, budgets, lambda bid, offer, price=slot.clearing_price: price)


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_pay_as_bid_charges_every_trade_exactly_its_buyers_bid(case):
    made, plan = case.made, case.plan
    if made.market.mode != "pay_as_bid":
        return
    for slot in clear_all(made, plan):
        for take in slot.takes:
            assert price_of(slot, take) == bid_of(slot, take.buyer)
            assert take.wh == slot.offers[take.offer_index].wh  # each trade is an offer of its own, taken whole


@settings(database=None, deadline=None, max_examples=300)
@given(case=small_markets())
def test_pay_as_bid_leaves_no_bid_at_or_above_an_unsold_ask(case):
    made, plan = case.made, case.plan
    if made.market.mode != "pay_as_bid":
        return
    markets = clear_all(made, plan)
    for slot in markets:
        if slot.feeder_bound:
            continue
        budgets = budgets_after(made, markets, slot.slot)
        assert not unmatched_pairs(made, slot, budgets, lambda bid, offer: bid.price_per_kwh)


@settings(database=None, deadline=None, max_examples=100)
@given(case=small_markets(feeder=False))
def test_pay_as_bid_posts_every_sellers_surplus_unless_a_remainder_is_below_the_minimum(case):
    made, plan = case.made, case.plan
    if made.market.mode != "pay_as_bid":
        return
    for slot in clear_all(made, plan):
        for seller in {offer.seller for offer in slot.offers}:
            posted = sum(offer.wh for offer in slot.offers if offer.seller == seller)
            surplus = int(plan.forecast_export_wh[seller, slot.slot])
            assert surplus - 2 * made.market.min_trade_wh < posted <= surplus


# ------------------------------------------------------------------ bids


def test_bids_are_drawn_per_household_and_slot_from_the_range():
    made = street(sellers=1, buyers=10, slots=4, prices={"bid": [0.12, 0.28]})
    markets = clear_all(made, plan_of(made, [100] * 4 + [0] * 40, [0] * 4 + [100] * 40))
    bids = [bid.price_per_kwh for market in markets for bid in market.bids]
    assert len(bids) == 40 and all(12_000_000 <= bid <= 28_000_000 for bid in bids)
    assert len(set(bids)) > 30


def test_without_bids_every_buyers_limit_is_the_grid_tariff():
    made = street(sellers=1, buyers=3)
    market = clear_slot(made, plan_of(made, [100, 0, 0, 0], [0, 100, 100, 100]), 0)
    assert [bid.price_per_kwh for bid in market.bids] == [TARIFF] * 3


def test_bids_change_no_other_draw_of_the_market():
    plain, with_bids = in_mode("merit"), in_mode("merit", prices={"bid": [0.25, 0.30]})
    plan = plan_of(plain, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600])
    assert clear_slot(plain, plan, 0).offers == clear_slot(with_bids, plan, 0).offers
    assert [b.buyer for b in clear_slot(plain, plan, 0).bids] == [b.buyer for b in clear_slot(with_bids, plan, 0).bids]


def test_in_merit_mode_a_buyer_bidding_below_every_ask_buys_nothing():
    made = in_mode("merit", prices={"ask": [0.20, 0.25], "bid": [0.10, 0.15]})
    assert not clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0).takes


def test_in_merit_mode_buyers_pay_the_offers_ask_not_their_bid():
    made = in_mode("merit", prices={"ask": [0.10, 0.12], "bid": [0.25, 0.30]})
    market = clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0)
    assert market.takes and all(price_of(market, t) == market.offers[t.offer_index].ask_per_kwh for t in market.takes)


# ------------------------------------------------------------------ pay as clear


def test_in_pay_as_clear_mode_a_buyer_bidding_below_the_clearing_price_buys_nothing():
    made = street(sellers=1, buyers=8, market={"mode": "pay_as_clear"}, prices={"ask": 0.2, "bid": [0.1, 0.3]})
    market = clear_slot(made, plan_of(made, [5000] + [0] * 8, [0] + [500] * 8), 0)
    willing = {b.buyer for b in market.bids if b.price_per_kwh >= 20_000_000}
    assert market.clearing_price == 20_000_000 and 0 < len(willing) < 8
    assert {t.buyer for t in market.takes} == willing


def test_a_uniform_file_plans_as_pay_as_clear():
    uniform, clear = in_mode("uniform"), in_mode("pay_as_clear")
    plan = plan_of(uniform, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600])
    assert clear_slot(uniform, plan, 0) == clear_slot(clear, plan, 0)


# ------------------------------------------------------------------ pay as bid


def test_in_pay_as_bid_mode_the_highest_bid_is_served_first():
    made = street(sellers=1, buyers=3, market={"mode": "pay_as_bid"}, prices={"ask": 0.1, "bid": [0.1, 0.3]})
    market = clear_slot(made, plan_of(made, [500, 0, 0, 0], [0, 500, 500, 500]), 0)
    highest = max(market.bids, key=lambda bid: bid.price_per_kwh)
    assert [(t.buyer, t.wh) for t in market.takes] == [(highest.buyer, 500)]


def test_in_pay_as_bid_mode_each_trade_is_an_offer_at_the_bid_with_the_sellers_ask_kept():
    made = street(sellers=1, buyers=2, market={"mode": "pay_as_bid"}, prices={"ask": 0.1, "bid": [0.2, 0.3]})
    market = clear_slot(made, plan_of(made, [1000, 0, 0], [0, 300, 400]), 0)
    traded = [market.offers[t.offer_index] for t in market.takes]
    assert [(o.wh, o.price_per_kwh, o.ask_per_kwh) for o in traded] == [
        (t.wh, bid_of(market, t.buyer), 10_000_000) for t in market.takes
    ]


def test_in_pay_as_bid_mode_the_unsold_surplus_is_posted_at_the_sellers_ask():
    made = street(sellers=1, buyers=1, market={"mode": "pay_as_bid"}, prices={"ask": 0.1, "bid": 0.2})
    market = clear_slot(made, plan_of(made, [1000, 0], [0, 300]), 0)
    assert [(o.wh, o.price_per_kwh) for o in market.offers] == [(300, 20_000_000), (700, 10_000_000)]


def test_in_pay_as_bid_mode_without_bids_every_trade_is_at_the_grid_tariff():
    made = in_mode("pay_as_bid")
    market = clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0)
    assert market.takes and {price_of(market, t) for t in market.takes} == {TARIFF}


def test_in_pay_as_bid_mode_no_bid_below_every_ask_trades():
    made = in_mode("pay_as_bid", prices={"ask": [0.20, 0.25], "bid": [0.10, 0.15]})
    assert not clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0).takes


@pytest.mark.parametrize("mode", MARKET_MODES)
def test_a_sellers_lot_never_gets_more_than_50_trades_in_any_mode(mode):
    made = street(sellers=1, buyers=80, market={"mode": mode, "split_offers": True}, prices={"bid": [0.2, 0.3]})
    market = clear_slot(made, plan_of(made, [100_000] + [0] * 80, [0] + [100] * 80), 0)
    assert len(market.takes) == MAX_TRADES_PER_LOT


# ------------------------------------------------------------------ the feeder


@pytest.mark.parametrize("mode", MARKET_MODES)
def test_a_feeder_limit_caps_a_slots_trading_and_says_so(mode):
    made = in_mode(mode, grid={"feeder_limit_kw": 2})  # 2 kW x 0.25 h = 500 Wh
    market = clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0)
    assert (market.traded_wh, market.feeder_bound) == (500, True)


@pytest.mark.parametrize("mode", MARKET_MODES)
def test_a_feeder_limit_that_is_not_reached_binds_nothing(mode):
    made = in_mode(mode, grid={"feeder_limit_kw": 4.8})  # 1,200 Wh: exactly the demand
    market = clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0)
    assert (market.traded_wh, market.feeder_bound) == (1200, False)


def test_a_feeder_limit_cuts_in_the_order_the_merit_order_fills():
    made = street(sellers=3, buyers=1, grid={"feeder_limit_kw": 6})  # 1,500 Wh
    market = clear_slot(made, plan_of(made, [1000, 1000, 1000, 0], [0, 0, 0, 3000]), 0)
    cheapest, second, _ = sorted(market.offers, key=lambda o: o.price_per_kwh)
    assert [(t.offer_index, t.wh) for t in market.takes] == [(cheapest.index, 1000), (second.index, 500)]


# ------------------------------------------------------------------ old scenarios


def fingerprint(markets):
    """A digest of every slot's offers, takes and clearing price (the fields a plan had before bids)."""
    rows = [
        (
            m.slot,
            m.clearing_price,
            [(o.index, o.seller, o.wh, o.price_per_kwh, o.ask_per_kwh) for o in m.offers],
            [(t.buyer, t.offer_index, t.wh) for t in m.takes],
        )
        for m in markets
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


# Computed from the market code before bids, modes and the feeder limit were added.
PLANS_BEFORE = {
    ("demo", None): "a1fbea5a7e056c3e",
    ("demo", "uniform"): "d005d4f0c53fea89",
    ("faults", None): "264ed3ab3302e074",
    ("faults", "uniform"): "0263b83dd29c66ef",
}


@pytest.mark.parametrize(("name", "mode"), sorted(PLANS_BEFORE, key=str))
def test_a_scenario_without_bids_or_a_feeder_plans_exactly_as_before(name, mode):
    path = SCENARIOS / f"{name}.toml"
    data = tomllib.loads(path.read_text())
    if mode is not None:
        data.setdefault("market", {})["mode"] = mode
    made = parse_scenario(data, path) if mode else load_scenario(path)
    assert fingerprint(clear_all(made, simulate_energy(made))) == PLANS_BEFORE[(name, mode)]
