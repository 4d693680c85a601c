"""The escrow's trading calls built from plain trades: signed asks and bids, fills, lot proofs.

For the tools that trade without the simulator's planner (the gas report, the
quick start, the brownie trade script, tests). Give :class:`SlotMatch` a
slot's trades (meter, seller, buyer, Wh, price) in the order they are to be
matched; it signs one ask per meter (for the meter's Wh in the slot, at the
lowest price of its trades, in fills of at least its smallest trade) with the
seller's key and one bid per buyer (for the buyer's Wh in the slot, at the
highest price of its trades) with the buyer's key, sorts them as
`matchOrders` requires (asks by meter id, bids by account address), and
splits the fills into calls within the escrow's per-call limits. An order is
given again in every call that fills it: the escrow counts a lot's sold Wh
and a bid's matched Wh across calls. `SlotMatch.lots` gives each lot's
trades in match order, as `settleLots` (:func:`lot_proof`, with the meter's
signed reading) and `refundLots` (:func:`lot_trades`) are given them back.

The key that signs an account's orders is its own private key: on EVM chains
`ecrecover` gives the account's address; on Qtum it does not, and the
account names that key's `ecrecover` address once with `setTrader`
(:func:`needs_trader`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.market import Market
from p2p_energy.wire.eip712 import Eip712Domain, Signature
from p2p_energy.wire.eip712 import key_address
from p2p_energy.domain.meters import MeterKey, Reading
from p2p_energy.domain.orders import Ask, Bid, Fill, LotTrade, sign_order
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.errors import UsageError
from p2p_energy.run.encoding import match_orders_size

#: The ABI arguments of one matchOrders call: (slot, signed asks, signed bids, fills).
MatchArgs = tuple[int, list[Any], list[Any], list[Any]]


@dataclass(frozen=True)
class Trade:
    """`wh` of meter `meter_id` (owned by `seller`) to `buyer` at `price_per_kwh` token base units per kWh."""

    meter_id: int
    seller: Account
    buyer: Account
    wh: int
    price_per_kwh: int


@dataclass(frozen=True)
class CallLimits:
    """Most asks, bids and fills one matchOrders call takes (EnergyEscrow's MAX_*_PER_CALL), and where a
    chain bounds a transaction's size (Qtum), the most bytes of calldata."""

    asks: int
    bids: int
    fills: int
    calldata: int | None = None

    @classmethod
    def of(cls, market: Market, calldata: int | None = None) -> CallLimits:
        """The limits the deployed escrow itself declares."""
        view = market.view
        return cls(
            int(view("EnergyEscrow", "MAX_ASKS_PER_CALL")),
            int(view("EnergyEscrow", "MAX_BIDS_PER_CALL")),
            int(view("EnergyEscrow", "MAX_FILLS_PER_CALL")),
            calldata,
        )

    def allow(self, asks: int, bids: int, fills: int) -> bool:
        """Whether one call of this shape keeps within the limits."""
        within = asks <= self.asks and bids <= self.bids and fills <= self.fills
        return within and (self.calldata is None or match_orders_size(asks, bids, fills) <= self.calldata)


def needs_trader(account: Account) -> bool:
    """Whether `account` must name its key with setTrader before its orders count (Qtum's HASH160 addresses)."""
    return trader_of(account) != account.address


def trader_of(account: Account) -> str:
    """The `ecrecover` address of the key that signs `account`'s orders: setTrader's argument."""
    return key_address(_key(account))


def _key(account: Account) -> bytes:
    if account.private_key is None:
        raise UsageError(f"the node holds the key of {account.address}: its orders cannot be signed here")
    return account.private_key


class SlotMatch:
    """One slot's trades as matchOrders calls; see the module docstring."""

    def __init__(self, domain: Eip712Domain, slot: int, trades: Sequence[Trade]) -> None:
        if not trades:
            raise UsageError("a slot's match needs at least one trade")
        self.domain = domain
        self.slot = slot
        self.trades = list(trades)
        self._asks: dict[int, tuple[Ask, Signature]] = {}
        self._bids: dict[str, tuple[Bid, Signature]] = {}
        self._sign_orders()

    def _sign_orders(self) -> None:
        by_meter: dict[int, list[Trade]] = {}
        by_buyer: dict[str, list[Trade]] = {}
        for trade in self.trades:
            by_meter.setdefault(trade.meter_id, []).append(trade)
            by_buyer.setdefault(trade.buyer.address, []).append(trade)
        for meter_id, sold in by_meter.items():
            ask = Ask(
                meter_id,
                self.slot,
                sum(t.wh for t in sold),
                min(t.wh for t in sold),
                min(t.price_per_kwh for t in sold),
            )
            self._asks[meter_id] = (ask, sign_order(_key(sold[0].seller), self.domain, ask))
        for address, bought in by_buyer.items():
            bid = Bid(address, self.slot, sum(t.wh for t in bought), max(t.price_per_kwh for t in bought))
            self._bids[address] = (bid, sign_order(_key(bought[0].buyer), self.domain, bid))

    def calls(self, limits: CallLimits) -> list[MatchArgs]:
        """matchOrders arguments for every trade in order, each call within `limits`."""
        chunks: list[list[Trade]] = [[]]
        meters: set[int] = set()
        buyers: set[str] = set()
        for trade in self.trades:
            asks = len(meters) + (trade.meter_id not in meters)
            bids = len(buyers) + (trade.buyer.address not in buyers)
            if chunks[-1] and not limits.allow(asks, bids, len(chunks[-1]) + 1):
                chunks.append([])
                meters, buyers = set(), set()
            chunks[-1].append(trade)
            meters.add(trade.meter_id)
            buyers.add(trade.buyer.address)
        return [self._call(chunk) for chunk in chunks]

    def _call(self, trades: Sequence[Trade]) -> MatchArgs:
        meters = sorted({t.meter_id for t in trades})
        buyers = sorted({t.buyer.address for t in trades}, key=lambda a: int(a, 16))
        ask_index = {m: i for i, m in enumerate(meters)}
        bid_index = {b: i for i, b in enumerate(buyers)}
        asks = [(self._asks[m][0].as_tuple(), self._asks[m][1].as_tuple()) for m in meters]
        bids = [(self._bids[b][0].as_tuple(), self._bids[b][1].as_tuple()) for b in buyers]
        fills = [
            Fill(ask_index[t.meter_id], bid_index[t.buyer.address], t.wh, t.price_per_kwh).as_tuple() for t in trades
        ]
        return (self.slot, asks, bids, fills)

    def lots(self) -> dict[int, list[LotTrade]]:
        """Each meter's lot in this slot: its trades in match order."""
        lots: dict[int, list[LotTrade]] = {}
        for t in self.trades:
            lots.setdefault(t.meter_id, []).append(LotTrade(t.buyer.address, t.wh, trade_cost(t.wh, t.price_per_kwh)))
        return lots


def lot_trades(meter_id: int, slot: int, trades: Sequence[LotTrade]) -> tuple[int, int, list[tuple[str, int, int]]]:
    """The ABI tuple of `LotTrades`: a lot and all its trades, as refundLots is given them."""
    return (meter_id, slot, [t.as_tuple() for t in trades])


def lot_proof(
    meter: MeterKey, domain: Eip712Domain, reading: Reading, trades: Sequence[LotTrade]
) -> tuple[Any, tuple[int, int, int], tuple[bytes, bytes]]:
    """The ABI tuple of `LotProof`: the lot of `reading`'s meter and slot, its trades, and the meter's
    signature of `reading` in the registry's `domain` (see domain.meters.reading_domain)."""
    return (
        lot_trades(reading.meter_id, reading.slot, trades),
        reading.as_tuple(),
        meter.sign(domain, reading).as_tuple(),
    )
