"""Bills and KPIs per household and for the neighbourhood, against a grid-only baseline.

Pure arithmetic on the energy plan (what each meter measured), the prices and
the local trades as they settled; no chain is needed. Definitions:

- Local energy. A trade's `delivered_wh` is its share of its lot's delivered
  energy (settlement pays delivered = min(exported, sold) pro rata by Wh;
  0 for a lot refunded in full): see `delivered_shares`. Per household h and
  slot s, `local_in` sums the delivered Wh of the trades where h bought,
  `local_out` those where h sold.
- Grid flows with the market: grid_import = max(import - local_in, 0);
  bought_beyond_need = max(local_in - import, 0) (energy bought but not needed
  flowed on to the grid, so it counts as grid export); grid_export = export -
  local_out + bought_beyond_need. import and export are the meter's.
- Bills, in token base units (8 decimals): with the market = grid_import x
  grid_tariff - grid_export x feed_in_tariff + what h paid for local energy
  (the `paid` of its trades as buyer) + grid fee x local_in - what h received
  as seller (the `paid` of its trades as seller); grid-only baseline = import x
  grid_tariff - export x feed_in_tariff (the same meter flows, no market);
  saving = grid-only - with market. A bill may be negative (the grid owes).
  The grid fee is charged to the buyer per kWh delivered locally, in the bill
  only (not on chain).
- Rounding: each energy amount of a bill (grid import, grid export, local
  energy for the fee) is summed over the run in whole Wh, multiplied by its
  price per kWh exactly and divided by 1000 once, to the nearest base unit
  with halves rounded up; `paid` amounts are the chain's own integers. The
  neighbourhood's bills and fees are the sums of the households' (never
  recomputed from totals), so they add up to the last base unit.
- KPIs (the neighbourhood's from its totals, a household's from its own):
  self_sufficiency = 1 - grid_import / load; self_consumption = 1 -
  grid_export / generated; local_trade_share = local_in / load. Each is
  clamped to [0, 1] (a battery charged from the grid, or energy bought beyond
  need, can push the raw figure outside) and rounded to RATIO_PLACES; None when
  its denominator is 0 (nothing generated, or no load).
  peak_grid_import_kw = the largest grid import of one slot (for the
  neighbourhood: summed over households first) / slot hours / 1000;
  battery_losses_kwh = the batteries' losses over the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario
from p2p_energy.domain.settlement import WH_PER_KWH

#: Decimal places the KPI ratios keep (summary.json stays readable; a millionth is far below noise).
RATIO_PLACES = 6
#: kW to the watt.
KW_PLACES = 3

Wh = NDArray[np.int64]


@dataclass(frozen=True)
class LocalTrade:
    """One trade as the bills see it: households by row, `paid` to the seller in base units."""

    slot: int
    buyer: int
    seller: int
    wh: int
    delivered_wh: int
    paid: int

    def __post_init__(self) -> None:
        if min(self.slot, self.buyer, self.seller, self.wh, self.delivered_wh, self.paid) < 0:
            raise ValueError(f"a local trade has no negative figures, got {self}")
        if self.delivered_wh > self.wh:
            raise ValueError(f"a trade of {self.wh} Wh cannot deliver {self.delivered_wh} Wh")


@dataclass(frozen=True)
class BillPrices:
    """Base units per kWh: what the grid charges for import, pays for export, and charges per local kWh."""

    grid_tariff: int
    feed_in_tariff: int
    grid_fee_per_kwh: int = 0

    @classmethod
    def of(cls, scenario: Scenario) -> BillPrices:
        return cls(scenario.prices.grid_tariff, scenario.prices.feed_in_tariff, scenario.grid.fee_per_kwh)


@dataclass(frozen=True, eq=False)
class MeterFlows:
    """Whole Wh per household (rows) and slot (columns): what each meter and battery saw."""

    generated_wh: Wh
    load_wh: Wh
    import_wh: Wh
    export_wh: Wh
    battery_losses_wh: Wh
    slot_hours: float

    @classmethod
    def of(cls, plan: EnergyPlan) -> MeterFlows:
        return cls(
            generated_wh=plan.generated_wh,
            load_wh=plan.load_wh,
            import_wh=plan.import_wh,
            export_wh=plan.export_wh,
            battery_losses_wh=plan.battery_losses_wh,
            slot_hours=plan.slot_length_s / 3_600,
        )


@dataclass(frozen=True)
class EnergyTotals:
    """Wh over the run; `peak_grid_import_wh` is the largest grid import of one slot."""

    generated_wh: int
    load_wh: int
    import_wh: int
    export_wh: int
    local_in_wh: int
    local_out_wh: int
    grid_import_wh: int
    grid_export_wh: int
    battery_losses_wh: int
    peak_grid_import_wh: int


@dataclass(frozen=True)
class Bill:
    """A bill's parts in base units; `with_market` and `saving` follow from them."""

    grid_only: int
    grid_import_cost: int
    grid_export_credit: int
    local_paid: int
    local_received: int
    grid_fees: int

    @property
    def with_market(self) -> int:
        return self.grid_import_cost - self.grid_export_credit + self.local_paid + self.grid_fees - self.local_received

    @property
    def saving(self) -> int:
        return self.grid_only - self.with_market

    @classmethod
    def total(cls, bills: Sequence[Bill]) -> Bill:
        """The parts summed: a bill of many households is the sum of theirs."""
        return cls(*(sum(getattr(b, f.name) for b in bills) for f in fields(cls)))


