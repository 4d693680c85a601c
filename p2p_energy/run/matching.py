"""A slot's planned trades as `matchOrders` calls: signed asks and bids, fills, calls that fit.

Per slot (docs/gas-design.md), from the plan's offers and takes:

- one ask per seller with at least one take: its meter, the chain slot,
  the Wh of all its offers in the slot, `market.min_trade_wh` as the
  smallest fill, and the lowest ask of its offers; signed by the seller's
  trader key;
- one bid per buyer with a take: its account, the chain slot, the Wh of
  its takes, and its limit (its drawn bid, or the grid tariff); signed by
  the buyer's trader key;
- one fill per take, at its offer's price, so that trades, costs and prices
  are exactly the plan's. Fills go in buyer order (household rows), each
  buyer's in plan order: a lot's trades are numbered in that order, as they
  were when each buyer took its offers in its own transaction.

The fills are cut into calls by seller: a seller's ask and all its fills go
into one call (so the order of a lot's trades never depends on the order
calls are mined in: a Qtum block does not keep a sender's order), a buyer's
bid into every call that fills it. Only where a lot has more fills than a
call may carry (the scenario's `fills_per_tx` below the escrow's 50 trades
per lot) do its fills go into several calls, in rounds: the runner mines
each round after the one before. Sellers are taken in merit order (lowest
ask first), the order buyers took them in, so a buyer's takes are mostly in
one call and its bid seldom paid for twice. A call keeps to the escrow's
limits (asks, bids, fills per call) and its gas limit to the block's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from p2p_energy.domain.eip712 import Signature
from p2p_energy.domain.orders import Ask, Bid
from p2p_energy.limits import MAX_ASKS_PER_CALL, MAX_BIDS_PER_CALL, MAX_FILLS_PER_CALL
from p2p_energy.run.encoding import MAX_CALLDATA_BYTES, match_orders, match_orders_size
from p2p_energy.run.state import RunSetup, sign_typed

#: One planned take: (buyer row, its place among the slot's takes in buyer order, Wh, price per kWh).
_Take = tuple[int, int, int, int]


def gas_match(asks: int, bids: int, fills: int) -> int:
    """A matchOrders call's gas limit: a few times what it costs (an ask about 37k, a bid 15k, a fill 6k)."""
    return 100_000 + 80_000 * asks + 35_000 * bids + 15_000 * fills


@dataclass
class _Chunk:
    """The part of a slot's fills one call carries: (seller, its fills) and the buyers they need."""

    limit: int  # most fills (the scenario's fills_per_tx, within the escrow's limit)
    block_gas: int
    parts: list[tuple[int, list[_Take]]] = field(default_factory=list)
    buyers: set[int] = field(default_factory=set)
    fills: int = 0
    #: 0, or n when the call carries the n-th share of lots too big for one call: mined after round n - 1.
    round: int = 0

    def fits(self, seller_takes: list[_Take]) -> bool:
        buyers = len(self.buyers | {take[0] for take in seller_takes})
        asks, fills = len(self.parts) + 1, self.fills + len(seller_takes)
        within = asks <= MAX_ASKS_PER_CALL and buyers <= MAX_BIDS_PER_CALL and fills <= self.limit
        small = match_orders_size(asks, buyers, fills) <= MAX_CALLDATA_BYTES
        return within and small and gas_match(asks, buyers, fills) <= self.block_gas

    def add(self, seller: int, seller_takes: list[_Take]) -> None:
        self.parts.append((seller, seller_takes))
        self.buyers |= {take[0] for take in seller_takes}
        self.fills += len(seller_takes)


@dataclass(frozen=True)
class MatchCall:
    """One matchOrders call: its calldata, its size, and its round (see `_chunks`)."""

    data: bytes
    asks: int
    bids: int
    fills: int
    round: int = 0

    @property
    def gas(self) -> int:
        return gas_match(self.asks, self.bids, self.fills)


def _chunks(setup: RunSetup, by_seller: dict[int, list[_Take]], order: list[int]) -> list[_Chunk]:
    """The sellers' fills (sellers in `order`) cut into calls. A seller's fills stay in one call unless
    they are more than a call may carry (fills_per_tx below MAX_TRADES_PER_LOT): then its n-th share
    goes into a call of round n, and every call of a round is mined after those of the round before."""
    limit = min(setup.scenario.chain.fills_per_tx, MAX_FILLS_PER_CALL)
    block_gas = setup.chain.block_gas_limit
    shares = {
        seller: [by_seller[seller][i : i + limit] for i in range(0, len(by_seller[seller]), limit)] for seller in order
    }
    chunks: list[_Chunk] = []
    for round_ in range(max(len(pieces) for pieces in shares.values())):
        first = len(chunks)
        for seller in order:
            if round_ < len(shares[seller]):
                piece = shares[seller][round_]
                if len(chunks) == first or not chunks[-1].fits(piece):
                    chunks.append(_Chunk(limit, block_gas, round=round_))
                chunks[-1].add(seller, piece)
    return chunks


