"""How one slot's offers and bids become trades: the orders, and the three ways of matching them.

Plain arithmetic over a slot's orders, without the scenario: `market.py`
draws the orders and picks the mode, this module matches them.

- `fill`: buyers, in the order given, take offers in merit order (ask, then
  index) while the trade's price is within both the buyer's bid and the
  seller's ask. At the offer's price, this is the merit order (and, with
  every offer priced at one clearing price, the fill of a call auction); at
  the buyer's bid, with the bids ranked from the highest, the pay-as-bid
  double auction.
- `clearing_price`: the uniform price of a call auction.
- `pay_as_bid`: the double auction's trades as offers the escrow can hold.

Every fill keeps to the escrow's limits and a buyer's budget (see
`Matching`), and to the feeder: a slot's trades never carry more than the
feeder's room, and what would go beyond it is not traded.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from p2p_energy.domain.settlement import WH_PER_KWH, trade_cost
from p2p_energy.limits import MAX_TRADES_PER_LOT

_UINT64_MAX = 2**64 - 1
_UINT96_MAX = 2**96 - 1


@dataclass(frozen=True)
class PlannedOffer:
    """Offer number `index` of its slot: `seller` (household row) offers `wh` at `price_per_kwh` base units.

    `ask_per_kwh` is the seller's own ask: the price in merit mode, at most the
    clearing price in pay-as-clear mode, at most the buyer's bid (the price) in
    pay-as-bid mode.
    """

    index: int
    seller: int
    wh: int
    price_per_kwh: int
    ask_per_kwh: int

    def __post_init__(self) -> None:
        if not 0 < self.wh <= _UINT64_MAX or not 0 < self.price_per_kwh <= _UINT96_MAX:
            raise ValueError(f"offer {self.index}: {self.wh} Wh at {self.price_per_kwh} does not fit the escrow")


@dataclass(frozen=True)
class PlannedTake:
    """`buyer` (household row) takes `wh` of offer `offer_index` of the same slot."""

    buyer: int
    offer_index: int
    wh: int


@dataclass(frozen=True)
class PlannedBid:
    """`buyer` (household row) wants `wh` in the slot and pays at most `price_per_kwh` for it.

    The price is the buyer's drawn bid, or the grid tariff in a scenario without bids.
    """

    buyer: int
    wh: int
    price_per_kwh: int


@dataclass(frozen=True)
class Fill:
    """`buyer` buys `wh` of `offer` at `price_per_kwh`."""

    offer: PlannedOffer
    buyer: int
    wh: int
    price_per_kwh: int


@dataclass
class Matching:
    """What the fills of one slot have used up so far.

    `budgets` (base units per household) is shared by every slot of a run, so
    a buyer's takes over the whole run stay within its funding (payouts and
    refunds that arrive later are not counted on). `room` is the Wh the feeder
    still carries in this slot (None: no limit); `feeder_bound` turns True when
    the feeder stopped a trade that would otherwise have been made.
    """

    minimum: int
    budgets: list[int]
    room: int | None = None
    trades: Counter[int] = field(default_factory=Counter)  # seller -> trades in its lot
    feeder_bound: bool = False

    def lot_full(self, seller: int) -> bool:
        return self.trades[seller] >= MAX_TRADES_PER_LOT

    def within_feeder(self, wh: int) -> int:
        """`wh`, cut to the feeder's room (noting that the limit bound)."""
        if self.room is None or wh <= self.room:
            return wh
        self.feeder_bound = True
        return self.room

    def record(self, fill: Fill) -> None:
        self.trades[fill.offer.seller] += 1
        self.budgets[fill.buyer] -= trade_cost(fill.wh, fill.price_per_kwh)
        if self.room is not None:
            self.room -= fill.wh


