"""Who sells what to whom in each slot, decided off chain before anything is sent.

The chain only checks and escrows; matching is plain arithmetic, so it lives
here (the matching itself in `auctions.py`), where it can be tested without a
node, and the runner turns the plan into `postOffer` and `takeOffers`
transactions.

Per slot, every household with a forecast surplus offers it (split into two
offers, each with its own ask, about half the time when `market.split_offers`
is on); every household with a forecast shortfall bids for it. A buyer's bid
(its limit) is drawn per slot from `prices.bid` (from a stream of its own, so
scenarios without bids keep every other draw), or is the grid tariff when
the scenario has no bids: no one buys from a neighbour above what the grid
charges. Buyers come in a seeded order per slot (fair: each household draws
its own priority from its own stream, so the order does not depend on file
order).

- `mode = "merit"` (pay as offered): each buyer in turn takes the cheapest
  offers first until its need is met or the next offer costs more than its
  bid; every trade is at the offer's own ask.
- `mode = "pay_as_clear"` (a call auction; "uniform" in older files): the
  clearing price is the lowest ask at which the most energy can trade, i.e.
  the marginal seller's ask: supply (offers asking at most p) and demand
  (buyers bidding at least p) are totalled per candidate p, the traded volume
  is min(supply, demand), and ties go to the lower price. Only offers asking
  at most that price are posted, all at that price; buyers then fill them in
  merit order of the sellers' asks, so the cheapest sellers sell first. Every
  trade of the slot has the same price.
- `mode = "pay_as_bid"` (a double auction): bids from the highest (ties in
  the seeded order), asks from the lowest, matched while bid >= ask; each
  trade is at the buyer's bid. Each trade is posted as an offer of its own,
  priced at the bid and taken whole; what a seller has left unsold is posted
  at its ask.

A feeder limit (`grid.feeder_limit_kw`) caps the Wh traded in a slot at
the limit x the slot's hours: trades are made in the order the mode fills
them until the feeder is full, and what would go beyond is not traded (in
pay-as-clear mode the price is still the one without the limit).
`SlotMarket.feeder_bound` says when the limit cut a slot's trading.

Every mode keeps to what EnergyEscrow enforces, so no planned take reverts:
a buyer never takes its own offer; a seller's (meter, slot) lot never gets
more than MAX_TRADES_PER_LOT trades, across all its offers of the slot;
every offer and take has at least `market.min_trade_wh` Wh and a price > 0.
No trade is above its buyer's bid or below its seller's ask. And to what a
token account can pay: a buyer's takes over the whole run never lock more
than its funding (payouts and refunds that arrive later are not counted on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.auctions import Matching, PlannedBid, PlannedOffer, PlannedTake, clearing_price, fill, pay_as_bid
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario
from p2p_energy.domain.settlement import trade_cost


@dataclass(frozen=True)
class SlotMarket:
    """The offers and takes of one slot.

    `clearing_price` is set in pay-as-clear mode when anything trades;
    `feeder_bound` is True when the feeder limit cut the slot's trading (more
    would have traded without it); `bids` are the slot's buyers, in the seeded
    order, each with its need and limit.
    """

    slot: int
    offers: tuple[PlannedOffer, ...]
    takes: tuple[PlannedTake, ...]
    clearing_price: int | None
    feeder_bound: bool = False
    bids: tuple[PlannedBid, ...] = ()

    @property
    def traded_wh(self) -> int:
        return sum(take.wh for take in self.takes)

    @property
    def traded_offers(self) -> tuple[PlannedOffer, ...]:
        """Offers with at least one take: the only ones a runner must post if it skips unsold offers."""
        taken = {take.offer_index for take in self.takes}
        return tuple(offer for offer in self.offers if offer.index in taken)

    def cost(self, take: PlannedTake) -> int:
        """Token base units `take` locks in escrow."""
        return trade_cost(take.wh, self.offers[take.offer_index].price_per_kwh)


@dataclass(frozen=True, eq=False)
class _Draws:
    """Per household and slot random draws of the market, from each household's own streams."""

    asks: NDArray[np.int64]  # (households, slots, 2) base units
    split: NDArray[np.bool_]  # (households, slots)
    split_share: NDArray[np.float64]  # (households, slots) share of the first offer, 0.3..0.7
    priority: NDArray[np.float64]  # (households, slots) buyers go in increasing priority
    bids: NDArray[np.int64] | None  # (households, slots) base units; None: every limit is the grid tariff


def _in_range(uniforms: NDArray[np.float64], low: int, high: int) -> NDArray[np.int64]:
    """Whole base units from low..high, one per uniform draw in [0, 1)."""
    drawn: NDArray[np.int64] = np.minimum(low + np.floor(uniforms * (high - low + 1)), high).astype(np.int64)
    return drawn


