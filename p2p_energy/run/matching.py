"""The plan's trades as matchOrders calls: standing orders, lots, and the calls of each round.

From the plan (:mod:`p2p_energy.domain.market`), made once when a run starts:

- a standing bid per household that buys: at most its highest limit of the
  day per kWh (its drawn bid where the scenario has bids, else the grid
  tariff; the plan never prices a take above the slot's limit) and the most
  Wh it buys in one slot, until the run's last slot;
- a standing ask per household that sells: its meter, at least its lowest
  ask of the day, the most Wh it offers in one slot, fills of at least
  `market.min_trade_wh`, until the run's last slot;
- per slot, a lot per seller with takes: its trades in buyer order (household
  rows), each buyer's in plan order, at the plan's prices, so that trades,
  costs and prices are exactly the plan's; lots by meter id, as the escrow
  wants them.

Each round of `chain.window_slots` slots goes out at the tick of its first
slot (half a slot before it starts), cut into calls within a Qtum
transaction's size and a gas bound (:mod:`p2p_energy.wire.cutting`); each
order is placed in the first call that needs it. Every call follows from the
plan alone, so a resumed run builds the same calldata again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from p2p_energy.domain.market import SlotMarket
from p2p_energy.run.state import RunSetup
from p2p_energy.wire.cutting import MatchCutter
from p2p_energy.wire.orders import Ask, Bid, SignedOrder, order_domain, sign_order
from p2p_energy.wire.records import Lot, MatchCall, Trade


@dataclass(frozen=True)
class StandingTerms:
    """What a household's standing orders must allow for the plan's trades: its bid's highest price and most Wh
    per slot (0 if it never buys), its ask's lowest price and most Wh per slot (0 if it never sells)."""

    bid_price: int = 0
    bid_wh: int = 0
    ask_price: int = 0
    ask_wh: int = 0


def standing_terms(setup: RunSetup) -> dict[int, StandingTerms]:
    """Household row -> the terms of its standing orders, from the plan's takes and offers."""
    bid_price: dict[int, int] = defaultdict(int)
    bid_wh: dict[int, int] = defaultdict(int)
    ask_price: dict[int, int] = {}
    ask_wh: dict[int, int] = defaultdict(int)
    tariff = setup.scenario.prices.grid_tariff
    for market in setup.markets:
        limits = {bid.buyer: bid.price_per_kwh for bid in market.bids}
        bought: dict[int, int] = defaultdict(int)
        for take in market.takes:
            bought[take.buyer] += take.wh
            bid_price[take.buyer] = max(bid_price[take.buyer], limits.get(take.buyer, tariff))
        for buyer, wh in bought.items():
            bid_wh[buyer] = max(bid_wh[buyer], wh)
        offered: dict[int, int] = defaultdict(int)
        sellers = {market.offers[take.offer_index].seller for take in market.takes}
        for offer in market.offers:
            if offer.seller in sellers:
                offered[offer.seller] += offer.wh
                ask_price[offer.seller] = min(ask_price.get(offer.seller, offer.ask_per_kwh), offer.ask_per_kwh)
        for seller, wh in offered.items():
            ask_wh[seller] = max(ask_wh[seller], wh)
    rows = set(bid_price) | set(ask_price)
    return {
        row: StandingTerms(bid_price.get(row, 0), bid_wh.get(row, 0), ask_price.get(row, 0), ask_wh.get(row, 0))
        for row in rows
    }


def standing_orders(setup: RunSetup) -> dict[str, list[SignedOrder]]:
    """Each trading household's signed standing orders (bid, ask), keyed by its address in lower case."""
    domain = order_domain(setup.chain.chain_id, setup.addresses.escrow)
    until = setup.c0 + setup.scenario.slots - 1
    minimum = setup.scenario.market.min_trade_wh
    orders: dict[str, list[SignedOrder]] = {}
    for row, terms in sorted(standing_terms(setup).items()):
        h = setup.households[row]
        signed = []
        if terms.bid_wh:
            bid = Bid(h.account.address, terms.bid_price, terms.bid_wh, until)
            signed.append(sign_order(h.trader_key, domain, bid))
        if terms.ask_wh:
            ask = Ask(h.account.address, h.meter_id, terms.ask_price, terms.ask_wh, minimum, until)
            signed.append(sign_order(h.trader_key, domain, ask))
        orders[h.account.address.lower()] = signed
    return orders


def slot_lots(setup: RunSetup, market: SlotMarket) -> list[Lot]:
    """The lots of one slot, by meter id, each with its trades in buyer order at the plan's prices."""
    households = setup.households
    trades: dict[int, list[Trade]] = defaultdict(list)
    for i in sorted(range(len(market.takes)), key=lambda i: (market.takes[i].buyer, i)):
        take = market.takes[i]
        offer = market.offers[take.offer_index]
        trades[offer.seller].append(Trade(households[take.buyer].account.address, take.wh, offer.price_per_kwh))
    return sorted(
        (
            Lot(households[seller].meter_id, setup.c0 + market.slot, households[seller].account.address, tuple(sold))
            for seller, sold in trades.items()
        ),
        key=lambda lot: lot.meter_id,
    )


def match_schedule(setup: RunSetup) -> dict[int, list[MatchCall]]:
    """Tick -> the matchOrders calls sent at it: one round per `chain.window_slots` slots, at its first slot."""
    window = setup.scenario.chain.window_slots
    cutter = MatchCutter(standing_orders(setup), setup.bounds)
    schedule: dict[int, list[MatchCall]] = {}
    for first in range(0, setup.scenario.slots, window):
        lots = [lot for market in setup.markets[first : first + window] for lot in slot_lots(setup, market)]
        if lots:
            schedule[first] = cutter.cut(lots)
    return schedule