def fill(offers: Sequence[PlannedOffer], bids: Sequence[PlannedBid], matching: Matching, *, at_bid: bool) -> list[Fill]:
    """Each bid in turn fills its need from the offers in merit order (ask, then index).

    A trade is at the offer's price, or at the buyer's bid when `at_bid`. A
    buyer stops at the first offer it may not trade with (its price above the
    bid, or its ask above the bid), and when it cannot afford `minimum` Wh
    more: offers are in merit order, so later ones are no better. Once the
    feeder's room is less than `minimum`, the slot trades nothing more.
    """
    minimum = matching.minimum
    order = sorted(offers, key=lambda offer: (offer.ask_per_kwh, offer.index))
    remaining = {offer.index: offer.wh for offer in offers}
    fills: list[Fill] = []
    first_open = 0
    for bid in bids:
        need = bid.wh
        position = first_open
        while need >= minimum and position < len(order):
            offer = order[position]
            position += 1
            if remaining[offer.index] < minimum or matching.lot_full(offer.seller):
                if position - 1 == first_open:
                    first_open = position  # closed for good: later buyers start after it
                continue
            price = bid.price_per_kwh if at_bid else offer.price_per_kwh
            if price > bid.price_per_kwh or offer.ask_per_kwh > bid.price_per_kwh:
                break
            if offer.seller == bid.buyer:
                continue  # cannot happen (a household either exports or imports), but the escrow would refuse it
            affordable = matching.budgets[bid.buyer] * WH_PER_KWH // price
            wh = min(need, remaining[offer.index], affordable)
            if wh < minimum:
                break  # later offers cost at least as much: nothing more is affordable
            wh = matching.within_feeder(wh)
            if wh < minimum:
                return fills  # the feeder is full for this slot
            fills.append(Fill(offer, bid.buyer, wh, price))
            matching.record(fills[-1])
            remaining[offer.index] -= wh
            need -= wh
    return fills


def clearing_price(asks_wh: Sequence[tuple[int, int]], limits_wh: Sequence[tuple[int, int]]) -> int | None:
    """Uniform price of a call auction: the lowest ask at which min(supply, demand) is largest.

    `asks_wh` are (ask, Wh) of offers, `limits_wh` (limit price, Wh wanted) of
    buyers. None if nothing can trade.
    """
    supply_at: dict[int, int] = {}
    for ask, wh in asks_wh:
        supply_at[ask] = supply_at.get(ask, 0) + wh
    limits = sorted(limits_wh)
    limit_prices = [limit for limit, _ in limits]
    demand_from = list(accumulate((wh for _, wh in reversed(limits)), initial=0))[::-1]  # Wh wanted by limits[k:]
    best_volume, best_price = 0, None
    supply = 0
    for price in sorted(supply_at):
        supply += supply_at[price]
        volume = min(supply, demand_from[bisect_left(limit_prices, price)])
        if volume > best_volume:
            best_volume, best_price = volume, price
    return best_price


def pay_as_bid(
    offers: Sequence[PlannedOffer], bids: Sequence[PlannedBid], matching: Matching
) -> tuple[tuple[PlannedOffer, ...], tuple[PlannedTake, ...]]:
    """The double auction: bids from the highest (ties keep the order given), asks from the lowest,
    matched while bid >= ask, each trade at the buyer's bid.

    On chain a trade is the take of an offer at the offer's price, so each
    trade becomes an offer of its own, priced at the bid (its `ask_per_kwh`
    the seller's ask), taken whole. What an offer has left unsold (at least
    `minimum` Wh) is posted too, at its ask, so the book shows every seller's
    surplus as in merit mode; no planned take touches it.
    """
    ranked = sorted(bids, key=lambda bid: -bid.price_per_kwh)  # stable: equal bids keep the seeded order
    planned: list[PlannedOffer] = []
    takes: list[PlannedTake] = []
    sold: Counter[int] = Counter()
    for trade in fill(offers, ranked, matching, at_bid=True):
        index = len(planned)
        planned.append(PlannedOffer(index, trade.offer.seller, trade.wh, trade.price_per_kwh, trade.offer.ask_per_kwh))
        takes.append(PlannedTake(trade.buyer, index, trade.wh))
        sold[trade.offer.index] += trade.wh
    for offer in offers:
        unsold = offer.wh - sold[offer.index]
        if unsold >= matching.minimum:
            planned.append(PlannedOffer(len(planned), offer.seller, unsold, offer.ask_per_kwh, offer.ask_per_kwh))
    return tuple(planned), tuple(takes)
