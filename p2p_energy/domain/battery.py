"""Home batteries behind the meter: the storage model and its two dispatch strategies.

Everything is in integer Wh per household (rows) and slot (columns), so the
meter balance holds exactly:

    generated + import + discharge == load + export + charge + losses

- `charge_wh` is what storage gains, `discharge_wh` what it loses, and
  `losses_wh` the conversion losses. The round-trip efficiency e is split
  evenly between the two ways (sqrt(e) each): drawing A Wh on the house side
  stores floor(A x sqrt(e)); delivering D Wh to the house takes
  ceil(D / sqrt(e)) out of storage; losses = (A - stored) + (taken - D). A
  battery never draws a Wh it cannot store: it draws the fewest Wh that store
  what it stores.
- `soc_wh` is the stored energy at slot boundaries (slots + 1 columns). It
  stays within [min_soc x capacity, capacity], both rounded inward to whole Wh
  (from the decimal values written in the scenario, so 10 % of 10 kWh is 1,000
  Wh); the initial state of charge is rounded to the nearest Wh inside them.
- In a slot a battery either charges or discharges, never both, and the energy
  it draws or delivers on the house (AC) side is at most power_kw x slot hours.
- The grid flow is what is left: net = generated - load, grid = net - drawn +
  delivered; export = max(grid, 0), import = max(-grid, 0), never both.

Strategies:

- self_consumption: charge from the household's own surplus, discharge into
  its own shortfall; the rest is exported (offered) or imported (bid for).
- price_aware: the same, and in addition it trades from and into storage.
  First every battery is dispatched for self-consumption on the forecast; the
  neighbourhood's gap per slot is then its forecast import minus its forecast
  export. A slot with a gap > 0 is expected short (the local price expected is
  `ask_max`), one with a gap < 0 expected long (the local price expected is
  `ask_min`). A price-aware battery *sells* from storage in short slots if
  ask_max - feed_in_tariff >= its price_margin: it does not charge, covers its
  own shortfall, and delivers up to its power more, which is exported (offered
  on the market). It *buys* into storage in long slots if grid_tariff -
  ask_min >= its price_margin: it does not discharge, and draws up to its power
  more than its own surplus, which is imported (bid for). The sellers of a slot
  together sell at most what the neighbourhood still lacks once every battery
  has served its own household in that slot, and the buyers together buy at
  most what it still has to spare: when they could do more, each gets a share
  in proportion to what it could do (rounded down), so storage trading never
  turns a short slot long or a long one short. A battery with nothing to trade
  in such a slot (empty, full, or a share of 0) serves self-consumption there.

Forecast and actual: the market trades on forecasts and the meters measure
actuals, so the dispatch runs twice, each from the initial state of charge:
on the forecast net (`dispatch_forecast`, which decides the trading slots and
amounts and shapes the forecast export and import) and on the actual net
(`dispatch_actual`), which keeps the forecast's modes and executes its planned
extra sales and purchases as far as the actual state of charge and power
allow. Nothing here is random.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.scenario import PriceSpec
from p2p_energy.domain.scenario_assets import BatterySpec

Wh = NDArray[np.int64]
Modes = NDArray[np.int8]

#: What a battery does in a slot beyond self-consumption (values of `Dispatch.mode`).
SELF, SELL, BUY = 0, 1, -1

#: (slot, state of charge before it) -> Wh each battery may trade with the market in that slot.
_Allowance = Callable[[int, Wh], Wh]


def _exact(value: float) -> Fraction:
    """The decimal a scenario wrote (0.1 is one tenth, not the nearest binary float)."""
    return Fraction(Decimal(repr(value)))


@dataclass(frozen=True, eq=False)
class Fleet:
    """The batteries of k households (one row each, in scenario order) as integer-Wh limits for one slot length."""

    capacity_wh: Wh
    floor_wh: Wh
    initial_wh: Wh
    power_wh: Wh
    one_way: NDArray[np.float64]
    price_aware: NDArray[np.bool_]
    price_margin: NDArray[np.int64]

    @classmethod
    def of(cls, specs: Sequence[BatterySpec], slot_length_s: int) -> Fleet:
        """Capacity rounded down, the floor up, power x slot rounded down, the initial charge to the nearest Wh."""
        capacity = [math.floor(_exact(b.capacity_kwh) * 1_000) for b in specs]
        floor = [
            min(math.ceil(_exact(b.min_soc) * _exact(b.capacity_kwh) * 1_000), top)
            for b, top in zip(specs, capacity, strict=True)
        ]
        initial = [
            min(max(round(_exact(b.initial_soc) * top), low), top)
            for b, low, top in zip(specs, floor, capacity, strict=True)
        ]
        return cls(
            capacity_wh=np.array(capacity, dtype=np.int64),
            floor_wh=np.array(floor, dtype=np.int64),
            initial_wh=np.array(initial, dtype=np.int64),
            power_wh=np.array(
                [math.floor(_exact(b.power_kw) * 1_000 * slot_length_s / 3_600) for b in specs], dtype=np.int64
            ),
            one_way=np.sqrt(np.array([b.efficiency for b in specs], dtype=np.float64)),
            price_aware=np.array([b.strategy == "price_aware" for b in specs], dtype=np.bool_),
            price_margin=np.array([b.price_margin for b in specs], dtype=np.int64),
        )

    @property
    def size(self) -> int:
        return len(self.capacity_wh)


@dataclass(frozen=True, eq=False)
class Dispatch:
    """What a fleet did over a run, integer Wh per battery (rows) and slot; `soc_wh` has slots + 1 columns.

    `mode` is SELL, BUY or SELF per battery and slot: what it did, so a trading
    slot in which it had nothing to trade is a SELF slot.

    `export_wh` and `import_wh` are the household's grid flows after the
    battery; `storage_export_wh` is the part of the export sold from storage
    beyond the household's own shortfall, `storage_import_wh` the part of the
    import bought into storage beyond its own surplus (both 0 outside SELL
    and BUY slots).
    """

    mode: Modes
    charge_wh: Wh
    discharge_wh: Wh
    losses_wh: Wh
    soc_wh: Wh
    export_wh: Wh
    import_wh: Wh
    storage_export_wh: Wh
    storage_import_wh: Wh


_SLOT_FIELDS = (
    "charge_wh",
    "discharge_wh",
    "losses_wh",
    "export_wh",
    "import_wh",
    "storage_export_wh",
    "storage_import_wh",
)


def stored_from(drawn_wh: Wh, one_way: NDArray[np.float64]) -> Wh:
    """Wh that reach storage when `drawn_wh` is drawn on the house side."""
    return np.floor(drawn_wh * one_way).astype(np.int64)


def taken_for(delivered_wh: Wh, one_way: NDArray[np.float64]) -> Wh:
    """Wh that leave storage to deliver `delivered_wh` on the house side."""
    return np.ceil(delivered_wh / one_way).astype(np.int64)


def _draw(most: Wh, room: Wh, one_way: NDArray[np.float64]) -> tuple[Wh, Wh]:
    """(drawn, stored): the fewest Wh (<= most) that store as much as `most` would, within `room`.

    Both conversions are monotone, so the corrections below only step over the
    Wh that float rounding of the first guess got wrong.
    """
    target = np.minimum(stored_from(most, one_way), room)
    drawn = np.minimum(np.ceil(target / one_way).astype(np.int64), most)
    while (low := stored_from(drawn, one_way) < target).any():
        drawn = drawn + low
    while (high := (drawn > 0) & (stored_from(drawn - 1, one_way) >= target)).any():
        drawn = drawn - high
    while (over := stored_from(drawn, one_way) > room).any():
        drawn = drawn - over
    return drawn, stored_from(drawn, one_way)


def _deliver(most: Wh, available: Wh, one_way: NDArray[np.float64]) -> tuple[Wh, Wh]:
    """(delivered, taken): the most Wh (<= most) storage can deliver taking at most `available`."""
    delivered = np.minimum(most, np.floor(available * one_way).astype(np.int64))
    while (over := taken_for(delivered, one_way) > available).any():
        delivered = delivered - over
    while (under := (delivered < most) & (taken_for(delivered + 1, one_way) <= available)).any():
        delivered = delivered + under
    return delivered, taken_for(delivered, one_way)


def _step(fleet: Fleet, soc: Wh, net: Wh, mode: Modes, extra: Wh) -> dict[str, Wh]:
    """One slot: charge from surplus or discharge into shortfall, plus `extra` Wh traded in SELL or BUY slots."""
    surplus, short = np.maximum(net, 0), np.maximum(-net, 0)
    sell, buy = mode == SELL, mode == BUY
    want_in = np.where(sell, 0, surplus + np.where(buy, extra, 0))
    want_out = np.where(buy, 0, short + np.where(sell, extra, 0))
    drawn, stored = _draw(np.minimum(want_in, fleet.power_wh), fleet.capacity_wh - soc, fleet.one_way)
    delivered, taken = _deliver(np.minimum(want_out, fleet.power_wh), soc - fleet.floor_wh, fleet.one_way)
    grid = net - drawn + delivered
    return {
        "charge_wh": stored,
        "discharge_wh": taken,
        "losses_wh": (drawn - stored) + (taken - delivered),
        "export_wh": np.maximum(grid, 0),
        "import_wh": np.maximum(-grid, 0),
        "storage_export_wh": np.where(sell, np.maximum(delivered - short, 0), 0),
        "storage_import_wh": np.where(buy, np.maximum(drawn - surplus, 0), 0),
    }


def _run(fleet: Fleet, net: Wh, modes: Modes, allowance: _Allowance) -> Dispatch:
    """Dispatch slot by slot from the initial state of charge."""
    k, slots = net.shape
    flows = {name: np.zeros((k, slots), dtype=np.int64) for name in _SLOT_FIELDS}
    used = np.zeros((k, slots), dtype=np.int8)
    soc = np.empty((k, slots + 1), dtype=np.int64)
    soc[:, 0] = fleet.initial_wh
    for slot in range(slots):
        extra = allowance(slot, soc[:, slot])
        # Nothing to trade: self-consumption, rather than a battery idle beside a surplus or shortfall.
        used[:, slot] = np.where(extra > 0, modes[:, slot], SELF)
        step = _step(fleet, soc[:, slot], net[:, slot], used[:, slot], extra)
        for name, values in step.items():
            flows[name][:, slot] = values
        soc[:, slot + 1] = soc[:, slot] + step["charge_wh"] - step["discharge_wh"]
    return Dispatch(mode=used, soc_wh=soc, **flows)


def _nothing(_slot: int, soc: Wh) -> Wh:
    return np.zeros_like(soc)


def self_consumption(fleet: Fleet, net: Wh) -> Dispatch:
    """Every battery of `fleet` charging from its household's surplus and discharging into its shortfall."""
    return _run(fleet, net, np.zeros(net.shape, dtype=np.int8), _nothing)


