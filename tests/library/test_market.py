"""Matching per slot: merit order, uniform price, the escrow's limits, budgets and determinism."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.domain.auctions import clearing_price
from p2p_energy.domain.market import clear_all, clear_slot
from p2p_energy.domain.profiles import EnergyPlan, simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.limits import MAX_TRADES_PER_LOT
from tests.library.test_profiles import small_scenarios

SOURCE = Path("test.toml")


def street(sellers=3, buyers=2, slots=1, **sections):
    """Sellers s-001.. (rows 0..sellers-1), then buyers b-001..; offers are not split unless asked."""
    households = [
        {"name": "s", "count": sellers, "pv_kwp": 5, "load_kwh_per_day": 5},
        {"name": "b", "count": buyers, "load_kwh_per_day": 5},
    ]
    market = {"split_offers": False, **sections.pop("market", {})}
    return parse_scenario({"seed": 3, "slots": slots, "households": households, "market": market, **sections}, SOURCE)


def plan_of(made, export, shortfall):
    """A plan whose forecast (and actual) export and import per household and slot are given."""
    export = np.array(export, dtype=np.int64).reshape(len(made.households), made.slots)
    shortfall = np.array(shortfall, dtype=np.int64).reshape(len(made.households), made.slots)
    start = np.zeros((len(made.households), 1), dtype=np.int64)
    return EnergyPlan(
        households=made.household_names,
        slot_length_s=made.slot_length_s,
        start_hour=made.start_hour,
        clear_sky_index=np.ones(made.slots),
        generated_wh=export,
        load_wh=shortfall,
        export_wh=export,
        import_wh=shortfall,
        forecast_generated_wh=export,
        forecast_load_wh=shortfall,
        forecast_export_wh=export,
        forecast_import_wh=shortfall,
        import_register_wh=np.concatenate([start, np.cumsum(shortfall, axis=1)], axis=1),
        export_register_wh=np.concatenate([start, np.cumsum(export, axis=1)], axis=1),
    )


def taken_per_offer(market):
    taken = Counter()
    for take in market.takes:
        taken[take.offer_index] += take.wh
    return taken


def check_invariants(made, plan, market):
    """What the escrow and the plan require of every slot's market."""
    offers = market.offers
    assert [offer.index for offer in offers] == list(range(len(offers)))
    taken = taken_per_offer(market)
    for offer in offers:
        assert offer.wh >= made.market.min_trade_wh
        assert 0 < offer.price_per_kwh <= made.prices.grid_tariff or not taken[offer.index]
        assert taken[offer.index] <= offer.wh
    per_seller = Counter(offers[take.offer_index].seller for take in market.takes)
    assert max(per_seller.values(), default=0) <= MAX_TRADES_PER_LOT
    bought = Counter()
    for take in market.takes:
        assert take.wh >= made.market.min_trade_wh
        assert offers[take.offer_index].seller != take.buyer
        bought[take.buyer] += take.wh
    for buyer, wh in bought.items():
        assert wh <= plan.forecast_import_wh[buyer, market.slot]
    for seller in {offer.seller for offer in offers}:
        assert sum(o.wh for o in offers if o.seller == seller) <= plan.forecast_export_wh[seller, market.slot]


def test_the_cheapest_offers_fill_first():
    made = street(sellers=3, buyers=1)
    market = clear_slot(made, plan_of(made, [1000, 1000, 1000, 0], [0, 0, 0, 1500]), 0)
    cheapest, second, _ = sorted(market.offers, key=lambda o: o.price_per_kwh)
    assert [(t.offer_index, t.wh) for t in market.takes] == [(cheapest.index, 1000), (second.index, 500)]


def test_in_merit_mode_every_offer_is_posted_at_the_sellers_own_ask():
    made = street()
    market = clear_slot(made, plan_of(made, [900, 800, 700, 0, 0], [0, 0, 0, 600, 600]), 0)
    assert all(o.price_per_kwh == o.ask_per_kwh for o in market.offers)
    assert market.clearing_price is None


