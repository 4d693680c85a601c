"""The shapes of the gas report's batch calls: which orders, lots and readings each call carries.

Pure (no chain): :class:`Shapes` builds every matchOrders call's lots and
every closeLots call's readings with :mod:`p2p_energy.wire`, and names the
calls from which the per-item costs are solved. Each shape has slots of its
own (allocated in the order the shapes are matched, so that every buyer's
slots come in increasing order, as the escrow wants), every lot its own
seller unless the shape says otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from p2p_energy.chain.accounts import Account
from p2p_energy.gas_figures import CLOSE_ITEMS, MATCH_ITEMS, CallFigure, solve_items
from p2p_energy.limits import MAX_LOTS_PER_GROUP
from p2p_energy.wire.cutting import MAX_CALL_GAS, MAX_CALLDATA_BYTES, CloseCut, LotAction, match_gas
from p2p_energy.wire.eip712 import Eip712Domain
from p2p_energy.wire.orders import ASK_RECORD, BID_RECORD, Ask, Bid, SignedOrder, sign_order
from p2p_energy.wire.readings import MeterKey, Reading, SignedReading
from p2p_energy.wire.records import ACCOUNT, GroupClose, Lot, MatchCall, Trade

PRICE_PER_KWH = 25_000_000  # 0.25 NRG
WH_PER_TRADE = 500
#: Standing orders: every fill of the run within them.
BID_PRICE = 2 * PRICE_PER_KWH
ASK_PRICE = PRICE_PER_KWH // 2
WH_PER_SLOT = 1_000_000
MIN_WH = 10
UNTIL_SLOT = 2**31
#: Slots a long reading covers (MeterRegistry.MAX_SLOTS_PER_READING: a day).
LONG_READING = 96
#: Bytes of a matchOrders call besides its records: selector, heads, lengths, padding.
_CALL_BYTES = 4 + 8 * 32 + 3 * 31


@dataclass(frozen=True)
class GasPlan:
    """The sizes of one run: `k` items in the shapes that solve for the per-item costs (the same in a quick run, so
    that it checks the gas model on the same shapes), a busy city-day hour
    (`city_slots` x `city_lots` x `city_fills`, among `city_buyers` buyers), and typical lots of
    `trades_per_lot` trades: closed `batches` lots at a time, `short_lots` delivered short, `refunds` refunded."""

    k: int
    trades_per_lot: int
    city_slots: int
    city_lots: int
    city_fills: int
    city_buyers: int
    batches: tuple[int, ...]
    short_lots: int
    refunds: tuple[int, ...]

    @classmethod
    def full(cls, trades_per_lot: int) -> GasPlan:
        return cls(12, trades_per_lot, 4, 300, 3, 600, (1, 10, 100), 100, (1, 100))

    @classmethod
    def quick(cls, trades_per_lot: int) -> GasPlan:
        return cls(12, trades_per_lot, 2, 20, 3, 30, (1, 10, 100), 10, (1, 10))

    @property
    def sellers(self) -> int:
        return max(self.city_lots, *self.batches, self.short_lots, *self.refunds, MAX_LOTS_PER_GROUP + 1, self.k + 1)

    @property
    def buyers(self) -> int:
        return max(self.city_buyers, self.k, self.trades_per_lot)


#: What a closing shape delivers per lot: its sold Wh, or half of it (every buyer credited a part back).
def delivered_in_full(lot: Lot) -> int:
    return lot.sold_wh


def delivered_half(lot: Lot) -> int:
    return lot.sold_wh // 2


@dataclass(frozen=True)
class CloseShape:
    """A closing shape: the shape whose lots it closes, what each lot delivered, and how many slots each of its
    readings covers (None: from its seller's first to last lot in the call)."""

    name: str
    matched: str
    exported: Callable[[Lot], int] = delivered_in_full
    span: int | None = None


@dataclass
class Shapes:
    """Every shape of one run; slots are handed out from `first_slot` (set once the orders are placed)."""

    plan: GasPlan
    sellers: list[Account]
    buyers: list[Account]
    domain: Eip712Domain
    first_slot: int = 0
    used_slots: int = 0
    _turn: int = field(default=0, repr=False)

    @property
    def next_slot(self) -> int:
        return self.first_slot + self.used_slots

    def _slots(self, n: int) -> list[int]:
        self.used_slots += n
        return list(range(self.next_slot - n, self.next_slot))

    def _lot(self, meter: int, slot: int, buyers: Sequence[Account], price: int = PRICE_PER_KWH) -> Lot:
        """Meter `meter` (seller meter - 1's) in `slot`: a trade of WH_PER_TRADE per buyer, at `price`."""
        trades = tuple(Trade(b.address, WH_PER_TRADE, price) for b in buyers)
        return Lot(meter, slot, self.sellers[meter - 1].address, trades)

    def _next_buyers(self, n: int) -> list[Account]:
        """The next `n` buyers in turn (distinct where there are enough)."""
        chosen = [self.buyers[(self._turn + i) % len(self.buyers)] for i in range(n)]
        self._turn += n
        return chosen

    # -------------------------------------------------------------- orders

    def _sign(self, account: Account, order: Bid | Ask) -> SignedOrder:
        assert account.private_key is not None
        return sign_order(account.private_key, self.domain, order)

    def bid_of(self, account: Account) -> SignedOrder:
        return self._sign(account, Bid(account.address, BID_PRICE, WH_PER_SLOT, UNTIL_SLOT))

    def bids(self) -> list[SignedOrder]:
        return [self.bid_of(b) for b in self.buyers]

    def asks(self) -> list[SignedOrder]:
        """Seller i's standing ask for its meter, i + 1."""
        return [
            self._sign(s, Ask(s.address, i + 1, ASK_PRICE, WH_PER_SLOT, MIN_WH, UNTIL_SLOT))
            for i, s in enumerate(self.sellers)
        ]

    @staticmethod
    def order_calls(orders: Sequence[SignedOrder]) -> list[list[SignedOrder]]:
        """`orders` (no lots) in as few matchOrders calls as the calldata and gas bounds allow, in order."""
        calls: list[list[SignedOrder]] = [[]]
        bids = asks = 0
        for order in orders:
            is_bid = isinstance(order.order, Bid)
            trial = (bids + is_bid, asks + (not is_bid))
            size = _CALL_BYTES + (ACCOUNT + BID_RECORD) * trial[0] + ASK_RECORD * trial[1]
            if calls[-1] and (size > MAX_CALLDATA_BYTES or match_gas(trial[0], 0, 0, 0, 0, *trial) > MAX_CALL_GAS):
                calls.append([])
                bids = asks = 0
            calls[-1].append(order)
            bids, asks = bids + is_bid, asks + (not is_bid)
        return [c for c in calls if c]

    # ------------------------------------------------------------ matching

    def _names(self) -> dict[str, str]:
        k, p, groups = self.plan.k, self.plan, MAX_LOTS_PER_GROUP + 1
        return {
            "one": "1 slot, 1 lot, 1 fill",
            "fills": f"1 lot, {k} fills of 1 buyer",
            "buyers": f"1 lot, {k} fills of {k} buyers",
            "lots": f"1 slot, {k} lots of 1 fill",
            "slots": f"{k} slots, 1 lot of 1 fill each",
            "groups": f"1 slot, {groups} lots of 1 fill (2 groups)",
            "short": f"1 lot, {k} fills of {k} buyers (to deliver short)",
            "long": f"1 slot, 1 lot, 1 fill (to prove with a reading of {LONG_READING} slots)",
            "sellers": f"{k} slots, 1 lot of 1 fill each, {k} sellers",
            "city": f"a busy city-day hour: {p.city_slots} slots x {p.city_lots} lots x {p.city_fills} fills",
        }

    def batch_name(self, lots: int) -> str:
        """`lots` typical lots (of the plan's trades per lot)."""
        tpl = self.plan.trades_per_lot
        return f"{lots} lot{'s' if lots > 1 else ''} of {tpl} trade{'s' if tpl > 1 else ''}"

    def matches(self) -> list[tuple[str, list[Lot], bool]]:
        """Every shape's lots, in the order they are matched: (name, lots, True where MatchCutter cuts them into
        calls, else one call). Hands out slots."""
        k, n, b0 = self.plan.k, self._names(), self.buyers[0]
        one, fills, buyers, lots = self._slots(4)
        shapes = [
            (n["one"], [self._lot(1, one, [b0])], False),
            (n["fills"], [self._lot(1, fills, [b0] * k)], False),
            (n["buyers"], [self._lot(1, buyers, self.buyers[:k])], False),
            (n["lots"], [self._lot(m, lots, [b0]) for m in range(1, k + 1)], False),
            (n["slots"], [self._lot(1, s, [b0]) for s in self._slots(k)], False),
        ]
        (groups,) = self._slots(1)
        shapes.append((n["groups"], [self._lot(m, groups, [b0]) for m in range(1, MAX_LOTS_PER_GROUP + 2)], False))
        short, long = self._slots(2)
        shapes.append((n["short"], [self._lot(1, short, self.buyers[:k])], False))
        shapes.append((n["long"], [self._lot(1, long, [b0])], False))
        shapes.append((n["sellers"], [self._lot(m, s, [b0]) for m, s in enumerate(self._slots(k), start=1)], False))
        for purpose, sizes in self._batches():
            shapes += [(f"{self.batch_name(size)} ({purpose})", self._batch(size), True) for size in sizes]
        shapes.append((n["city"], self._city(), True))
        return shapes

    def _batches(self) -> list[tuple[str, tuple[int, ...]]]:
        p = self.plan
        return [("to deliver in full", p.batches), ("to deliver short", (p.short_lots,)), ("to refund", p.refunds)]

    def _batch(self, lots: int) -> list[Lot]:
        """`lots` lots of one slot, each of its own seller, each of `trades_per_lot` buyers in turn."""
        (slot,) = self._slots(1)
        return [self._lot(m, slot, self._next_buyers(self.plan.trades_per_lot)) for m in range(1, lots + 1)]

    def _city(self) -> list[Lot]:
        """A busy hour of city-day: every seller's lot in each slot, its fills from buyers in turn, each lot at
        a price of its own."""
        p, chosen = self.plan, self.buyers[: self.plan.city_buyers]
        lots = []
        turn = 0
        for slot in self._slots(p.city_slots):
            for meter in range(1, p.city_lots + 1):
                buyers = [chosen[(turn + f) % len(chosen)] for f in range(p.city_fills)]
                turn += p.city_fills
                lots.append(self._lot(meter, slot, buyers, PRICE_PER_KWH + 1_000 * meter))
        return lots

    # ------------------------------------------------------------- closing

    def solving_closes(self) -> list[CloseShape]:
        """The closing shapes closeLots' per-item costs are solved from (as many as its unknowns)."""
        k, n = self.plan.k, self._names()
        return [
            CloseShape("1 group, 1 lot, 1 trade", n["one"]),
            CloseShape(f"1 group, 1 lot, {k} trades of 1 buyer", n["fills"]),
            CloseShape(f"1 group, 1 lot, {k} trades of {k} buyers", n["buyers"]),
            CloseShape(f"1 group, 1 lot, {k} trades of {k} buyers, delivered short", n["short"], delivered_half),
            CloseShape(f"1 group, {k} lots of {k} sellers", n["lots"]),
            CloseShape(f"{k} groups (slots), 1 seller: 1 reading of {k} slots", n["slots"]),
            CloseShape(f"1 group, 1 lot, 1 trade, a reading of {LONG_READING} slots", n["long"], span=LONG_READING),
            CloseShape(f"{k} groups (slots) of {k} sellers: {k} readings", n["sellers"]),
        ]

    def closes(self) -> list[CloseShape]:
        """Every shape closed within its grace period (settled against its readings), in order."""
        n, p = self._names(), self.plan
        shapes = [*self.solving_closes(), CloseShape(f"2 groups ({MAX_LOTS_PER_GROUP} + 1 lots)", n["groups"])]
        for size in p.batches:
            name = self.batch_name(size)
            shapes.append(CloseShape(f"{name}, delivered in full", f"{name} (to deliver in full)"))
        short = self.batch_name(p.short_lots)
        shapes.append(CloseShape(f"{short}, every lot short", f"{short} (to deliver short)", delivered_half))
        shapes.append(CloseShape(f"{n['city']}, delivered in full", n["city"]))
        return shapes

    def refunds(self) -> list[CloseShape]:
        """The shapes refunded after their grace period (no reading)."""
        names = [self.batch_name(size) for size in self.plan.refunds]
        return [CloseShape(f"{name}, refunded after the grace period", f"{name} (to refund)") for name in names]

    # ------------------------------------------------------------- solving

    def match_items(self, calls: Sequence[CallFigure]) -> dict[str, int]:
        """matchOrders' gas per item, from the orders-only calls and the matching shapes (not the empty call: a call
        that carries nothing skips work every other call does, which would be counted against the items)."""
        k, n = self.plan.k, self._names()
        names = [f"orders only: {k} bids", f"orders only: {k} asks"]
        names += [n[s] for s in ("one", "fills", "buyers", "lots", "slots", "sellers", "groups")]
        return solve_items(MATCH_ITEMS, [_named(calls, "matchOrders", name) for name in names])

    def close_items(self, calls: Sequence[CallFigure]) -> dict[str, int]:
        """closeLots' gas per item, from the solving closes."""
        return solve_items(CLOSE_ITEMS, [_named(calls, "closeLots", s.name) for s in self.solving_closes()])


def _named(calls: Sequence[CallFigure], function: str, name: str) -> CallFigure:
    found = [c for c in calls if c.function == function and c.name == name]
    if len(found) != 1:
        raise ValueError(f"expected one {function} call of shape {name!r}, found {len(found)}")
    return found[0]


def group_closes(call: MatchCall, events: Sequence[dict[str, Any]]) -> list[GroupClose]:
    """The groups a matchOrders call committed (its GroupMatched events, in order), each with its lots."""
    by_slot: dict[int, list[Lot]] = defaultdict(list)
    for lot in call.lots:
        by_slot[lot.slot].append(lot)
    groups = []
    for event in (e for e in events if e["event"] == "GroupMatched"):
        slot, count = int(event["slot"]), int(event["lots"])
        lots, by_slot[slot] = by_slot[slot][:count], by_slot[slot][count:]
        groups.append(GroupClose(slot, int(event["group"]), tuple(lots)))
    return groups


def readings_for(
    cut: CloseCut,
    action: Callable[[Lot], LotAction],
    key: Callable[[int], MeterKey],
    domain: Eip712Domain,
    span: int | None,
) -> list[SignedReading]:
    """The meters' signed readings a closing call needs: per meter with a lot settled in the call, one reading
    from its first lot's slot, of `span` slots (or up to its last lot's slot), each slot's export what `action`
    says of its lot (0 where it has none)."""
    exported: dict[int, dict[int, int]] = defaultdict(dict)
    for group in cut.groups:
        for lot in group.lots:
            what = action(lot)
            if what.settle:
                exported[lot.meter_id][lot.slot] = what.exported_wh
    readings = []
    for meter, slots in sorted(exported.items()):
        first = min(slots)
        length = span if span is not None else max(slots) - first + 1
        values = tuple(slots.get(s, 0) for s in range(first, first + length))
        readings.append(key(meter).sign(domain, Reading(meter, first, values)))
    return readings
