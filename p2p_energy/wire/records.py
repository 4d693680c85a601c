"""The packed records of EnergyEscrow's batch calls, their account list, the groups' hash chain, and calldata.

`matchOrders(accounts, loaded, orders, matches)` and `closeLots(accounts,
loaded, readings, closes)` take byte streams (contracts/EscrowWords.sol has
the layouts; every number big-endian):

- accounts: 20-byte addresses in two parts, each strictly increasing: the
  first `loaded` are the accounts whose balance the call changes (read and
  written once), the rest are only named (for the hash chain and events);
  records name accounts by their place in the whole list;
- matches: per slot a header (slot 4 | lots 2), per lot a header (seller 2 |
  fills 1 | price per kWh 6) and its fills (buyer 2 | Wh 3), or, when the
  lot's trades have different prices (header price 0), (buyer 2 | Wh 3 |
  price 6);
- closes: per group a header (slot 4 | group 4 | lots 1), per lot a header
  (meter 4 | seller 2 | trades 1 | reading 2 | price 6) and its trades as in
  matches; the reading is the lot's proof's place among the call's readings
  (from 1; 0: none).

The escrow commits each group of up to 64 lots of one slot (the lots one
matchOrders call makes in a slot, 64 at a time) as a running 192-bit hash:
:func:`group_commitment` is the same chain in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from eth_utils.crypto import keccak

from p2p_energy.limits import MAX_LOTS_PER_GROUP, MAX_TRADES_PER_LOT
from p2p_energy.wire.eip712 import address_bytes, word
from p2p_energy.wire.orders import Bid, SignedOrder, order_records
from p2p_energy.wire.readings import SignedReading, reading_records

ACCOUNT = 20
SLOT_HEADER = 6
LOT_HEADER = 9
FILL = 5
PRICED_FILL = 11
GROUP_HEADER = 9
CLOSE_LOT_HEADER = 15
#: Bit 255 of a lot's word in a group's hash chain (a trade's word never has it).
LOT_TAG = 1 << 255
_SLOT_BITS = 64
_COMMITMENT = 24

MATCH_ORDERS = "matchOrders(bytes,uint256,bytes,bytes)"
CLOSE_LOTS = "closeLots(bytes,uint256,bytes,bytes)"


def lot_key(meter_id: int, slot: int) -> int:
    """EnergyEscrow.lotKey: the (meter, slot) lot's key in events, meter id above a 64-bit slot."""
    return (meter_id << _SLOT_BITS) | slot


def lot_of_key(key: int) -> tuple[int, int]:
    """(meter id, slot) of a lot key."""
    return key >> _SLOT_BITS, key & ((1 << _SLOT_BITS) - 1)


@dataclass(frozen=True)
class Trade:
    """One trade of a lot: `wh` to `buyer` at `price_per_kwh` token base units per kWh."""

    buyer: str
    wh: int
    price_per_kwh: int


@dataclass(frozen=True)
class Lot:
    """A (meter, chain slot) lot as both streams carry it: the meter's owner and its trades in match order."""

    meter_id: int
    slot: int
    seller: str
    trades: tuple[Trade, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.trades) <= MAX_TRADES_PER_LOT:
            raise ValueError(f"a lot has 1 to {MAX_TRADES_PER_LOT} trades, got {len(self.trades)}")

    @property
    def key(self) -> int:
        return lot_key(self.meter_id, self.slot)

    @property
    def sold_wh(self) -> int:
        return sum(t.wh for t in self.trades)

    @property
    def price(self) -> int:
        """The lot's one price per kWh, or 0 when its trades' prices differ (each record then carries its own)."""
        prices = {t.price_per_kwh for t in self.trades}
        return prices.pop() if len(prices) == 1 else 0

    @property
    def buyers(self) -> set[str]:
        return {t.buyer.lower() for t in self.trades}

    def trade_records(self, index: dict[str, int]) -> bytes:
        priced = self.price == 0
        out = bytearray()
        for t in self.trades:
            out += index[t.buyer.lower()].to_bytes(2, "big") + t.wh.to_bytes(3, "big")
            if priced:
                out += t.price_per_kwh.to_bytes(6, "big")
        return bytes(out)

    @property
    def trades_size(self) -> int:
        return len(self.trades) * (PRICED_FILL if self.price == 0 else FILL)


