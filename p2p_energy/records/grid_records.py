"""The power flows of a run on its network, as records (summary.json's "grid"; docs/grid.md).

The figures are computed in `p2p_energy.domain.grid_plan` and `grid_flow`
(pandapower); here they are plain data that outlive the run. Like
`records`, this module depends only on the ground floor, so a report folder
reads back without pandapower. Voltages are in p.u., loadings in % of the
element's rating, losses in Wh (per slot) or kWh (over the run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class GridKpis:
    """One world's figures over the run: with the market, or without it (the grid-only baseline).

    `voltage_violation_slots`: slots with a bus outside the band; `overload_slots`: slots with a
    line or the transformer above 100 % (`line_overload_slots`, `trafo_overload_slots`: each kind).
    """

    voltage_violation_slots: int
    overload_slots: int
    line_overload_slots: int
    trafo_overload_slots: int
    peak_line_loading_pct: float
    peak_trafo_loading_pct: float
    min_voltage_pu: float
    max_voltage_pu: float
    losses_kwh: float

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class GridSlotRecord:
    """One slot's power flow with the market and without it (`base_*`); `caused` names the element
    the market put beyond its limit ("" when none)."""

    slot: int
    vm_min_pu: float
    vm_max_pu: float
    line_loading_pct: float
    trafo_loading_pct: float
    losses_wh: float
    worst_line: str
    base_vm_min_pu: float
    base_vm_max_pu: float
    base_line_loading_pct: float
    base_trafo_loading_pct: float
    base_losses_wh: float
    caused: str = ""

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class GridStopRecord:
    """Storage trading the network limits refused: `household`'s battery in `slot`, because of `element`."""

    slot: int
    household: str
    element: str
    wh: int

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class GridElementRecord:
    """A line or transformer as drawn: its ends' positions and its highest loading over the run (%)."""

    name: str
    kind: str
    x: tuple[float, float]
    y: tuple[float, float]
    worst_loading_pct: float
    base_worst_loading_pct: float

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class GridBusRecord:
    """A bus with households on it, as drawn: its position, its households, its voltage range with the market."""

    name: str
    x: float
    y: float
    households: int
    min_voltage_pu: float
    max_voltage_pu: float

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class GridRecord:
    """The run on its network: figures with and without the market, per slot, refusals, the drawing."""

    network: str
    voltage_band: float
    limits: str
    has_geodata: bool
    #: False when the market changed no household's injection (no price-aware battery traded):
    #: then both worlds' power flows are the same.
    market_moves_power: bool
    with_market: GridKpis
    without_market: GridKpis
    #: Slots in which the market put a bus, line or transformer beyond its limit (0 with limits = "network").
    caused_violation_slots: int
    #: Storage trades (a battery's offer or bid in one slot) the network limits refused, their Wh
    #: (as forecast) and the slots they were in; `stops` says which household and element.
    stopped_trades: int = 0
    stopped_wh: int = 0
    stopped_slots: list[int] = field(default_factory=list)
    household_buses: list[int] = field(default_factory=list)
    slots: list[GridSlotRecord] = field(default_factory=list)
    stops: list[GridStopRecord] = field(default_factory=list)
    elements: list[GridElementRecord] = field(default_factory=list)
    buses: list[GridBusRecord] = field(default_factory=list)

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def stopped_at(self) -> dict[str, int]:
        """Element -> storage Wh refused because of it."""
        totals: dict[str, int] = {}
        for stop in self.stops:
            totals[stop.element] = totals.get(stop.element, 0) + stop.wh
        return totals


def _world(kpis: GridKpis) -> str:
    return (
        f"{kpis.voltage_violation_slots:,} slots outside the band, {kpis.overload_slots:,} over 100 % "
        f"(peak line {kpis.peak_line_loading_pct:,.1f} %, transformer {kpis.peak_trafo_loading_pct:,.1f} %), "
        f"losses {kpis.losses_kwh:,.2f} kWh"
    )


def grid_lines(grid: GridRecord) -> list[str]:
    """The network's figures with and without the market, and what the limits refused, for the terminal."""
    lines = [
        f"network {grid.network} (voltage band 1 +/- {grid.voltage_band:g} p.u., limits {grid.limits!r}):",
        f"  with the market: {_world(grid.with_market)}",
        f"  without it:      {_world(grid.without_market)}",
    ]
    if grid.limits == "network":
        at = ", ".join(f"{element} {wh / 1000:,.2f} kWh" for element, wh in sorted(grid.stopped_at().items()))
        lines.append(
            f"  network limits refused {grid.stopped_trades:,} storage trades ({grid.stopped_wh / 1000:,.2f} kWh)"
            + (f" at {at}" if at else "")
            + f"; violations the market caused: {grid.caused_violation_slots:,} slots"
        )
    else:
        lines.append(f"  slots in which the market caused a violation: {grid.caused_violation_slots:,}")
    return lines
