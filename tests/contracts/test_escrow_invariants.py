"""Stateful property test: random sequences of market actions against a Python model.

Every rule predicts from the model whether the contract must accept or reject
the action and checks that it does; after every step the invariants compare
the chain with the model. Chain time moves in half-slot steps that keep every
action at least 100 s away from a slot or grace boundary, so the few seconds
of wall-clock drift between blocks cannot change an outcome.
"""

import os
from dataclasses import dataclass
from typing import Any

import brownie
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.limits import MAX_TRADES_PER_LOT
from tests.contracts.conftest import GRACE, OTHER_METER, SELLER_METER, SLOT_LENGTH

OFFSETS = (100, 550)  # seconds into a slot where the machine can stand
GRACE_SLOTS = GRACE // SLOT_LENGTH
OPEN, SETTLED, REFUNDED = 1, 2, 3
BUYER_FUNDS = 10**9 * 10**8
# The default target gets the long run; the older targets (make test runs the
# contract suite once per target) a shorter one of the same machine.
EXAMPLES = 25 if os.environ.get("P2P_EVM", "cancun") == "cancun" else 10


INDEX = st.integers(0, 1)
PICK = st.integers(0, 2**16)
EXPORTS = st.lists(st.integers(0, 6_000), min_size=4, max_size=4)


@dataclass
class Market:
    """The deployed contracts and actors the machine drives (set once per test)."""

    chain: Any
    escrow: Any
    token: Any
    registry: Any
    sign: Any
    mine_at: Any
    sellers: list
    buyers: list