def _draws(scenario: Scenario) -> _Draws:
    n, slots = len(scenario.households), scenario.slots
    uniforms = np.empty((n, slots, 5))
    for i, household in enumerate(scenario.households):
        uniforms[i] = scenario.rng("market", household.name).random((slots, 5))
    prices = scenario.prices
    bids = None
    if prices.bid_min is not None and prices.bid_max is not None:
        # A stream of its own ("bids"), so adding bids to a scenario changes none of its other draws.
        bid_uniforms = np.empty((n, slots))
        for i, household in enumerate(scenario.households):
            bid_uniforms[i] = scenario.rng("bids", household.name).random(slots)
        bids = _in_range(bid_uniforms, prices.bid_min, prices.bid_max)
    return _Draws(
        asks=_in_range(uniforms[:, :, :2], prices.ask_min, prices.ask_max),
        split=uniforms[:, :, 2] < 0.5,
        split_share=0.3 + 0.4 * uniforms[:, :, 3],
        priority=uniforms[:, :, 4],
        bids=bids,
    )


def _offers(scenario: Scenario, plan: EnergyPlan, draws: _Draws, slot: int) -> list[PlannedOffer]:
    """Every seller's forecast surplus, as one or two offers at its own asks."""
    minimum = scenario.market.min_trade_wh
    offers: list[PlannedOffer] = []
    for seller in np.flatnonzero(plan.forecast_export_wh[:, slot] >= minimum).tolist():
        surplus = int(plan.forecast_export_wh[seller, slot])
        parts = [surplus]
        if scenario.market.split_offers and draws.split[seller, slot] and surplus >= 2 * minimum:
            first = min(max(round(surplus * float(draws.split_share[seller, slot])), minimum), surplus - minimum)
            parts = [first, surplus - first]
        for part, ask in zip(parts, draws.asks[seller, slot].tolist(), strict=False):
            offers.append(PlannedOffer(len(offers), seller, part, ask, ask))
    return offers


def _bids(scenario: Scenario, plan: EnergyPlan, draws: _Draws, slot: int) -> tuple[PlannedBid, ...]:
    """Households short of energy in `slot`, in this slot's seeded order, with their need and limit."""
    short = np.flatnonzero(plan.forecast_import_wh[:, slot] >= scenario.market.min_trade_wh)
    order: list[int] = short[np.lexsort((short, draws.priority[short, slot]))].tolist()
    tariff = scenario.prices.grid_tariff
    return tuple(
        PlannedBid(
            buyer,
            int(plan.forecast_import_wh[buyer, slot]),
            tariff if draws.bids is None else int(draws.bids[buyer, slot]),
        )
        for buyer in order
    )


def _clear(scenario: Scenario, plan: EnergyPlan, draws: _Draws, slot: int, budgets: list[int]) -> SlotMarket:
    offers = _offers(scenario, plan, draws, slot)
    bids = _bids(scenario, plan, draws, slot)
    matching = Matching(scenario.market.min_trade_wh, budgets, scenario.grid.feeder_limit_wh(scenario.slot_hours))
    if scenario.market.mode == "pay_as_bid":
        posted, takes = pay_as_bid(offers, bids, matching)
        return SlotMarket(slot, posted, takes, None, matching.feeder_bound, bids)
    price: int | None = None
    if scenario.market.mode == "pay_as_clear":
        price = clearing_price(
            [(offer.ask_per_kwh, offer.wh) for offer in offers], [(bid.price_per_kwh, bid.wh) for bid in bids]
        )
        if price is None:
            return SlotMarket(slot, (), (), None, bids=bids)
        at_price = [offer for offer in offers if offer.ask_per_kwh <= price]
        offers = [PlannedOffer(i, o.seller, o.wh, price, o.ask_per_kwh) for i, o in enumerate(at_price)]
    fills = fill(offers, bids, matching, at_bid=False)
    takes = tuple(PlannedTake(f.buyer, f.offer.index, f.wh) for f in fills)
    return SlotMarket(slot, tuple(offers), takes, price if takes else None, matching.feeder_bound, bids)


def _check_plan(scenario: Scenario, plan: EnergyPlan) -> None:
    if plan.households != scenario.household_names or plan.n_slots != scenario.slots:
        raise ValueError("the energy plan was not made from this scenario")


def clear_slot(scenario: Scenario, plan: EnergyPlan, slot: int, *, budgets: Sequence[int] | None = None) -> SlotMarket:
    """The offers and takes of one slot; `budgets` (base units per household) default to the full funding."""
    _check_plan(scenario, plan)
    if not 0 <= slot < scenario.slots:
        raise IndexError(f"slot {slot} is outside 0..{scenario.slots - 1}")
    money = list(budgets) if budgets is not None else [scenario.prices.funding] * len(scenario.households)
    return _clear(scenario, plan, _draws(scenario), slot, money)


def clear_all(scenario: Scenario, plan: EnergyPlan) -> list[SlotMarket]:
    """Every slot in order; each buyer's takes over the whole run stay within its funding."""
    _check_plan(scenario, plan)
    draws = _draws(scenario)
    budgets = [scenario.prices.funding] * len(scenario.households)
    return [_clear(scenario, plan, draws, slot, budgets) for slot in range(scenario.slots)]
