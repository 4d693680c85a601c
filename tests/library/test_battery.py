"""Home batteries: the meter balance, state-of-charge and power bounds, losses, both strategies, and the plan."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.domain.battery import BUY, SELF, SELL, Fleet, dispatch_actual, dispatch_forecast, self_consumption
from p2p_energy.domain.profiles import EnergyPlan, simulate_energy
from p2p_energy.domain.scenario import PriceSpec, parse_scenario
from p2p_energy.domain.scenario_assets import BatterySpec
from tests.library.test_profiles import small_scenarios

SOURCE = Path("test.toml")
#: asks 0.10..0.20, grid 0.30, feed-in 0.08 NRG per kWh (8 decimals)
PRICES = PriceSpec(ask_min=10_000_000, ask_max=20_000_000, grid_tariff=30_000_000, funding=10**10)
SLOT_S = 900


def battery(**changes):
    """10 kWh, 5 kW (1,250 Wh per 15-min slot), 90 % round trip, half full, floor 10 %."""
    values = {
        "capacity_kwh": 10.0,
        "power_kw": 5.0,
        "efficiency": 0.9,
        "initial_soc": 0.5,
        "min_soc": 0.1,
        "strategy": "self_consumption",
        "price_margin": 2_000_000,
    }
    return BatterySpec(**{**values, **changes})


def wh(rows):
    return np.array(rows, dtype=np.int64)


def scenario(households, **top):
    return parse_scenario({"seed": 11, "slots": 96, "start_hour": 0.0, "households": households, **top}, SOURCE)


def without_batteries(made):
    return dataclasses.replace(made, households=tuple(dataclasses.replace(h, battery=None) for h in made.households))


# ------------------------------------------------------------------ random fleets


@st.composite
def battery_specs(draw, efficiency=None):
    floor = draw(st.floats(min_value=0, max_value=0.9))
    return battery(
        capacity_kwh=draw(st.floats(min_value=0.5, max_value=20)),
        power_kw=draw(st.floats(min_value=0.2, max_value=10)),
        efficiency=draw(efficiency or st.one_of(st.just(1.0), st.floats(min_value=0.3, max_value=1.0))),
        min_soc=floor,
        initial_soc=draw(st.floats(min_value=floor, max_value=1.0)),
        strategy=draw(st.sampled_from(["self_consumption", "price_aware"])),
        price_margin=draw(st.integers(min_value=0, max_value=25_000_000)),
    )


@st.composite
def fleet_days(draw, efficiency=None):
    """(fleet, specs, slot length, forecast and actual (generated, load), the others' gap): a random small day."""
    k = draw(st.integers(min_value=1, max_value=4))
    slots = draw(st.integers(min_value=1, max_value=12))
    slot_length_s = draw(st.sampled_from([300, 900, 3_600]))
    specs = [draw(battery_specs(efficiency)) for _ in range(k)]
    energy = st.lists(st.integers(min_value=0, max_value=6_000), min_size=k * slots, max_size=k * slots)
    series = [wh(draw(energy)).reshape(k, slots) for _ in range(4)]
    gap = wh(draw(st.lists(st.integers(min_value=-20_000, max_value=20_000), min_size=slots, max_size=slots)))
    return Fleet.of(specs, slot_length_s), specs, slot_length_s, series, gap


def both_runs(fleet, series, gap):
    """[(generated, load, dispatch)] for the forecast run and the actual run that executes it."""
    forecast_generated, forecast_load, generated, load = series
    planned = dispatch_forecast(fleet, forecast_generated - forecast_load, gap, PRICES)
    done = dispatch_actual(fleet, generated - load, planned)
    return [(forecast_generated, forecast_load, planned), (generated, load, done)]


FAST = settings(database=None, deadline=None, max_examples=60)


@FAST
@given(day=fleet_days())
def test_the_meter_balance_holds_in_every_slot_of_both_runs(day):
    fleet, _, _, series, gap = day
    for generated, load, d in both_runs(fleet, series, gap):
        supply = generated + d.import_wh + d.discharge_wh
        assert np.array_equal(supply, load + d.export_wh + d.charge_wh + d.losses_wh)


@FAST
@given(day=fleet_days())
def test_a_meter_never_imports_and_exports_in_the_same_slot(day):
    fleet, _, _, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        assert d.export_wh.min() >= 0 and d.import_wh.min() >= 0
        assert not np.any((d.export_wh > 0) & (d.import_wh > 0))


@FAST
@given(day=fleet_days())
def test_the_state_of_charge_follows_the_flows_and_stays_between_floor_and_capacity(day):
    fleet, specs, _, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        assert np.array_equal(np.diff(d.soc_wh, axis=1), d.charge_wh - d.discharge_wh)
        for row, spec in enumerate(specs):
            capacity = spec.capacity_kwh * 1_000
            assert spec.min_soc * capacity - 1e-6 <= d.soc_wh[row].min()
            assert d.soc_wh[row].max() <= capacity + 1e-6


@FAST
@given(day=fleet_days())
def test_a_battery_never_charges_and_discharges_in_the_same_slot(day):
    fleet, _, _, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        assert not np.any((d.charge_wh > 0) & (d.discharge_wh > 0))


@FAST
@given(day=fleet_days())
def test_the_house_side_energy_of_a_slot_never_exceeds_the_power_limit(day):
    fleet, specs, slot_length_s, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        house_side = np.where(d.charge_wh > 0, d.charge_wh + d.losses_wh, d.discharge_wh - d.losses_wh)
        for row, spec in enumerate(specs):
            assert house_side[row].max() <= spec.power_kw * 1_000 * slot_length_s / 3_600 + 1e-6


@FAST
@given(day=fleet_days())
def test_storage_gains_and_losses_follow_the_square_root_split_of_the_round_trip(day):
    fleet, specs, _, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        for row, spec in enumerate(specs):
            one_way = math.sqrt(spec.efficiency)
            for slot in range(d.charge_wh.shape[1]):
                stored, taken, lost = (int(a[row, slot]) for a in (d.charge_wh, d.discharge_wh, d.losses_wh))
                if stored:
                    assert math.floor((stored + lost) * one_way) == stored
                if taken:
                    assert math.ceil((taken - lost) / one_way) == taken


@FAST
@given(day=fleet_days(efficiency=st.just(1.0)))
def test_a_lossless_battery_loses_nothing(day):
    fleet, _, _, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        assert not d.losses_wh.any()


@FAST
@given(day=fleet_days(efficiency=st.floats(min_value=0.3, max_value=0.98)))
def test_a_lossy_battery_loses_energy_in_every_slot_it_moves_some(day):
    fleet, _, _, series, gap = day
    for _, _, d in both_runs(fleet, series, gap):
        moved = (d.charge_wh > 0) | (d.discharge_wh > 0)
        assert np.all(d.losses_wh[moved] > 0)
        assert not d.losses_wh[~moved].any()


# ------------------------------------------------------------------ the model by hand


def test_limits_are_whole_wh_from_the_decimals_written():
    fleet = Fleet.of([battery(capacity_kwh=10.0, min_soc=0.1, initial_soc=0.35, power_kw=5.0)], SLOT_S)
    assert (fleet.capacity_wh[0], fleet.floor_wh[0], fleet.initial_wh[0], fleet.power_wh[0]) == (
        10_000,
        1_000,
        3_500,
        1_250,
    )


def test_a_battery_charges_from_surplus_and_discharges_into_shortfall():
    d = self_consumption(Fleet.of([battery(efficiency=1.0)], SLOT_S), wh([[800, -600]]))
    assert (d.charge_wh.tolist(), d.discharge_wh.tolist()) == ([[800, 0]], [[0, 600]])
    assert (d.export_wh.tolist(), d.import_wh.tolist()) == ([[0, 0]], [[0, 0]])


def test_a_full_battery_exports_the_surplus():
    d = self_consumption(Fleet.of([battery(initial_soc=1.0)], SLOT_S), wh([[800]]))
    assert (d.charge_wh[0, 0], d.export_wh[0, 0]) == (0, 800)


def test_a_battery_at_its_floor_leaves_the_shortfall_to_the_grid():
    d = self_consumption(Fleet.of([battery(initial_soc=0.1)], SLOT_S), wh([[-600]]))
    assert (d.discharge_wh[0, 0], d.import_wh[0, 0]) == (0, 600)


def test_self_consumption_lowers_import_and_export_on_a_sunny_day():
    home = {"name": "home", "pv_kwp": 6.0, "load_kwh_per_day": 9.0, "battery": {"capacity_kwh": 8.0}}
    made = scenario([home], weather={"cloudiness": 0.0})
    stored, plain = simulate_energy(made), simulate_energy(without_batteries(made))
    assert stored.import_wh.sum() < plain.import_wh.sum()
    assert stored.export_wh.sum() < plain.export_wh.sum()


# ------------------------------------------------------------------ price-aware trading


def test_a_price_aware_battery_sells_from_storage_in_an_expected_short_slot():
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.9)], SLOT_S)
    d = dispatch_forecast(fleet, wh([[0]]), wh([5_000]), PRICES)
    assert d.mode[0, 0] == SELL
    assert d.export_wh[0, 0] == d.storage_export_wh[0, 0] == 1_250  # its full power, all offered
    assert d.discharge_wh[0, 0] > 1_250  # what left storage, losses included


