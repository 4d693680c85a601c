"""A neighbourhood at a real site: its slots' times, each household's panels and loads, and exact balances."""

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.domain.loads import standard_shares
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.domain.scenario_site import annual_kwh

SITE = {
    "latitude": 30.27,
    "longitude": 120.16,
    "timezone": "Asia/Shanghai",
    "altitude_m": 10.0,
    "date": dt.date(2026, 6, 17),
}
STREET = [
    {"name": "solar", "count": 4, "pv_kwp": [3.0, 8.0], "load_kwh_per_day": [5.0, 10.0], "pv_tilt_deg": [20.0, 30.0]},
    {"name": "home", "count": 4, "load_kwh_per_day": [5.0, 12.0], "ev": {"share": 0.5}},
]
METERS = "time,meter-001,meter-002\n" + "".join(
    f"2026-06-17T{h:02d}:{m:02d}:00,{0.1 + 0.01 * h},{0.2 + 0.01 * m}\n" for h in range(24) for m in (0, 15, 30, 45)
)


SOURCE = Path("street.toml")


def scenario(households=STREET, source=SOURCE, **tables):
    return parse_scenario({"seed": 7, "slots": 96, "households": households, "site": SITE, **tables}, source)


def metered_in(folder):
    """STREET with two households whose loads are the measured series of folder/meters.csv."""
    meters = {"name": "meter", "count": 2, "pv_kwp": 2.0, "load_profile": "measured"}
    loads = {"profile": "H0", "country": "CN", "file": "meters.csv"}
    return scenario([*STREET, meters], folder / "street.toml", loads=loads)


@pytest.fixture
def metered(tmp_path):
    (tmp_path / "meters.csv").write_text(METERS)
    return metered_in(tmp_path)


def test_slot_0_starts_at_the_start_hour_of_the_date_in_the_sites_time_zone():
    made = parse_scenario({"seed": 1, "slots": 4, "start_hour": 9.5, "households": STREET, "site": SITE}, SOURCE)
    assert made.clock.start_ns == int(dt.datetime(2026, 6, 17, 1, 30, tzinfo=dt.UTC).timestamp()) * 10**9


def test_days_fix_the_number_of_slots():
    made = parse_scenario(
        {"seed": 1, "slot_length_s": 3_600, "households": STREET, "site": {**SITE, "days": 2}}, SOURCE
    )
    assert made.slots == 48


def test_each_household_with_pv_draws_its_panels_within_its_groups_and_the_sites_ranges():
    made = scenario()
    solar = [h for h in made.households if h.pv_kwp > 0]
    assert all(20.0 <= h.pv_tilt_deg <= 30.0 and 150.0 <= h.pv_azimuth_deg <= 210.0 for h in solar)
    assert len({h.pv_azimuth_deg for h in solar}) == len(solar)


def test_households_without_pv_have_no_panels_to_orient():
    assert all(h.pv_tilt_deg is None for h in scenario().households if h.pv_kwp == 0)


def test_a_scenario_without_a_site_has_no_clock_and_no_panel_orientation():
    plain = [{k: v for k, v in group.items() if k != "pv_tilt_deg"} for group in STREET]
    made = parse_scenario({"seed": 7, "slots": 4, "households": plain}, SOURCE)
    assert made.clock is None and all(h.pv_tilt_deg is None and h.load_profile == "synthetic" for h in made.households)


def test_adding_a_household_changes_nothing_for_the_others_at_a_site():
    plan = simulate_energy(scenario())
    bigger = simulate_energy(scenario([{"name": "flat", "load_kwh_per_day": 3.0}, *STREET]))
    assert np.array_equal(plan.load_wh, bigger.load_wh[1:])
    assert np.array_equal(plan.generated_wh, bigger.generated_wh[1:])


def test_pv_follows_the_sun_of_hangzhou_on_the_date():
    generated = simulate_energy(scenario()).generated_wh.sum(axis=0)
    assert generated[:20].sum() == 0 and generated[-16:].sum() == 0  # dark before 05:00 and after 20:00
    assert 40 <= int(np.argmax(generated)) <= 56  # the most around noon


