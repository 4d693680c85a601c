"""The city-scale day on a network of its size, side by side with the same run without power flows.

`p2p-energy bench` runs city-day as it is (`bench_city`), then the same
scenario with `[grid] network = "lv_schutterwald"` (pandapower's
Schutterwald LV network: 14 substations, 1,506 load buses, for city-day's
1,000 households), one after the other on the same machine. The issue's
target: the run with a power flow in every slot takes at most twice the
wall time of the run without (anvil's start and deployment included in
both). Planning (`phases["planning"]`) is where the power flows go.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from p2p_energy.bench_city import CityDay
from p2p_energy.domain.scenario import Scenario
from p2p_energy.output.timings import phases
from p2p_energy.records.run_records import RunResult

#: The network city-day runs on in the bench.
CITY_NETWORK = "lv_schutterwald"
#: The issue's target: wall time with power flows / wall time without.
TARGET_GRID_RATIO = 2.0
_PLANNING = "planning"


@dataclass(frozen=True)
class CityGrid:
    """city-day with and without a power flow per slot: wall times (s), planning times (s), the network's figures."""

    scenario: str
    network: str
    households: int
    plain_total_s: float
    network_total_s: float
    plain_planning_s: float
    network_planning_s: float
    voltage_violation_slots: int
    overload_slots: int
    losses_kwh: float

    @property
    def ratio(self) -> float:
        return self.network_total_s / self.plain_total_s

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 3)}


def on_network(scenario: Scenario, network: str = CITY_NETWORK) -> Scenario:
    """`scenario` with its households on `network` (each on a load bus drawn from its own stream)."""
    return replace(scenario, grid=replace(scenario.grid, network=network))


def city_grid_of(plain: CityDay, result: RunResult, total_s: float) -> CityGrid:
    """The side-by-side figures from the plain run's and the networked run's."""
    grid = result.grid
    if grid is None:
        raise ValueError("the networked run has no power flows")
    return CityGrid(
        scenario=plain.scenario,
        network=grid.network,
        households=plain.households,
        plain_total_s=plain.total_s,
        network_total_s=total_s,
        plain_planning_s=plain.phases.get(_PLANNING, 0.0),
        network_planning_s=phases(result.wall_time_s, result.timings).get(_PLANNING, 0.0),
        voltage_violation_slots=grid.with_market.voltage_violation_slots,
        overload_slots=grid.with_market.overload_slots,
        losses_kwh=grid.with_market.losses_kwh,
    )


def grid_rows(grid: CityGrid | None) -> list[tuple[str, str, str]]:
    """The bench table's rows for the side-by-side run."""
    if grid is None:
        return []
    name = f"{grid.scenario} on {grid.network}"
    return [
        (
            f"{name}: wall time with a power flow per slot",
            f"{grid.network_total_s:.0f} s",
            f"{grid.plain_total_s:.0f} s without ({grid.ratio:.2f}x)",
        ),
        (
            f"{name}: planning (the power flows)",
            f"{grid.network_planning_s:.1f} s",
            f"{grid.plain_planning_s:.1f} s without",
        ),
        (
            f"{name}: the network with the market",
            f"{grid.losses_kwh:,.1f} kWh lost",
            f"{grid.voltage_violation_slots} slots outside the band, {grid.overload_slots} over 100 %",
        ),
    ]