class EscrowMachine(RuleBasedStateMachine):
    market: Market  # set by the test before the run

    def __init__(self):
        super().__init__()
        market = self.market
        market.chain.revert()  # every sequence starts from the same chain state
        self.escrow, self.token, self.registry = market.escrow, market.token, market.registry
        self.sign, self.mine_at = market.sign, market.mine_at
        self.sellers, self.buyers = market.sellers, market.buyers
        self.supply = self.token.totalSupply()
        self.offers = {}  # offer id -> [meter, slot, remaining wh, price]
        self.lots = {}  # (meter, slot) -> {"sold", "costs", "buyers", "state"}
        self.credits = {a.address: 0 for a in self.accounts()}
        self.last_reading = {}  # meter -> (slot, cumulative export)
        self.exported = {}  # (meter, slot) -> exported Wh, where the registry knows it
        self.closed_trades = set()
        slot = self.registry.currentSlot() + 2  # so that two ended slots exist to read
        self.position = 2 * slot  # half-slot steps since genesis
        self.mine_at(self.time_of(self.position))

    # -------------------------------------------------------------- helpers

    def accounts(self):
        return [s for _, s in self.sellers] + list(self.buyers)

    def time_of(self, position):
        return self.registry.slotStart(position // 2) + OFFSETS[position % 2]

    @property
    def slot(self):
        return self.position // 2

    def owner_of(self, meter):
        return dict(self.sellers)[meter]

    def pick(self, items, pick):
        items = sorted(items)
        return items[pick % len(items)]

    def open_lots_closing(self, settle):
        """Open lots the machine can settle (settle=True) or refund now."""
        lots = []
        for (meter, slot), lot in sorted(self.lots.items()):
            if lot["state"] != OPEN:
                continue
            if settle and slot < self.slot <= slot + GRACE_SLOTS and (meter, slot) in self.exported:
                lots.append((meter, slot))
            if not settle and self.slot > slot + GRACE_SLOTS:
                lots.append((meter, slot))
        return lots

    def close_lot(self, meter, slot, exported):
        lot = self.lots[(meter, slot)]
        if exported is None:
            paid, refunded = [0] * len(lot["costs"]), lot["costs"]
            lot["state"] = REFUNDED
        else:
            outcome = settle_lot(lot["costs"], lot["sold"], exported)
            paid, refunded = outcome.paid, outcome.refunded
            lot["state"] = SETTLED
        for index, (buyer, cost, p, r) in enumerate(zip(lot["buyers"], lot["costs"], paid, refunded, strict=True)):
            trade_id = self.escrow.tradeIdOf(meter, slot, index)
            assert trade_id not in self.closed_trades, "a trade was closed twice"
            assert p <= cost
            self.closed_trades.add(trade_id)
            self.credits[buyer] += r
            self.credits[self.owner_of(meter)] += p

    # ---------------------------------------------------------------- rules

    @initialize(whs=st.lists(st.integers(1, 2_000), min_size=4, max_size=4), price=st.integers(1, 10**9))
    def open_trades(self, whs, price):
        """Start with both sellers' next slot sold, in part, to both buyers, and a
        first reading of each meter on chain."""
        for index, (meter, seller) in enumerate(self.sellers):
            self.submit_reading(index, self.slot - 1, 0)
            offer_id = self.escrow.postOffer(meter, self.slot + 1, 4_000, price, {"from": seller}).return_value
            self.offers[offer_id] = [meter, self.slot + 1, 4_000, price]
            for buyer, wh in zip(self.buyers, whs[2 * index :], strict=False):
                self.take(offer_id, wh, buyer)

    @rule(index=INDEX, ahead=st.integers(0, 2), wh=st.integers(1, 5_000), price=st.integers(1, 10**9))
    def rule_offer(self, index, ahead, wh, price):
        meter, seller = self.sellers[index]
        slot = self.slot + ahead
        if ahead == 0:
            with brownie.reverts():
                self.escrow.postOffer(meter, slot, wh, price, {"from": seller})
            return
        offer_id = self.escrow.postOffer(meter, slot, wh, price, {"from": seller}).return_value
        self.offers[offer_id] = [meter, slot, wh, price]

    @precondition(lambda self: self.offers)
    @rule(index=INDEX, pick=PICK, percent=st.integers(1, 110))
    def rule_take(self, index, pick, percent):
        # Mostly valid takes of live offers; the rest probe the rejections.
        live = [i for i, (_, slot, left, _) in self.offers.items() if left and slot > self.slot]
        offer_id = self.pick(live if live and percent <= 100 else self.offers, pick)
        meter, slot, remaining, _ = self.offers[offer_id]
        buyer = self.buyers[index]
        wh = max(1, remaining * percent // 100) if percent <= 100 else remaining + percent - 100
        trades = len(self.lots.get((meter, slot), {"costs": []})["costs"])
        if remaining == 0 or wh > remaining or slot <= self.slot or trades >= MAX_TRADES_PER_LOT:
            with brownie.reverts():
                self.escrow.takeOffers([(offer_id, wh)], {"from": buyer})
            return
        self.take(offer_id, wh, buyer)

    def take(self, offer_id, wh, buyer):
        meter, slot, _, price = self.offers[offer_id]
        self.escrow.takeOffers([(offer_id, wh)], {"from": buyer})
        self.offers[offer_id][2] -= wh
        lot = self.lots.setdefault((meter, slot), {"sold": 0, "costs": [], "buyers": [], "state": OPEN})
        lot["sold"] += wh
        lot["costs"].append(trade_cost(wh, price))
        lot["buyers"].append(buyer.address)

    @precondition(lambda self: self.offers)
    @rule(pick=PICK)
    def rule_cancel(self, pick):
        offer_id = self.pick(self.offers, pick)
        meter, slot, remaining, _ = self.offers[offer_id]
        seller = self.owner_of(meter)
        if remaining == 0 or slot <= self.slot:
            with brownie.reverts():
                self.escrow.cancelOffer(offer_id, {"from": seller})
            return
        self.escrow.cancelOffer(offer_id, {"from": seller})
        self.offers[offer_id][2] = 0

    @rule(steps=st.integers(1, 3))
    def rule_advance(self, steps):
        self.position += steps
        self.mine_at(self.time_of(self.position))

    @rule(index=INDEX, back=st.integers(0, 1), exports=EXPORTS)
    def rule_readings(self, index, back, exports):
        """Mostly both meters send what they buffered, in slot order; else one meter
        sends one reading of an ended slot, which may skip a slot or come out of order."""
        if back == 0:
            self.catch_up(exports)
        else:
            self.submit_reading(index, self.slot - back, exports[0])

    def catch_up(self, exports):
        for index, (meter, _) in enumerate(self.sellers):
            first = self.last_reading.get(meter, (self.slot - 2,))[0] + 1
            for slot, export in zip(range(first, self.slot), exports[2 * index :], strict=False):
                self.submit_reading(index, slot, export)

    def submit_reading(self, index, slot, export):
        """Submit meter `index`'s reading of ended `slot`, `export` Wh above its last one."""
        meter, _ = self.sellers[index]
        last_slot, cumulative = self.last_reading.get(meter, (None, 10_000))
        reading, signature = self.sign(meter, slot, 0, cumulative + export)
        if last_slot is not None and slot <= last_slot:
            with brownie.reverts():
                self.registry.submitReading(reading, signature, {"from": self.buyers[0]})
            return
        self.registry.submitReading(reading, signature, {"from": self.buyers[0]})
        if last_slot == slot - 1:
            self.exported[(meter, slot)] = export
        self.last_reading[meter] = (slot, cumulative + export)

    @rule(steps=st.integers(1, 3), exports=EXPORTS)
    def rule_operator_round(self, steps, exports):
        """What a runner does: let time pass, send the meters' readings, then settle
        and refund every lot that is due, each in one batch."""
        self.rule_advance(steps)
        self.catch_up(exports)
        for settle in (True, False):
            lots = self.open_lots_closing(settle)
            if lots:
                (self.escrow.settleLots if settle else self.escrow.refundLots)(lots, {"from": self.buyers[0]})
                for lot in lots:
                    self.close_lot(*lot, self.exported[lot] if settle else None)

    @precondition(lambda self: self.lots)
    @rule(pick=PICK, batch=st.booleans())
    def rule_settle(self, pick, batch):
        due = self.open_lots_closing(settle=True)
        if batch and due:
            self.escrow.settleLots(due, {"from": self.buyers[0]})
            for lot in due:
                self.close_lot(*lot, self.exported[lot])
            return
        lot = self.pick(self.lots, pick)
        if lot not in due:
            with brownie.reverts():
                self.escrow.settleLot(*lot, {"from": self.buyers[1]})
            return
        self.escrow.settleLot(*lot, {"from": self.buyers[1]})
        self.close_lot(*lot, self.exported[lot])

    @precondition(lambda self: self.lots)
    @rule(pick=PICK, batch=st.booleans())
    def rule_refund(self, pick, batch):
        due = self.open_lots_closing(settle=False)
        if batch and due:
            self.escrow.refundLots(due, {"from": self.buyers[1]})
            for lot in due:
                self.close_lot(*lot, None)
            return
        lot = self.pick(self.lots, pick)
        if lot not in due:
            with brownie.reverts():
                self.escrow.refundLot(*lot, {"from": self.buyers[0]})
            return
        self.escrow.refundLot(*lot, {"from": self.buyers[0]})
        self.close_lot(*lot, None)

    @rule(account=st.integers(0, 3))
    def rule_withdraw(self, account):
        who = self.accounts()[account]
        credit = self.credits[who.address]
        if credit == 0:
            with brownie.reverts():
                self.escrow.withdraw({"from": who})
            return
        before = self.token.balanceOf(who)
        self.escrow.withdraw({"from": who})
        assert self.token.balanceOf(who) == before + credit
        self.credits[who.address] = 0

    # ----------------------------------------------------------- invariants

    @invariant()
    def invariant_escrow_balance_is_locked_plus_credited(self):
        held = self.token.balanceOf(self.escrow)
        assert held == self.escrow.totalLocked() + self.escrow.totalCredited()

    @invariant()
    def invariant_total_supply_is_unchanged(self):
        assert self.token.totalSupply() == self.supply

    @invariant()
    def invariant_locked_is_the_cost_of_open_lots(self):
        open_cost = sum(sum(lot["costs"]) for lot in self.lots.values() if lot["state"] == OPEN)
        assert self.escrow.totalLocked() == open_cost

    @invariant()
    def invariant_credits_match_the_settlement_rule(self):
        for address, credit in self.credits.items():
            assert self.escrow.creditOf(address) == credit

    @invariant()
    def invariant_closed_trades_are_gone_and_lots_record_their_state(self):
        for (meter, slot), lot in self.lots.items():
            assert int(self.escrow.lotOf(meter, slot)[3]) == lot["state"]
        for trade_id in self.closed_trades:
            assert int(self.escrow.tradeOf(trade_id)[1]) == 0


def test_escrow_invariants_hold_over_random_action_sequences(
    chain, escrow, token, registry, sign, mine_at, admin, seller, seller2, buyer, buyer2
):
    for account in (buyer, buyer2):
        token.mint(account, BUYER_FUNDS, {"from": admin})
    chain.snapshot()
    EscrowMachine.market = Market(
        chain, escrow, token, registry, sign, mine_at, [(SELLER_METER, seller), (OTHER_METER, seller2)], [buyer, buyer2]
    )
    run_state_machine_as_test(
        EscrowMachine,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=40, deadline=None, database=None),
    )
