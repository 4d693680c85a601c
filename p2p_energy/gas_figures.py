"""The gas report's figures: labels, one record per measured batch call, the per-item costs, the report.

Pure: nothing here talks to a chain (p2p_energy.gas measures, this module
holds and derives). Every gas figure is a receipt's `gasUsed`; the per-item
costs are derived from them (:func:`solve_items`), and each batch call is
checked against the gas model of :mod:`p2p_energy.wire.cutting` (which the
runner uses as the call's gas limit and to cut batches into calls).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from rich.table import Table

from p2p_energy.errors import P2PEnergyError
from p2p_energy.limits import MAX_DEPOSITS_PER_CALL, MAX_KEYS_PER_CALL, MAX_LOTS_PER_GROUP, MAX_METERS_PER_CALL
from p2p_energy.wire.cutting import call_gas
from p2p_energy.wire.orders import Bid
from p2p_energy.wire.records import CloseCall, MatchCall

MATCH_ORDERS = "matchOrders"
CLOSE_LOTS = "closeLots"

# Whole transactions (`GasReport.operations`).
ERC20_TRANSFER_REFERENCE = "token transfer (ERC20)"
DEPOSIT = "deposit (an account's first)"
DEPOSIT_FOR = f"depositFor: {MAX_DEPOSITS_PER_CALL} accounts"
REGISTER_FIRST_METER = "registerMeter: the escrow's first meter (adds the market)"
REGISTER_METER = "registerMeter"
REGISTER_METERS = f"registerMeters: {MAX_METERS_PER_CALL} meters"
SET_TRADER = "setTrader"
NAME_OWN_KEYS = f"nameOwnKeys: {MAX_KEYS_PER_CALL} keys"
CANCEL_ORDERS = "cancelOrders (an account with a standing bid)"
WITHDRAW = "withdraw (the whole balance)"
PAY_OUT = f"payOut: {MAX_DEPOSITS_PER_CALL} accounts (none held tokens)"
# Per item of the array calls (`GasReport.per_item`).
PER_DEPOSIT = f"depositFor, per account ({MAX_DEPOSITS_PER_CALL} per call)"
PER_METER = f"registerMeters, per meter ({MAX_METERS_PER_CALL} per call)"
PER_PAYOUT = f"payOut, per account ({MAX_DEPOSITS_PER_CALL} per call)"
PER_OWN_KEY = f"nameOwnKeys, per key ({MAX_KEYS_PER_CALL} per call)"

#: What a matchOrders call carries, besides its base: the terms of wire.cutting.match_gas ("extra group": a
#: group beyond a slot's first, every MAX_LOTS_PER_GROUP lots).
MATCH_ITEMS = ("loaded account", "named account", "slot", "lot", "fill", "extra group", "bid", "ask")
#: ... and a closeLots call: the terms of wire.cutting.close_gas.
CLOSE_ITEMS = ("loaded account", "named account", "reading", "reading slot", "group", "lot", "trade")
BASE = "base"
#: A model value above this times the receipt, on a city-sized call, is worth a look (too generous a gas limit
#: makes the cutter cut calls smaller than they need be).
MODEL_SLACK = 1.25
#: A call of at least this much gas is "city-sized": where the model's slack matters (calls are cut by it).
CITY_SIZED_GAS = 2_000_000


class GasModelError(P2PEnergyError):
    """The gas model (wire.cutting.call_gas, the calls' gas limit) is below what a measured call used."""

    def __init__(self, report: GasReport) -> None:
        below = report.model_failures()
        listed = "; ".join(f"{c.function} {c.name}: {model_note(c)} (model {c.model:,}, used {c.gas:,})" for c in below)
        super().__init__(
            f"the gas model of p2p_energy/wire/cutting.py (the calls' gas limit) is not enough for {len(below)} of "
            f"{len(report.calls)} measured calls: {listed}"
        )
        self.report = report


def match_counts(call: MatchCall) -> dict[str, int]:
    """The items of a matchOrders call (MATCH_ITEMS), counted from the call itself."""
    per_slot = Counter(lot.slot for lot in call.lots)
    bids = sum(1 for o in call.orders if isinstance(o.order, Bid))
    return {
        "loaded account": len(call.accounts.loaded),
        "named account": len(call.accounts.named),
        "slot": len(per_slot),
        "lot": len(call.lots),
        "fill": sum(len(lot.trades) for lot in call.lots),
        "extra group": sum(-(-n // MAX_LOTS_PER_GROUP) - 1 for n in per_slot.values()),
        "bid": bids,
        "ask": len(call.orders) - bids,
    }


def close_counts(call: CloseCall) -> dict[str, int]:
    """The items of a closeLots call (CLOSE_ITEMS), counted from the call itself."""
    lots = [lot for group in call.groups for lot in group.lots]
    return {
        "loaded account": len(call.accounts.loaded),
        "named account": len(call.accounts.named),
        "reading": len(call.readings),
        "reading slot": sum(len(r.reading.exported_wh) for r in call.readings),
        "group": len(call.groups),
        "lot": len(lots),
        "trade": sum(len(lot.trades) for lot in lots),
    }


@dataclass(frozen=True)
class CallFigure:
    """One measured matchOrders or closeLots call: its shape, its receipt's gas, and the model's value for it.

    `settled_trades`: the trades of the lots a closeLots call settled (read from its LotSettled events).
    `ran_out`: sent with the model as its gas limit (as the runner sends it), the call ran out of gas (`gas` is
    then from the call sent again with the node's estimate): the model is below what it uses, or below what it
    needs before the refunds of the storage it clears.
    """

    function: str
    name: str
    counts: dict[str, int]
    calldata_bytes: int
    gas: int
    model: int
    settled_trades: int = 0
    ran_out: bool = False

    @classmethod
    def of(cls, name: str, call: MatchCall | CloseCall, gas: int, settled_trades: int = 0) -> CallFigure:
        if isinstance(call, MatchCall):
            return cls(MATCH_ORDERS, name, match_counts(call), len(call.calldata), gas, call_gas(call))
        return cls(CLOSE_LOTS, name, close_counts(call), len(call.calldata), gas, call_gas(call), settled_trades)

    @property
    def ratio(self) -> float:
        """The model over the receipt: at least 1 (the model is the call's gas limit)."""
        return self.model / self.gas

    @property
    def trades(self) -> int:
        return self.counts.get("fill", 0) + self.counts.get("trade", 0)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "model_over_used": round(self.ratio, 4)}


def solve_items(items: Sequence[str], shapes: Sequence[CallFigure]) -> dict[str, int]:
    """Gas per item, from calls of independent shapes: each call's gas as base + sum(count x per item), solved
    exactly (as many calls as unknowns, base included), then rounded. Raises ValueError when the shapes cannot
    tell the items apart."""
    unknowns = [BASE, *items]
    n = len(unknowns)
    if len(shapes) != n:
        raise ValueError(f"{n} unknowns take {n} calls, got {len(shapes)}")
    rows = [[Fraction(1), *(Fraction(s.counts.get(i, 0)) for i in items), Fraction(s.gas)] for s in shapes]
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col] != 0), None)
        if pivot is None:
            raise ValueError(f"the calls' shapes do not tell {unknowns[col]!r} apart from the other items")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        rows[col] = [v / rows[col][col] for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                rows[r] = [v - rows[r][col] * p for v, p in zip(rows[r], rows[col], strict=True)]
    return {name: round(row[n]) for name, row in zip(unknowns, rows, strict=True)}


def predict(per_item: Mapping[str, int], counts: Mapping[str, int]) -> int:
    """A call's gas from the per-item costs (see solve_items)."""
    return per_item[BASE] + sum(per_item[item] * count for item, count in counts.items() if item in per_item)


@dataclass(frozen=True)
class SettlementFigure:
    """Lots matched and then closed: what matching and closing them cost per trade.

    `settled_trades` is 0 for lots refunded after their grace period.
    """

    name: str
    lots: int
    trades: int
    settled_trades: int
    match_gas: int
    close_gas: int
    match_calls: int = 1
    close_calls: int = 1

    @property
    def close_gas_per_trade(self) -> int:
        return self.close_gas // self.trades

    @property
    def gas_per_trade(self) -> int:
        """Matching and closing, per trade."""
        return (self.match_gas + self.close_gas) // self.trades

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "close_gas_per_trade": self.close_gas_per_trade,
            "match_and_close_gas_per_trade": self.gas_per_trade,
        }