def test_a_standard_profile_households_day_is_its_share_of_the_annual_kwh():
    made = scenario(loads={"profile": "H25", "country": "CN"}, forecast={"load_error": 0.0})
    plan = simulate_energy(made)
    share = standard_shares("H25", "CN", made.clock, np.array([0.0]))[0].sum()
    for i, household in enumerate(made.households):
        if household.ev is None:
            expected = share * annual_kwh(household.load_kwh_per_day, 2026) * 1_000
            assert plan.load_wh[i].sum() == pytest.approx(expected, rel=0.15)  # noise, mean 1


def test_a_measured_households_load_is_its_series_to_the_wh(metered):
    plan = simulate_energy(metered)
    row = metered.household_index("meter-002")
    assert np.array_equal(plan.load_wh[row], np.rint(metered.loads.measured.of("meter-002")).astype(np.int64))


def test_a_measured_households_daily_kwh_is_its_series_mean(metered):
    household = metered.households[metered.household_index("meter-001")]
    assert household.load_kwh_per_day == pytest.approx(sum(0.1 + 0.01 * h for h in range(24)) * 4, abs=0.01)


def test_a_weather_file_replaces_the_seeded_clouds(tmp_path):
    rows = "".join(f"2026-06-17T{h:02d}:00:00,{max(0, 800 - 100 * abs(h - 12))}\n" for h in range(24))
    (tmp_path / "weather.csv").write_text("time,ghi\n" + rows)
    made = scenario(source=tmp_path / "s.toml", site={**SITE, "weather_file": "weather.csv"})
    plan = simulate_energy(made)
    assert (plan.clear_sky_index == 1.0).all() and plan.generated_wh[:, 40:56].sum() > 0


def test_the_measured_file_is_part_of_the_scenarios_identity(metered, tmp_path):
    (tmp_path / "meters.csv").write_text(METERS.replace(",0.1,", ",0.3,"))
    assert repr(metered_in(tmp_path)) != repr(metered)


@st.composite
def placed_scenarios(draw):
    """Small scenarios at a site: any date, start, slot length, load profile, batteries and faults."""
    slots = draw(st.integers(min_value=1, max_value=12))
    profile = draw(st.sampled_from(["synthetic", "H25", "G25", "L0"]))
    solar = {"name": "solar", "count": 3, "pv_kwp": [0.5, 12.0], "load_kwh_per_day": [0.5, 20.0]}
    solar["battery"] = {"share": 0.5, "strategy": draw(st.sampled_from(["self_consumption", "price_aware"]))}
    homes = {"name": "home", "count": 3, "load_kwh_per_day": [0.5, 40.0], "ev": {"share": 0.5}}
    date = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(min_value=0, max_value=364)))
    return parse_scenario(
        {
            "seed": draw(st.integers(min_value=0, max_value=2**64 - 1)),
            "slots": slots,
            "slot_length_s": draw(st.sampled_from([300, 900, 3_600])),
            "start_hour": draw(st.floats(min_value=0, max_value=23.9)),
            "households": [solar, homes],
            "site": {**SITE, "date": date, "azimuth_deg": [90.0, 270.0]},
            "loads": {"profile": profile, "country": "CN"},
            "weather": {"cloudiness": draw(st.floats(min_value=0, max_value=1))},
            "faults": {"cloudy_slots": draw(st.lists(st.integers(min_value=0, max_value=slots - 1), unique=True))},
        },
        SOURCE,
    )


@settings(database=None, deadline=None, max_examples=25)
@given(made=placed_scenarios())
def test_every_placed_scenario_balances_in_whole_wh_per_household_and_slot(made):
    plan = simulate_energy(made)
    supply = plan.generated_wh + plan.import_wh + plan.battery_discharge_wh
    demand = plan.load_wh + plan.export_wh + plan.battery_charge_wh + plan.battery_losses_wh
    assert np.array_equal(supply, demand)
    assert min(plan.generated_wh.min(), plan.load_wh.min(), plan.export_wh.min(), plan.import_wh.min()) >= 0