# ------------------------------------------------------------------ hash chain


def _link(previous: bytes, value: int) -> bytes:
    """keccak(previous padded to a word, value) cut to 24 bytes: EnergyEscrow._chain."""
    return keccak(previous + bytes(32 - _COMMITMENT) + word(value))[:_COMMITMENT]


def lot_link(previous: bytes, lot: Lot) -> bytes:
    """The chain after `lot`'s own word (tag | meter << 160 | seller) and each of its trades
    ((wh << 208) | (price << 160) | buyer)."""
    chained = _link(previous, LOT_TAG | (lot.meter_id << 160) | int.from_bytes(address_bytes(lot.seller), "big"))
    for t in lot.trades:
        buyer = int.from_bytes(address_bytes(t.buyer), "big")
        chained = _link(chained, (t.wh << 208) | (t.price_per_kwh << 160) | buyer)
    return chained


def group_commitment(lots: Sequence[Lot]) -> bytes:
    """The 24-byte commitment the escrow stores for a group of `lots` (in the group's order)."""
    if not 1 <= len(lots) <= MAX_LOTS_PER_GROUP:
        raise ValueError(f"a group has 1 to {MAX_LOTS_PER_GROUP} lots, got {len(lots)}")
    chained = bytes(_COMMITMENT)
    for lot in lots:
        chained = lot_link(chained, lot)
    return chained


# ---------------------------------------------------------------- account list


@dataclass(frozen=True)
class AccountList:
    """A call's accounts: those whose balance it changes (`loaded`), then those it only names."""

    loaded: tuple[str, ...]
    named: tuple[str, ...]
    index: dict[str, int] = field(init=False, compare=False)

    @classmethod
    def of(cls, loaded: Iterable[str], named: Iterable[str]) -> AccountList:
        """Both parts sorted as the escrow wants them (by the address's number); a loaded account is not named."""
        first = sorted({a.lower() for a in loaded}, key=lambda a: int(a, 16))
        rest = sorted({a.lower() for a in named} - set(first), key=lambda a: int(a, 16))
        return cls(tuple(first), tuple(rest))

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {a: i for i, a in enumerate((*self.loaded, *self.named))})

    def __len__(self) -> int:
        return len(self.loaded) + len(self.named)

    @property
    def data(self) -> bytes:
        return b"".join(address_bytes(a) for a in (*self.loaded, *self.named))


# ---------------------------------------------------------------- the calls


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def abi_call(signature: str, *args: bytes | int) -> bytes:
    """Calldata of a function whose parameters are `bytes` and `uint256` only (the escrow's batch calls)."""
    head, tail = b"", b""
    for arg in args:
        if isinstance(arg, int):
            head += word(arg)
        else:
            head += word(32 * len(args) + len(tail))
            tail += word(len(arg)) + arg + bytes(-len(arg) % 32)
    return selector(signature) + head + tail


@dataclass(frozen=True)
class MatchCall:
    """One matchOrders call: the orders it places and the lots it makes, in stream order (by slot, then meter)."""

    orders: tuple[SignedOrder, ...]
    lots: tuple[Lot, ...]

    @cached_property
    def accounts(self) -> AccountList:
        buyers = set().union(*(lot.buyers for lot in self.lots)) if self.lots else set()
        bidders = {o.account.lower() for o in self.orders if isinstance(o.order, Bid)}
        return AccountList.of(buyers | bidders, {lot.seller for lot in self.lots})

    @property
    def matches(self) -> bytes:
        out = bytearray()
        index = self.accounts.index
        for slot, lots in _by_slot(self.lots):
            out += slot.to_bytes(4, "big") + len(lots).to_bytes(2, "big")
            for lot in lots:
                out += index[lot.seller.lower()].to_bytes(2, "big") + len(lot.trades).to_bytes(1, "big")
                out += lot.price.to_bytes(6, "big") + lot.trade_records(index)
        return bytes(out)

    @property
    def calldata(self) -> bytes:
        accounts = self.accounts
        orders = order_records(self.orders, accounts.index)
        return abi_call(MATCH_ORDERS, accounts.data, len(accounts.loaded), orders, self.matches)