def test_asks_are_drawn_from_the_scenarios_range():
    made = street(sellers=20, buyers=1, prices={"ask": [0.11, 0.13]})
    market = clear_slot(made, plan_of(made, [500] * 20 + [0], [0] * 20 + [100]), 0)
    assert all(11_000_000 <= o.ask_per_kwh <= 13_000_000 for o in market.offers)
    assert len({o.ask_per_kwh for o in market.offers}) > 10


def test_no_offer_above_the_grid_tariff_is_taken():
    made = street(sellers=10, buyers=1, prices={"ask": [0.2, 0.4], "grid_tariff": 0.3})
    market = clear_slot(made, plan_of(made, [100] * 10 + [0], [0] * 10 + [10_000]), 0)
    assert market.takes
    assert all(market.offers[t.offer_index].price_per_kwh <= 30_000_000 for t in market.takes)


def test_a_buyer_never_takes_its_own_offer():
    made = street(sellers=1, buyers=1)
    market = clear_slot(made, plan_of(made, [1000, 0], [500, 0]), 0)  # s-001 both sells and buys
    assert market.offers and not market.takes


def test_a_sellers_lot_never_gets_more_than_50_trades_across_its_offers():
    made = street(sellers=1, buyers=80, market={"split_offers": True})
    market = clear_slot(made, plan_of(made, [100_000] + [0] * 80, [0] + [100] * 80), 0)
    assert len(market.takes) == MAX_TRADES_PER_LOT


def test_a_buyer_takes_no_more_than_it_needs():
    made = street(sellers=3, buyers=1)
    market = clear_slot(made, plan_of(made, [5000, 5000, 5000, 0], [0, 0, 0, 1234]), 0)
    assert market.traded_wh == 1234


def test_takes_never_exceed_what_was_offered():
    made = street(sellers=2, buyers=3)
    market = clear_slot(made, plan_of(made, [300, 200, 0, 0, 0], [0, 0, 400, 400, 400]), 0)
    assert market.traded_wh == 500
    assert all(taken_per_offer(market)[o.index] == o.wh for o in market.offers)


def test_surplus_and_needs_below_the_minimum_trade_are_left_out():
    made = street(sellers=1, buyers=1, market={"min_trade_wh": 50})
    market = clear_slot(made, plan_of(made, [49, 0], [0, 1000]), 0)
    assert not market.offers and not market.takes


def test_no_take_is_smaller_than_the_minimum_trade():
    made = street(sellers=1, buyers=2, market={"min_trade_wh": 50})
    market = clear_slot(made, plan_of(made, [1030, 0, 0], [0, 1000, 1000]), 0)
    assert [t.wh for t in market.takes] == [1000]  # the 30 Wh left is too small to take


def test_split_offers_add_up_to_the_sellers_forecast_surplus():
    made = street(sellers=30, buyers=1, market={"split_offers": True})
    market = clear_slot(made, plan_of(made, [1000 + i for i in range(30)] + [0], [0] * 30 + [100]), 0)
    assert len(market.offers) > 30
    for seller in range(30):
        assert sum(o.wh for o in market.offers if o.seller == seller) == 1000 + seller


def test_a_buyer_never_locks_more_than_its_funding_over_the_run():
    made = street(sellers=1, buyers=1, slots=6, prices={"funding": "0.05"})
    markets = clear_all(made, plan_of(made, [5000] * 6 + [0] * 6, [0] * 6 + [400] * 6))
    spent = sum(market.cost(take) for market in markets for take in market.takes)
    assert 0 < spent <= 5_000_000


def test_a_buyer_without_funding_buys_nothing():
    made = street(sellers=1, buyers=1)
    assert not clear_slot(made, plan_of(made, [5000, 0], [0, 400]), 0, budgets=[0, 0]).takes


