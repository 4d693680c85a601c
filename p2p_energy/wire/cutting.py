"""How many records one matchOrders or closeLots call may carry: the cutting of a batch into calls.

A call keeps within :class:`CallBounds`: the bytes of a Qtum transaction
(100,000, calldata included; 95,000 of calldata leaves room for the rest)
and a gas bound (Qtum relays no transaction whose gas limit is above half a
block, 20,000,000). The same bounds on every chain keep a run's calls, and so
its gas, the same everywhere. Within them, a call takes as many whole lots
(matching) or whole groups (closing) as fit, in order: every account it
names is read and written once, so fewer, larger calls cost less.

The gas of a call is modelled from what it carries (accounts, slots, lots,
trades, orders, readings): :func:`match_gas` and :func:`close_gas` are upper
bounds, used as the call's gas limit; `p2p-energy gas` measures calls of
many shapes and checks that each model stays above what a receipt says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from p2p_energy.limits import MAX_ACCOUNTS_PER_CALL, MAX_BYTES_PER_STREAM, MAX_LOTS_PER_GROUP
from p2p_energy.wire.orders import ASK_RECORD, BID_RECORD, Bid, SignedOrder
from p2p_energy.wire.readings import SignedReading, reading_size
from p2p_energy.wire.records import (
    ACCOUNT,
    CLOSE_LOT_HEADER,
    GROUP_HEADER,
    LOT_HEADER,
    SLOT_HEADER,
    CloseCall,
    GroupClose,
    Lot,
    MatchCall,
    credited_by,
)

#: Calldata bytes one call carries at most: a Qtum transaction holds at most 100,000 bytes in all.
MAX_CALLDATA_BYTES = 95_000
#: Gas one call is given at most: Qtum relays no transaction above half a block's 40,000,000.
MAX_CALL_GAS = 18_000_000
#: Bytes of a call's selector, its four argument heads and the four length words.
_CALL_OVERHEAD = 4 + 8 * 32


@dataclass(frozen=True)
class CallBounds:
    calldata: int = MAX_CALLDATA_BYTES
    gas: int = MAX_CALL_GAS


# What each part of a call costs (gas): least squares over the 241 calls of demo, faults, street, neighbourhood
# and city-day (largest error 2.5% for matchOrders, 5.9% for closeLots), plus 12% and rounded up, so that the
# model stays above a receipt (checked by `p2p-energy gas` and tests/library/test_cutting.py).
_MATCH_BASE = 100_000  # the transaction, the totals word (fresh on the first match), the loop
_LOADED_ACCOUNT = 6_900  # a balance word read and written (cold), its 20 bytes of calldata
_NAMED_ACCOUNT = 2_300  # a seller: its address, its ask word read (cold)
_SLOT = 54_000  # a slot's word and its first group's word, both fresh, and GroupMatched (47,714 measured)
_GROUP = 25_000  # each further group word
_MATCH_LOT = 3_300  # the lot's header and its hash link
_FILL = 3_750  # a Traded event (2,012), the checks, the hash link, the debit
_BID = 9_700  # a signature check and the standing bid's fields
_ASK = 39_500  # a signature check, the registry's owner check, a fresh ask word
_CLOSE_BASE = 100_000  # the transaction, the registry call (cold), the totals word
_CLOSE_LOADED = 6_900
_CLOSE_NAMED = 450
_READING = 12_100  # a meter word read, a signature check, the values hashed
_READING_SLOT = 560
_CLOSE_GROUP = 8_000  # the group word read and cleared: its 4,800 refund comes only after the call, so not counted
_CLOSE_LOT = 7_200  # a LotSettled event, the lot's reading looked up, its hash link
_CLOSE_TRADE = 800  # the hash link, the settlement rule, a credit


def match_gas(accounts: int, named: int, slots: int, lots: int, fills: int, bids: int, asks: int) -> int:
    """An upper bound of a matchOrders call's gas."""
    groups = max(0, -(-lots // MAX_LOTS_PER_GROUP) - slots)
    return (
        _MATCH_BASE + _LOADED_ACCOUNT * accounts + _NAMED_ACCOUNT * named + _SLOT * slots + _GROUP * groups
        + _MATCH_LOT * lots + _FILL * fills + _BID * bids + _ASK * asks
    )  # fmt: skip


def close_gas(accounts: int, named: int, readings: int, reading_slots: int, groups: int, lots: int, trades: int) -> int:
    """An upper bound of a closeLots call's gas."""
    return (
        _CLOSE_BASE + _CLOSE_LOADED * accounts + _CLOSE_NAMED * named + _READING * readings
        + _READING_SLOT * reading_slots + _CLOSE_GROUP * groups + _CLOSE_LOT * lots + _CLOSE_TRADE * trades
    )  # fmt: skip


def call_gas(call: MatchCall | CloseCall) -> int:
    """The modelled gas of a built call (its gas limit)."""
    accounts = call.accounts
    if isinstance(call, MatchCall):
        bids = sum(1 for o in call.orders if isinstance(o.order, Bid))
        slots = len({lot.slot for lot in call.lots})
        fills = sum(len(lot.trades) for lot in call.lots)
        return match_gas(
            len(accounts.loaded), len(accounts.named), slots, len(call.lots), fills, bids, len(call.orders) - bids
        )
    lots = [lot for g in call.groups for lot in g.lots]
    spans = sum(len(r.reading.exported_wh) for r in call.readings)
    trades = sum(len(lot.trades) for lot in lots)
    return close_gas(
        len(accounts.loaded), len(accounts.named), len(call.readings), spans, len(call.groups), len(lots), trades
    )


@dataclass
class _Tally:
    """What a call being filled carries so far."""

    loaded: set[str] = field(default_factory=set)
    named: set[str] = field(default_factory=set)
    slots: int = 0
    lots: int = 0
    trades: int = 0
    stream_bytes: int = 0  # the matches or closes stream
    order_bytes: int = 0
    bids: int = 0
    asks: int = 0
    groups: int = 0

    def accounts(self) -> int:
        return len(self.loaded) + len(self.named - self.loaded)


def _padded(n: int) -> int:
    return n + (-n % 32)


class MatchCutter:
    """Cuts a day's lots (in order: by slot, then meter id) into matchOrders calls within `bounds`.

    `orders` holds each account's standing orders to place (its bid, its ask), keyed by lower-case address;
    each is placed in the first call whose lots need it (the seller's ask, each buyer's bid), once.
    """

    def __init__(self, orders: Mapping[str, Sequence[SignedOrder]], bounds: CallBounds | None = None) -> None:
        self.orders = orders
        self.bounds = bounds or CallBounds()
        self.placed: set[tuple[str, bool]] = set()

    def _needed(self, lot: Lot) -> list[SignedOrder]:
        wanted = [(lot.seller.lower(), False), *((b, True) for b in sorted(lot.buyers))]
        needed = []
        for account, is_bid in wanted:
            if (account, is_bid) in self.placed:
                continue
            needed += [o for o in self.orders.get(account, ()) if isinstance(o.order, Bid) == is_bid]
        return needed

    def cut(self, lots: Sequence[Lot]) -> list[MatchCall]:
        calls: list[MatchCall] = []
        current: list[Lot] = []
        orders: list[SignedOrder] = []
        tally = _Tally()
        last_slot: int | None = None
        for lot in lots:
            needed = self._needed(lot)
            trial = self._add(tally, lot, needed, new_slot=lot.slot != last_slot)
            if current and not self._fits(trial):
                calls.append(MatchCall(tuple(orders), tuple(current)))
                current, orders, tally = [], [], _Tally()
                trial = self._add(tally, lot, needed, new_slot=True)
            current.append(lot)
            orders += needed
            self.placed |= {(o.account.lower(), isinstance(o.order, Bid)) for o in needed}
            tally, last_slot = trial, lot.slot
        if current:
            calls.append(MatchCall(tuple(orders), tuple(current)))
        return calls

    @staticmethod
    def _add(tally: _Tally, lot: Lot, needed: list[SignedOrder], *, new_slot: bool) -> _Tally:
        bids = sum(1 for o in needed if isinstance(o.order, Bid))
        return _Tally(
            loaded=tally.loaded | lot.buyers,
            named=tally.named | {lot.seller.lower()},
            slots=tally.slots + new_slot,
            lots=tally.lots + 1,
            trades=tally.trades + len(lot.trades),
            stream_bytes=tally.stream_bytes + SLOT_HEADER * new_slot + LOT_HEADER + lot.trades_size,
            order_bytes=tally.order_bytes + BID_RECORD * bids + ASK_RECORD * (len(needed) - bids),
            bids=tally.bids + bids,
            asks=tally.asks + len(needed) - bids,
        )

    def _fits(self, t: _Tally) -> bool:
        accounts = t.accounts()
        size = _CALL_OVERHEAD + _padded(ACCOUNT * accounts) + _padded(t.order_bytes) + _padded(t.stream_bytes)
        named = accounts - len(t.loaded)
        gas = match_gas(len(t.loaded), named, t.slots, t.lots, t.trades, t.bids, t.asks)
        within = accounts <= MAX_ACCOUNTS_PER_CALL and t.stream_bytes <= MAX_BYTES_PER_STREAM
        return within and size <= self.bounds.calldata and gas <= self.bounds.gas


@dataclass(frozen=True)
class LotAction:
    """What a closeLots call does with an open lot: settle it against its meter's reading of `exported_wh`, or
    refund it (after its grace period)."""

    settle: bool
    exported_wh: int = 0

    def credited(self, lot: Lot) -> set[str]:
        return credited_by(lot, self.exported_wh if self.settle else None)


@dataclass(frozen=True)
class CloseCut:
    """The groups one closeLots call takes and the accounts it credits; the caller signs its readings."""

    groups: tuple[GroupClose, ...]
    credited: frozenset[str]


def cut_closes(
    groups: Sequence[GroupClose], action: Callable[[Lot], LotAction | None], bounds: CallBounds | None = None
) -> list[CloseCut]:
    """Cut `groups` into closeLots calls within `bounds`. `action(lot)` says what the call does with each lot (None:
    it leaves it: closed already, or not due); a settled lot takes a reading of its seller's, counted per seller as
    one window from its first to its last slot in the call."""
    bounds = bounds or CallBounds()
    cuts: list[CloseCut] = []
    current: list[GroupClose] = []
    tally = _Tally()
    spans: dict[str, tuple[int, int]] = {}
    for group in groups:
        trial, trial_spans = _add_group(tally, spans, group, action)
        if current and not _close_fits(trial, trial_spans, bounds):
            cuts.append(CloseCut(tuple(current), frozenset(tally.loaded)))
            current, tally, spans = [], _Tally(), {}
            trial, trial_spans = _add_group(tally, spans, group, action)
        current.append(group)
        tally, spans = trial, trial_spans
    if current:
        cuts.append(CloseCut(tuple(current), frozenset(tally.loaded)))
    return cuts


def _add_group(
    tally: _Tally, spans: dict[str, tuple[int, int]], group: GroupClose, action: Callable[[Lot], LotAction | None]
) -> tuple[_Tally, dict[str, tuple[int, int]]]:
    loaded, named, spans = set(tally.loaded), set(tally.named), dict(spans)
    trades = stream_bytes = 0
    for lot in group.lots:
        named |= lot.buyers | {lot.seller.lower()}
        trades += len(lot.trades)
        stream_bytes += CLOSE_LOT_HEADER + lot.trades_size
        what = action(lot)
        if what is None:
            continue
        loaded |= what.credited(lot)
        if what.settle:
            low, high = spans.get(lot.seller.lower(), (lot.slot, lot.slot))
            spans[lot.seller.lower()] = (min(low, lot.slot), max(high, lot.slot))
    return (
        _Tally(
            loaded=loaded,
            named=named,
            lots=tally.lots + len(group.lots),
            trades=tally.trades + trades,
            stream_bytes=tally.stream_bytes + GROUP_HEADER + stream_bytes,
            groups=tally.groups + 1,
        ),
        spans,
    )


def _close_fits(t: _Tally, spans: dict[str, tuple[int, int]], bounds: CallBounds) -> bool:
    accounts = t.accounts()
    reading_slots = sum(high - low + 1 for low, high in spans.values())
    readings_bytes = sum(reading_size(high - low + 1) for low, high in spans.values())
    size = _CALL_OVERHEAD + _padded(ACCOUNT * accounts) + _padded(readings_bytes) + _padded(t.stream_bytes)
    named = accounts - len(t.loaded)
    gas = close_gas(len(t.loaded), named, len(spans), reading_slots, t.groups, t.lots, t.trades)
    within = accounts <= MAX_ACCOUNTS_PER_CALL and max(t.stream_bytes, readings_bytes) <= MAX_BYTES_PER_STREAM
    return within and size <= bounds.calldata and gas <= bounds.gas


def close_call(cut: CloseCut, readings: Sequence[SignedReading]) -> CloseCall:
    """The closeLots call of `cut` with its sellers' `readings`: each settling lot proved by the reading of its
    meter that covers its slot."""
    proofs: dict[int, int] = {}
    for place, signed in enumerate(readings):
        r = signed.reading
        for group in cut.groups:
            for lot in group.lots:
                if lot.meter_id == r.meter_id and lot.slot in r.slots:
                    proofs[lot.key] = place
    return CloseCall(cut.groups, tuple(readings), proofs, cut.credited)