@dataclass(frozen=True)
class Kpis:
    """Shares in [0, 1] (None without a denominator), the peak grid import in kW, battery losses in kWh."""

    self_sufficiency: float | None
    self_consumption: float | None
    local_trade_share: float | None
    peak_grid_import_kw: float
    battery_losses_kwh: float

    @classmethod
    def of(cls, energy: EnergyTotals, slot_hours: float) -> Kpis:
        return cls(
            self_sufficiency=_one_minus(energy.grid_import_wh, energy.load_wh),
            self_consumption=_one_minus(energy.grid_export_wh, energy.generated_wh),
            local_trade_share=_share(energy.local_in_wh, energy.load_wh),
            peak_grid_import_kw=round(energy.peak_grid_import_wh / slot_hours / 1_000, KW_PLACES),
            battery_losses_kwh=round(energy.battery_losses_wh / 1_000, 3),
        )


@dataclass(frozen=True)
class HouseholdBill:
    """One household's energy, bill and KPIs over the run (`row` in scenario order)."""

    row: int
    energy: EnergyTotals
    bill: Bill
    kpis: Kpis
    #: Its grid import and export per slot (Wh), whose sums are `energy`'s: the report draws them.
    grid_import_per_slot: tuple[int, ...] = ()
    grid_export_per_slot: tuple[int, ...] = ()


@dataclass(frozen=True)
class NeighbourhoodBills:
    """Every household's bill and the neighbourhood's, which is their sum."""

    households: tuple[HouseholdBill, ...]
    energy: EnergyTotals
    bill: Bill
    kpis: Kpis
    feeder_limit_bound_slots: int