def test_uniform_mode_trades_every_offer_at_the_clearing_price():
    made = street(sellers=3, buyers=2, market={"mode": "uniform"})
    market = clear_slot(made, plan_of(made, [1000, 1000, 1000, 0, 0], [0, 0, 0, 1200, 1200]), 0)
    assert market.clearing_price is not None
    assert {o.price_per_kwh for o in market.offers} == {market.clearing_price}


def test_uniform_price_is_the_marginal_ask_when_supply_is_short_of_nothing():
    made = street(sellers=3, buyers=2, market={"mode": "uniform"})
    market = clear_slot(made, plan_of(made, [1000, 1000, 1000, 0, 0], [0, 0, 0, 1200, 1200]), 0)
    assert market.traded_wh == 2400  # demand; all three offers are needed, so the dearest ask sets the price
    assert market.clearing_price == max(o.ask_per_kwh for o in market.offers)


def test_uniform_price_in_oversupply_is_the_cheapest_ask_and_only_that_offer_is_posted():
    made = street(sellers=3, buyers=1, market={"mode": "uniform"})
    merit = clear_slot(street(sellers=3, buyers=1), plan_of(made, [1000, 1000, 1000, 0], [0, 0, 0, 500]), 0)
    market = clear_slot(made, plan_of(made, [1000, 1000, 1000, 0], [0, 0, 0, 500]), 0)
    cheapest = min(merit.offers, key=lambda o: o.ask_per_kwh)
    assert market.clearing_price == cheapest.ask_per_kwh
    assert [o.seller for o in market.offers] == [cheapest.seller]
    assert market.traded_wh == 500


def test_uniform_mode_without_buyers_posts_nothing():
    made = street(sellers=2, buyers=1, market={"mode": "uniform"})
    market = clear_slot(made, plan_of(made, [1000, 1000, 0], [0, 0, 0]), 0)
    assert (market.offers, market.takes, market.clearing_price) == ((), (), None)


def test_the_clearing_price_is_the_lowest_ask_that_trades_the_most():
    asks = [(10, 100), (20, 100), (30, 100)]
    assert clearing_price(asks, [(25, 150)]) == 20
    assert clearing_price(asks, [(25, 500)]) == 20  # short supply: every offer a buyer accepts, at the dearest
    assert clearing_price(asks, [(5, 500)]) is None


@settings(database=None, deadline=None, max_examples=200)
@given(
    asks=st.lists(st.tuples(st.integers(1, 50), st.integers(1, 1000)), min_size=1, max_size=8),
    limits=st.lists(st.tuples(st.integers(1, 50), st.integers(1, 1000)), min_size=1, max_size=8),
)
def test_the_clearing_price_maximizes_volume_like_a_brute_force_search(asks, limits):
    def volume(price):
        supply = sum(wh for ask, wh in asks if ask <= price)
        return min(supply, sum(wh for limit, wh in limits if limit >= price))

    best = max(volume(p) for p in range(1, 51))
    expected = min((p for p in range(1, 51) if volume(p) == best), default=None) if best else None
    assert clearing_price(asks, limits) == expected


def test_buyers_take_turns_at_the_front_of_the_queue():
    made = street(sellers=1, buyers=2, slots=24)
    markets = clear_all(made, plan_of(made, [500] * 24 + [0] * 48, [0] * 24 + [1000] * 48))
    first_buyers = {market.takes[0].buyer for market in markets}
    assert first_buyers == {1, 2}


def test_clear_slot_matches_clear_all_when_funding_does_not_bind():
    made = street(sellers=4, buyers=4, slots=3, prices={"funding": 10_000})
    plan = plan_of(made, [800] * 12 + [0] * 12, [0] * 12 + [500] * 12)
    assert clear_all(made, plan) == [clear_slot(made, plan, slot) for slot in range(3)]


# A fresh interpreter loads a scenario file, plans its energy and clears its market, and prints a
# digest of the households, the plan's meter flows and every slot's offers and takes.
CLEAR_A_FILE = """
import hashlib, sys
from pathlib import Path
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import load_scenario
made = load_scenario(Path(sys.argv[1]))
plan = simulate_energy(made)
seen = (made.households, plan.export_wh.tolist(), plan.import_wh.tolist(), clear_all(made, plan))
print(hashlib.sha256(repr(seen).encode()).hexdigest())
"""


