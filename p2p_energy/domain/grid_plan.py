"""The plan on a network: power flows with the market and without it, and the market kept within the network.

What the market changes on the wires. A local trade moves money, not
electrons: the meters of a household without a price-aware battery measure
the same import and export with the market and without it (the bills'
grid-only baseline is "the same meter flows, no market"), so its trades
change no power flow. What the market does change is what price-aware
batteries do: they sell from storage into expected-short slots and buy into
storage in expected-long ones only because there is a market to trade with.
So the power flow *without the market* is the plan's with every battery in
self-consumption (`plan_energy(scenario, no storage trading)`), and *with the
market* the plan itself. In a scenario without price-aware batteries the two
are the same, and the report says so.

A violation the market caused: in a slot, a bus above the band, a bus below
it, or a line or transformer above 100 %, with the market, that is not so,
or less so, without it (`caused_violations`).

`[grid] limits = "network"`: the market may not cause a violation. The
storage trades that would are refused and the batteries serve their own
household instead. This is checked by the power flow itself, not by a
linearisation: plan, solve every slot, and for each slot with a violation
the market caused, refuse the storage trading in that slot of every
household whose injection there differs from the no-market plan (or, when a
household already may not trade in that slot and still differs, because
earlier trades left its battery emptier or fuller, its latest earlier
trade); then plan and solve again, until no slot has one. Each round
refuses at least one (household, slot) it allowed before, and a household
that trades in no slot up to s injects in s exactly what it does without
the market, so the rounds end, at worst with the no-market plan. Every
refusal is kept (`NetworkStop`: slot, household, the element that
triggered it, the storage Wh refused) for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.grid_flow import LOADING_TOLERANCE, VOLTAGE_TOLERANCE, Flows, bus_injections_mw, power_flows
from p2p_energy.domain.grid_network import Feeder, build_feeder, pandapower_network, place
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario

PlanEnergy = Callable[[Scenario, NDArray[np.bool_] | None], EnergyPlan]


@dataclass(frozen=True)
class NetworkStop:
    """Storage trading of household `household` (row) refused in `slot` because of `element`; `wh` as forecast."""

    slot: int
    household: int
    element: str
    wh: int


@dataclass(frozen=True, eq=False)
class GridOutcome:
    """The power flows of every slot with the market and without it, and what the network limits refused."""

    feeder: Feeder
    with_market: Flows
    without_market: Flows
    voltage_band: float
    limits: str
    stops: tuple[NetworkStop, ...] = ()
    #: False when the market changed no household's injection in any slot (no price-aware battery traded).
    market_moves_power: bool = False


def plan_on_network(scenario: Scenario, plan_energy: PlanEnergy) -> EnergyPlan:
    """The scenario's plan with its power flows; within the network's limits when `[grid] limits = "network"`."""
    grid = scenario.grid
    assert grid.network is not None
    net = pandapower_network(grid.network)
    buses = place(net, scenario.household_names, grid.buses, lambda name: scenario.rng("grid", name))
    feeder = build_feeder(grid.network, buses, net)
    plan = plan_energy(scenario, None)
    trading = any(h.battery is not None and h.battery.strategy == "price_aware" for h in scenario.households)
    base = (
        plan_energy(scenario, np.zeros((len(scenario.households), scenario.slots), dtype=np.bool_)) if trading else plan
    )
    base_load = _load(feeder, base)
    without = power_flows(feeder, base_load, scenario.slot_hours)
    load = _load(feeder, plan)
    with_market = without if np.array_equal(load, base_load) else power_flows(feeder, load, scenario.slot_hours)
    stops: list[NetworkStop] = []
    if grid.limits == "network" and trading:
        plan, with_market, load = _within_limits(
            scenario, plan_energy, feeder, (plan, base), (with_market, without), stops
        )
    outcome = GridOutcome(
        feeder=feeder,
        with_market=with_market,
        without_market=without,
        voltage_band=grid.voltage_band,
        limits=grid.limits,
        stops=tuple(stops),
        market_moves_power=not np.array_equal(load, base_load),
    )
    return replace(plan, grid=outcome)


def _load(feeder: Feeder, plan: EnergyPlan) -> NDArray[np.float64]:
    return bus_injections_mw(feeder, plan.import_wh, plan.export_wh, plan.slot_length_s / 3_600)


def caused_violations(feeder: Feeder, with_market: Flows, without: Flows, band: float) -> dict[int, str]:
    """Slot -> the first element (bus, line, transformer) beyond its limit with the market and not, or less, without."""
    # above the band by more than without the market, or below it by more (a bus may cross from one side to the other)
    high_w, high_b = with_market.bus_vm - (1.0 + band), without.bus_vm - (1.0 + band)
    low_w, low_b = (1.0 - band) - with_market.bus_vm, (1.0 - band) - without.bus_vm
    worse_v = (high_w > np.maximum(high_b, 0.0) + VOLTAGE_TOLERANCE) | (
        low_w > np.maximum(low_b, 0.0) + VOLTAGE_TOLERANCE
    )
    worse_line = with_market.line_loading > np.maximum(without.line_loading, 100.0) + LOADING_TOLERANCE
    worse_trafo = with_market.trafo_loading > np.maximum(without.trafo_loading, 100.0) + LOADING_TOLERANCE
    caused: dict[int, str] = {}
    for names, worse in ((feeder.trafos, worse_trafo), (feeder.lines, worse_line), (feeder.buses, worse_v)):
        for element, slot in zip(*np.nonzero(worse), strict=True):
            caused.setdefault(int(slot), names[int(element)])
    return dict(sorted(caused.items()))


def _within_limits(
    scenario: Scenario,
    plan_energy: PlanEnergy,
    feeder: Feeder,
    plans: tuple[EnergyPlan, EnergyPlan],
    flows: tuple[Flows, Flows],
    stops: list[NetworkStop],
) -> tuple[EnergyPlan, Flows, NDArray[np.float64]]:
    """Refuse storage trading, round by round, until the market causes no violation (see the module's text)."""
    (plan, base), (with_market, without) = plans, flows
    allowed = np.ones((len(scenario.households), scenario.slots), dtype=np.bool_)
    base_net = base.import_wh - base.export_wh
    base_forecast = base.forecast_import_wh - base.forecast_export_wh
    load = _load(feeder, plan)
    while caused := caused_violations(feeder, with_market, without, scenario.grid.voltage_band):
        differs = (plan.import_wh - plan.export_wh) != base_net
        traded = np.abs(plan.forecast_import_wh - plan.forecast_export_wh - base_forecast)
        refused = len(stops)
        for slot, element in caused.items():
            for household in np.flatnonzero(differs[:, slot]).tolist():
                s = (
                    slot
                    if allowed[household, slot]
                    else _last_trade(allowed[household, :slot], traded[household, :slot])
                )
                if s is not None:
                    allowed[household, s] = False
                    stops.append(NetworkStop(s, household, element, int(traded[household, s])))
        if len(stops) == refused:  # cannot happen (see the module's text); never loop for ever
            raise RuntimeError(f"the market still causes violations in slots {sorted(caused)} with nothing to refuse")
        plan = plan_energy(scenario, allowed)
        new_load = _load(feeder, plan)
        with_market = _resolve(feeder, with_market, load, new_load, scenario.slot_hours)
        load = new_load
    return plan, with_market, load


def _last_trade(allowed: NDArray[np.bool_], traded: NDArray[np.int64]) -> int | None:
    """The latest slot in which a household still trades from or into storage (else the latest it may)."""
    trades = np.flatnonzero(allowed & (traded > 0))
    if len(trades):
        return int(trades[-1])
    may = np.flatnonzero(allowed)
    return int(may[-1]) if len(may) else None


def _resolve(
    feeder: Feeder, old: Flows, old_load: NDArray[np.float64], load: NDArray[np.float64], hours: float
) -> Flows:
    """`old` with the slots whose injections changed solved again."""
    changed = np.flatnonzero((old_load != load).any(axis=0))
    if not len(changed):
        return old
    new = power_flows(feeder, load[:, changed], hours)
    bus_vm, lines, trafos, losses = (a.copy() for a in (old.bus_vm, old.line_loading, old.trafo_loading, old.losses_wh))
    bus_vm[:, changed], lines[:, changed], trafos[:, changed] = new.bus_vm, new.line_loading, new.trafo_loading
    losses[changed] = new.losses_wh
    return Flows(bus_vm, lines, trafos, losses)