@dataclass(frozen=True)
class GasReport:
    """Every figure of one run (see p2p_energy.gas)."""

    evm_version: str
    trades_per_lot: int
    #: Whole transactions, each label one call.
    operations: dict[str, int] = field(default_factory=dict)
    #: Per item of depositFor, registerMeters and payOut (a call's gas over its items).
    per_item: dict[str, int] = field(default_factory=dict)
    #: matchOrders' and closeLots' gas per item (BASE and MATCH_ITEMS / CLOSE_ITEMS), solved from the shapes.
    match_items: dict[str, int] = field(default_factory=dict)
    close_items: dict[str, int] = field(default_factory=dict)
    #: Every matchOrders and closeLots call of the run, in the order sent.
    calls: list[CallFigure] = field(default_factory=list)
    #: Typical lots matched and closed, per trade.
    settlement: list[SettlementFigure] = field(default_factory=list)
    block_gas_limit: int = 0
    #: Where it was measured: "anvil" or "qtumd regtest".
    chain: str = "anvil"
    #: Small shapes only (a smoke test: the figures are not the documented ones).
    quick: bool = False

    def model_failures(self) -> list[CallFigure]:
        """The calls the model's gas limit is not enough for: they used more, or ran out of gas with it."""
        return [c for c in self.calls if c.model < c.gas or c.ran_out]

    def check_model(self) -> None:
        """Raise GasModelError if the model is below any receipt."""
        if self.model_failures():
            raise GasModelError(self)

    def call(self, name: str) -> CallFigure:
        """The (first) call of shape `name`."""
        found = next((c for c in self.calls if c.name == name), None)
        if found is None:
            raise KeyError(f"no call of shape {name!r} in the report")
        return found

    def settlement_of(self, name: str) -> SettlementFigure:
        found = next((s for s in self.settlement if s.name == name), None)
        if found is None:
            raise KeyError(f"no settlement figure {name!r} in the report")
        return found

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["calls"] = [c.to_json() for c in self.calls]
        data["settlement"] = [s.to_json() for s in self.settlement]
        ratios = [c.ratio for c in self.calls]
        data["model_check"] = {
            "calls": len(self.calls),
            "not_enough_for": [c.name for c in self.model_failures()],
            "lowest_model_over_used": round(min(ratios), 4) if ratios else None,
            "highest_model_over_used": round(max(ratios), 4) if ratios else None,
        }
        return data