def delivered_shares(delivered_wh: int, trade_wh: Sequence[int]) -> tuple[int, ...]:
    """A lot's delivered Wh split over its trades pro rata by their Wh, in whole Wh that add up exactly.

    Each trade gets floor(delivered x wh / sold); the Wh left over go one each to the trades with
    the largest remainders (the earlier trade first on a tie), so no Wh is lost or made up.
    """
    sold = sum(trade_wh)
    if not 0 <= delivered_wh <= sold:
        raise ValueError(f"a lot that sold {sold} Wh cannot deliver {delivered_wh} Wh")
    if sold == 0:
        return tuple(0 for _ in trade_wh)
    shares = [delivered_wh * wh // sold for wh in trade_wh]
    order = sorted(range(len(trade_wh)), key=lambda i: (-(delivered_wh * trade_wh[i] % sold), i))
    for i in order[: delivered_wh - sum(shares)]:
        shares[i] += 1
    return tuple(shares)


def neighbourhood_bills(
    flows: MeterFlows, trades: Sequence[LocalTrade], prices: BillPrices, feeder_limit_bound_slots: int = 0
) -> NeighbourhoodBills:
    """Bills and KPIs of every household and of the neighbourhood (see the module's definitions)."""
    n, slots = flows.load_wh.shape
    local_in = np.zeros((n, slots), dtype=np.int64)
    local_out = np.zeros((n, slots), dtype=np.int64)
    paid, received = [0] * n, [0] * n
    for t in trades:
        if not (t.buyer < n and t.seller < n and t.slot < slots):
            raise ValueError(f"a trade names a household or slot outside the plan ({n} x {slots}): {t}")
        local_in[t.buyer, t.slot] += t.delivered_wh
        local_out[t.seller, t.slot] += t.delivered_wh
        paid[t.buyer] += t.paid
        received[t.seller] += t.paid
    over = np.argwhere(local_out > flows.export_wh)
    if len(over):
        h, s = (int(i) for i in over[0])
        raise ValueError(
            f"household {h} delivered {local_out[h, s]} Wh in slot {s} but exported {flows.export_wh[h, s]}"
        )
    grid_import = np.maximum(flows.import_wh - local_in, 0)
    grid_export = flows.export_wh - local_out + np.maximum(local_in - flows.import_wh, 0)
    per_row = {
        "generated_wh": flows.generated_wh,
        "load_wh": flows.load_wh,
        "import_wh": flows.import_wh,
        "export_wh": flows.export_wh,
        "local_in_wh": local_in,
        "local_out_wh": local_out,
        "grid_import_wh": grid_import,
        "grid_export_wh": grid_export,
        "battery_losses_wh": flows.battery_losses_wh,
    }
    households = []
    for h in range(n):
        energy = EnergyTotals(
            **{name: int(values[h].sum()) for name, values in per_row.items()},
            peak_grid_import_wh=int(grid_import[h].max(initial=0)),
        )
        bill = _bill(energy, prices, paid[h], received[h])
        households.append(
            HouseholdBill(
                h,
                energy,
                bill,
                Kpis.of(energy, flows.slot_hours),
                grid_import_per_slot=tuple(int(wh) for wh in grid_import[h]),
                grid_export_per_slot=tuple(int(wh) for wh in grid_export[h]),
            )
        )
    total = EnergyTotals(
        **{name: int(values.sum()) for name, values in per_row.items()},
        peak_grid_import_wh=int(grid_import.sum(axis=0).max(initial=0)),
    )
    return NeighbourhoodBills(
        households=tuple(households),
        energy=total,
        bill=Bill.total([h.bill for h in households]),
        kpis=Kpis.of(total, flows.slot_hours),
        feeder_limit_bound_slots=feeder_limit_bound_slots,
    )


def energy_cost(wh: int, price_per_kwh: int) -> int:
    """`wh` at `price_per_kwh` base units per kWh, to the nearest base unit (halves up)."""
    return (wh * price_per_kwh + WH_PER_KWH // 2) // WH_PER_KWH


def _bill(energy: EnergyTotals, prices: BillPrices, paid: int, received: int) -> Bill:
    return Bill(
        grid_only=energy_cost(energy.import_wh, prices.grid_tariff)
        - energy_cost(energy.export_wh, prices.feed_in_tariff),
        grid_import_cost=energy_cost(energy.grid_import_wh, prices.grid_tariff),
        grid_export_credit=energy_cost(energy.grid_export_wh, prices.feed_in_tariff),
        local_paid=paid,
        local_received=received,
        grid_fees=energy_cost(energy.local_in_wh, prices.grid_fee_per_kwh),
    )


def _ratio(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), RATIO_PLACES)


def _share(part: int, whole: int) -> float | None:
    return None if whole <= 0 else _ratio(part / whole)


def _one_minus(part: int, whole: int) -> float | None:
    return None if whole <= 0 else _ratio(1 - part / whole)
