"""Energy per household and slot: what each meter will measure, and what each household expected.

The market trades on forecasts (a seller offers the surplus it expects, a
buyer asks for the shortfall it expects) while settlement pays for what the
meter measured, so both are made here, from the same seeded streams:

- PV: kWp x a clear-sky bell between sunrise (6 h) and sunset (20 h), averaged
  over the slot, x a neighbourhood clear-sky index that follows one cloud
  cover per slot (an AR(1) process, so clouds last a while), x a per-household
  local variation and performance ratio. Faults cut actual PV: in
  `faults.cloudy_slots` by `faults.cloud_factor`, which no forecast expected.
- Load: `load_kwh_per_day` spread over a daily shape with a morning and an
  evening peak (shifted by up to an hour per household), with per-slot noise;
  an EV adds one charging session a day (arrival around its `arrival_hour`,
  energy around `kwh_per_session`, at `charger_kw` until done).
- At a `[site]` (see `p2p_energy.domain.scenario_site`), PV is pvlib's for the
  household's panels at the site on the date (`p2p_energy.domain.solar`), with
  the cloud cover's clear-sky index applied to the irradiance (a weather file
  replaces both), x the household's local variation (around 1) and performance
  ratio; a household's load is its standard profile's share of its annual kWh
  (`p2p_energy.domain.loads`), shifted and with noise as above, or its measured
  series as it is. A scenario without `[site]` and `[loads]` draws and computes
  exactly as before.
- Forecasts: actual (before faults) x (1 + error x N(0, 1)), with the
  scenario's relative errors; EV sessions are planned, so forecast exactly.
- Home batteries (`p2p_energy.domain.battery`) sit behind the meter: they are
  dispatched on the forecast (which shapes what the household offers and bids
  for) and on the actual energy (which shapes what the meter measures).
- Under-delivering sellers export at most `factor` x their forecast export:
  whatever they would export above that is generation they curtail.

Everything is rounded to whole Wh before the meter quantities are derived, so
for every household and slot, exactly,
generated + import + battery discharge == load + export + battery charge + battery losses;
for a household without a battery (all three 0) that is generated - load == export - import.
Each household draws from its own stream ("energy", name); the weather from
("weather",): adding a household changes nothing for the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.battery import Dispatch, Fleet, dispatch_actual, dispatch_forecast
from p2p_energy.domain.scenario import EvSpec, HouseholdSpec, Scenario
from p2p_energy.domain.scenario_site import MEASURED, STANDARD_PROFILES, SYNTHETIC, annual_kwh

if TYPE_CHECKING:
    from p2p_energy.domain.grid_plan import GridOutcome

SUNRISE_H = 6.0
SUNSET_H = 20.0
#: Hours over which the neighbourhood's cloud cover loses most of its memory.
CLOUD_MEMORY_H = 2.0
#: Samples per hour used to average the daily shapes over a slot.
_SAMPLES_PER_HOUR = 12
#: ... and pvlib's PV (at least 2 a slot): 2 per 15 minutes stay within 0.1 Wh per kWp of 1-minute sampling.
_PV_SAMPLES_PER_HOUR = 8
#: Load-shape shifts a household may have (hours); quantized so shapes are computed once per shift.
_SHIFTS_H = np.linspace(-1.0, 1.0, 9)
#: Per-slot variation of a household's load (log-normal sigma) and of its sky around the neighbourhood's.
_LOAD_NOISE_SIGMA = 0.25
_LOCAL_SKY_SIGMA = 0.05
#: An export cap no household reaches (households without an under-delivery fault).
_NO_CAP = 2**62
_BATTERY_FIELDS = ("battery_charge_wh", "battery_discharge_wh", "battery_losses_wh", "battery_soc_wh")

Wh = NDArray[np.int64]
_DailyShape = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def clear_sky(hour_of_day: NDArray[np.float64]) -> NDArray[np.float64]:
    """Share of a panel's peak power under a clear sky, 0 at night, 1 at solar noon."""
    x = (hour_of_day - SUNRISE_H) / (SUNSET_H - SUNRISE_H)
    return np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 1.5, 0.0)


def _bump(hour_of_day: NDArray[np.float64], centre: float, width: float) -> NDArray[np.float64]:
    distance = (hour_of_day - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (distance / width) ** 2)