def test_a_price_aware_battery_buys_into_storage_in_an_expected_long_slot():
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.2)], SLOT_S)
    d = dispatch_forecast(fleet, wh([[0]]), wh([-5_000]), PRICES)
    assert d.mode[0, 0] == BUY
    assert d.import_wh[0, 0] == d.storage_import_wh[0, 0] == 1_250
    assert 0 < d.charge_wh[0, 0] < 1_250


def test_a_self_consumption_battery_does_not_trade_from_storage():
    fleet = Fleet.of([battery(initial_soc=0.9)], SLOT_S)
    d = dispatch_forecast(fleet, wh([[0, 0]]), wh([5_000, -5_000]), PRICES)
    assert (d.mode == SELF).all() and not d.export_wh.any() and not d.import_wh.any()


@pytest.mark.parametrize(("margin", "trades"), [(12_000_000, True), (12_000_001, False)])
def test_a_price_aware_battery_sells_only_when_the_short_price_beats_feed_in_by_its_margin(margin, trades):
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.9, price_margin=margin)], SLOT_S)
    d = dispatch_forecast(fleet, wh([[0]]), wh([5_000]), PRICES)  # ask_max 0.20 - feed-in 0.08
    assert bool(d.storage_export_wh.any()) is trades


@pytest.mark.parametrize(("margin", "trades"), [(20_000_000, True), (20_000_001, False)])
def test_a_price_aware_battery_buys_only_when_the_long_price_is_below_the_tariff_by_its_margin(margin, trades):
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.2, price_margin=margin)], SLOT_S)
    d = dispatch_forecast(fleet, wh([[0]]), wh([-5_000]), PRICES)  # grid 0.30 - ask_min 0.10
    assert bool(d.storage_import_wh.any()) is trades


