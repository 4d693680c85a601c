"""Calldata of the escrow's batch calls, written word by word.

`matchOrders`, `settleLots` and `refundLots` take arrays of structs of
static fields (and, for settlement, each lot's array of trades). A
city-sized day encodes about 100,000 of them; eth_abi takes about 25 us for
each, these a tenth of that. The layout is the ABI's (a test compares every
byte with eth_abi's): static tuples inline, dynamic ones behind offsets
counted from the start of their enclosing head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from p2p_energy.domain.eip712 import Signature, address_word, word
from p2p_energy.domain.meters import Reading
from p2p_energy.domain.orders import Ask, Bid, LotTrade

_WORD = 32
#: Most calldata bytes the runner puts into one call: a Qtum transaction holds at most 100,000 bytes (and
#: geth's pool takes 128 KiB); the same bound on every chain keeps a run's calls the same everywhere.
MAX_CALLDATA_BYTES = 95_000


def match_orders_size(asks: int, bids: int, fills: int) -> int:
    """Bytes of matchOrders calldata: selector, head and lengths, then 7, 6 and 4 words per ask, bid, fill."""
    return 4 + 7 * _WORD + _WORD * (7 * asks + 6 * bids + 4 * fills)


def lots_size(lots: int, trades: int, *, settle: bool) -> int:
    """Bytes of settleLots (`settle`) or refundLots calldata for `lots` lots of `trades` trades in all:
    per lot its offset, its head (with the reading and signature when settled), per trade 3 words."""
    per_lot = _WORD * (1 + (6 if settle else 0) + 4)
    return 4 + 2 * _WORD + per_lot * lots + 3 * _WORD * trades


@dataclass(frozen=True)
class Lot:
    """A lot as settleLots and refundLots name it: its meter, its chain slot, its trades in match order."""

    meter_id: int
    slot: int
    trades: tuple[LotTrade, ...]

    def encoded(self) -> bytes:
        """The ABI encoding of the `LotTrades` tuple (dynamic: its trades follow its head)."""
        parts = [word(self.meter_id), word(self.slot), word(3 * _WORD), word(len(self.trades))]
        parts += [address_word(t.buyer) + word(t.wh) + word(t.cost) for t in self.trades]
        return b"".join(parts)


@dataclass(frozen=True)
class LotProof:
    """A lot with the meter's signed reading of its slot, as settleLots is given it."""

    lot: Lot
    reading: Reading
    signature: Signature

    def encoded(self) -> bytes:
        r = self.reading
        head = (
            word(6 * _WORD)
            + word(r.meter_id)
            + word(r.slot)
            + word(r.exported_wh)
            + self.signature.r
            + self.signature.vs
        )
        return head + self.lot.encoded()


def _dynamic_array(items: Sequence[bytes]) -> bytes:
    """An array of dynamic elements: its length, an offset per element, the elements."""
    offsets, at = [], _WORD * len(items)
    for item in items:
        offsets.append(word(at))
        at += len(item)
    return word(len(items)) + b"".join(offsets) + b"".join(items)


def match_orders(
    selector: bytes,
    slot: int,
    asks: Sequence[tuple[Ask, Signature]],
    bids: Sequence[tuple[Bid, Signature]],
    fills: Sequence[tuple[int, int, int, int]],
) -> bytes:
    """matchOrders(slot, asks, bids, fills) calldata; `fills` are (ask index, bid index, Wh, price per kWh)."""
    ask_part = word(len(asks)) + b"".join(
        word(a.meter_id) + word(a.slot) + word(a.wh) + word(a.min_wh) + word(a.min_price_per_kwh) + s.r + s.vs
        for a, s in asks
    )
    bid_part = word(len(bids)) + b"".join(
        address_word(b.account) + word(b.slot) + word(b.max_wh) + word(b.max_price_per_kwh) + s.r + s.vs
        for b, s in bids
    )
    fill_part = word(len(fills)) + b"".join(word(a) + word(b) + word(wh) + word(price) for a, b, wh, price in fills)
    head = 4 * _WORD
    offsets = word(head) + word(head + len(ask_part)) + word(head + len(ask_part) + len(bid_part))
    return selector + word(slot) + offsets + ask_part + bid_part + fill_part


def settle_lots(selector: bytes, proofs: Sequence[LotProof]) -> bytes:
    """settleLots(proofs) calldata."""
    return selector + word(_WORD) + _dynamic_array([p.encoded() for p in proofs])


def refund_lots(selector: bytes, lots: Sequence[Lot]) -> bytes:
    """refundLots(lots) calldata."""
    return selector + word(_WORD) + _dynamic_array([lot.encoded() for lot in lots])
