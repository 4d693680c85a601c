"""What one simulated day did, as plain records that outlive the chain they ran on.

The runner fills these from receipts and events; the report writes them out
and reads them back. Every amount is an integer (Wh, token base units with 8
decimals, gas), so totals add up exactly and a JSON round trip loses nothing.
Token amounts are repeated as NRG decimal strings (`<field>_nrg`) in JSON and
CSV for people; those copies, like the computed totals, are ignored on reload.

A record checks its own arithmetic when it is made (for example a trade's
paid + refunded == cost, the settlement rule's invariant), so a runner bug
shows up where the record is built rather than as a wrong figure in a report.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any, ClassVar

from p2p_energy.limits import trade_index
from p2p_energy.records.bill_records import HOUSEHOLD_BILL_NRG, RATIOS, KpiRecord, bill_checks, check_ratios
from p2p_energy.records.clock_records import ClockRecord
from p2p_energy.records.fees import ChainFee, RunFees, run_fees
from p2p_energy.records.grid_records import GridRecord
from p2p_energy.records.record_json import ADDED_LATER as ADDED_LATER
from p2p_energy.records.record_json import RecordError as RecordError
from p2p_energy.records.record_json import decode_record as decode_record
from p2p_energy.records.record_json import encode_record as encode_record
from p2p_energy.units import TOKEN_DECIMALS

OUTCOMES = ("settled", "refunded")
#: Operations that set the market up once (contracts, meters, tokens), as opposed to trading in it.
#: (registerMeter: meters one by one, before the gas redesign; registerMeters, depositFor, setTrader: after it.)
SETUP_OPERATIONS = frozenset(
    {"deploy", "registerMeter", "registerMeters", "mint", "approve", "depositFor", "setTrader"}
)
#: The calls that settle lots: closeLots (settlement and refunds, readings inside, since escrow v3); settleLots
#: before it. Their gas per settled trade is the settlement figure.
SETTLE_OPERATION = "closeLots"
SETTLE_OPERATIONS = frozenset({"closeLots", "settleLots"})
READINGS_OPERATION = "submitReadings"
#: RunResult's lists of records, which its JSON gives after the run's fields and totals.
RECORD_LISTS = ("slots", "households", "trades", "gas", "attacks", "calls")
_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def nrg_value(base_units: int) -> Decimal:
    """Token base units as an exact Decimal number of NRG (for display and plots)."""
    return Decimal(base_units).scaleb(-TOKEN_DECIMALS)


def _check_non_negative(record: object, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(record, name)
        if value is not None and value < 0:
            raise ValueError(f"{type(record).__name__}.{name} must not be negative, got {value}")


def per_count(total: int, count: int) -> int | None:
    """`total // count`, or None when there is nothing to divide by."""
    return total // count if count else None


def _tally(pairs: Iterable[tuple[Hashable, int]]) -> Counter[Hashable]:
    """Sum the values per key, dropping keys whose sum is zero."""
    totals: Counter[Hashable] = Counter()
    for key, value in pairs:
        totals[key] += value
    return +totals


@dataclass(frozen=True)
class TradeRecord:
    """One escrowed trade and how it ended: `paid` to the seller, `refunded` to the buyer.

    `slot` counts the run's delivery slots from 0; `chain_slot` is the escrow's slot number;
    `seller` and `buyer` are household names. `trade_id` is meter << 96 | chain slot << 32 | index
    (`limits.trade_id`), above 2^53: JSON and CSV give it as a string.
    An outcome of "refunded" means the lot was refunded in full after the grace period (no
    reading); a "settled" trade may still refund part of its cost for energy not delivered.
    `tx_hash` and `block` name the matchOrders transaction that made the trade, `close_tx_hash`
    and `close_block` the one that closed its lot, the run's or another's ("" and 0 in a report
    written before they were kept, and for a lot still open).
    """

    trade_id: int
    slot: int
    chain_slot: int
    meter_id: int
    seller: str
    buyer: str
    wh: int
    price_per_kwh: int
    cost: int
    paid: int
    refunded: int
    outcome: str
    tx_hash: str = field(default="", metadata=ADDED_LATER)
    block: int = field(default=0, metadata=ADDED_LATER)
    close_tx_hash: str = field(default="", metadata=ADDED_LATER)
    close_block: int = field(default=0, metadata=ADDED_LATER)

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ("price_per_kwh", "cost", "paid", "refunded")
    ID_FIELDS: ClassVar[tuple[str, ...]] = ("trade_id",)
    #: Written beside the fields: with meter_id and chain_slot, lot_index names the trade in small
    #: numbers that a spreadsheet keeps exactly (it reads a string of 30 digits as a rounded number).
    DERIVED_FIELDS: ClassVar[tuple[str, ...]] = ("lot_index",)

    @property
    def lot_index(self) -> int:
        """The trade's number in its (meter, slot) lot, in match order: its id's index part."""
        return trade_index(self.trade_id)

    def __post_init__(self) -> None:
        _check_non_negative(self, ("trade_id", "slot", "chain_slot", "meter_id", "wh", "price_per_kwh", "cost"))
        _check_non_negative(self, ("paid", "refunded", "block", "close_block"))
        if self.outcome not in OUTCOMES:
            raise ValueError(f"TradeRecord.outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}")
        if self.paid + self.refunded != self.cost:
            raise ValueError(
                f"trade {self.trade_id}: paid {self.paid} + refunded {self.refunded} must equal cost {self.cost}"
            )
        if self.outcome == "refunded" and self.paid:
            raise ValueError(f"trade {self.trade_id} was refunded in full, yet paid the seller {self.paid}")


@dataclass(frozen=True)
class HouseholdRecord:
    """One household's energy (Wh) and token balances (base units) over the run.

    `delivered_wh` is the energy its meter proved against what it sold (min(exported, sold) per
    lot); `meter_id` is None for a household without a registered meter (a pure buyer).
    Its bills and KPIs (defined in p2p_energy.domain.bills; `local_in_wh`: the energy it got locally)
    are 0 and None in reports written before them.
    """

    name: str
    address: str
    meter_id: int | None
    pv_kwp: float
    generated_wh: int
    load_wh: int
    exported_wh: int
    imported_wh: int
    offered_wh: int
    sold_wh: int
    bought_wh: int
    delivered_wh: int
    tokens_start: int
    tokens_end: int
    #: Generation and load per slot (Wh; empty when not recorded): the household's day.
    generated_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    load_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    local_in_wh: int = field(default=0, metadata=ADDED_LATER)
    grid_import_wh: int = field(default=0, metadata=ADDED_LATER)
    grid_export_wh: int = field(default=0, metadata=ADDED_LATER)
    battery_losses_wh: int = field(default=0, metadata=ADDED_LATER)
    self_sufficiency: float | None = field(default=None, metadata=ADDED_LATER)
    self_consumption: float | None = field(default=None, metadata=ADDED_LATER)
    local_trade_share: float | None = field(default=None, metadata=ADDED_LATER)
    peak_grid_import_kw: float | None = field(default=None, metadata=ADDED_LATER)
    bill_grid_only: int = field(default=0, metadata=ADDED_LATER)
    bill_with_market: int = field(default=0, metadata=ADDED_LATER)
    local_paid: int = field(default=0, metadata=ADDED_LATER)
    local_received: int = field(default=0, metadata=ADDED_LATER)
    grid_fees: int = field(default=0, metadata=ADDED_LATER)
    #: Its grid import at the grid tariff, its grid export at the feed-in tariff (base units): the bill's other parts.
    grid_import_cost: int = field(default=0, metadata=ADDED_LATER)
    grid_export_credit: int = field(default=0, metadata=ADDED_LATER)
    #: Grid import and export per slot (Wh; empty when not recorded), adding up to grid_import_wh / grid_export_wh.
    grid_import_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    grid_export_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    #: Its home battery per slot (Wh; empty without a battery): what it stored, what it gave out, and the state
    #: of charge at the end of each slot.
    battery_charge_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    battery_discharge_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    battery_soc_wh_per_slot: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ("tokens_start", "tokens_end", "net_tokens", *HOUSEHOLD_BILL_NRG)
    #: Per-slot lists: in summary.json, not in the CSV file.
    SERIES_FIELDS: ClassVar[tuple[str, ...]] = (
        "generated_wh_per_slot",
        "load_wh_per_slot",
        "grid_import_wh_per_slot",
        "grid_export_wh_per_slot",
        "battery_charge_wh_per_slot",
        "battery_discharge_wh_per_slot",
        "battery_soc_wh_per_slot",
    )

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pv_kwp) and self.pv_kwp >= 0):
            raise ValueError(f"HouseholdRecord.pv_kwp must be a finite number >= 0, got {self.pv_kwp}")
        _check_non_negative(
            self,
            ("meter_id", "generated_wh", "load_wh", "exported_wh", "imported_wh", "offered_wh", "sold_wh"),
        )
        _check_non_negative(self, ("bought_wh", "delivered_wh", "tokens_start", "tokens_end"))
        _check_non_negative(self, ("local_in_wh", "grid_import_wh", "grid_export_wh", "battery_losses_wh"))
        _check_non_negative(self, ("local_paid", "local_received", "grid_fees", "peak_grid_import_kw"))
        check_ratios(self, RATIOS)
        for series_name in self.SERIES_FIELDS:
            series, total = getattr(self, series_name), series_name.removesuffix("_per_slot")
            if series and (min(series) < 0 or sum(series) != getattr(self, total, sum(series))):
                raise ValueError(
                    f"household {self.name!r}: {total} per slot must be >= 0 and add up to {getattr(self, total)}"
                )

    @property
    def net_tokens(self) -> int:
        """Tokens gained (positive) or spent (negative) over the run, in base units."""
        return self.tokens_end - self.tokens_start

    @property
    def saving(self) -> int:
        """Its bill grid-only minus its bill with the market, in base units (what the market saved it)."""
        return self.bill_grid_only - self.bill_with_market


@dataclass(frozen=True)
class SlotRecord:
    """One delivery slot across the neighbourhood; prices in token base units per kWh.

    `clearing_price` is the market's uniform price for the slot and `mean_price` the
    volume-weighted mean of its trades; both are None when nothing was traded.
    """

    slot: int
    chain_slot: int
    start_time: str
    generated_wh: int
    load_wh: int
    offered_wh: int
    traded_wh: int
    delivered_wh: int
    trades: int
    settled_trades: int
    refunded_trades: int
    clearing_price: int | None
    mean_price: int | None

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ("clearing_price", "mean_price")

    def __post_init__(self) -> None:
        if not _HH_MM.fullmatch(self.start_time):
            raise ValueError(f"SlotRecord.start_time must be HH:MM (00:00-23:59), got {self.start_time!r}")
        _check_non_negative(
            self, ("slot", "chain_slot", "generated_wh", "load_wh", "offered_wh", "traded_wh", "delivered_wh")
        )
        _check_non_negative(self, ("trades", "settled_trades", "refunded_trades", "clearing_price", "mean_price"))
        if self.settled_trades + self.refunded_trades > self.trades:
            raise ValueError(
                f"slot {self.slot}: {self.settled_trades} settled + {self.refunded_trades} refunded trades "
                f"exceed its {self.trades} trades"
            )


@dataclass(frozen=True)
class GasRecord:
    """Gas of every transaction of one kind (e.g. all "settleLots" calls) in the run."""

    operation: str
    transactions: int
    gas: int

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        _check_non_negative(self, ("transactions", "gas"))


@dataclass(frozen=True)
class CallRecord:
    """One honest transaction of the run: its operation, sender, hash, block, gas used and `status`
    (1 included, 0 reverted, -1 refused or dropped: then `block` is 0, and `tx_hash` "" if it was never sent)."""

    operation: str
    sender: str
    tx_hash: str
    block: int
    gas: int
    status: int

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        _check_non_negative(self, ("block", "gas"))
        if self.status not in (-1, 0, 1):
            raise ValueError(f"CallRecord.status must be 1, 0 or -1, got {self.status}")


@dataclass(frozen=True)
class AttackRecord:
    """Attacks of one kind submitted during the run, how many the chain rejected, and why."""

    kind: str
    submitted: int
    rejected: int
    reasons: tuple[str, ...] = ()

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        _check_non_negative(self, ("submitted", "rejected"))
        if self.rejected > self.submitted:
            raise ValueError(f"attack {self.kind!r}: {self.rejected} rejected of only {self.submitted} submitted")


@dataclass(frozen=True)
class OfflineMeterRecord:
    """A meter the scenario took offline: it sent no readings in slots first_slot..last_slot."""

    household: str
    first_slot: int
    last_slot: int

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class UnderDeliveryRecord:
    """A seller the scenario made export at most `factor` x what it forecast and offered."""

    household: str
    factor: float

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class ScenarioFacts:
    """What the scenario set that the records do not show: market rules, prices, faults.

    Prices in token base units per kWh, `funding` in base units per household; `cloudy_slots`
    are the run's slot numbers (from 0) whose PV the scenario cut to `cloud_factor`.
    """

    description: str
    market_mode: str
    slot_length_s: int
    grid_tariff: int
    ask_min: int
    ask_max: int
    funding: int
    cloudy_slots: tuple[int, ...] = ()
    cloud_factor: float = 1.0
    offline_meters: tuple[OfflineMeterRecord, ...] = ()
    under_delivery: tuple[UnderDeliveryRecord, ...] = ()
    #: What the grid pays per kWh exported, its fee per kWh traded locally, its feeder limit (kW; None: none).
    feed_in_tariff: int = field(default=0, metadata=ADDED_LATER)
    grid_fee_per_kwh: int = field(default=0, metadata=ADDED_LATER)
    feeder_limit_kw: float | None = field(default=None, metadata=ADDED_LATER)
    #: NRG base units one whole coin of the chain (QTUM) is worth, where the scenario says (prices.coin_price).
    coin_price: int | None = field(default=None, metadata=ADDED_LATER)

    NRG_FIELDS: ClassVar[tuple[str, ...]] = (
        *("grid_tariff", "ask_min", "ask_max", "funding"),
        *("feed_in_tariff", "grid_fee_per_kwh", "coin_price"),
    )

    def __post_init__(self) -> None:
        _check_non_negative(self, ("slot_length_s", "grid_tariff", "ask_min", "ask_max", "funding"))
        _check_non_negative(self, ("feed_in_tariff", "grid_fee_per_kwh", "feeder_limit_kw"))
        if any(slot < 0 for slot in self.cloudy_slots):
            raise ValueError(f"ScenarioFacts.cloudy_slots must not be negative, got {self.cloudy_slots}")


@dataclass(frozen=True)
class RunTotals:
    """Figures computed from a run's records (see `RunResult.totals`); never stored on their own.

    Energy comes from the slot records, money from the trade records, gas from the gas records.
    Gas per settled trade is given four ways, each divided by the number of settled trades
    (rounded down; None when nothing settled):

    - `settle_gas_per_settled_trade`: the settling calls only (closeLots; settleLots in runs before escrow v3);
    - `settlement_gas_per_settled_trade`: those plus the meters' submitReadings calls (runs before the gas redesign);
    - `trading_gas_per_settled_trade`: every transaction except the one-off set-up
      (SETUP_OPERATIONS: deploy, registerMeters, mint, approve, depositFor, setTrader);
    - `all_gas_per_settled_trade`: every transaction of the run.
    """

    households: int
    slots: int
    trades: int
    settled_trades: int
    refunded_trades: int
    generated_wh: int
    load_wh: int
    offered_wh: int
    traded_wh: int
    delivered_wh: int
    tokens_escrowed: int
    tokens_paid: int
    tokens_refunded: int
    mean_price_per_kwh: int | None
    transactions: int
    gas: int
    gas_per_operation: dict[str, int]
    transactions_per_operation: dict[str, int]
    settle_gas_per_settled_trade: int | None
    settlement_gas_per_settled_trade: int | None
    trading_gas_per_settled_trade: int | None
    all_gas_per_settled_trade: int | None
    attacks_submitted: int
    attacks_rejected: int
    checks_passed: int
    checks_failed: tuple[str, ...]

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ("tokens_escrowed", "tokens_paid", "tokens_refunded", "mean_price_per_kwh")

    def to_json(self) -> dict[str, Any]:
        return encode_record(self)


@dataclass
class RunResult:
    """Everything one `simulate` run produced; `report.write_report` turns it into files."""

    scenario: str
    seed: int
    chain_id: int
    evm_version: str
    rpc_url: str
    deployment: dict[str, str]
    started_at: str
    wall_time_s: float
    timings: dict[str, float] = field(default_factory=dict)
    slots: list[SlotRecord] = field(default_factory=list)
    households: list[HouseholdRecord] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    gas: list[GasRecord] = field(default_factory=list)
    attacks: list[AttackRecord] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    #: Honest transactions that failed (what, from whom, which transaction, the decoded reason)
    #: and planned actions the chain could no longer take; one line each.
    failures: list[str] = field(default_factory=list)
    #: The scenario's prices, market mode and faults (None in reports written before they were kept).
    scenario_facts: ScenarioFacts | None = field(default=None, metadata=ADDED_LATER)
    #: What gas cost on the chain: its price in the native coin's smallest unit, that coin and its decimals
    #: (QTUM and 8 on Qtum, 40 sat/gas); 0 where gas is free (simulate's own anvil).
    gas_price: int = field(default=0, metadata=ADDED_LATER)
    fee_currency: str = field(default="", metadata=ADDED_LATER)
    fee_decimals: int = field(default=0, metadata=ADDED_LATER)
    #: The neighbourhood's bills and KPIs (None in reports written before they were kept).
    kpis: KpiRecord | None = field(default=None, metadata=ADDED_LATER)
    #: The power flows on the scenario's network (None without `[grid] network`, and in older reports).
    grid: GridRecord | None = field(default=None, metadata=ADDED_LATER)
    #: How the matching rounds met the chain's clock (None in older reports).
    clock: ClockRecord | None = field(default=None, metadata=ADDED_LATER)
    #: Every honest transaction with its hash and block (empty in older reports).
    calls: list[CallRecord] = field(default_factory=list, metadata=ADDED_LATER)

    def fees(self, totals: RunTotals) -> RunFees:
        """What the run's gas cost in its chain's coin, or, where gas was free, at Qtum's 40 sat/gas."""
        coin_price = self.scenario_facts.coin_price if self.scenario_facts is not None else None
        return run_fees(totals, ChainFee(self.gas_price, self.fee_currency, self.fee_decimals), coin_price)

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name, seconds in {"wall_time_s": self.wall_time_s, **self.timings}.items():
            if not (math.isfinite(seconds) and seconds >= 0):
                raise ValueError(f"RunResult time {name!r} must be a finite number of seconds >= 0, got {seconds}")

    def totals(self) -> RunTotals:
        settled = sum(1 for t in self.trades if t.outcome == "settled")
        traded_wh = sum(t.wh for t in self.trades)
        gas_per_operation: Counter[str] = Counter()
        transactions_per_operation: Counter[str] = Counter()
        for record in self.gas:
            gas_per_operation[record.operation] += record.gas
            transactions_per_operation[record.operation] += record.transactions
        all_gas = sum(gas_per_operation.values())
        setup_gas = sum(gas for op, gas in gas_per_operation.items() if op in SETUP_OPERATIONS)
        settle_gas = sum(gas_per_operation[op] for op in SETTLE_OPERATIONS)
        return RunTotals(
            households=len(self.households),
            slots=len(self.slots),
            trades=len(self.trades),
            settled_trades=settled,
            refunded_trades=len(self.trades) - settled,
            generated_wh=sum(s.generated_wh for s in self.slots),
            load_wh=sum(s.load_wh for s in self.slots),
            offered_wh=sum(s.offered_wh for s in self.slots),
            traded_wh=traded_wh,
            delivered_wh=sum(s.delivered_wh for s in self.slots),
            tokens_escrowed=sum(t.cost for t in self.trades),
            tokens_paid=sum(t.paid for t in self.trades),
            tokens_refunded=sum(t.refunded for t in self.trades),
            mean_price_per_kwh=per_count(sum(t.price_per_kwh * t.wh for t in self.trades), traded_wh),
            transactions=sum(transactions_per_operation.values()),
            gas=all_gas,
            gas_per_operation=dict(gas_per_operation),
            transactions_per_operation=dict(transactions_per_operation),
            settle_gas_per_settled_trade=per_count(settle_gas, settled),
            settlement_gas_per_settled_trade=per_count(settle_gas + gas_per_operation[READINGS_OPERATION], settled),
            trading_gas_per_settled_trade=per_count(all_gas - setup_gas, settled),
            all_gas_per_settled_trade=per_count(all_gas, settled),
            attacks_submitted=sum(a.submitted for a in self.attacks),
            attacks_rejected=sum(a.rejected for a in self.attacks),
            checks_passed=sum(1 for passed in self.checks.values() if passed),
            checks_failed=tuple(name for name, passed in self.checks.items() if not passed),
        )

    def consistency_checks(self) -> dict[str, bool]:
        """Cross-checks between the record lists, for the runner to add to `checks` if it likes.

        Each compares two independently gathered figures: slot records against the trades
        they should count, and households' sold/bought energy against their trades; with
        bills, that they add up (`bill_records.bill_checks`).
        """
        trades, slots, households = self.trades, self.slots, self.households
        closed_in_slots = chain(
            (((s.slot, "settled"), s.settled_trades) for s in slots),
            (((s.slot, "refunded"), s.refunded_trades) for s in slots),
        )
        checks = {
            "slot records count every trade": _tally((t.slot, 1) for t in trades)
            == _tally((s.slot, s.trades) for s in slots),
            "slot records add up traded energy": _tally((t.slot, t.wh) for t in trades)
            == _tally((s.slot, s.traded_wh) for s in slots),
            "slot records count settled and refunded trades": _tally(((t.slot, t.outcome), 1) for t in trades)
            == _tally(closed_in_slots),
            "households' sold energy matches their trades": _tally((t.seller, t.wh) for t in trades)
            == _tally((h.name, h.sold_wh) for h in households),
            "households' bought energy matches their trades": _tally((t.buyer, t.wh) for t in trades)
            == _tally((h.name, h.bought_wh) for h in households),
        }
        if self.kpis is not None:
            checks |= bill_checks(self.kpis, trades, slots, households)
        return checks

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data: the run's fields, its computed `totals`, then the full records."""
        data = encode_record(self)
        records = {name: data.pop(name) for name in RECORD_LISTS}
        totals = self.totals()
        if self.clock is not None:
            data["clock"] = {**data["clock"], **self.clock.figures()}
        return {**data, "totals": totals.to_json(), "fees": self.fees(totals).to_json(), **records}

    @classmethod
    def from_json(cls, data: Any) -> RunResult:
        """Rebuild a run from `to_json` data; raises ValueError naming the first bad or missing field."""
        if isinstance(data, dict) and "failures" not in data:
            data = {**data, "failures": []}  # written before runs listed their failures
        return decode_record(cls, data)
