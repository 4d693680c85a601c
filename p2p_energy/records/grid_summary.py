"""A run's power flows (`EnergyPlan.grid`) as its records: `grid_record`, summary.json's "grid"."""

from __future__ import annotations

import numpy as np

from p2p_energy.domain.grid_flow import Flows
from p2p_energy.domain.grid_plan import GridOutcome, caused_violations
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.records.grid_records import (
    GridBusRecord,
    GridElementRecord,
    GridKpis,
    GridRecord,
    GridSlotRecord,
    GridStopRecord,
)

#: Decimal places kept: p.u. to a millionth, % to a thousandth, Wh to a thousandth.
_PU, _PCT, _WH = 6, 3, 3


def grid_record(plan: EnergyPlan) -> GridRecord | None:
    """The plan's power flows as a record; None for a plan without a network."""
    grid = plan.grid
    if grid is None:
        return None
    caused = caused_violations(grid.feeder, grid.with_market, grid.without_market, grid.voltage_band)
    return GridRecord(
        network=grid.feeder.name,
        voltage_band=grid.voltage_band,
        limits=grid.limits,
        has_geodata=grid.feeder.has_geodata,
        market_moves_power=grid.market_moves_power,
        with_market=grid_kpis(grid.with_market, grid.voltage_band),
        without_market=grid_kpis(grid.without_market, grid.voltage_band),
        caused_violation_slots=len(caused),
        stopped_trades=len(grid.stops),
        stopped_wh=sum(stop.wh for stop in grid.stops),
        stopped_slots=sorted({stop.slot for stop in grid.stops}),
        household_buses=list(grid.feeder.household_bus),
        slots=_slots(grid, caused),
        stops=[GridStopRecord(s.slot, plan.households[s.household], s.element, s.wh) for s in grid.stops],
        elements=_elements(grid),
        buses=_buses(grid),
    )


def grid_kpis(flows: Flows, band: float) -> GridKpis:
    """One world's figures over the run."""
    lines, trafos = flows.overloaded()
    line_slots, trafo_slots = lines.any(axis=0), trafos.any(axis=0)
    return GridKpis(
        voltage_violation_slots=int(flows.voltage_out(band).any(axis=0).sum()),
        overload_slots=int((line_slots | trafo_slots).sum()),
        line_overload_slots=int(line_slots.sum()),
        trafo_overload_slots=int(trafo_slots.sum()),
        peak_line_loading_pct=round(float(flows.worst_line.max(initial=0.0)), _PCT),
        peak_trafo_loading_pct=round(float(flows.worst_trafo.max(initial=0.0)), _PCT),
        min_voltage_pu=round(float(flows.vm_min.min(initial=np.inf)), _PU),
        max_voltage_pu=round(float(flows.vm_max.max(initial=-np.inf)), _PU),
        losses_kwh=round(float(flows.losses_wh.sum()) / 1000, _WH),
    )


def _slots(grid: GridOutcome, caused: dict[int, str]) -> list[GridSlotRecord]:
    w, b = grid.with_market, grid.without_market
    lines = grid.feeder.lines
    worst = w.line_loading.argmax(axis=0) if len(lines) else np.zeros(w.losses_wh.shape, dtype=np.int64)
    return [
        GridSlotRecord(
            slot=s,
            vm_min_pu=round(float(w.vm_min[s]), _PU),
            vm_max_pu=round(float(w.vm_max[s]), _PU),
            line_loading_pct=round(float(w.worst_line[s]), _PCT),
            trafo_loading_pct=round(float(w.worst_trafo[s]), _PCT),
            losses_wh=round(float(w.losses_wh[s]), _WH),
            worst_line=lines[int(worst[s])] if lines else "",
            base_vm_min_pu=round(float(b.vm_min[s]), _PU),
            base_vm_max_pu=round(float(b.vm_max[s]), _PU),
            base_line_loading_pct=round(float(b.worst_line[s]), _PCT),
            base_trafo_loading_pct=round(float(b.worst_trafo[s]), _PCT),
            base_losses_wh=round(float(b.losses_wh[s]), _WH),
            caused=caused.get(s, ""),
        )
        for s in range(len(w.losses_wh))
    ]


def _elements(grid: GridOutcome) -> list[GridElementRecord]:
    feeder, xy = grid.feeder, grid.feeder.bus_xy
    kinds = (
        ("line", feeder.lines, feeder.line_ends, grid.with_market.line_loading, grid.without_market.line_loading),
        ("trafo", feeder.trafos, feeder.trafo_ends, grid.with_market.trafo_loading, grid.without_market.trafo_loading),
    )
    return [
        GridElementRecord(
            name=name,
            kind=kind,
            x=(xy[a][0], xy[b][0]),
            y=(xy[a][1], xy[b][1]),
            worst_loading_pct=round(float(loading[i].max(initial=0.0)), _PCT),
            base_worst_loading_pct=round(float(base[i].max(initial=0.0)), _PCT),
        )
        for kind, names, ends, loading, base in kinds
        for i, (name, (a, b)) in enumerate(zip(names, ends, strict=True))
    ]


def _buses(grid: GridOutcome) -> list[GridBusRecord]:
    feeder = grid.feeder
    position = {int(bus): i for i, bus in enumerate(feeder.net.bus.index)}
    vm = grid.with_market.bus_vm
    records = []
    for bus in feeder.loaded_buses:
        i = position[bus]
        records.append(
            GridBusRecord(
                name=feeder.buses[i],
                x=feeder.bus_xy[i][0],
                y=feeder.bus_xy[i][1],
                households=feeder.household_bus.count(bus),
                min_voltage_pu=round(float(np.nanmin(vm[i], initial=np.inf)), _PU),
                max_voltage_pu=round(float(np.nanmax(vm[i], initial=-np.inf)), _PU),
            )
        )
    return records
