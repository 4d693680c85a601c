"""Energy per household and slot: balances, meter registers, determinism, weather and faults."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.domain.profiles import clear_sky, load_shape, simulate_energy
from p2p_energy.domain.scenario import MARKET_MODES, parse_scenario

SOURCE = Path("test.toml")
STREET = [
    {"name": "solar", "count": 4, "pv_kwp": [3.0, 8.0], "load_kwh_per_day": [5.0, 10.0]},
    {"name": "home", "count": 4, "load_kwh_per_day": [5.0, 12.0], "ev": {"share": 0.5}},
]


def nrg(base_units):
    """Token base units as the NRG string a scenario file holds."""
    return f"{Decimal(base_units).scaleb(-8):f}"


def scenario(households=STREET, **top):
    data = {"seed": 7, "slots": 24, "start_hour": 9.0, "households": households, **top}
    return parse_scenario(data, SOURCE)


@st.composite
def small_scenarios(draw):
    """Small valid scenarios of every shape: any seed, slot length, start, faults and market mode."""
    slots = draw(st.integers(min_value=1, max_value=12))
    solar = {
        "name": "solar",
        "count": draw(st.integers(min_value=1, max_value=4)),
        "pv_kwp": [draw(st.floats(min_value=0.5, max_value=5)), draw(st.floats(min_value=5, max_value=12))],
        "load_kwh_per_day": draw(st.floats(min_value=0.5, max_value=20)),
    }
    homes = {
        "name": "home",
        "count": draw(st.integers(min_value=1, max_value=6)),
        "load_kwh_per_day": [draw(st.floats(min_value=0.5, max_value=10)), draw(st.floats(min_value=10, max_value=40))],
        "ev": {"share": 0.5, "arrival_hour": [0.0, 23.9], "charger_kw": [2.0, 11.0]},
    }
    # Asks straddle the grid tariff: the low end at most the tariff (as a scenario requires), the
    # high end up to three times it, so many offers ask more than any buyer may pay.
    tariff = draw(st.integers(min_value=5_000_000, max_value=40_000_000))  # base units per kWh
    asks = [draw(st.integers(min_value=1, max_value=tariff)), draw(st.integers(min_value=tariff, max_value=3 * tariff))]
    data = {
        "seed": draw(st.integers(min_value=0, max_value=2**64 - 1)),
        "slots": slots,
        "slot_length_s": draw(st.sampled_from([300, 900, 3_600])),
        # mostly daytime, where trades happen; sometimes any hour
        "start_hour": draw(st.one_of(st.floats(min_value=7, max_value=15), st.floats(min_value=0, max_value=23.9))),
        "households": [solar, homes],
        "prices": {
            # one base unit buys nothing (a scenario refuses zero funding), 0.05 NRG a few hundred Wh
            "funding": draw(st.sampled_from(["0.00000001", "0.05", "1000"])),
            "ask": [nrg(units) for units in asks],
            "grid_tariff": nrg(tariff),
        },
        "market": {
            "mode": draw(st.sampled_from(MARKET_MODES)),
            "min_trade_wh": draw(st.integers(min_value=1, max_value=30)),
            "split_offers": draw(st.booleans()),
        },
        "weather": {"cloudiness": draw(st.floats(min_value=0, max_value=1))},
        "forecast": {"pv_error": draw(st.floats(min_value=0, max_value=1))},
        "faults": {
            "cloudy_slots": draw(st.lists(st.integers(min_value=0, max_value=slots - 1), unique=True)),
            "under_delivery": [{"household": "solar-001", "factor": draw(st.floats(min_value=0, max_value=0.99))}],
        },
    }
    return parse_scenario(data, SOURCE)


def test_generation_minus_load_equals_export_minus_import_in_every_slot():
    plan = simulate_energy(scenario())
    assert np.array_equal(plan.generated_wh - plan.load_wh, plan.export_wh - plan.import_wh)


def test_a_meter_never_imports_and_exports_in_the_same_slot():
    plan = simulate_energy(scenario())
    assert not np.any((plan.export_wh > 0) & (plan.import_wh > 0))


def test_forecast_export_and_import_are_the_forecast_surplus_and_shortfall():
    plan = simulate_energy(scenario())
    net = plan.forecast_generated_wh - plan.forecast_load_wh
    assert np.array_equal(plan.forecast_export_wh, np.maximum(net, 0))
    assert np.array_equal(plan.forecast_import_wh, np.maximum(-net, 0))


def test_registers_grow_by_each_slots_import_and_export():
    plan = simulate_energy(scenario())
    for slot in range(plan.n_slots):
        before, after = plan.registers(2, slot - 1), plan.registers(2, slot)
        assert (after[0] - before[0], after[1] - before[1]) == (plan.import_wh[2, slot], plan.export_wh[2, slot])


def test_the_baseline_reading_is_a_seeded_nonzero_import_register():
    baselines = [simulate_energy(scenario(seed=seed)).registers(0, -1)[0] for seed in (1, 2)]
    assert 0 < baselines[0] != baselines[1]


def test_households_without_pv_start_with_an_empty_export_register():
    made = scenario()
    plan = simulate_energy(made)
    assert plan.registers(made.household_index("home-001"), -1)[1] == 0


def test_registers_outside_the_run_are_refused():
    plan = simulate_energy(scenario())
    with pytest.raises(IndexError, match=r"outside -1\.\.23"):
        plan.registers(0, 24)


def test_plan_arrays_are_read_only():
    plan = simulate_energy(scenario())
    with pytest.raises(ValueError, match="read-only"):
        plan.generated_wh[0, 0] = 1


def test_another_seed_gives_other_energy():
    assert not np.array_equal(simulate_energy(scenario(seed=1)).load_wh, simulate_energy(scenario(seed=2)).load_wh)


def test_adding_a_household_changes_nothing_for_the_others():
    extra = {"name": "late", "pv_kwp": 4.0, "load_kwh_per_day": 6.0}
    alone, with_extra = simulate_energy(scenario()), simulate_energy(scenario([*STREET, extra]))
    assert np.array_equal(alone.generated_wh, with_extra.generated_wh[:-1])
    assert np.array_equal(alone.load_wh, with_extra.load_wh[:-1])


def test_a_cloudy_slot_lowers_actual_generation_in_that_slot_only():
    clear = simulate_energy(scenario())
    cloudy = simulate_energy(scenario(faults={"cloudy_slots": [5], "cloud_factor": 0.2}))
    solar = slice(0, 4)
    assert np.all(cloudy.generated_wh[solar, 5] < clear.generated_wh[solar, 5])
    assert np.array_equal(np.delete(cloudy.generated_wh, 5, axis=1), np.delete(clear.generated_wh, 5, axis=1))


def test_the_forecast_does_not_expect_the_cloudy_slot():
    clear = simulate_energy(scenario())
    cloudy = simulate_energy(scenario(faults={"cloudy_slots": [5]}))
    assert np.array_equal(cloudy.forecast_generated_wh, clear.forecast_generated_wh)


def test_panels_generate_nothing_at_night():
    night = simulate_energy(scenario(start_hour=21.0, slots=32))  # 21:00 to 05:00
    assert not night.generated_wh.any()


def test_generation_peaks_around_solar_noon():
    plan = simulate_energy(scenario(start_hour=0.0, slots=24, slot_length_s=3_600, weather={"cloudiness": 0}))
    assert 11 <= int(np.argmax(plan.generated_wh[0])) <= 14


def test_a_days_load_is_close_to_the_households_load_per_day():
    home = [{"name": "solar", "pv_kwp": 1.0, "load_kwh_per_day": 10.0}]
    plan = simulate_energy(scenario(home, start_hour=0.0, slots=96))
    assert plan.load_wh[0].sum() == pytest.approx(10_000, rel=0.1)


def test_an_ev_adds_one_charging_session_to_the_load():
    base = {"name": "solar", "pv_kwp": 1.0, "load_kwh_per_day": 5.0}
    ev = {**base, "ev": {"kwh_per_session": 10.0, "charger_kw": 3.7, "arrival_hour": 12.0}}
    without = simulate_energy(scenario([base], start_hour=6.0, slots=72)).load_wh[0]
    charging = simulate_energy(scenario([ev], start_hour=6.0, slots=72)).load_wh[0] - without
    assert np.all(charging >= 0)
    assert 0.7 * 10_000 - 72 <= charging.sum() <= 1.3 * 10_000 + 72  # sessions are 70..130 % of kwh_per_session


def test_with_no_forecast_error_the_forecast_is_the_actual_energy():
    plan = simulate_energy(scenario(forecast={"pv_error": 0, "load_error": 0}))
    assert np.array_equal(plan.forecast_export_wh, plan.export_wh)
    assert np.array_equal(plan.forecast_import_wh, plan.import_wh)


def test_an_under_delivering_seller_exports_at_most_its_factor_of_the_forecast():
    made = scenario(faults={"under_delivery": [{"household": "solar-002", "factor": 0.5}]})
    plan = simulate_energy(made)
    row = made.household_index("solar-002")
    assert plan.forecast_export_wh[row].sum() > 0
    assert np.all(plan.export_wh[row] <= plan.forecast_export_wh[row] // 2)


def test_the_clear_sky_curve_is_zero_before_sunrise_and_after_sunset():
    assert clear_sky(np.array([5.9, 20.1])).tolist() == [0.0, 0.0]


def test_the_load_shape_averages_to_one_over_a_day():
    assert load_shape(np.arange(0, 24, 0.01)).mean() == pytest.approx(1.0, rel=1e-3)


def test_a_full_day_has_slots_of_surplus_and_slots_of_shortfall():
    plan = simulate_energy(scenario([{"name": "solar", "count": 20, "pv_kwp": 5, "load_kwh_per_day": 8}], slots=96))
    assert plan.export_wh.any() and plan.import_wh.any()


@settings(database=None, deadline=None, max_examples=40)
@given(made=small_scenarios())
def test_every_scenario_balances_with_non_negative_energy_and_monotonic_registers(made):
    plan = simulate_energy(made)
    assert np.array_equal(plan.generated_wh - plan.load_wh, plan.export_wh - plan.import_wh)
    for quantity in (plan.generated_wh, plan.load_wh, plan.forecast_export_wh, plan.forecast_import_wh):
        assert quantity.min() >= 0
    assert np.all(np.diff(plan.import_register_wh, axis=1) >= 0)
    assert np.all(np.diff(plan.export_register_wh, axis=1) >= 0)
    assert plan.import_register_wh.max() < 2**64