# ------------------------------------------------------------------ tables


def _counted(counts: Mapping[str, int]) -> str:
    short = {"loaded account": "loaded", "named account": "named", "extra group": "extra groups"}
    return ", ".join(f"{n:,} {short.get(item, item + 's')}" for item, n in counts.items() if n)


def model_note(call: CallFigure) -> str:
    """What the model check says of one call."""
    if call.model < call.gas:
        return "BELOW the receipt"
    if call.ran_out:
        return "ran out of gas at the model (refunds)"
    if call.gas >= CITY_SIZED_GAS and call.ratio > MODEL_SLACK:
        return f"city-sized, more than {MODEL_SLACK:.2f}x"
    return ""


def gas_tables(report: GasReport) -> list[Table]:
    """`p2p-energy gas`'s tables: whole transactions, per item, every batch call against the model, settlement."""
    quick = " (quick: small shapes)" if report.quick else ""
    operations = Table("operation (one transaction)", "gas", title=f"gas per operation, {report.evm_version}, "
                       f"{report.chain}{quick}")  # fmt: skip
    for operation, gas in report.operations.items():
        operations.add_row(operation, f"{gas:,}")
    per_item = Table("item", "gas", title="gas per item of a batch call (matchOrders, closeLots: solved from shapes)")
    rows = [(item, gas) for item, gas in report.per_item.items()]
    rows += [(f"matchOrders, {item}", gas) for item, gas in report.match_items.items()]
    rows += [(f"closeLots, {item}", gas) for item, gas in report.close_items.items()]
    for item, gas in rows:
        per_item.add_row(item, f"{gas:,}")
    calls = Table(
        "call", "shape", "carries", "calldata bytes", "gas used", "model", "model / used", "",
        title="every matchOrders and closeLots call: receipt against the gas model (wire.cutting.call_gas)",
    )  # fmt: skip
    for c in report.calls:
        shape = (c.function, c.name, _counted(c.counts), f"{c.calldata_bytes:,}", f"{c.gas:,}", f"{c.model:,}")
        calls.add_row(*shape, f"{c.ratio:.3f}", model_note(c))
    settlement = Table(
        "lots", "count", "trades", "settled", "match gas", "close gas", "close per trade", "match + close per trade",
        title="settlement: gas per trade (each shape's own matchOrders and closeLots calls)",
    )  # fmt: skip
    for f in report.settlement:
        figures = (f"{f.lots:,}", f"{f.trades:,}", f"{f.settled_trades:,}", f"{f.match_gas:,}", f"{f.close_gas:,}")
        settlement.add_row(f.name, *figures, f"{f.close_gas_per_trade:,}", f"{f.gas_per_trade:,}")
    return [operations, per_item, calls, settlement]