def trading_modes(fleet: Fleet, gap: NDArray[np.int64], prices: PriceSpec) -> Modes:
    """SELL in expected-short slots (gap > 0), BUY in expected-long ones (gap < 0), where a battery's margin allows."""
    sells = fleet.price_aware & (prices.ask_max - prices.feed_in_tariff >= fleet.price_margin)
    buys = fleet.price_aware & (prices.grid_tariff - prices.ask_min >= fleet.price_margin)
    modes = np.zeros((fleet.size, len(gap)), dtype=np.int8)
    modes[np.ix_(sells, gap > 0)] = SELL
    modes[np.ix_(buys, gap < 0)] = BUY
    return modes


def _share(wants: Wh, total: int) -> Wh:
    """`wants`, or when they add up to more than `total`, each its proportional share rounded down."""
    asked = int(wants.sum())
    if asked <= total:
        return wants
    shares: Wh = np.floor(wants * (total / asked)).astype(np.int64)
    return shares


def _shared(fleet: Fleet, net: Wh, modes: Modes, others_gap: NDArray[np.int64]) -> _Allowance:
    """What each trading battery may sell or buy in a slot, given the state of charge it starts with.

    Sellers share what the neighbourhood still lacks once every battery has
    served its own household in the slot, buyers what it still has to spare.
    A battery whose mode is SELF in the slot (`modes`) trades nothing there.
    """

    def allowance(slot: int, soc: Wh) -> Wh:
        mode = modes[:, slot]
        if not mode.any():
            return np.zeros_like(soc)
        alone = _step(fleet, soc, net[:, slot], mode, np.zeros_like(soc))
        gap = int(others_gap[slot]) + int(alone["import_wh"].sum()) - int(alone["export_wh"].sum())
        could = _step(fleet, soc, net[:, slot], mode, fleet.power_wh)
        sold = _share(could["storage_export_wh"], max(gap, 0))
        bought = _share(could["storage_import_wh"], max(-gap, 0))
        return np.where(mode == SELL, sold, np.where(mode == BUY, bought, 0)).astype(np.int64)

    return allowance