def _raw_load_shape(hour_of_day: NDArray[np.float64]) -> NDArray[np.float64]:
    return (
        0.45
        + 0.9 * _bump(hour_of_day, 7.5, 1.2)
        + 0.35 * _bump(hour_of_day, 13.0, 2.5)
        + 1.3 * _bump(hour_of_day, 19.5, 1.8)
    )


_LOAD_SHAPE_MEAN = float(_raw_load_shape(np.arange(0.0, 24.0, 1 / 60)).mean())


def load_shape(hour_of_day: NDArray[np.float64]) -> NDArray[np.float64]:
    """Household demand relative to its daily mean (the mean over a day is 1)."""
    return _raw_load_shape(hour_of_day) / _LOAD_SHAPE_MEAN


def _no_battery() -> Wh:
    """Stands for "not given": `EnergyPlan` fills it in with zeros of the plan's shape."""
    return np.zeros((0, 0), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class EnergyPlan:
    """Integer Wh per household (rows, in scenario order) and slot (columns); arrays are read-only.

    Meter registers are cumulative: column 0 is the baseline before slot 0,
    column s + 1 the value at the end of slot s. The battery arrays (see
    `p2p_energy.domain.battery` for their meaning) are the actual ones, 0 for a
    household without a battery; `battery_soc_wh` has slots + 1 columns. A plan
    built without them (as tests do) gets all-zero battery arrays.
    """

    households: tuple[str, ...]
    slot_length_s: int
    start_hour: float
    clear_sky_index: NDArray[np.float64]
    generated_wh: Wh
    load_wh: Wh
    export_wh: Wh
    import_wh: Wh
    forecast_generated_wh: Wh
    forecast_load_wh: Wh
    forecast_export_wh: Wh
    forecast_import_wh: Wh
    import_register_wh: Wh
    export_register_wh: Wh
    battery_charge_wh: Wh = field(default_factory=_no_battery)
    battery_discharge_wh: Wh = field(default_factory=_no_battery)
    battery_losses_wh: Wh = field(default_factory=_no_battery)
    battery_soc_wh: Wh = field(default_factory=_no_battery)
    #: The power flows of every slot on the scenario's network (None without `[grid] network`).
    grid: GridOutcome | None = None

    def __post_init__(self) -> None:
        households, slots = self.generated_wh.shape
        for name in _BATTERY_FIELDS:
            if getattr(self, name).size == 0:
                columns = slots + 1 if name == "battery_soc_wh" else slots
                object.__setattr__(self, name, np.zeros((households, columns), dtype=np.int64))
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def n_households(self) -> int:
        return len(self.households)

    @property
    def n_slots(self) -> int:
        return int(self.generated_wh.shape[1])

    def index(self, household: str) -> int:
        """Row of `household`."""
        try:
            return self.households.index(household)
        except ValueError:
            raise KeyError(f"no household named {household!r}") from None

    def registers(self, household: int, slot: int) -> tuple[int, int]:
        """(import_cum_wh, export_cum_wh) of `household`'s meter at the end of `slot`; slot -1 is the baseline."""
        if not -1 <= slot < self.n_slots:
            raise IndexError(f"slot {slot} is outside -1..{self.n_slots - 1}")
        if not 0 <= household < self.n_households:
            raise IndexError(f"household {household} is outside 0..{self.n_households - 1}")
        return int(self.import_register_wh[household, slot + 1]), int(self.export_register_wh[household, slot + 1])


def _slot_means(scenario: Scenario, shape: _DailyShape, shift_h: float = 0.0) -> NDArray[np.float64]:
    """Mean of a daily `shape` over each slot, sampled `_SAMPLES_PER_HOUR` times an hour (at least 4 per slot)."""
    samples = max(4, math.ceil(scenario.slot_hours * _SAMPLES_PER_HOUR))
    starts = scenario.start_hour + np.arange(scenario.slots) * scenario.slot_hours
    offsets = (np.arange(samples) + 0.5) / samples * scenario.slot_hours
    return np.asarray(shape((starts[:, None] + offsets[None, :] - shift_h) % 24.0).mean(axis=1))


def _clear_sky_index(scenario: Scenario) -> NDArray[np.float64]:
    """Neighbourhood clear-sky index per slot (1 clear .. 0.25 overcast) from a persistent cloud cover."""
    rho = math.exp(-scenario.slot_hours / CLOUD_MEMORY_H)
    shocks = scenario.rng("weather").standard_normal(scenario.slots)
    latent = np.empty(scenario.slots)
    latent[0] = shocks[0]
    for slot in range(1, scenario.slots):
        latent[slot] = rho * latent[slot - 1] + math.sqrt(1 - rho * rho) * shocks[slot]
    cover = np.clip(scenario.weather.cloudiness * (1 + 0.8 * latent), 0.0, 1.0)
    return np.asarray(1.0 - 0.75 * cover)


def _ev_wh(scenario: Scenario, ev: EvSpec | None, rng: np.random.Generator) -> NDArray[np.float64]:
    """Energy an EV draws in each slot: one session a day (from the evening before the run), at full power."""
    if ev is None:
        return np.zeros(scenario.slots)
    days = math.floor(scenario.slot_start_hour(scenario.slots) / 24.0) + 2
    arrive = 24.0 * np.arange(-1, days - 1) + ev.arrival_hour + np.clip(0.5 * rng.standard_normal(days), -1.5, 1.5)
    leave = arrive + ev.kwh_per_session * (0.7 + 0.6 * rng.random(days)) / ev.charger_kw
    slot_start = scenario.start_hour + np.arange(scenario.slots) * scenario.slot_hours
    slot_end = slot_start + scenario.slot_hours
    overlap_h = np.minimum(leave[:, None], slot_end[None, :]) - np.maximum(arrive[:, None], slot_start[None, :])
    return np.asarray(1_000.0 * ev.charger_kw * np.clip(overlap_h, 0.0, None).sum(axis=0))


def _rounded(values: NDArray[np.float64]) -> Wh:
    return np.rint(values).astype(np.int64)


@dataclass(frozen=True, eq=False)
class _Draws:
    """What the households' own streams gave, before rounding: PV, load, EV and forecast errors, and the baselines."""

    pv: NDArray[np.float64]
    load: NDArray[np.float64]
    ev: NDArray[np.float64]
    pv_error: NDArray[np.float64]
    load_error: NDArray[np.float64]
    baseline: NDArray[np.int64]


class _Sun:
    """Clear-sky PV of each household before its local sky and performance: the bell, or pvlib's at the site."""

    def __init__(self, scenario: Scenario, sky: NDArray[np.float64]) -> None:
        self.slot_h = scenario.slot_hours
        self.clear = _slot_means(scenario, clear_sky)
        self.per_kwp: NDArray[np.float64] | None = None
        if scenario.site is not None and scenario.clock is not None:
            from p2p_energy.domain.solar import pv_wh_per_kwp

            tilt = np.array([h.pv_tilt_deg or 0.0 for h in scenario.households])
            azimuth = np.array([h.pv_azimuth_deg or 0.0 for h in scenario.households])
            samples = max(2, math.ceil(scenario.slot_hours * _PV_SAMPLES_PER_HOUR))
            self.per_kwp = pv_wh_per_kwp(scenario.site, scenario.clock, tilt, azimuth, sky, samples)

    def wh(self, i: int, household: HouseholdSpec) -> NDArray[np.float64]:
        if self.per_kwp is None:
            return np.asarray(household.pv_kwp * 1_000.0 * self.slot_h * self.clear)
        return np.asarray(household.pv_kwp * self.per_kwp[i])


class _Loads:
    """Each household's load before its noise: the synthetic shape, a standard profile or its measured series."""

    def __init__(self, scenario: Scenario) -> None:
        self.slot_h = scenario.slot_hours
        self.synthetic = np.stack([_slot_means(scenario, load_shape, shift) for shift in _SHIFTS_H])
        self.standard: dict[str, NDArray[np.float64]] = {}
        self.year = scenario.site.date.year if scenario.site is not None else 0
        self.measured = scenario.loads.measured
        used = {h.load_profile for h in scenario.households} & set(STANDARD_PROFILES)
        if used and scenario.clock is not None:
            from p2p_energy.domain.loads import standard_shares

            for profile in sorted(used):
                self.standard[profile] = standard_shares(profile, scenario.loads.country, scenario.clock, _SHIFTS_H)

    def wh(self, household: HouseholdSpec, shift: int, noise: NDArray[np.float64]) -> NDArray[np.float64]:
        """`household`'s load (Wh per slot) with the `shift`-th shift of the day and log-normal `noise`."""
        profile = household.load_profile
        if profile == SYNTHETIC:
            return np.asarray(household.load_kwh_per_day * 1_000.0 * self.slot_h / 24.0 * self.synthetic[shift] * noise)
        if profile == MEASURED and self.measured is not None:
            return self.measured.of(household.name)
        annual_wh = annual_kwh(household.load_kwh_per_day, self.year) * 1_000.0
        return np.asarray(annual_wh * self.standard[profile][shift] * noise)


def _draw_households(scenario: Scenario, sky: NDArray[np.float64]) -> _Draws:
    n, slots = len(scenario.households), scenario.slots
    sun = _Sun(scenario, sky)
    shapes = _Loads(scenario)
    pv = np.empty((n, slots))
    load = np.empty((n, slots))
    ev = np.empty((n, slots))
    pv_error = np.empty((n, slots))
    load_error = np.empty((n, slots))
    baseline = np.zeros((2, n), dtype=np.int64)
    for i, household in enumerate(scenario.households):
        rng = scenario.rng("energy", household.name)
        local_sky, load_noise, pv_err, load_err = rng.standard_normal((4, slots))
        performance, shift, import_base, export_base = rng.random(4)
        ev[i] = _ev_wh(scenario, household.ev, rng)
        local = np.clip((1.0 if sun.per_kwp is not None else sky) + _LOCAL_SKY_SIGMA * local_sky, 0.05, 1.0)
        pv[i] = sun.wh(i, household) * local * (0.8 + 0.15 * performance)
        noise = np.exp(_LOAD_NOISE_SIGMA * load_noise - _LOAD_NOISE_SIGMA**2 / 2)  # log-normal with mean 1
        load[i] = shapes.wh(household, int(shift * len(_SHIFTS_H)) % len(_SHIFTS_H), noise)
        pv_error[i], load_error[i] = pv_err, load_err
        baseline[0, i] = 1_000_000 + int(import_base * 30_000_000)
        baseline[1, i] = int(export_base * 10_000_000) if household.has_pv else 0
    return _Draws(pv, load, ev, pv_error, load_error, baseline)


@dataclass(frozen=True, eq=False)
class _Batteries:
    """The households with a battery (their rows) and the batteries themselves."""

    rows: list[int]
    fleet: Fleet

    @classmethod
    def of(cls, scenario: Scenario) -> _Batteries:
        rows = [i for i, h in enumerate(scenario.households) if h.battery is not None]
        specs = [battery for h in scenario.households if (battery := h.battery) is not None]
        return cls(rows, Fleet.of(specs, scenario.slot_length_s))

    def forecast(
        self, scenario: Scenario, net: Wh, allowed: NDArray[np.bool_] | None
    ) -> tuple[Wh, Wh, Dispatch | None]:
        """Forecast (export, import) of every household, and the batteries' dispatch on the forecast.

        `allowed` (households x slots, optional): False where a battery may not trade from or into storage.
        """
        exported, imported = np.maximum(net, 0), np.maximum(-net, 0)
        if not self.rows:
            return exported, imported, None
        others = np.ones(len(net), dtype=np.bool_)
        others[self.rows] = False
        gap = imported[others].sum(axis=0) - exported[others].sum(axis=0)
        mask = None if allowed is None else allowed[self.rows]
        planned = dispatch_forecast(self.fleet, net[self.rows], gap, scenario.prices, mask)
        exported[self.rows], imported[self.rows] = planned.export_wh, planned.import_wh
        return exported, imported, planned

    def actual(self, net: Wh, planned: Dispatch | None, caps: Wh) -> tuple[Wh, Wh, Dispatch | None]:
        """Actual (export, import) of every household, and the batteries' dispatch executing `planned`."""
        exported, imported = np.maximum(net, 0), np.maximum(-net, 0)
        if planned is None:
            return exported, imported, None
        done = dispatch_actual(self.fleet, net[self.rows], planned, caps[self.rows])
        exported[self.rows], imported[self.rows] = done.export_wh, done.import_wh
        return exported, imported, done

    def per_household(self, done: Dispatch | None, shape: tuple[int, int]) -> tuple[Wh, Wh, Wh, Wh]:
        """(charge, discharge, losses, state of charge) of every household, 0 without a battery."""
        n, slots = shape
        charge, discharge, losses = (np.zeros((n, slots), dtype=np.int64) for _ in range(3))
        soc = np.zeros((n, slots + 1), dtype=np.int64)
        if done is not None:
            charge[self.rows], discharge[self.rows], losses[self.rows] = (
                done.charge_wh,
                done.discharge_wh,
                done.losses_wh,
            )
            soc[self.rows] = done.soc_wh
        return charge, discharge, losses, soc


def _export_caps(scenario: Scenario, forecast_export: Wh) -> Wh:
    """The most each household may export per slot: `factor` x its forecast export for an under-delivering seller."""
    caps = np.full(forecast_export.shape, _NO_CAP, dtype=np.int64)
    for under in scenario.faults.under_delivery:
        i = scenario.household_index(under.household)
        caps[i] = np.floor(under.factor * forecast_export[i]).astype(np.int64)
    return caps


def simulate_energy(scenario: Scenario) -> EnergyPlan:
    """Actual and forecast energy of every household in every slot, its battery and its meter registers.

    With a `[grid] network`, the plan also carries the power flow of every
    slot, with the market and without it (`EnergyPlan.grid`), and with
    `[grid] limits = "network"` its batteries trade only what the network
    carries (`p2p_energy.domain.grid_plan`).
    """
    if scenario.grid.network is None:
        return plan_energy(scenario)
    from p2p_energy.domain.grid_plan import plan_on_network  # pandapower only for scenarios with a network

    return plan_on_network(scenario, plan_energy)


def plan_energy(scenario: Scenario, storage_trading: NDArray[np.bool_] | None = None) -> EnergyPlan:
    """The energy plan without power flows; `storage_trading` (households x slots, optional) is False
    where a price-aware battery may not trade from or into storage (all False: the plan without a market)."""
    measured_sky = scenario.site is not None and scenario.site.weather is not None
    sky = np.ones(scenario.slots) if measured_sky else _clear_sky_index(scenario)
    draws = _draw_households(scenario, sky)
    cloudy = np.ones(scenario.slots)
    cloudy[list(scenario.faults.cloudy_slots)] = scenario.faults.cloud_factor

    forecast = scenario.forecast
    forecast_generated = _rounded(draws.pv * np.clip(1 + forecast.pv_error * draws.pv_error, 0.0, None))
    forecast_load = _rounded(draws.load * np.clip(1 + forecast.load_error * draws.load_error, 0.0, None) + draws.ev)
    batteries = _Batteries.of(scenario)
    forecast_export, forecast_import, planned = batteries.forecast(
        scenario, forecast_generated - forecast_load, storage_trading
    )

    generated = _rounded(draws.pv * cloudy[None, :])
    consumed = _rounded(draws.load + draws.ev)
    caps = _export_caps(scenario, forecast_export)
    exported, imported, done = batteries.actual(generated - consumed, planned, caps)
    # An under-delivering seller curtails the generation it would export above its cap. Sales from
    # storage stay within the cap (dispatch_actual), so the excess is always generation and the balance holds.
    excess = np.maximum(exported - caps, 0)
    generated, exported = generated - excess, exported - excess
    charge, discharge, losses, soc = batteries.per_household(done, generated.shape)

    def registers(base: NDArray[np.int64], per_slot: Wh) -> Wh:
        return np.concatenate([base[:, None], base[:, None] + np.cumsum(per_slot, axis=1)], axis=1)

    return EnergyPlan(
        households=scenario.household_names,
        slot_length_s=scenario.slot_length_s,
        start_hour=scenario.start_hour,
        clear_sky_index=sky * cloudy,
        generated_wh=generated,
        load_wh=consumed,
        export_wh=exported,
        import_wh=imported,
        forecast_generated_wh=forecast_generated,
        forecast_load_wh=forecast_load,
        forecast_export_wh=forecast_export,
        forecast_import_wh=forecast_import,
        import_register_wh=registers(draws.baseline[0], imported),
        export_register_wh=registers(draws.baseline[1], exported),
        battery_charge_wh=charge,
        battery_discharge_wh=discharge,
        battery_losses_wh=losses,
        battery_soc_wh=soc,
    )