def test_sellers_from_storage_share_the_shortfall_and_never_make_the_slot_long():
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.9)] * 3, SLOT_S)
    d = dispatch_forecast(fleet, wh([[0], [0], [0]]), wh([1_000]), PRICES)
    assert d.storage_export_wh[:, 0].tolist() == [333, 333, 333]


def test_the_actual_run_repeats_the_forecast_when_the_energy_is_as_forecast():
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.6)], SLOT_S)
    net = wh([[300, 0, -400, 0]])
    planned = dispatch_forecast(fleet, net, wh([-2_000, 5_000, 5_000, -5_000]), PRICES)
    done = dispatch_actual(fleet, net, planned)
    assert np.array_equal(done.soc_wh, planned.soc_wh) and np.array_equal(done.mode, planned.mode)


def test_the_actual_run_sells_only_what_storage_still_holds():
    fleet = Fleet.of([battery(strategy="price_aware", capacity_kwh=2.0, initial_soc=0.9)], SLOT_S)
    planned = dispatch_forecast(fleet, wh([[0, 0]]), wh([0, 5_000]), PRICES)
    done = dispatch_actual(fleet, wh([[-1_000, 0]]), planned)  # an unforecast shortfall drains it first
    assert 0 < done.storage_export_wh[0, 1] < planned.storage_export_wh[0, 1]
    assert done.soc_wh[0, -1] == fleet.floor_wh[0]