def test_a_scenario_file_gives_the_same_households_energy_and_market_in_any_interpreter():
    # Two interpreters that differ in their string hashes (so in the order they iterate sets) and
    # share no random state: any draw not made from the seed, or made in hash order, differs.
    faults = Path(__file__).resolve().parents[2] / "scenarios" / "faults.toml"
    digests = {
        subprocess.run(
            [sys.executable, "-c", CLEAR_A_FILE, str(faults)],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.strip()
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1 and len(digests.pop()) == 64


def test_another_seed_draws_other_asks():
    one, two = street(), parse_scenario({**_data(street()), "seed": 4}, SOURCE)
    plan = plan_of(one, [800, 800, 800, 0, 0], [0, 0, 0, 500, 500])
    assert clear_slot(one, plan, 0).offers != clear_slot(two, plan, 0).offers


def _data(made):
    return {
        "seed": made.seed,
        "slots": made.slots,
        "households": [
            {"name": h.name, "pv_kwp": h.pv_kwp, "load_kwh_per_day": h.load_kwh_per_day} for h in made.households
        ],
        "market": {"split_offers": False},
    }


def test_a_plan_from_another_scenario_is_refused():
    made = street()
    with pytest.raises(ValueError, match="not made from this scenario"):
        clear_slot(street(sellers=2), plan_of(made, [1] * 5, [0] * 5), 0)


# 100 examples: only merit-mode scenarios with funding, where demand outruns the offers asking at
# most the tariff, can show a take above the tariff (about one example in seven).
@settings(database=None, deadline=None, max_examples=100)
@given(made=small_scenarios())
def test_every_slot_of_every_scenario_keeps_the_escrows_limits(made):
    plan = simulate_energy(made)
    for market in clear_all(made, plan):
        check_invariants(made, plan, market)


@settings(database=None, deadline=None, max_examples=40)
@given(made=small_scenarios())
def test_no_take_pays_more_than_an_offer_left_with_room_in_merit_mode(made):
    plan = simulate_energy(made)
    for market in clear_all(made, plan):
        if made.market.mode != "merit" or not market.takes:
            continue
        taken, trades = taken_per_offer(market), Counter(market.offers[t.offer_index].seller for t in market.takes)
        dearest_take = max(market.offers[t.offer_index].price_per_kwh for t in market.takes)
        for offer in market.offers:
            room = offer.wh - taken[offer.index] >= made.market.min_trade_wh
            if room and trades[offer.seller] < MAX_TRADES_PER_LOT:
                assert offer.price_per_kwh >= dearest_take


@settings(database=None, deadline=None, max_examples=40)
@given(made=small_scenarios())
def test_uniform_slots_have_one_price_for_every_trade(made):
    plan = simulate_energy(made)
    for market in clear_all(made, plan):
        if made.market.mode == "pay_as_clear" and market.takes:
            assert {market.offers[t.offer_index].price_per_kwh for t in market.takes} == {market.clearing_price}


@settings(database=None, deadline=None, max_examples=40)
@given(made=small_scenarios())
def test_funding_bounds_what_each_buyer_locks_over_the_run(made):
    spent = Counter()
    for market in clear_all(made, simulate_energy(made)):
        for take in market.takes:
            spent[take.buyer] += trade_cost(take.wh, market.offers[take.offer_index].price_per_kwh)
    assert max(spent.values(), default=0) <= made.prices.funding


def test_traded_offers_are_the_offers_with_takes():
    made = street(sellers=3, buyers=1)
    market = clear_slot(made, plan_of(made, [1000, 1000, 1000, 0], [0, 0, 0, 1500]), 0)
    assert {o.index for o in market.traded_offers} == {t.offer_index for t in market.takes}
    assert len(market.traded_offers) == 2
