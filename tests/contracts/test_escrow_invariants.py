"""Stateful property test: random sequences of market actions against a Python model of escrow v3.

Deposits, withdrawals, payouts, standing orders placed (some stale, badly signed or for a meter the account
does not own) and cancelled, matches with fills that must be made or skipped (every fill reason but the
horizon's edge), lots out of meter order, closings with full, short, missing and forged readings, tampered
groups, refunds after time travel. Every rule predicts from the model what the contract must do (which
events, or which error) and checks that it does; after every step the invariants of EnergyEscrow's NatSpec
are checked against the model. At the end every lot is closed, everyone is paid out, and nothing is left.

Chain time moves in half-slot steps that keep every action at least 100 s away from a slot or grace boundary,
so the few seconds of wall-clock drift between blocks cannot change an outcome.
"""

from dataclasses import dataclass, field
from typing import Any

import brownie
from eth_utils.crypto import keccak
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
from p2p_energy.limits import MAX_HORIZON_S
from p2p_energy.wire.orders import Ask, Bid, sign_order
from p2p_energy.wire.readings import MeterKey, Reading
from p2p_energy.wire.records import (
    SKIP_REASONS,
    CloseCall,
    GroupClose,
    Lot,
    MatchCall,
    Trade,
    group_commitment,
    lot_key,
)
from tests.contracts.conftest import (
    GRACE,
    GRACE_SLOTS,
    OTHER_METER,
    SELLER_METER,
    SLOT_LENGTH,
    close_streams,
    error,
    events,
    key_of,
    match_streams,
    meter_key,
    proofs_of,
)

OFFSETS = (100, 550)  # seconds into a slot where the machine stands
FAR = 673  # slots ahead: the slot starts more than 7 days (672 slots) away
MAX_TRADES = 50
WALLET = 10**15
FORGER = MeterKey(keccak(text="a key that is no meter's"))
# The same run on every EVM target (make test runs the contract suite once per target): about 20 s each.
EXAMPLES, STEPS = 10, 50

TRADER = st.integers(0, 3)  # seller, seller2, buyer, buyer2
PRICE_MODE = st.sampled_from(["mid", "mid", "mid", "floor", "limit", "below", "above", "zero"])
FILL = st.tuples(TRADER, st.integers(0, 900), PRICE_MODE)
BID = st.tuples(st.integers(2 * 10**7, 6 * 10**7), st.integers(100, 2_000))  # max price per kWh, Wh per slot
ASK = st.tuples(st.integers(10**6, 3 * 10**7), st.integers(300, 3_000), st.integers(1, 60))  # min price, Wh, min Wh
SIGNED = st.sampled_from(["own", "own", "own", "own", "bad"])
EXPORT = st.sampled_from(["full", "short", "short", "over", "none", "missing", "forged"])


@dataclass
class Market:
    """The deployed contracts and actors the machine drives (set once per test)."""

    chain: Any
    escrow: Any
    genesis: int
    token: Any
    mine_at: Any
    orders_domain: Any
    readings_domain: Any
    operator: Any
    matcher: Any
    traders: list  # seller (meter 1), seller2 (meter 2), buyer, buyer2: each deposits and bids


@dataclass
class ModelLot:
    """A (meter, slot) lot as the model sees it: its seller, trades (buyer, wh, price) in match order, its group."""

    meter: int
    slot: int
    seller: str
    group: tuple  # (slot, number)
    trades: list = field(default_factory=list)
    state: str = "open"
    paid: list = field(default_factory=list)  # per trade, once closed

    @property
    def costs(self):
        return [trade_cost(wh, price) for _, wh, price in self.trades]

    @property
    def sold(self):
        return sum(wh for _, wh, _ in self.trades)

    def wire(self):
        return Lot(self.meter, self.slot, self.seller, tuple(Trade(b, wh, p) for b, wh, p in self.trades))


