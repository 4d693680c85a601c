"""The simulator's own books, kept from the events of its transactions.

Every offer, trade and lot the runner creates is recorded here from the
receipts' events (OfferPosted, TradeOpened, TradeClosed), next to what the
settlement rule says each trade should end as, computed in Python from the
household profiles (:func:`p2p_energy.domain.settlement.settle_lot`). At the end
:meth:`Ledger.checks` compares the two and the chain's own totals; any
mismatch names the trade ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from p2p_energy.domain.settlement import settle_lot


@dataclass
class Trade:
    trade_id: int
    slot: int  # scenario slot
    meter_id: int
    seller: int  # household row
    buyer: int
    wh: int
    price_per_kwh: int
    cost: int
    closes: list[tuple[int, int]] = field(default_factory=list)  # (paid, refunded) per TradeClosed seen
    settled: bool = False

    @property
    def outcome(self) -> str:
        if len(self.closes) != 1:
            return "open" if not self.closes else "closed twice"
        return "settled" if self.settled else "refunded"


@dataclass
class Lot:
    meter_id: int
    slot: int
    seller: int
    trades: list[int] = field(default_factory=list)  # trade ids in index order
    state: str = "open"  # open, settled, refunded
    delivered_wh: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.meter_id, self.slot)


@dataclass
class Ledger:
    """Trades and lots of one run, keyed the way the escrow keys them."""

    offers: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # offer id -> (slot, seller, price)
    offered_wh: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))  # (seller, slot) -> Wh
    trades: dict[int, Trade] = field(default_factory=dict)
    lots: dict[tuple[int, int], Lot] = field(default_factory=dict)

    def offer_posted(self, offer_id: int, slot: int, seller: int, wh: int, price: int) -> None:
        self.offers[offer_id] = (slot, seller, price)
        self.offered_wh[(seller, slot)] += wh

    def trade_opened(self, trade_id: int, offer_id: int, buyer: int, wh: int, cost: int, meter_id: int) -> None:
        slot, seller, price = self.offers[offer_id]
        self.trades[trade_id] = Trade(trade_id, slot, meter_id, seller, buyer, wh, price, cost)
        lot = self.lots.setdefault((meter_id, slot), Lot(meter_id, slot, seller))
        lot.trades.append(trade_id)

    def trade_closed(self, trade_id: int, paid: int, refunded: int, settled: bool) -> None:
        trade = self.trades[trade_id]
        trade.closes.append((paid, refunded))
        trade.settled = settled

    def lot_closed(self, meter_id: int, slot: int, settled: bool, delivered_wh: int) -> None:
        lot = self.lots[(meter_id, slot)]
        lot.state = "settled" if settled else "refunded"
        lot.delivered_wh = delivered_wh

    def open_lots(self, slot: int | None = None) -> list[Lot]:
        return [lot for lot in self.lots.values() if lot.state == "open" and (slot is None or lot.slot == slot)]

    def expected(self, lot: Lot, exported_wh: int | None) -> dict[int, tuple[int, int]]:
        """(paid, refunded) per trade by the settlement rule; `None` export means a refund."""
        trades = [self.trades[t] for t in lot.trades]
        if exported_wh is None:
            return {t.trade_id: (0, t.cost) for t in trades}
        outcome = settle_lot([t.cost for t in trades], sum(t.wh for t in trades), exported_wh)
        return {t.trade_id: (p, r) for t, p, r in zip(trades, outcome.paid, outcome.refunded, strict=True)}

    def mismatches(self, exported: dict[tuple[int, int], int | None]) -> list[int]:
        """Trade ids whose on-chain close differs from the rule (or that closed not exactly once).

        `exported[(meter, slot)]` is the export the registry knew for the lot, or None.
        """
        wrong: list[int] = []
        for lot in self.lots.values():
            expected = self.expected(lot, exported.get(lot.key))
            for trade_id in lot.trades:
                closes = self.trades[trade_id].closes
                if len(closes) != 1 or closes[0] != expected[trade_id]:
                    wrong.append(trade_id)
        return sorted(wrong)