def slot_match_calls(setup: RunSetup, slot: int, selector: bytes) -> list[MatchCall]:
    """The matchOrders calls of scenario `slot` (none when nothing trades in it)."""
    market = setup.markets[slot]
    if not market.takes:
        return []
    takes = sorted(range(len(market.takes)), key=lambda i: (market.takes[i].buyer, i))
    by_seller: dict[int, list[_Take]] = defaultdict(list)
    for place, i in enumerate(takes):
        take = market.takes[i]
        offer = market.offers[take.offer_index]
        by_seller[offer.seller].append((take.buyer, place, take.wh, offer.price_per_kwh))
    # Sellers in merit order (lowest ask first), the order buyers took them in: a buyer's takes are
    # mostly from sellers next to each other in it, so few bids are given again in a second call.
    asks: dict[int, int] = {}
    for offer in market.offers:
        asks[offer.seller] = min(asks.get(offer.seller, offer.ask_per_kwh), offer.ask_per_kwh)
    chunks = _chunks(setup, by_seller, sorted(by_seller, key=lambda row: (asks[row], row)))
    orders = _Orders(setup, slot)
    return [orders.call(chunk, selector) for chunk in chunks]


class _Orders:
    """The slot's signed asks and bids, each signed once however many calls carry it."""

    def __init__(self, setup: RunSetup, slot: int):
        self.setup = setup
        self.slot = slot
        self.chain_slot = setup.c0 + slot
        market = setup.markets[slot]
        self.offers: dict[int, list[tuple[int, int]]] = defaultdict(list)  # seller -> (Wh, ask) of its offers
        for offer in market.offers:
            self.offers[offer.seller].append((offer.wh, offer.ask_per_kwh))
        self.limits = {bid.buyer: bid.price_per_kwh for bid in market.bids}
        self.bought: dict[int, int] = defaultdict(int)
        for take in market.takes:
            self.bought[take.buyer] += take.wh
        self._asks: dict[int, tuple[Ask, Signature]] = {}
        self._bids: dict[int, tuple[Bid, Signature]] = {}

    def ask(self, seller: int) -> tuple[Ask, Signature]:
        if seller not in self._asks:
            h, offers = self.setup.households[seller], self.offers[seller]
            minimum = self.setup.scenario.market.min_trade_wh
            ask = Ask(h.meter_id, self.chain_slot, sum(wh for wh, _ in offers), minimum, min(a for _, a in offers))
            self._asks[seller] = (ask, sign_typed(h.trader_key, self.setup.orders, ask.struct_hash()))
        return self._asks[seller]

    def bid(self, buyer: int) -> tuple[Bid, Signature]:
        if buyer not in self._bids:
            h = self.setup.households[buyer]
            limit = self.limits.get(buyer, self.setup.scenario.prices.grid_tariff)
            bid = Bid(h.account.address, self.chain_slot, self.bought[buyer], limit)
            self._bids[buyer] = (bid, sign_typed(h.trader_key, self.setup.orders, bid.struct_hash()))
        return self._bids[buyer]

    def call(self, chunk: _Chunk, selector: bytes) -> MatchCall:
        households = self.setup.households
        parts = sorted(chunk.parts, key=lambda part: households[part[0]].meter_id)  # as matchOrders requires
        buyers = sorted(chunk.buyers, key=lambda row: int(households[row].account.address, 16))
        bid_index = {row: i for i, row in enumerate(buyers)}
        fills = sorted(
            (place, ask, buyer, wh, price) for ask, (_, takes) in enumerate(parts) for buyer, place, wh, price in takes
        )
        data = match_orders(
            selector,
            self.chain_slot,
            [self.ask(seller) for seller, _ in parts],
            [self.bid(buyer) for buyer in buyers],
            [(ask, bid_index[buyer], wh, price) for _, ask, buyer, wh, price in fills],
        )
        return MatchCall(data, len(parts), len(buyers), len(fills), chunk.round)