class EscrowMachine(RuleBasedStateMachine):
    market: Market  # set by the test before the run

    def __init__(self):
        super().__init__()
        m = self.market
        m.chain.revert()  # every sequence starts from the same chain state
        self.m, self.escrow = m, m.escrow
        self.accounts = [str(a) for a in m.traders]
        self.meter_of = {self.accounts[0]: SELLER_METER, self.accounts[1]: OTHER_METER}
        self.owner = {SELLER_METER: self.accounts[0], OTHER_METER: self.accounts[1]}
        self.balances = dict.fromkeys(self.accounts, 0)
        self.bids = dict.fromkeys(self.accounts, (0, 0, 0))  # (max price, Wh per slot, until)
        self.asks = dict.fromkeys(self.accounts, (0, 0, 0, 0, 0))  # (meter, min price, max Wh, min Wh, until)
        self.last = dict.fromkeys(self.accounts, (0, 0))  # (last slot bought in, Wh bought in it)
        self.slots = {}  # slot -> (highest meter matched, groups)
        self.lots = {}  # (meter, slot) -> ModelLot
        self.groups = {}  # (slot, number) -> [lot keys]
        self.closures = {}  # lot key -> closing events seen
        self.touched_groups, self.touched_slots = set(), set()  # changed since the last check of their words
        self.genesis = m.genesis
        self.position = 2 * (self.escrow.currentSlot() + 1)  # half-slot steps since genesis
        self.m.mine_at(self.time_of(self.position))

    # ------------------------------------------------------------------ helpers

    def time_of(self, position):
        return self.slot_start(position // 2) + OFFSETS[position % 2]

    def slot_start(self, slot):
        """EnergyEscrow.slotStart, without asking the chain (SlotClock: genesis + slot * slotLength)."""
        return self.genesis + slot * SLOT_LENGTH

    @property
    def slot(self):
        return self.position // 2

    @property
    def now(self):
        return self.time_of(self.position)

    def send(self, expected, call, *args, sender=None):
        """Send `call(*args)`; expect a revert with custom error `expected` (its rendering), or success if None."""
        sender = sender or self.m.operator
        if expected is None:
            return call(*args, {"from": sender})
        with brownie.reverts(expected):
            call(*args, {"from": sender})
        return None

    # -------------------------------------------------------------------- money

    @initialize(
        amounts=st.lists(st.integers(10**8, 10**10), min_size=4, max_size=4),
        bids=st.lists(BID, min_size=4, max_size=4),
        asks=st.lists(ASK, min_size=2, max_size=2),
        fills=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 500)), min_size=1, max_size=3),
        lasting=st.integers(2, 30),
    )
    def fund_everyone_place_orders_and_match_the_next_slot(self, amounts, bids, asks, fills, lasting):
        """The operator funds every trader in one depositFor; the matcher places a standing ask per seller and a
        standing bid per trader (the sellers buy too), all until `lasting` slots ahead (so that some expire
        within a run), then matches the next slot."""
        tx = self.send(None, self.escrow.depositFor, self.accounts, amounts)
        assert len(tx.events["Deposited"]) == 4
        for account, amount in zip(self.accounts, amounts, strict=True):
            self.balances[account] += amount
        until = self.slot + lasting
        orders = []
        for trader, account, (price, wh) in zip(self.m.traders, self.accounts, bids, strict=True):
            orders.append(sign_order(key_of(trader), self.m.orders_domain, Bid(account, price, wh, until)))
            self.bids[account] = (price, wh, until)
        for trader, account, (price, wh, min_wh) in zip(self.m.traders, self.accounts, asks, strict=False):
            meter = self.meter_of[account]
            orders.append(
                sign_order(key_of(trader), self.m.orders_domain, Ask(account, meter, price, wh, min_wh, until))
            )
            self.asks[account] = (meter, price, wh, min_wh, until)
        tx = self.send(
            None, self.escrow.matchOrders, *match_streams(MatchCall(tuple(orders), ())), sender=self.m.matcher
        )
        assert (len(events(tx, "BidPlaced")), len(events(tx, "AskPlaced"))) == (4, 2)
        self.match_sensibly(1, [0, 1], fills)

    @rule(
        kind=st.sampled_from(["deposit", "deposit_for", "withdraw", "withdraw", "pay_out"]),
        whos=st.lists(TRADER, min_size=1, max_size=3),
        amounts=st.lists(st.integers(0, 10**9), min_size=3, max_size=3),
        percent=st.integers(0, 120),
    )
    def move_money(self, kind, whos, amounts, percent):
        """A deposit, a depositFor, a withdrawal or the matcher's payOut (one rule, so that money moves as often
        as anything else happens)."""
        if kind == "deposit":
            self.deposit(whos[0], amounts[0])
        elif kind == "deposit_for":
            self.deposit_for(whos, amounts)
        elif kind == "withdraw":
            self.withdraw(whos[0], percent)
        else:
            self.pay_out(whos)

    def deposit(self, who, amount):
        account = self.accounts[who]
        self.send(error("ZeroAmount") if amount == 0 else None, self.escrow.deposit, amount, sender=account)
        self.balances[account] += amount

    def deposit_for(self, whos, amounts):
        accounts, amounts = [self.accounts[w] for w in whos], amounts[: len(whos)]
        self.send(error("ZeroAmount") if 0 in amounts else None, self.escrow.depositFor, accounts, amounts)
        if 0 not in amounts:
            for account, amount in zip(accounts, amounts, strict=True):
                self.balances[account] += amount

    def withdraw(self, who, percent):
        account = self.accounts[who]
        balance = self.balances[account]
        amount = balance * percent // 100 if balance else percent
        expected = (
            error("ZeroAmount")
            if amount == 0
            else error("InsufficientBalance", account, balance, amount)
            if amount > balance
            else None
        )
        before = self.m.token.balanceOf(account)
        self.send(expected, self.escrow.withdraw, amount, sender=account)
        if expected is None:
            assert self.m.token.balanceOf(account) == before + amount
            self.balances[account] -= amount

    def pay_out(self, whos):
        accounts = [self.accounts[w] for w in whos]
        tx = self.send(None, self.escrow.payOut, accounts, sender=self.m.matcher)
        paid = {}
        for account in accounts:
            if self.balances[account]:
                paid[account] = self.balances[account]
                self.balances[account] = 0
        assert [(e["account"], e["amount"]) for e in events(tx, "Withdrawn")] == list(paid.items())

    # ------------------------------------------------------------------- orders

    @rule(
        orders=st.lists(
            st.tuples(TRADER, st.booleans(), st.integers(-2, 3), BID, ASK, SIGNED, st.booleans()),
            min_size=1,
            max_size=3,
        ),
        cancel=st.sampled_from([None, None, None, None, (0, -1), (1, 3), (2, 6), (3, 0)]),
    )
    def place_or_cancel(self, orders, cancel):
        """Mostly new standing orders; now and then an account cancels its orders."""
        if cancel is None:
            self.place(orders)
        else:
            self.cancel(*cancel)

    def place(self, orders):
        """Signed bids and asks in a matchOrders call of no lots, each ending `later` slots after the account's
        standing order of its kind (stale if not later): placed or skipped as the model says."""
        signed, expected = [], []
        for who, is_bid, later, (bid_price, bid_wh), (ask_price, ask_wh, min_wh), how, other_meter in orders:
            account = self.accounts[who]
            until = max(0, (self.bids[account][2] if is_bid else self.asks[account][4]) + later)
            key = key_of(self.m.traders[(who + 1) % 4] if how == "bad" else self.m.traders[who])
            if is_bid:
                order = Bid(account, bid_price, bid_wh, until)
                current = self.bids[account][2]
            else:
                own = self.meter_of.get(account, SELLER_METER)
                meter = (OTHER_METER if own == SELLER_METER else SELLER_METER) if other_meter else own
                order = Ask(account, meter, ask_price, ask_wh, min_wh, until)
                current = self.asks[account][4]
            signed.append(sign_order(key, self.m.orders_domain, order))
            why = (
                "StaleOrder"
                if until <= current
                else "BadSignature"
                if how == "bad"
                else "NotMeterOwner"
                if not is_bid and self.owner[order.meter_id] != account
                else None
            )
            expected.append(why)
            if why is None and is_bid:
                self.bids[account] = (bid_price, bid_wh, until)
            elif why is None:
                self.asks[account] = (order.meter_id, ask_price, ask_wh, min_wh, until)
        tx = self.send(
            None, self.escrow.matchOrders, *match_streams(MatchCall(tuple(signed), ())), sender=self.m.matcher
        )
        skips = [(e["account"], SKIP_REASONS[e["reason"]]) for e in events(tx, "OrderSkipped")]
        assert skips == [(o.account, why) for o, why in zip(signed, expected, strict=True) if why]
        assert len(events(tx, "BidPlaced")) + len(events(tx, "AskPlaced")) == expected.count(None)

    def cancel(self, who, ahead):
        account, until = self.accounts[who], max(0, self.slot + ahead)
        self.send(None, self.escrow.cancelOrders, until, sender=account)
        self.bids[account] = (0, 0, max(self.bids[account][2], until))
        meter, *_, ask_until = self.asks[account]
        self.asks[account] = (meter, 0, 0, 0, max(ask_until, until))

    # ----------------------------------------------------------------- matching

    @rule(
        sensible=st.sampled_from([True, True, False]),
        ahead=st.sampled_from([1, 1, 2, 3]),
        sellers=st.sampled_from([[0], [1], [0, 1], [0, 1]]),
        fills=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 500)), min_size=1, max_size=3),
        any_ahead=st.sampled_from([0, 1, 1, 1, 2, 2, 3, FAR]),
        any_lots=st.lists(st.tuples(st.integers(0, 1), st.lists(FILL, min_size=1, max_size=4)), min_size=1, max_size=2),
    )
    def match(self, sensible, ahead, sellers, fills, any_ahead, any_lots):
        """Two matches in three as the matcher sends them, the third anything."""
        if sensible:
            self.match_sensibly(ahead, sellers, fills)
        else:
            self.match_anything(any_ahead, any_lots)

    def match_sensibly(self, ahead, sellers, fills):
        """A match as the matcher sends it: lots in meter order in the first slot from `ahead` on where their
        meters were not matched yet, fills of other traders at a price between the orders' (skipped only where
        an order is used up, expired or cancelled, or a balance is short)."""
        lots = []
        for seller in sellers:
            others = [i for i in range(4) if i != seller]
            lots.append((seller, [(others[b], wh, "mid") for b, wh in fills]))
        lowest = min(self.asks[self.accounts[s]][0] for s in sellers)
        slot = self.slot + ahead
        while self.slots.get(slot, (0, 0))[0] >= lowest > 0:
            slot += 1
        self.try_match(slot, lots)

    def match_anything(self, ahead, lots):
        """Any match: a slot under way or too far ahead, a seller buying its own energy, prices outside the
        orders, fills of no Wh, lots out of meter order, ..."""
        self.try_match(self.slot + ahead, lots)

    def try_match(self, slot, lots):
        """One matchOrders call of the lots drawn, in the order drawn: the model says what it must do."""
        wire = []
        for seller, drawn in lots:
            account = self.accounts[seller]
            trades = tuple(
                Trade(self.accounts[b], wh, self.price(mode, account, self.accounts[b])) for b, wh, mode in drawn
            )
            wire.append(Lot(self.asks[account][0], slot, account, trades))
        expected, outcome = self.predict_match(slot, wire)
        call = MatchCall((), tuple(wire))
        tx = self.send(expected, self.escrow.matchOrders, *match_streams(call), sender=self.m.matcher)
        if tx is None:
            return
        made, skipped = outcome
        assert [(e["buyer"], e["wh"], e["pricePerKWh"]) for e in events(tx, "Traded")] == made
        assert [(e["buyer"], SKIP_REASONS[e["reason"]]) for e in events(tx, "FillSkipped")] == skipped
        self.commit_match()

    def price(self, mode, seller, buyer):
        low, high = self.asks[seller][1], self.bids[buyer][0]
        return {
            "floor": low,
            "limit": high,
            "mid": (low + high) // 2,
            "below": max(low - 1, 0),
            "above": high + 1,
            "zero": 0,
        }[mode]

    def predict_match(self, slot, lots):
        """(error rendering or None, (made (buyer, wh, price), skipped (buyer, reason))); stages the model's
        changes in self.pending, applied by commit_match once the call went through."""
        closed = (
            "TradingClosed"
            if self.now >= self.slot_start(slot)
            else "SlotTooFar"
            if self.slot_start(slot) > self.now + MAX_HORIZON_S
            else None
        )
        balances, last = dict(self.balances), dict(self.last)
        last_meter, groups = self.slots.get(slot, (0, 0))
        made, skipped, group_lots = [], [], []
        for lot in lots:
            meter, _, max_wh, min_wh, until = self.asks[lot.seller]
            if meter == 0:
                skipped += [(t.buyer, "NoAsk") for t in lot.trades]
                continue
            if meter <= last_meter:
                return error("LotsNotSorted", slot, meter, last_meter), None
            last_meter = meter
            why_lot = closed or ("AskExpired" if slot > until else None)
            if why_lot:
                skipped += [(t.buyer, why_lot) for t in lot.trades]
                continue
            sold, trades = 0, []
            for t in lot.trades:
                bid_price, bid_wh, bid_until = self.bids[t.buyer]
                last_slot, last_wh = last[t.buyer]
                bought = t.wh + (last_wh if slot == last_slot else 0)
                cost = trade_cost(t.wh, t.price_per_kwh)
                why = next(
                    (
                        name
                        for name, failed in (
                            ("BuyerIsSeller", t.buyer == lot.seller),
                            ("NoBid", bid_price == 0),
                            ("BidExpired", slot > bid_until),
                            ("BelowAsk", t.price_per_kwh == 0 or t.price_per_kwh < self.asks[lot.seller][1]),
                            ("AboveBid", t.price_per_kwh > bid_price),
                            ("TooSmall", t.wh == 0 or t.wh < min_wh),
                            ("AskFull", sold + t.wh > max_wh),
                            ("LotFull", len(trades) >= MAX_TRADES),
                            ("BidOutOfOrder", slot < last_slot),
                            ("BidFull", bought > bid_wh),
                            ("InsufficientBalance", cost > balances[t.buyer]),
                        )
                        if failed
                    ),
                    None,
                )
                if why:
                    skipped.append((t.buyer, why))
                    continue
                assert bought <= bid_wh and sold + t.wh <= max_wh  # the NatSpec's per-bid and per-lot caps
                balances[t.buyer] -= cost
                last[t.buyer] = (slot, bought)
                sold += t.wh
                trades.append((t.buyer, t.wh, t.price_per_kwh))
                made.append((t.buyer, t.wh, t.price_per_kwh))
            if trades:
                group_lots.append(ModelLot(meter, slot, lot.seller, (slot, groups), trades))
        self.pending = (balances, last, slot, (last_meter, groups + bool(group_lots)), group_lots)
        return None, (made, skipped)

    def commit_match(self):
        balances, last, slot, book, group_lots = self.pending
        self.balances, self.last, self.slots[slot] = balances, last, book
        self.touched_slots.add(slot)
        for lot in group_lots:
            self.lots[(lot.meter, slot)] = lot
            self.groups.setdefault(lot.group, []).append((lot.meter, slot))
            self.touched_groups.add(lot.group)

    # ------------------------------------------------------------------ closing

    @rule(steps=st.integers(1, 3))
    def advance(self, steps):
        self.position += steps
        self.m.mine_at(self.now)

    @precondition(lambda self: self.groups)
    @rule(
        picks=st.lists(st.integers(0, 2**16), min_size=1, max_size=3, unique=True),
        exports=st.lists(st.tuples(EXPORT, st.integers(0, 10_000)), min_size=2, max_size=2),
        tamper=st.sampled_from([False, False, False, False, True]),
    )
    def close(self, picks, exports, tamper):
        """closeLots of a few groups (open or closed), with a reading per meter of the kind drawn."""
        keys = sorted(self.groups)
        chosen = sorted({keys[p % len(keys)] for p in picks})
        readings, values = self.readings_for(chosen, exports)
        tampered = chosen[0] if tamper else None
        groups = []
        for key in chosen:
            lots = [self.lots[k].wire() for k in self.groups[key]]
            if key == tampered:
                first = lots[0]
                lots[0] = Lot(first.meter_id, first.slot, first.seller, first.trades[:-1] or first.trades * 2)
            groups.append(GroupClose(*key, tuple(lots)))
        expected, outcomes = self.predict_close(chosen, values, tampered)
        proofs = proofs_of(groups, readings)
        call = CloseCall(tuple(groups), tuple(readings), proofs, frozenset(a.lower() for a in self.accounts))
        tx = self.send(expected, self.escrow.closeLots, *close_streams(call), sender=self.m.operator)
        if tx is not None:
            self.check_closing(tx, outcomes)

    def readings_for(self, groups, exports):
        """A signed reading per meter of the chosen groups' open lots (or none, or forged, as drawn), covering the
        slots of its lots; and per lot key the export it proves (None: no reading, "forged": a bad one)."""
        readings, values = [], {}
        for meter, (kind, extra) in zip((SELLER_METER, OTHER_METER), exports, strict=True):
            keys = [k for g in groups for k in self.groups[g] if k[0] == meter]
            if not keys or kind == "missing":
                continue
            first, last = min(k[1] for k in keys), max(k[1] for k in keys)
            exported = []
            for slot in range(first, last + 1):
                sold = self.lots[(meter, slot)].sold if (meter, slot) in self.lots else 0
                exported.append(
                    {"full": sold, "short": sold * extra // 10_001, "over": sold + extra, "none": 0, "forged": sold}[
                        kind
                    ]
                )
            signer = FORGER if kind == "forged" else meter_key(meter)
            readings.append(signer.sign(self.m.readings_domain, Reading(meter, first, tuple(exported))))
            for slot, value in zip(range(first, last + 1), exported, strict=True):
                values[(meter, slot)] = "forged" if kind == "forged" else value
        return readings, values

    def predict_close(self, groups, values, tampered):
        outcomes = []  # (key, "settled" exported | "refunded" | skip reason | "group skipped")
        for key in groups:
            lots = [self.lots[k] for k in self.groups[key]]
            if all(lot.state != "open" for lot in lots):
                outcomes.append((key, "group skipped", None))
                continue
            if key == tampered:
                return error("TradesMismatch", *key), None
            for lot in lots:
                lot_key_ = (lot.meter, lot.slot)
                end = self.slot_start(lot.slot + 1)
                if lot.state != "open":
                    outcomes.append((lot_key_, "skipped", "NotOpen"))
                elif self.now < end:
                    outcomes.append((lot_key_, "skipped", "NotOver"))
                elif self.now >= end + GRACE:
                    outcomes.append((lot_key_, "refunded", None))
                elif lot_key_ not in values:
                    outcomes.append((lot_key_, "skipped", "NoReading"))
                elif values[lot_key_] == "forged":
                    outcomes.append((lot_key_, "skipped", "Unproven"))
                else:
                    outcomes.append((lot_key_, "settled", values[lot_key_]))
        return None, outcomes

    def check_closing(self, tx, outcomes):
        settled, refunded, skipped, group_skips = [], [], [], []
        for key, what, detail in outcomes:
            if what == "group skipped":
                group_skips.append(key)
                continue
            lot = self.lots[key]
            k = lot_key(*key)
            if what == "skipped":
                skipped.append((k, detail))
                continue
            rule = settle_lot(lot.costs, lot.sold, detail if what == "settled" else 0)
            paid = rule.paid if what == "settled" else (0,) * len(lot.trades)
            for (buyer, _, _), cost, p in zip(lot.trades, lot.costs, paid, strict=True):
                assert 0 <= p <= cost
                self.balances[buyer] += cost - p
            self.balances[lot.seller] += sum(paid)
            lot.paid, lot.state = list(paid), what
            self.touched_groups.add(lot.group)
            if what == "settled":
                settled.append((k, lot.seller, lot.sold, min(detail, lot.sold), sum(paid)))
            else:
                refunded.append((k, sum(lot.costs)))
            self.closures[key] = self.closures.get(key, 0) + 1
            assert self.closures[key] == 1, f"lot {key} closed twice"
        assert [tuple(e.values()) for e in events(tx, "LotSettled")] == settled
        assert [tuple(e.values()) for e in events(tx, "LotRefunded")] == refunded
        assert [(e["lotKey"], SKIP_REASONS[e["reason"]]) for e in events(tx, "LotSkipped")] == skipped
        assert [(e["slot"], e["group"]) for e in events(tx, "GroupSkipped")] == group_skips

    @rule(steps=st.integers(1, 3), exports=st.lists(st.tuples(EXPORT, st.integers(0, 10_000)), min_size=2, max_size=2))
    def operator_round(self, steps, exports):
        """What a runner does: let time pass, then close every group with an open lot it can close."""
        self.advance(steps)
        due = sorted(
            g for g, keys in self.groups.items() if any(self.lots[k].state == "open" and k[1] < self.slot for k in keys)
        )
        if due:
            self.close_groups(due, exports)

    def close_groups(self, groups, exports):
        readings, values = self.readings_for(groups, exports)
        expected, outcomes = self.predict_close(groups, values, None)
        wire = tuple(GroupClose(*g, tuple(self.lots[k].wire() for k in self.groups[g])) for g in groups)
        proofs = proofs_of(wire, readings)
        call = CloseCall(wire, tuple(readings), proofs, frozenset(a.lower() for a in self.accounts))
        self.check_closing(self.send(expected, self.escrow.closeLots, *close_streams(call)), outcomes)

    # --------------------------------------------------------------- invariants

    @invariant()
    def the_escrows_tokens_are_its_balances_and_the_open_lots_costs(self):
        """token.balanceOf(escrow) == totalBalances + totalLocked; totalBalances is the sum of the balances and
        totalLocked the costs of the open lots, as the model has them."""
        held, balances, locked = (
            self.m.token.balanceOf(self.escrow),
            self.escrow.totalBalances(),
            self.escrow.totalLocked(),
        )
        open_costs = sum(sum(lot.costs) for lot in self.lots.values() if lot.state == "open")
        assert (held, balances, locked) == (balances + locked, sum(self.balances.values()), open_costs)

    @invariant()
    def each_account_and_ask_word_is_the_models(self):
        for account in self.accounts:
            view = self.escrow.accountOf(account)
            assert tuple(int(v) for v in view) == (self.balances[account], *self.bids[account], *self.last[account])
            assert tuple(int(v) for v in self.escrow.askOf(account)) == self.asks[account]

    @invariant()
    def each_group_and_slot_word_a_step_changed_is_the_models(self):
        """Checked for the groups and slots a step changed (all of them at the end): the others' words cannot
        have changed unless another invariant fails too."""
        groups, self.touched_groups = self.touched_groups, set()
        for slot, number in groups:
            lots = [self.lots[k] for k in self.groups[(slot, number)]]
            bits = sum(1 << i for i, lot in enumerate(lots) if lot.state == "open")
            commitment, open_bits = self.escrow.groupOf(slot, number)
            expected = (group_commitment([lot.wire() for lot in lots]), bits) if bits else (bytes(24), 0)
            assert (bytes(commitment), int(open_bits)) == expected
        slots, self.touched_slots = self.touched_slots, set()
        for slot in slots:
            assert tuple(int(v) for v in self.escrow.slotOf(slot)) == self.slots[slot]

    # ----------------------------------------------------------------- the end

    def teardown(self):
        """Every lot closes: after the last open lot's slot the runner settles what it can in two rounds (the
        second given every group again), then refunds the rest after their grace period. Every trade ends paid or
        refunded with paid <= cost, and once everyone is paid out the escrow holds nothing."""
        open_lots = [lot for lot in self.lots.values() if lot.state == "open"]
        if open_lots:
            self.position = max(self.position, 2 * (max(lot.slot for lot in open_lots) + 1))
            self.m.mine_at(self.now)
            # meter 1's lots settle short, meter 2's are left for want of a reading; then every group is given
            # again: closed groups are skipped, meter 1's lots are not open any more, meter 2's settle
            self.close_groups(sorted({lot.group for lot in open_lots}), [("short", 5_000), ("missing", 0)])
            self.close_groups(sorted(self.groups), [("full", 0), ("full", 0)])
        open_lots = [lot for lot in self.lots.values() if lot.state == "open"]
        if open_lots:
            self.position = max(self.position, 2 * (max(lot.slot for lot in open_lots) + GRACE_SLOTS + 1))
            self.m.mine_at(self.now)
            self.close_groups(sorted({lot.group for lot in open_lots}), [("missing", 0), ("missing", 0)])
        self.touched_groups, self.touched_slots = set(self.groups), set(self.slots)
        self.each_group_and_slot_word_a_step_changed_is_the_models()
        self.the_escrows_tokens_are_its_balances_and_the_open_lots_costs()
        for key, lot in self.lots.items():
            assert self.closures.get(key) == 1 and len(lot.paid) == len(lot.trades)
            assert all(0 <= paid <= cost for paid, cost in zip(lot.paid, lot.costs, strict=True))
        self.escrow.payOut(self.accounts, {"from": self.m.matcher})
        assert (self.m.token.balanceOf(self.escrow), self.escrow.totalBalances(), self.escrow.totalLocked()) == (
            0,
            0,
            0,
        )


def test_escrow_invariants_hold_over_random_action_sequences(
    chain, escrow, token, mine_at, orders_domain, readings_domain, admin, matcher, seller, seller2, buyer, buyer2
):
    traders = [seller, seller2, buyer, buyer2]
    # The fixture's buyer balances are paid out first, so that the model starts from empty balances.
    escrow.payOut([buyer, buyer2], {"from": matcher})
    for account in [admin, *traders]:
        token.mint(account, WALLET, {"from": admin})
        token.approve(escrow, 2**256 - 1, {"from": account})
    chain.snapshot()
    EscrowMachine.market = Market(
        chain, escrow, escrow.genesis(), token, mine_at, orders_domain, readings_domain, admin, matcher, traders
    )
    run_state_machine_as_test(
        EscrowMachine,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None),
    )