def test_a_sale_from_storage_keeps_within_an_export_cap():
    fleet = Fleet.of([battery(strategy="price_aware", initial_soc=0.9)], SLOT_S)
    planned = dispatch_forecast(fleet, wh([[200]]), wh([5_000]), PRICES)
    done = dispatch_actual(fleet, wh([[200]]), planned, export_cap=wh([[500]]))
    assert done.export_wh[0, 0] == 500


# ------------------------------------------------------------------ in the plan


@st.composite
def scenarios_with_batteries(draw):
    """small_scenarios (faults, under-delivery, every market mode) where any household may have a battery."""
    made = draw(small_scenarios())
    households = tuple(dataclasses.replace(h, battery=draw(st.none() | battery_specs())) for h in made.households)
    return dataclasses.replace(made, households=households)


@settings(database=None, deadline=None, max_examples=30)
@given(made=scenarios_with_batteries())
def test_every_plan_with_batteries_balances_at_every_meter(made):
    p = simulate_energy(made)
    supply = p.generated_wh + p.import_wh + p.battery_discharge_wh
    assert np.array_equal(supply, p.load_wh + p.export_wh + p.battery_charge_wh + p.battery_losses_wh)
    assert p.generated_wh.min() >= 0 and not np.any((p.export_wh > 0) & (p.import_wh > 0))
    assert np.all(np.diff(p.export_register_wh, axis=1) == p.export_wh)


@settings(database=None, deadline=None, max_examples=30)
@given(made=scenarios_with_batteries())
def test_an_under_delivering_seller_with_a_battery_exports_at_most_its_factor_of_the_forecast(made):
    p = simulate_energy(made)
    (under,) = made.faults.under_delivery
    row = made.household_index(under.household)
    assert np.all(p.export_wh[row] <= np.floor(under.factor * p.forecast_export_wh[row]))


def test_households_without_a_battery_have_all_zero_battery_arrays():
    made = scenario([{"name": "h", "count": 4, "pv_kwp": 4.0, "load_kwh_per_day": 8.0, "battery": {"share": 0.5}}])
    p = simulate_energy(made)
    bare = [i for i, h in enumerate(made.households) if h.battery is None]
    assert bare and not p.battery_soc_wh[bare].any() and not p.battery_charge_wh[bare].any()


def test_a_scenario_without_batteries_gives_the_plan_of_one_with_its_batteries_removed():
    group = {"name": "h", "count": 6, "pv_kwp": [2.0, 6.0], "load_kwh_per_day": 8.0}
    plain = simulate_energy(scenario([group]))
    removed = simulate_energy(without_batteries(scenario([{**group, "battery": {"strategy": "price_aware"}}])))
    for name in (f.name for f in dataclasses.fields(EnergyPlan)):
        assert np.array_equal(getattr(plain, name), getattr(removed, name)), name


def test_batteries_change_no_random_draw():
    group = {"name": "h", "count": 6, "pv_kwp": [2.0, 6.0], "load_kwh_per_day": 8.0, "battery": {}}
    made = scenario([group])
    stored, plain = simulate_energy(made), simulate_energy(without_batteries(made))
    for name in ("clear_sky_index", "generated_wh", "load_wh", "forecast_generated_wh", "forecast_load_wh"):
        assert np.array_equal(getattr(stored, name), getattr(plain, name)), name
    assert np.array_equal(stored.import_register_wh[:, 0], plain.import_register_wh[:, 0])


def test_a_plan_made_without_battery_arrays_gets_zero_ones_of_its_shape():
    plan = simulate_energy(scenario([{"name": "h", "pv_kwp": 3.0, "load_kwh_per_day": 5.0}], slots=4))
    fields = {f.name: getattr(plan, f.name) for f in dataclasses.fields(EnergyPlan) if "battery" not in f.name}
    bare = EnergyPlan(**fields)
    assert bare.battery_charge_wh.shape == (1, 4) and bare.battery_soc_wh.shape == (1, 5)
    assert not bare.battery_losses_wh.any()


def test_a_battery_groups_share_gives_about_that_share_of_households_a_battery():
    made = scenario([{"name": "h", "count": 4_000, "load_kwh_per_day": 5.0, "pv_kwp": 1.0, "battery": {"share": 0.3}}])
    assert sum(h.battery is not None for h in made.households) / 4_000 == pytest.approx(0.3, abs=0.03)
