"""The simulator's own books, kept from the events of its transactions.

Every trade and lot the runner creates is recorded here from the receipts'
events: `Traded` opens a trade in its (meter, slot) lot, numbered in the
order the lot got its trades (the escrow's own order, which its group's
commitment covers); `GroupMatched` puts the lots a call made in a slot into
their group (the escrow closes lots group by group); `LotSettled` closes a
lot's trades by the settlement rule (:func:`p2p_energy.domain.settlement.settle_lot`
on the sold and delivered Wh the event states, checked against the event's
paid total); `LotRefunded` gives every trade its cost back. Next to that, the
expected outcome computed in Python from the household profiles: at the end
:meth:`Ledger.mismatches` compares the two; any difference names the trade ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.limits import trade_id

#: A transaction's hash and block number; NO_TX where none is given.
TxRef = tuple[str, int]
NO_TX: TxRef = ("", 0)


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
    closes: list[tuple[int, int]] = field(default_factory=list)  # (paid, refunded) per close seen
    settled: bool = False
    tx: TxRef = NO_TX  # the matchOrders transaction that made it
    close_tx: TxRef = NO_TX  # the transaction that closed its lot

    @property
    def outcome(self) -> str:
        if len(self.closes) != 1:
            return "open" if not self.closes else "closed twice"
        return "settled" if self.settled else "refunded"


@dataclass
class Lot:
    meter_id: int
    slot: int  # scenario slot
    seller: int
    trades: list[int] = field(default_factory=list)  # trade ids in match order
    state: str = "open"  # open, settled, refunded
    delivered_wh: int = 0
    #: (chain slot, group number) of the escrow's group that holds the lot, once its GroupMatched is seen.
    group: tuple[int, int] | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.meter_id, self.slot)


@dataclass
class Ledger:
    """Trades and lots of one run, keyed the way the escrow keys them."""

    #: (seller, slot) -> Wh the seller offered (its planned offers of the slots whose orders went out).
    offered_wh: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    trades: dict[int, Trade] = field(default_factory=dict)
    lots: dict[tuple[int, int], Lot] = field(default_factory=dict)
    #: (chain slot, group number) -> the keys of its lots, in the group's order.
    groups: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    #: Lot events that disagree with the lot's trades as the books know them, one line each.
    disagreements: list[str] = field(default_factory=list)
    #: The keys of the lots still open, in the order they opened: each round asks for them, and scanning
    #: every lot of the run instead made a week's run quadratic (rounds x lots).
    _open: dict[tuple[int, int], None] = field(default_factory=dict)

    def traded(
        self, meter_id: int, chain_slot: int, slot: int, seller: int, fill: tuple[int, int, int], tx: TxRef = NO_TX
    ) -> Lot:
        """A `Traded` event of transaction `tx`: `fill` is (buyer row, Wh, price per kWh), the lot's next trade.
        Returns its lot."""
        buyer, wh, price = fill
        lot = self.lots.get((meter_id, slot)) or self._opened(Lot(meter_id, slot, seller))
        number = trade_id(meter_id, chain_slot, len(lot.trades))
        self.trades[number] = Trade(number, slot, meter_id, seller, buyer, wh, price, trade_cost(wh, price), tx=tx)
        lot.trades.append(number)
        return lot

    def _opened(self, lot: Lot) -> Lot:
        self.lots[lot.key] = lot
        self._open[lot.key] = None
        return lot

    def grouped(self, chain_slot: int, number: int, keys: list[tuple[int, int]]) -> None:
        """A `GroupMatched` event: the lots `keys` (in order) make group `number` of `chain_slot`."""
        self.groups[(chain_slot, number)] = keys
        for key in keys:
            self.lots[key].group = (chain_slot, number)

    def settled(self, meter_id: int, slot: int, sold_wh: int, delivered_wh: int, paid: int, tx: TxRef = NO_TX) -> None:
        """A `LotSettled` event of transaction `tx`: each trade closed by the settlement rule on the event's Wh."""
        lot = self.lots[(meter_id, slot)]
        trades = [self.trades[t] for t in lot.trades]
        if sold_wh != sum(t.wh for t in trades) or sold_wh <= 0:
            self.disagreements.append(
                f"lot ({meter_id}, {slot}) settled as {sold_wh} Wh sold, the books' trades differ"
            )
            sold_wh = max(sold_wh, 1)
        outcome = settle_lot([t.cost for t in trades], sold_wh, delivered_wh)
        if sum(outcome.paid) != paid:
            self.disagreements.append(
                f"lot ({meter_id}, {slot}) settled paying {paid}; the rule on its trades pays {sum(outcome.paid)}"
            )
        for t, p, r in zip(trades, outcome.paid, outcome.refunded, strict=True):
            t.closes.append((p, r))
            t.settled, t.close_tx = True, tx
        self._closed(lot, "settled", outcome.delivered_wh)

    def refunded(self, meter_id: int, slot: int, refunded: int, tx: TxRef = NO_TX) -> None:
        """A `LotRefunded` event of transaction `tx`: every trade's cost back to its buyer."""
        lot = self.lots[(meter_id, slot)]
        trades = [self.trades[t] for t in lot.trades]
        if refunded != sum(t.cost for t in trades):
            self.disagreements.append(f"lot ({meter_id}, {slot}) refunded {refunded}, its trades cost a different sum")
        for t in trades:
            t.closes.append((0, t.cost))
            t.settled, t.close_tx = False, tx
        self._closed(lot, "refunded", 0)

    def _closed(self, lot: Lot, state: str, delivered_wh: int) -> None:
        if lot.state != "open":
            self.disagreements.append(f"lot ({lot.meter_id}, {lot.slot}) closed again ({state} after {lot.state})")
        lot.state = state
        lot.delivered_wh = delivered_wh
        self._open.pop(lot.key, None)

    def open_lots(self, slot: int | None = None) -> list[Lot]:
        """The lots still open (of scenario slot `slot`, if given), in the order they opened."""
        return [self.lots[key] for key in self._open if slot is None or key[1] == slot]

    def expected(self, lot: Lot, exported_wh: int | None) -> dict[int, tuple[int, int]]:
        """(paid, refunded) per trade by the settlement rule; `None` export means a refund."""
        trades = [self.trades[t] for t in lot.trades]
        if exported_wh is None:
            return {t.trade_id: (0, t.cost) for t in trades}
        outcome = settle_lot([t.cost for t in trades], sum(t.wh for t in trades), exported_wh)
        return {t.trade_id: (p, r) for t, p, r in zip(trades, outcome.paid, outcome.refunded, strict=True)}

    def mismatches(self, exported: dict[tuple[int, int], int | None]) -> list[int]:
        """Trade ids whose close differs from the rule (or that closed not exactly once).

        `exported[(meter, slot)]` is the meter's export in the lot's slot where a reading could settle it, or None.
        """
        wrong: list[int] = []
        for lot in self.lots.values():
            expected = self.expected(lot, exported.get(lot.key))
            for number in lot.trades:
                closes = self.trades[number].closes
                if len(closes) != 1 or closes[0] != expected[number]:
                    wrong.append(number)
        return sorted(wrong)
