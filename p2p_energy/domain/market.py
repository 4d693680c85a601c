"""Who sells what to whom in each slot, decided off chain before anything is sent.

The chain only checks and escrows; matching is plain arithmetic, so it lives
here, where it can be tested without a node, and the runner turns the plan
into `postOffer` and `takeOffers` transactions.

Per slot, every household with a forecast surplus offers it (split into two
offers, each with its own ask, about half the time when `market.split_offers`
is on); every household with a forecast shortfall wants it, at most at the
grid tariff (no one buys from a neighbour above what the grid charges).
Buyers come in a seeded order per slot (fair: each household draws its own
priority from its own stream, so the order does not depend on file order).

- `mode = "merit"` (pay as bid): each buyer in turn takes the cheapest
  offers first until its need is met or the next offer costs more than its
  limit; every trade is at the offer's own ask.
- `mode = "uniform"` (call auction): the clearing price is the lowest ask at
  which the most energy can trade, i.e. the marginal seller's ask: supply
  (offers asking at most p) and demand (buyers whose limit is at least p)
  are totalled per candidate p, the traded volume is min(supply, demand),
  and ties go to the lower price. Only offers asking at most that price are
  posted, all at that price; buyers then fill them in merit order of the
  sellers' asks, so the cheapest sellers sell first. Every trade of the slot
  has the same price.

Both modes keep to what EnergyEscrow enforces, so no planned take reverts:
a buyer never takes its own offer; a seller's (meter, slot) lot never gets
more than MAX_TRADES_PER_LOT trades; every offer and take has at least
`market.min_trade_wh` Wh and a price > 0. And to what a token account can
pay: a buyer's takes over the whole run never lock more than its funding
(payouts and refunds that arrive later are not counted on).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario
from p2p_energy.domain.settlement import WH_PER_KWH, trade_cost
from p2p_energy.limits import MAX_TRADES_PER_LOT as MAX_TRADES_PER_LOT  # re-exported

_UINT64_MAX = 2**64 - 1
_UINT96_MAX = 2**96 - 1


@dataclass(frozen=True)
class PlannedOffer:
    """Offer number `index` of its slot: `seller` (household row) offers `wh` at `price_per_kwh` base units.

    `ask_per_kwh` is the seller's own ask: the price in merit mode, at most the
    clearing price in uniform mode.
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
class SlotMarket:
    """The offers and takes of one slot; `clearing_price` is set in uniform mode when anything trades."""

    slot: int
    offers: tuple[PlannedOffer, ...]
    takes: tuple[PlannedTake, ...]
    clearing_price: int | None

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
    """Per household and slot random draws of the market, from each household's own stream."""

    asks: NDArray[np.int64]  # (households, slots, 2) base units
    split: NDArray[np.bool_]  # (households, slots)
    split_share: NDArray[np.float64]  # (households, slots) share of the first offer, 0.3..0.7
    priority: NDArray[np.float64]  # (households, slots) buyers go in increasing priority


def _draws(scenario: Scenario) -> _Draws:
    n, slots = len(scenario.households), scenario.slots
    uniforms = np.empty((n, slots, 5))
    for i, household in enumerate(scenario.households):
        uniforms[i] = scenario.rng("market", household.name).random((slots, 5))
    low, high = scenario.prices.ask_min, scenario.prices.ask_max
    asks = np.minimum(low + np.floor(uniforms[:, :, :2] * (high - low + 1)), high).astype(np.int64)
    return _Draws(
        asks=asks,
        split=uniforms[:, :, 2] < 0.5,
        split_share=0.3 + 0.4 * uniforms[:, :, 3],
        priority=uniforms[:, :, 4],
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


def _buyers(scenario: Scenario, plan: EnergyPlan, draws: _Draws, slot: int) -> list[int]:
    """Households short of energy in `slot`, in this slot's seeded order."""
    short = np.flatnonzero(plan.forecast_import_wh[:, slot] >= scenario.market.min_trade_wh)
    order: list[int] = short[np.lexsort((short, draws.priority[short, slot]))].tolist()
    return order


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


def _match(
    scenario: Scenario,
    plan: EnergyPlan,
    slot: int,
    offers: Sequence[PlannedOffer],
    buyers: Sequence[int],
    budgets: list[int],
) -> list[PlannedTake]:
    """Each buyer in turn fills its need from the offers in merit order (ask, then index)."""
    minimum = scenario.market.min_trade_wh
    limit = scenario.prices.grid_tariff
    order = sorted(offers, key=lambda offer: (offer.ask_per_kwh, offer.index))
    remaining = {offer.index: offer.wh for offer in offers}
    trades: dict[int, int] = {}
    takes: list[PlannedTake] = []
    first_open = 0
    for buyer in buyers:
        need = int(plan.forecast_import_wh[buyer, slot])
        position = first_open
        while need >= minimum and position < len(order):
            offer = order[position]
            position += 1
            if remaining[offer.index] < minimum or trades.get(offer.seller, 0) >= MAX_TRADES_PER_LOT:
                if position - 1 == first_open:
                    first_open = position  # closed for good: later buyers start after it
                continue
            if offer.price_per_kwh > limit:
                break
            if offer.seller == buyer:
                continue  # cannot happen (a household either exports or imports), but the escrow would not care
            affordable = budgets[buyer] * WH_PER_KWH // offer.price_per_kwh
            wh = min(need, remaining[offer.index], affordable)
            if wh < minimum:
                break  # later offers cost at least as much: nothing more is affordable
            takes.append(PlannedTake(buyer, offer.index, wh))
            remaining[offer.index] -= wh
            trades[offer.seller] = trades.get(offer.seller, 0) + 1
            budgets[buyer] -= trade_cost(wh, offer.price_per_kwh)
            need -= wh
    return takes


def _clear(scenario: Scenario, plan: EnergyPlan, draws: _Draws, slot: int, budgets: list[int]) -> SlotMarket:
    offers = _offers(scenario, plan, draws, slot)
    buyers = _buyers(scenario, plan, draws, slot)
    price: int | None = None
    if scenario.market.mode == "pay_as_clear":
        limit = scenario.prices.grid_tariff
        price = clearing_price(
            [(offer.ask_per_kwh, offer.wh) for offer in offers],
            [(limit, int(plan.forecast_import_wh[buyer, slot])) for buyer in buyers],
        )
        if price is None:
            return SlotMarket(slot, (), (), None)
        at_price = [offer for offer in offers if offer.ask_per_kwh <= price]
        offers = [PlannedOffer(i, o.seller, o.wh, price, o.ask_per_kwh) for i, o in enumerate(at_price)]
    takes = _match(scenario, plan, slot, offers, buyers, budgets)
    return SlotMarket(slot, tuple(offers), tuple(takes), price if takes else None)


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