@dataclass(frozen=True)
class GroupClose:
    """A group as closeLots is given it: its slot and number, and all its lots in the group's order."""

    slot: int
    group: int
    lots: tuple[Lot, ...]


@dataclass(frozen=True)
class CloseCall:
    """One closeLots call: its groups, the readings that prove lots of them, and who it credits.

    `proofs` maps a lot's key to the place (from 0) among `readings` of the reading that settles it; a lot with no
    proof is left or refunded, as the escrow decides by time. `credited` are the accounts whose balance the call may
    change: the sellers paid, and the buyers of lots delivered short or refunded.
    """

    groups: tuple[GroupClose, ...]
    readings: tuple[SignedReading, ...]
    proofs: dict[int, int]
    credited: frozenset[str]

    @cached_property
    def accounts(self) -> AccountList:
        named = set()
        for group in self.groups:
            for lot in group.lots:
                named |= lot.buyers | {lot.seller.lower()}
        return AccountList.of(self.credited, named)

    @property
    def closes(self) -> bytes:
        out = bytearray()
        index = self.accounts.index
        for group in self.groups:
            out += group.slot.to_bytes(4, "big") + group.group.to_bytes(4, "big") + len(group.lots).to_bytes(1, "big")
            for lot in group.lots:
                reading = self.proofs.get(lot.key, -1) + 1
                out += lot.meter_id.to_bytes(4, "big") + index[lot.seller.lower()].to_bytes(2, "big")
                out += len(lot.trades).to_bytes(1, "big") + reading.to_bytes(2, "big") + lot.price.to_bytes(6, "big")
                out += lot.trade_records(index)
        return bytes(out)

    @property
    def calldata(self) -> bytes:
        accounts = self.accounts
        readings = reading_records(self.readings)
        return abi_call(CLOSE_LOTS, accounts.data, len(accounts.loaded), readings, self.closes)


def credited_by(lot: Lot, exported_wh: int | None) -> set[str]:
    """Who closing `lot` credits: settled against `exported_wh`, its seller (paid) and, if the meter delivered less
    than the lot sold, every buyer (refunded a part); refunded (None), every buyer."""
    if exported_wh is None:
        return lot.buyers
    credited = {lot.seller.lower()} if exported_wh > 0 else set()
    return credited | (lot.buyers if exported_wh < lot.sold_wh else set())


def _by_slot(lots: Sequence[Lot]) -> list[tuple[int, list[Lot]]]:
    runs: list[tuple[int, list[Lot]]] = []
    for lot in lots:
        if runs and runs[-1][0] == lot.slot:
            runs[-1][1].append(lot)
        else:
            runs.append((lot.slot, [lot]))
    return runs


#: EnergyEscrow.Skip's members in order: why a fill, an order or a lot was skipped (the events carry the number).
SKIP_REASONS = (
    "None",
    "TradingClosed",
    "SlotTooFar",
    "NoAsk",
    "AskExpired",
    "NoBid",
    "BidExpired",
    "BuyerIsSeller",
    "BelowAsk",
    "AboveBid",
    "TooSmall",
    "AskFull",
    "BidFull",
    "BidOutOfOrder",
    "LotFull",
    "InsufficientBalance",
    "StaleOrder",
    "BadSignature",
    "NotMeterOwner",
    "NotOpen",
    "NotOver",
    "NoReading",
    "Unproven",
)


def skip_reason(number: int) -> str:
    """The name of EnergyEscrow.Skip member `number`."""
    return SKIP_REASONS[number] if 0 <= number < len(SKIP_REASONS) else f"Skip({number})"
