"""The neighbourhood's bills and KPIs as a record of a run, and the checks that its bills add up.

The figures are defined and computed in `p2p_energy.domain.bills`; here they are plain
data that outlive the run (summary.json's "kpis"). Like `records`, this module depends
only on the ground floor, so a report folder reads back without the domain. Money is in
token base units (8 decimals), repeated as NRG strings (`<name>_nrg`) in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

#: The KPIs that are shares of something, in [0, 1] or None (nothing to share).
RATIOS = ("self_sufficiency", "self_consumption", "local_trade_share")
#: A household's bill figures in base units (HouseholdRecord's fields and `saving`), repeated in NRG.
HOUSEHOLD_BILL_NRG = (
    *("bill_grid_only", "bill_with_market", "saving", "local_paid", "local_received", "grid_fees"),
    *("grid_import_cost", "grid_export_credit"),
)


@dataclass(frozen=True)
class KpiRecord:
    """The neighbourhood's KPIs and bills over the run (summary.json's "kpis").

    Shares are in [0, 1], None when their denominator is 0 (nothing generated, no load).
    `bills_*` and `grid_fees` are the sums of the households' bills and fees;
    `local_paid` is what buyers paid for local energy, `local_received` what sellers
    received for it (the same tokens); `local_wh` the energy delivered locally;
    `bill_savings_vs_grid` = bills_grid_only - bills_with_market.
    """

    self_sufficiency: float | None
    self_consumption: float | None
    local_trade_share: float | None
    peak_grid_import_kw: float
    bills_grid_only: int
    bills_with_market: int
    grid_fees: int
    local_paid: int
    local_received: int
    battery_losses_kwh: float
    feeder_limit_bound_slots: int
    load_wh: int
    generated_wh: int
    grid_import_wh: int
    grid_export_wh: int
    local_wh: int

    NRG_FIELDS: ClassVar[tuple[str, ...]] = (
        "bill_savings_vs_grid",
        "bills_grid_only",
        "bills_with_market",
        "grid_fees",
        "local_paid",
        "local_received",
    )

    def __post_init__(self) -> None:
        check_ratios(self, RATIOS)
        counts = ("grid_fees", "local_paid", "local_received", "feeder_limit_bound_slots", "load_wh", "generated_wh")
        for name in (*counts, "grid_import_wh", "grid_export_wh", "local_wh"):
            if getattr(self, name) < 0:
                raise ValueError(f"KpiRecord.{name} must not be negative, got {getattr(self, name)}")
        for name in ("peak_grid_import_kw", "battery_losses_kwh"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"KpiRecord.{name} must be a finite number >= 0, got {value}")

    @property
    def bill_savings_vs_grid(self) -> int:
        """What the local market saved the neighbourhood against buying and selling at the grid's prices."""
        return self.bills_grid_only - self.bills_with_market


def check_ratios(record: object, names: Sequence[str]) -> None:
    """Each of `names` is None or a share in [0, 1]."""
    for name in names:
        value = getattr(record, name)
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{type(record).__name__}.{name} must be a share in [0, 1] or None, got {value}")


class _PaidTrade(Protocol):
    @property
    def paid(self) -> int: ...


class _DeliveredSlot(Protocol):
    @property
    def delivered_wh(self) -> int: ...


class _HouseholdBill(Protocol):
    """The figures of `records.HouseholdRecord` the checks read (named here, so bills need no records)."""

    @property
    def local_paid(self) -> int: ...
    @property
    def local_received(self) -> int: ...
    @property
    def grid_fees(self) -> int: ...
    @property
    def local_in_wh(self) -> int: ...
    @property
    def delivered_wh(self) -> int: ...
    @property
    def bill_with_market(self) -> int: ...
    @property
    def bill_grid_only(self) -> int: ...
    @property
    def grid_import_wh(self) -> int: ...
    @property
    def grid_export_wh(self) -> int: ...


def bill_checks(
    kpis: KpiRecord,
    trades: Sequence[_PaidTrade],
    slots: Sequence[_DeliveredSlot],
    households: Sequence[_HouseholdBill],
) -> dict[str, bool]:
    """The bills add up: money and energy of the trades, the households and the neighbourhood agree.

    What buyers paid for local energy is what the trades paid sellers (the refunded part of a
    locked cost is paid by nobody), and with the grid fees on top it is what sellers received
    plus the fees; the households' bills sum to the neighbourhood's; the energy buyers received
    locally is what the sellers' meters proved delivered.
    """
    bought = sum(h.local_paid for h in households)
    received = sum(h.local_received for h in households)
    fees = sum(h.grid_fees for h in households)
    local_in = sum(h.local_in_wh for h in households)
    return {
        "buyers paid for local energy what the trades paid sellers": bought
        == received
        == sum(t.paid for t in trades)
        == kpis.local_paid
        == kpis.local_received,
        "buyers' payments incl. grid fees equal sellers' receipts plus grid fees": bought + fees
        == received + kpis.grid_fees,
        "households' bills add up to the neighbourhood's": sum(h.bill_with_market for h in households)
        == kpis.bills_with_market
        and sum(h.bill_grid_only for h in households) == kpis.bills_grid_only,
        "energy bought locally is what the sellers' meters proved delivered": local_in
        == sum(h.delivered_wh for h in households)
        == sum(s.delivered_wh for s in slots)
        == kpis.local_wh,
        "households' grid import and export add up to the neighbourhood's": sum(h.grid_import_wh for h in households)
        == kpis.grid_import_wh
        and sum(h.grid_export_wh for h in households) == kpis.grid_export_wh,
    }