def dispatch_forecast(
    fleet: Fleet, net: Wh, others_gap: NDArray[np.int64], prices: PriceSpec, allowed: NDArray[np.bool_] | None = None
) -> Dispatch:
    """The fleet on the forecast `net` (rows as the fleet's), with price-aware trading planned.

    `others_gap` is, per slot, the forecast import minus the forecast export
    of every household without a battery. `allowed` (per battery and slot,
    optional) is False where a battery may not trade from or into storage
    (the network limits of `p2p_energy.domain.grid_limits`): it serves its
    household there as in self-consumption.
    """
    plain = self_consumption(fleet, net)
    if not fleet.price_aware.any():
        return plain
    gap = others_gap + plain.import_wh.sum(axis=0) - plain.export_wh.sum(axis=0)
    modes = trading_modes(fleet, gap, prices)
    if allowed is not None:
        modes = np.where(allowed, modes, SELF).astype(np.int8)
    if not modes.any():
        return plain
    return _run(fleet, net, modes, _shared(fleet, net, modes, others_gap))


def dispatch_actual(fleet: Fleet, net: Wh, planned: Dispatch, export_cap: Wh | None = None) -> Dispatch:
    """The fleet on the actual `net`, executing the trades `planned` on the forecast as far as it can.

    `export_cap` (Wh per battery and slot, optional) bounds what a sale from
    storage may bring the household's export to (an under-delivering seller).
    """
    sell = planned.storage_export_wh
    if export_cap is not None:
        sell = np.minimum(sell, np.maximum(export_cap - np.maximum(net, 0), 0))
    extras = sell + planned.storage_import_wh

    def planned_extra(slot: int, _soc: Wh) -> Wh:
        return extras[:, slot]

    return _run(fleet, net, planned.mode, planned_extra)
