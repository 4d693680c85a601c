"""Valid scenarios: shipped files, household groups and ranges, exact prices, defaults."""

from decimal import Decimal
from pathlib import Path

import pytest

from p2p_energy.domain.scenario import ChainSpec, MarketSpec, load_scenario, nrg_to_base_units, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SOURCE = Path("test.toml")


def scenario(households=None, **top):
    data = {
        "seed": 1,
        "slots": 4,
        "households": households or [{"name": "solar", "pv_kwp": 5.0, "load_kwh_per_day": 8.0}],
        **top,
    }
    return parse_scenario(data, SOURCE)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    assert load_scenario(path).households


def test_the_three_documented_scenarios_are_shipped():
    assert {p.stem for p in SCENARIOS.glob("*.toml")} >= {"demo", "city-day", "faults"}


def test_the_demo_has_about_20_households_in_24_slots_of_15_minutes():
    demo = load_scenario(SCENARIOS / "demo.toml")
    assert (len(demo.households), demo.slots, demo.slot_length_s) == (20, 24, 900)


def test_the_city_day_has_1000_households_over_96_slots_from_midnight():
    city = load_scenario(SCENARIOS / "city-day.toml")
    assert (len(city.households), city.slots, city.start_hour) == (1000, 96, 0.0)


def test_the_faults_scenario_has_one_fault_of_each_kind():
    faults = load_scenario(SCENARIOS / "faults.toml").faults
    assert len(faults.cloudy_slots) >= 1
    assert (len(faults.offline), len(faults.under_delivery)) == (1, 1)
    assert (faults.attacker.forged_readings, faults.attacker.replayed_readings) == (3, 5)


def test_the_scenario_name_defaults_to_the_file_name():
    assert scenario().name == "test"


def test_a_group_with_a_count_expands_to_numbered_households():
    made = scenario([{"name": "home", "count": 3, "pv_kwp": 1, "load_kwh_per_day": 5}])
    assert made.household_names == ("home-001", "home-002", "home-003")


def test_a_group_of_more_than_999_gets_wider_numbers():
    made = scenario([{"name": "home", "count": 1000, "pv_kwp": 1, "load_kwh_per_day": 5}], slots=1)
    assert made.household_names[0] == "home-0001"


def test_a_group_without_a_count_is_one_household_named_exactly():
    assert scenario().household_names == ("solar",)


def test_households_remember_their_group():
    made = scenario([{"name": "home", "count": 2, "pv_kwp": 1, "load_kwh_per_day": 5}])
    assert {h.group for h in made.households} == {"home"}


def test_values_drawn_from_a_range_stay_inside_it_and_vary():
    made = scenario([{"name": "home", "count": 50, "pv_kwp": [3.0, 8.0], "load_kwh_per_day": 5}])
    kwp = [h.pv_kwp for h in made.households]
    assert all(3.0 <= k <= 8.0 for k in kwp)
    assert len(set(kwp)) > 25


def test_another_seed_draws_other_households():
    group = [{"name": "home", "count": 20, "pv_kwp": [3.0, 8.0], "load_kwh_per_day": [4, 9]}]
    assert scenario(group, seed=1).households != scenario(group, seed=2).households


def test_adding_a_group_changes_nothing_for_the_households_already_there():
    homes = {"name": "home", "count": 10, "pv_kwp": [3.0, 8.0], "load_kwh_per_day": [4, 9], "ev": {"share": 0.5}}
    flats = {"name": "flat", "count": 5, "load_kwh_per_day": [1, 3]}
    assert scenario([flats, homes]).households[5:] == scenario([homes]).households


@pytest.mark.parametrize(("share", "owners"), [(0.0, 0), (1.0, 30)])
def test_the_ev_share_is_the_chance_of_owning_an_ev(share, owners):
    made = scenario([{"name": "home", "count": 30, "pv_kwp": 2, "load_kwh_per_day": 5, "ev": {"share": share}}])
    assert sum(h.ev is not None for h in made.households) == owners


def test_an_ev_takes_the_documented_defaults():
    made = scenario([{"name": "home", "pv_kwp": 2, "load_kwh_per_day": 5, "ev": {}}])
    ev = made.households[0].ev
    assert ev is not None
    assert (ev.kwh_per_session, ev.charger_kw) == (12.0, 7.4)
    assert 17.0 <= ev.arrival_hour <= 20.0


def test_a_price_given_as_a_float_is_converted_exactly():
    assert scenario(prices={"grid_tariff": 0.1}).prices.grid_tariff == 10_000_000


def test_a_price_given_as_a_string_is_converted_exactly():
    assert scenario(prices={"grid_tariff": "0.12345678"}).prices.grid_tariff == 12_345_678


def test_an_ask_range_becomes_base_units_at_both_ends():
    prices = scenario(prices={"ask": [0.07, "0.29"]}).prices
    assert (prices.ask_min, prices.ask_max) == (7_000_000, 29_000_000)


def test_a_single_ask_is_a_range_of_one_price():
    prices = scenario(prices={"ask": 0.2}).prices
    assert prices.ask_min == prices.ask_max == 20_000_000


def test_funding_is_in_whole_nrg_base_units():
    assert scenario(prices={"funding": 250}).prices.funding == 250 * 10**8


def test_nrg_to_base_units_refuses_to_round():
    with pytest.raises(ValueError, match="more than 8 decimals"):
        nrg_to_base_units(Decimal("0.000000001"))


def test_the_chain_and_market_take_their_documented_defaults():
    made = scenario()
    assert made.chain == ChainSpec("cancun", "local", 1_800, 1)
    assert made.market == MarketSpec("merit", 10, True)


def test_an_offline_meter_covers_its_slots_inclusively():
    made = scenario(faults={"offline": [{"household": "solar", "slots": [1, 2]}]})
    assert [made.faults.is_offline("solar", slot) for slot in range(4)] == [False, True, True, False]


def test_an_offline_meter_may_name_a_single_slot():
    made = scenario(faults={"offline": [{"household": "solar", "slots": 3}]})
    assert [made.faults.is_offline("solar", slot) for slot in range(4)] == [False, False, False, True]


def test_slot_start_hours_follow_the_start_hour_and_slot_length():
    made = scenario(start_hour=6.5, slot_length_s=1_800)
    assert [made.slot_start_hour(s) for s in range(3)] == [6.5, 7.0, 7.5]
