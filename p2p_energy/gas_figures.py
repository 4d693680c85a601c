"""The gas report's figures: labels, one record per kind of call, and the report (see p2p_energy.gas)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from p2p_energy.limits import MAX_DEPOSITS_PER_CALL, MAX_METERS_PER_CALL
from p2p_energy.run.encoding import lots_size

ERC20_TRANSFER_REFERENCE = "token transfer (ERC20)"
DEPOSIT = "deposit (an account's first)"
REGISTER_METER = "registerMeter"
SET_TRADER = "setTrader"
MATCH_ONE = "matchOrders: 1 ask, 1 bid, 1 fill"
SETTLE_ONE = "settleLots: 1 lot"
REFUND_ONE = "refundLots: 1 lot"
WITHDRAW = "withdraw (the whole balance)"
#: Accounts per depositFor and meters per registerMeters call measured: the contracts' per-call limits.
DEPOSITS_PER_CALL = MAX_DEPOSITS_PER_CALL
METERS_PER_CALL = MAX_METERS_PER_CALL
DEPOSIT_FOR = f"depositFor: {DEPOSITS_PER_CALL} accounts"
REGISTER_METERS = f"registerMeters: {METERS_PER_CALL} meters"
PER_DEPOSIT = f"depositFor, per account ({DEPOSITS_PER_CALL} per call)"
PER_METER = f"registerMeters, per meter ({METERS_PER_CALL} per call)"
PER_ASK = "matchOrders, per ask"
PER_BID = "matchOrders, per bid"
PER_FILL = "matchOrders, per fill (trade)"
PER_CALL = "matchOrders, per call (the rest)"
#: The shape of one busy city-day slot's match (see the module docstring).
CITY_SLOT_ASKS = 80
CITY_SLOT_TRADES_PER_ASK = 5
CITY_SLOT_BIDS = 334
CITY_SLOT_FILLS = CITY_SLOT_ASKS * CITY_SLOT_TRADES_PER_ASK
CITY_SLOT = "a city-day slot"
MATCH_CITY_SLOT = f"matchOrders: {CITY_SLOT} ({CITY_SLOT_ASKS} asks, {CITY_SLOT_BIDS} bids, {CITY_SLOT_FILLS} fills)"
#: Orders of the shapes the per-ask, per-bid and per-fill figures are derived from.
SHAPE_ORDERS = 10
BATCH_SIZES = (1, 10, 100)
#: Lots of the short-delivery settlement batch and of the refund batch (fewer where the limits say so).
SHORT_BATCH_LOTS = 100
REFUND_BATCH_LOTS = 100


@dataclass(frozen=True)
class BatchFigure:
    """One settleLots or refundLots call: how many lots and trades it closed and what it cost."""

    lots: int
    trades: int
    gas: int

    @property
    def gas_per_trade(self) -> int:
        return self.gas // self.trades

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "gas_per_trade": self.gas_per_trade}


@dataclass(frozen=True)
class MatchFigure:
    """A slot's matchOrders: its shape, its gas, and in how many calls (one, unless a transaction's size
    bounds it: Qtum)."""

    name: str
    asks: int
    bids: int
    fills: int
    gas: int
    calls: int = 1

    @property
    def gas_per_fill(self) -> int:
        return self.gas // self.fills

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "gas_per_fill": self.gas_per_fill}


@dataclass(frozen=True)
class MatchCosts:
    """matchOrders' gas as base + asks x per_ask + bids x per_bid + fills x per_fill, solved from four calls."""

    base: int
    per_ask: int
    per_bid: int
    per_fill: int

    @classmethod
    def solve(cls, shapes: Sequence[MatchFigure]) -> MatchCosts:
        """The four unknowns from four calls of independent shapes (exact, then rounded)."""
        rows = [[Fraction(1), Fraction(s.asks), Fraction(s.bids), Fraction(s.fills), Fraction(s.gas)] for s in shapes]
        if len(rows) != 4:
            raise ValueError(f"four calls give the four figures, got {len(rows)}")
        for col in range(4):
            pivot = next((r for r in range(col, 4) if rows[r][col] != 0), None)
            if pivot is None:
                raise ValueError("the calls' shapes do not tell asks, bids and fills apart")
            rows[col], rows[pivot] = rows[pivot], rows[col]
            rows[col] = [v / rows[col][col] for v in rows[col]]
            for r in range(4):
                if r != col:
                    rows[r] = [v - rows[r][col] * p for v, p in zip(rows[r], rows[col], strict=True)]
        base, ask, bid, fill = (round(row[4]) for row in rows)
        return cls(base, ask, bid, fill)

    def predict(self, asks: int, bids: int, fills: int) -> int:
        return self.base + asks * self.per_ask + bids * self.per_bid + fills * self.per_fill


@dataclass(frozen=True)
class GasReport:
    """Every figure of one run; see the module docstring."""

    evm_version: str
    trades_per_lot: int
    #: Whole transactions, each label one call.
    operations: dict[str, int] = field(default_factory=dict)
    #: Gas per item of a batch call: per account of depositFor, per meter of registerMeters,
    #: per ask, bid and fill of matchOrders (derived, see MatchCosts).
    per_item: dict[str, int] = field(default_factory=dict)
    #: The matchOrders calls measured: the four shapes, then the city-day slot.
    matches: list[MatchFigure] = field(default_factory=list)
    #: settleLots of 1, 10, 100 lots (those below the largest) and the largest call, lots delivered in full.
    batches: list[BatchFigure] = field(default_factory=list)
    #: settleLots of lots that each delivered less than they sold: every buyer credited a part back.
    short_delivery: BatchFigure | None = None
    #: refundLots of 1 lot and of a batch.
    refunds: list[BatchFigure] = field(default_factory=list)
    #: Why the last (largest) settlement batch is not larger: the escrow's per-call bound that stopped it.
    largest_batch_bound: str = ""
    block_gas_limit: int = 0
    #: Where it was measured: "anvil" or "qtumd regtest".
    chain: str = "anvil"

    @property
    def largest_batch(self) -> BatchFigure:
        return self.batches[-1]

    @property
    def city_slot(self) -> MatchFigure:
        return self.matches[-1]

    def batch(self, lots: int) -> BatchFigure:
        """The settlement batch of `lots` lots."""
        return next(b for b in self.batches if b.lots == lots)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["matches"] = [m.to_json() for m in self.matches]
        data["batches"] = [b.to_json() for b in self.batches]
        data["short_delivery"] = None if self.short_delivery is None else self.short_delivery.to_json()
        data["refunds"] = [b.to_json() for b in self.refunds]
        return data


def largest_batch(
    trades_per_lot: int, max_lots: int, max_trades: int, max_calldata: int | None = None
) -> tuple[int, str]:
    """Lots in the largest settleLots call the escrow (and where transactions are bounded in size, the
    chain) accepts, and the bound that sets it (the escrow's lots per call where two bounds agree)."""
    bounds = [(max_lots, f"{max_lots} lots per call"), (max_trades // trades_per_lot, f"{max_trades} trades per call")]
    if max_calldata is not None:
        empty = lots_size(0, 0, settle=True)
        per_lot = lots_size(1, trades_per_lot, settle=True) - empty
        bounds.append(((max_calldata - empty) // per_lot, f"{max_calldata:,} bytes of calldata per transaction"))
    return min(bounds, key=lambda bound: bound[0])
