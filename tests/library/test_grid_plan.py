"""The plan on a network: scenario keys, old scenarios unchanged, flows with and without the market, network limits."""

import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2p_energy.domain.grid_flow import Flows
from p2p_energy.domain.grid_network import load_buses
from p2p_energy.domain.grid_plan import caused_violations
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import ScenarioError, load_scenario, parse_scenario
from tests.library.test_grid_flow import two_bus_feeder

SOURCE = Path("grid.toml")
#: sha256 of repr(clear_all(...)) on main before [grid] network existed.
PLANS_BEFORE = {
    "demo": "298751a85c127561e5a921f9fb4d7cedcb97fd9d84a62caa37b6dd8e478a8e0d",
    "faults": "e6bd9e9bad04d34e3b1f8c44212709937434003a8648f6dad352327683592d51",
}
TRADER = {"capacity_kwh": 13.5, "power_kw": 10.0, "initial_soc": 0.6, "strategy": "price_aware", "price_margin": 0.03}
FEEDER = tomllib.loads(Path("scenarios/feeder.toml").read_text(encoding="utf-8"))


def feeder_afternoon(grid=None, seed=1, pv=(11.0, 16.0), power=10.0):
    """scenarios/feeder.toml from 12:00 to 21:00, whose price-aware batteries overload the transformer at 12:30."""
    groups = [dict(group) for group in FEEDER["households"]]
    for group in groups[:2]:
        group["pv_kwp"] = list(pv)
    groups[1]["battery"] = {**groups[1]["battery"], "power_kw": power}
    data = {**FEEDER, "seed": seed, "start_hour": 12.0, "slots": 36, "households": groups}
    return parse_scenario({**data, "grid": {**FEEDER["grid"], **(grid or {})}}, SOURCE)


def on_network(grid=None, seed=7, pv=12.0, battery=TRADER, charger=11.0, traders=4):
    """A day in hourly slots on a small rural overhead feeder: PV sellers with price-aware batteries, EV owners."""
    households = [
        {"name": "solar", "count": traders, "pv_kwp": pv, "load_kwh_per_day": 9.0, "battery": battery},
        {"name": "ev", "count": 4, "load_kwh_per_day": 8.0, "ev": {"charger_kw": charger, "kwh_per_session": 20.0}},
    ]
    data = {
        "seed": seed,
        "slots": 24,
        "slot_length_s": 3_600,
        "households": households,
        "prices": {"ask": [0.08, 0.18], "bid": [0.14, 0.30], "feed_in_tariff": 0.07},
        "grid": {"network": "kerber_landnetz_freileitung_2", **(grid or {})},
    }
    return parse_scenario(data, SOURCE)


@pytest.mark.parametrize("name", sorted(PLANS_BEFORE))
def test_a_scenario_without_a_network_plans_exactly_as_before(name):
    scenario = load_scenario(Path(f"scenarios/{name}.toml"))
    plan = simulate_energy(scenario)
    assert plan.grid is None
    assert hashlib.sha256(repr(clear_all(scenario, plan)).encode()).hexdigest() == PLANS_BEFORE[name]


def test_an_unknown_network_is_refused_with_the_names_allowed():
    with pytest.raises(ScenarioError, match=r'grid\.network: "nowhere" is unknown; allowed: "kerber_landnetz_kabel_1"'):
        on_network({"network": "nowhere"})


def test_a_bus_that_carries_no_load_is_refused():
    with pytest.raises(ScenarioError, match=r"grid\.buses: bus 0 is not a load bus of kerber_landnetz_freileitung_2"):
        on_network({"buses": [0] * 8})


def test_buses_must_place_every_household():
    bus = load_buses("kerber_landnetz_freileitung_2")[0]
    with pytest.raises(ScenarioError, match=r"grid\.buses: places 3 households, but the scenario has 8"):
        on_network({"buses": [bus] * 3})


def test_network_limits_without_a_network_are_refused():
    data = {"seed": 1, "slots": 1, "households": [{"name": "a", "pv_kwp": 1, "load_kwh_per_day": 1}]}
    with pytest.raises(ScenarioError, match=r"grid\.limits: is set but \[grid\] names no network"):
        parse_scenario({**data, "grid": {"limits": "network"}}, SOURCE)


def test_listed_buses_place_the_households_in_file_order():
    buses = load_buses("kerber_landnetz_freileitung_2")
    listed = [buses[i % len(buses)] for i in range(8)]
    plan = simulate_energy(on_network({"buses": listed}))
    assert plan.grid.feeder.household_bus == tuple(listed)


def test_a_households_drawn_bus_does_not_depend_on_the_other_households():
    many = simulate_energy(on_network(traders=4)).grid.feeder.household_bus
    fewer = simulate_energy(on_network(traders=2)).grid.feeder.household_bus
    assert fewer[:2] == many[:2] and fewer[2:] == many[4:]


def test_without_price_aware_batteries_the_market_moves_no_power():
    plan = simulate_energy(on_network(battery={"capacity_kwh": 10.0, "power_kw": 5.0}))
    assert not plan.grid.market_moves_power
    assert np.array_equal(plan.grid.with_market.bus_vm, plan.grid.without_market.bus_vm)


def test_price_aware_batteries_can_cause_a_violation():
    grid = simulate_energy(feeder_afternoon()).grid
    assert caused_violations(grid.feeder, grid.with_market, grid.without_market, 0.1) == {2: "trafo 1"}


def test_network_limits_refuse_storage_trades_at_the_element_they_would_overload():
    plan = simulate_energy(feeder_afternoon({"limits": "network"}))
    assert plan.grid.stops
    for stop in plan.grid.stops:
        assert (
            stop.element == "trafo 1" and stop.slot <= 2 and plan.households[stop.household].startswith("solar-trader")
        )


@pytest.mark.slow  # a power flow per slot over a whole day
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    pv=st.floats(4.0, 16.0),
    power=st.floats(2.0, 12.0),
    band=st.sampled_from([0.03, 0.05, 0.1]),
)
def test_with_network_limits_no_slot_ends_with_a_violation_caused_by_trades(seed, pv, power, band):
    scenario = feeder_afternoon({"limits": "network", "voltage_band": band}, seed, (pv, pv), round(power, 2))
    grid = simulate_energy(scenario).grid
    assert caused_violations(grid.feeder, grid.with_market, grid.without_market, band) == {}


def flows(vm, line):
    """Two buses and one line over one slot."""
    return Flows(np.array([[1.0], [vm]]), np.array([[line]]), np.zeros((0, 1)), np.zeros(1))


@pytest.mark.parametrize(
    ("with_market", "without", "caused"),
    [
        (flows(1.12, 50), flows(1.05, 50), {0: "house"}),  # pushed above the band
        (flows(1.12, 50), flows(1.13, 50), {}),  # above it, but less than without the market
        (flows(1.11, 50), flows(0.88, 50), {0: "house"}),  # from below the band to above it
        (flows(1.0, 101), flows(1.0, 99), {0: "line"}),  # pushed above the rating
        (flows(1.0, 99), flows(1.0, 50), {}),  # more loaded, but within the rating
    ],
)
def test_a_violation_is_the_markets_when_it_is_not_so_or_less_so_without_it(with_market, without, caused):
    assert caused_violations(two_bus_feeder(0.5, 0.02), with_market, without, 0.1) == caused
