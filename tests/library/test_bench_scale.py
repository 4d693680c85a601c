"""city-day scaled to other sizes for `make bench-scale` (p2p_energy.bench_scale); nothing is run."""

from p2p_energy.bench import CITY_SCENARIO
from p2p_energy.bench_scale import city_of
from p2p_energy.domain.scenario import load_scenario


def test_a_scaled_city_has_the_households_asked_for(toolchain):
    assert len(city_of(2_500, toolchain.root / CITY_SCENARIO).households) == 2_500


def test_a_scaled_city_keeps_city_days_groups_in_proportion(toolchain):
    city = city_of(10_000, toolchain.root / CITY_SCENARIO)
    prefixes = [h.name.rsplit("-", 1)[0] for h in city.households]
    assert [prefixes.count(group) for group in ("solar", "home", "flat")] == [3_000, 6_000, 1_000]


def test_a_city_scaled_to_city_days_size_is_city_day_under_another_name(toolchain):
    city_day = load_scenario(toolchain.root / CITY_SCENARIO)
    city = city_of(1_000, toolchain.root / CITY_SCENARIO)
    assert city.households == city_day.households and city.name == "city-1000"


def test_a_scaled_city_can_run_for_a_week_of_slots(toolchain):
    city = city_of(1_000, toolchain.root / CITY_SCENARIO, slots=672)
    assert (city.slots, city.slot_length_s, len(city.households)) == (672, 900, 1_000)
