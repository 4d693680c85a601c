"""Scenario keys for what researchers model beyond PV, load and EVs: home batteries, bids, the grid.

Parsed here, used by `scenario.parse_scenario`; every key is optional and a
scenario that uses none of them runs exactly as before (the new random draws
come from streams of their own: ("battery", household) and ("bids", household)).

- `[[households]] battery = {...}`: a home battery behind the household's meter
  (see `p2p_energy.domain.battery` for the two strategies).
- `[prices] bid`: each buyer's willingness to pay per kWh, drawn per household
  and slot from the range (at most `grid_tariff`); `feed_in_tariff`: what the
  grid pays for an exported kWh (used by the bills and by price-aware batteries).
- `[grid]`: the feeder (transformer) limit on local trades per slot, and the
  grid fee per kWh traded locally (charged in the bills, not on chain); and
  `network`, a standard low-voltage network of pandapower's on which every
  slot gets a power flow (`p2p_energy.domain.grid_network`), with the
  households on its load buses (`buses`, or drawn from each household's own
  stream ("grid", household)), the voltage band and the market option
  `limits = "network"` (see docs/grid.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from p2p_energy.domain.grid_network import NETWORKS, load_buses
from p2p_energy.domain.scenario_fields import Limits, Table, show, type_name

BATTERY_STRATEGIES = ("self_consumption", "price_aware")
BATTERY_KEYS = (
    "share",
    "capacity_kwh",
    "power_kw",
    "efficiency",
    "initial_soc",
    "min_soc",
    "strategy",
    "price_margin",
)
GRID_KEYS = ("feeder_limit_kw", "fee_per_kwh", "network", "buses", "voltage_band", "limits")
#: What `[grid] limits` may be: "none" (the market ignores the network) or "network" (see docs/grid.md).
GRID_LIMITS = ("none", "network")
#: EN 50160: the supply voltage stays within +/- 10 % of nominal.
DEFAULT_VOLTAGE_BAND = 0.10
#: NRG per kWh: the same bound as every other price of a scenario.
_MAX_PRICE_NRG = 1_000_000


@dataclass(frozen=True)
class BatterySpec:
    """A home battery: `capacity_kwh` of storage, `power_kw` in and out, `efficiency` round trip.

    `initial_soc` and `min_soc` are shares of the capacity; the battery never
    goes below `min_soc`. `price_margin` (token base units per kWh) is how much
    better than the grid a local price must be for a price-aware battery to
    trade from or into storage.
    """

    capacity_kwh: float
    power_kw: float
    efficiency: float
    initial_soc: float
    min_soc: float
    strategy: str
    price_margin: int


@dataclass(frozen=True)
class GridSpec:
    """The feeder limit (kW of local trades per slot; None: unlimited) and the grid fee (base units per kWh).

    `network` names a low-voltage network (None: no power flow); `buses` places
    the households on its load buses, one per household in scenario order
    (empty: each household draws its bus); a bus voltage is in the band when
    it is within 1 +/- `voltage_band` p.u.; `limits` is "network" when the
    market keeps within the network's limits.
    """

    feeder_limit_kw: float | None = None
    fee_per_kwh: int = 0
    network: str | None = None
    buses: tuple[int, ...] = ()
    voltage_band: float = DEFAULT_VOLTAGE_BAND
    limits: str = "none"

    def feeder_limit_wh(self, slot_hours: float) -> int | None:
        """The most Wh that may trade locally in one slot, or None."""
        if self.feeder_limit_kw is None:
            return None
        return int(self.feeder_limit_kw * 1_000 * slot_hours)


BatteryBounds = tuple[float, tuple[float, float], tuple[float, float], float, float, float, str, int]


def battery_group(battery: Table) -> BatteryBounds:
    """A group's `battery` table: share, ranges of capacity and power, and the rest as given."""
    battery.check_keys(BATTERY_KEYS)
    share = battery.number("share", Limits(low=0, high=1, unit="chance that a household of the group has one"), 1.0)
    capacity = battery.number_or_range("capacity_kwh", Limits(low=0, low_open=True, high=10_000, unit="kWh"), 10.0)
    power = battery.number_or_range("power_kw", Limits(low=0, low_open=True, high=10_000, unit="kW"), 5.0)
    efficiency = battery.number("efficiency", Limits(low=0, low_open=True, high=1, unit="round trip"), 0.9)
    initial = battery.number("initial_soc", Limits(low=0, high=1, unit="share of capacity"), 0.5)
    minimum = battery.number("min_soc", Limits(low=0, high=1, high_open=True, unit="share of capacity"), 0.1)
    if initial < minimum:
        battery.fail("initial_soc", f"{initial} is below min_soc ({minimum})", "a share >= min_soc")
    strategy = battery.choice("strategy", BATTERY_STRATEGIES, "self_consumption")
    margin = battery.nrg("price_margin", Limits(low=0, high=_MAX_PRICE_NRG), "0.02", what="NRG per kWh")
    return share, capacity, power, efficiency, initial, minimum, strategy, margin


def grid(table: Table) -> GridSpec:
    """The `[grid]` table."""
    table.check_keys(GRID_KEYS)
    limit = (
        table.number("feeder_limit_kw", Limits(low=0, low_open=True, high=1_000_000, unit="kW"))
        if "feeder_limit_kw" in table.data
        else None
    )
    fee = table.nrg("fee_per_kwh", Limits(low=0, high=_MAX_PRICE_NRG), "0", what="NRG per kWh traded locally")
    network = _network(table)
    for key in ("buses", "voltage_band", "limits"):
        if network is None and key in table.data:
            table.fail(
                key, "is set but [grid] names no network", f'a network = "..." beside it ({", ".join(NETWORKS)})'
            )
    return GridSpec(
        feeder_limit_kw=limit,
        fee_per_kwh=fee,
        network=network,
        buses=_buses(table, network) if network is not None and "buses" in table.data else (),
        voltage_band=table.number(
            "voltage_band", Limits(low=0, low_open=True, high=0.5, unit="p.u. either side of 1"), DEFAULT_VOLTAGE_BAND
        ),
        limits=table.choice("limits", GRID_LIMITS, "none"),
    )


def _network(table: Table) -> str | None:
    if "network" not in table.data:
        return None
    return table.choice("network", tuple(NETWORKS))


def _buses(table: Table, network: str) -> tuple[int, ...]:
    """The `buses` list: a load bus of `network` per household (their number is checked by the scenario)."""
    allowed_buses = load_buses(network)
    shown = ", ".join(map(str, allowed_buses[:8])) + (", ..." if len(allowed_buses) > 8 else "")
    allowed = f"an array of load-bus numbers of {network} ({shown}), one per household in file order"
    value = table.data["buses"]
    if not isinstance(value, list):
        table.fail("buses", f"{show(value)} is a {type_name(value)}, not an array", allowed)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            table.fail("buses", f"{show(item)} is a {type_name(item)}, not a bus number", allowed)
        if item not in allowed_buses:
            table.fail("buses", f"bus {item} is not a load bus of {network}", allowed)
    return tuple(value)
