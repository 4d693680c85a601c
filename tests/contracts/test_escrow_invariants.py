"""Stateful property test: random sequences of market actions against a Python model of the escrow.

Every rule predicts from the model whether the contract must accept the action or refuse it, and with
which error, and checks that it does; after every step the invariants compare the chain with the model.
At the end every lot is closed and everyone withdraws: nothing may be left in the escrow.

Chain time moves in half-slot steps that keep every action at least 100 s away from a slot or grace
boundary, so the few seconds of wall-clock drift between blocks cannot change an outcome.
"""

import os
from dataclasses import dataclass, field
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
from p2p_energy.domain.orders import LotTrade, commitment

from tests.contracts.conftest import GRACE, OTHER_METER, SELLER_METER, SLOT_LENGTH, fill

OFFSETS = (100, 550)  # seconds into a slot where the machine can stand
GRACE_SLOTS = GRACE // SLOT_LENGTH
FAR = 673  # slots ahead: the slot starts more than 7 days (672 slots) away
WALLET = 10**15
# The default target gets the long run; the older targets (make test runs the
# contract suite once per target) a shorter one of the same machine.
EXAMPLES = 25 if os.environ.get("P2P_EVM", "cancun") == "cancun" else 10

TRADER = st.integers(0, 3)
PICKS = st.lists(st.integers(0, 2**16), min_size=1, max_size=3)
EXPORTS = st.lists(st.integers(0, 1_000), min_size=3, max_size=3)  # lots sell up to ~1,000 Wh: many fall short
PRICE_OF = st.sampled_from(["ask", "bid", "mid", "mid", "mid", "below", "above", "zero"])
# (wh, min Wh, min price per kWh) of an ask and (max Wh, max price per kWh) of a bid: most pairs overlap in price
ASK = st.tuples(st.integers(500, 3_000), st.integers(1, 60), st.integers(10**6, 3 * 10**7))
BID = st.tuples(st.integers(200, 2_000), st.integers(2 * 10**7, 6 * 10**7))
TAMPER = st.sampled_from([False, False, False, True])


def events_named(tx, name):
    """tx.events[name] as a list, empty where there is none (brownie's events have no .get)."""
    if name not in tx.events:
        return []
    return list(tx.events[name])


@dataclass
class Market:
    """The deployed contracts and actors the machine drives (set once per test)."""

    chain: Any
    escrow: Any
    token: Any
    registry: Any
    ask: Any
    bid: Any
    proof: Any
    mine_at: Any
    operator: Any
    sellers: list  # (meter id, owner)
    traders: list  # every account that deposits and bids (the sellers too)


@dataclass
class Lot:
    """A (meter, slot) lot as the model sees it: its trades (buyer, wh, cost) in match order."""

    trades: list = field(default_factory=list)
    state: str = "open"
    paid: list = field(default_factory=list)  # per trade, once closed

    @property
    def sold(self):
        return sum(wh for _, wh, _ in self.trades)

    @property
    def cost(self):
        return sum(cost for _, _, cost in self.trades)

    def as_lot_trades(self):
        return [LotTrade(buyer, wh, cost).as_tuple() for buyer, wh, cost in self.trades]


class EscrowMachine(RuleBasedStateMachine):
    market: Market  # set by the test before the run

    def __init__(self):
        super().__init__()
        market = self.market
        market.chain.revert()  # every sequence starts from the same chain state
        self.m = market
        self.escrow, self.token = market.escrow, market.token
        self.owner = {meter: str(owner) for meter, owner in market.sellers}
        self.traders = {str(a): a for a in market.traders}
        self.balances = dict.fromkeys(self.traders, 0)
        self.bid_state = dict.fromkeys(self.traders, (0, 0))  # account -> (bid slot, Wh matched in it)
        self.asks, self.bids = {}, {}  # (meter, slot) -> ask; (account, slot) -> bid: drawn once, then signed again
        self.lots = {}  # (meter, slot) -> Lot
        self.closures = {}  # (meter, slot) -> LotSettled + LotRefunded events seen
        self.touched = set()  # lots changed since the last check of their words
        self.position = 2 * (market.registry.currentSlot() + 1)  # half-slot steps since genesis
        self.mine_at(self.time_of(self.position))

    # -------------------------------------------------------------- helpers

    def mine_at(self, timestamp):
        self.m.mine_at(timestamp)

    def time_of(self, position):
        return self.escrow.slotStart(position // 2) + OFFSETS[position % 2]

    @property
    def slot(self):
        return self.position // 2

    def account(self, index):
        return self.m.traders[index]

    def send(self, error, call, *args):
        """Send `call(*args)`; expect a revert with custom error `error`, or success when it is None."""
        if error is None:
            return call(*args, {"from": self.m.operator})
        with brownie.reverts(revert_pattern=f"{error}: .*"):
            call(*args, {"from": self.m.operator})
        return None

    def record_closures(self, tx):
        for name in ("LotSettled", "LotRefunded"):
            for event in events_named(tx, name):
                key = (event["meterId"], event["slot"])
                self.closures[key] = self.closures.get(key, 0) + 1
                assert self.closures[key] == 1, f"lot {key} closed twice"

    def close(self, key, delivered, state):
        """Credit a closing lot's trades by the rule (delivered None: refunded in full)."""
        lot = self.lots[key]
        sold = lot.sold
        for buyer, _, cost in lot.trades:
            paid = 0 if delivered is None else cost * min(delivered, sold) // sold
            assert paid <= cost
            lot.paid.append(paid)
            self.balances[buyer] += cost - paid
            self.balances[self.owner[key[0]]] += paid
        lot.state = state
        self.touched.add(key)

    def pick_lots(self, picks):
        """Some lots: known ones (open or closed) and, for a large pick, one that was never matched."""
        keys = sorted(self.lots)
        chosen = []
        for pick in picks:
            key = keys[pick % len(keys)] if keys and pick < 2**15 else (OTHER_METER, self.slot + 50 + pick % 7)
            if key not in chosen:
                chosen.append(key)
        return chosen

    # ---------------------------------------------------------------- rules

    @initialize(
        amounts=st.lists(st.integers(10**8, 10**10), min_size=4, max_size=4),
        whs=st.lists(st.integers(1, 500), min_size=2, max_size=2),
        asks=st.lists(ASK, min_size=2, max_size=2),
        bids=st.lists(BID, min_size=2, max_size=2),
    )
    def fund_everyone_and_match_the_next_slot(self, amounts, whs, asks, bids):
        """The operator funds every trader's balance in one depositFor; then each seller's next slot is
        matched, in part, to the two traders that are not sellers."""
        accounts = list(self.traders)
        tx = self.send(None, self.escrow.depositFor, accounts, amounts)
        assert len(tx.events["Deposited"]) == len(accounts)
        for account, amount in zip(accounts, amounts, strict=True):
            self.balances[account] += amount
        for seller, ask in enumerate(asks):
            self.try_match(self.slot + 1, seller, [2, 3], whs, ["mid", "mid"], ask, bids)

    @rule(who=TRADER, amount=st.integers(0, 10**9))
    def deposit(self, who, amount):
        account = self.account(who)
        if amount == 0:
            with brownie.reverts(revert_pattern="ZeroAmount: .*"):
                self.escrow.deposit(amount, {"from": account})
            return
        self.escrow.deposit(amount, {"from": account})
        self.balances[str(account)] += amount

    @rule(whos=st.lists(TRADER, min_size=1, max_size=3), amounts=st.lists(st.integers(0, 10**9), min_size=3))
    def deposit_for(self, whos, amounts):
        accounts = [str(self.account(who)) for who in whos]
        amounts = amounts[: len(accounts)]
        if 0 in amounts:
            self.send("ZeroAmount", self.escrow.depositFor, accounts, amounts)
            return
        self.send(None, self.escrow.depositFor, accounts, amounts)
        for account, amount in zip(accounts, amounts, strict=True):
            self.balances[account] += amount

    @rule(who=TRADER, percent=st.integers(0, 120))
    def withdraw(self, who, percent):
        account = self.account(who)
        balance = self.balances[str(account)]
        amount = balance * percent // 100 if balance else percent
        if amount == 0 or amount > balance:
            with brownie.reverts(revert_pattern=f"{'ZeroAmount' if amount == 0 else 'InsufficientBalance'}: .*"):
                self.escrow.withdraw(amount, {"from": account})
            return
        before = self.token.balanceOf(account)
        self.escrow.withdraw(amount, {"from": account})
        assert self.token.balanceOf(account) == before + amount
        self.balances[str(account)] -= amount

    @rule(
        ahead=st.sampled_from([1, 1, 1, 2, 3]),
        seller=st.integers(0, 1),
        buyers=st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
        whs=st.lists(st.integers(1, 500), min_size=2, max_size=2),
        ask=ASK,
        bids=st.lists(BID, min_size=2, max_size=2),
    )
    def match(self, ahead, seller, buyers, whs, ask, bids):
        """A match as the runner sends it: a bid or two of other accounts than the seller, at a price
        between the orders' (refused only where an ask or a bid is used up, or a balance is short)."""
        others = [i for i, a in enumerate(self.m.traders) if a != self.m.sellers[seller][1]]
        self.try_match(self.slot + ahead, seller, [others[b] for b in buyers], whs, ["mid", "mid"], ask, bids)

    @rule(
        ahead=st.sampled_from([0, 1, 2, 3, FAR]),
        seller=st.integers(0, 1),
        buyers=st.lists(TRADER, min_size=1, max_size=2, unique=True),
        whs=st.lists(st.integers(0, 800), min_size=2, max_size=2),
        prices=st.lists(PRICE_OF, min_size=2, max_size=2),
        ask=ASK,
        bids=st.lists(BID, min_size=2, max_size=2),
    )
    def match_anything(self, ahead, seller, buyers, whs, prices, ask, bids):
        """Any match: too late, too far ahead, a seller buying its own energy, prices outside the orders, ..."""
        self.try_match(self.slot + ahead, seller, buyers, whs, prices, ask, bids)

    def try_match(self, slot, seller, buyers, whs, prices, ask, bids):
        """One ask, a fill per bid; the model says whether matchOrders must accept it or with which error."""
        meter = self.m.sellers[seller][0]
        ask = self.asks.setdefault((meter, slot), ask)
        accounts = sorted({str(self.account(b)) for b in buyers}, key=lambda a: int(a, 16))
        orders = [self.bids.setdefault((a, slot), b) for a, b in zip(accounts, bids, strict=False)]
        fills = [
            fill(0, i, wh, self.price_of(mode, ask, order))
            for i, (order, wh, mode) in enumerate(zip(orders, whs, prices, strict=False))
        ]
        error, effects = self.predict_match(meter, slot, ask, accounts, orders, fills)
        asks = [self.m.ask(ask[0], slot, meter, min_wh=ask[1], price=ask[2])]
        signed = [self.m.bid(self.traders[a], o[0], slot, price=o[1]) for a, o in zip(accounts, orders, strict=True)]
        tx = self.send(error, self.escrow.matchOrders, slot, asks, signed, fills)
        if tx is not None:
            assert len(tx.events["Traded"]) == len(fills)
            self.apply_match(meter, slot, *effects)

    @staticmethod
    def price_of(mode, ask, bid):
        low, high = ask[2], bid[1]
        return {"ask": low, "bid": high, "mid": (low + high) // 2, "below": low - 1, "above": high + 1, "zero": 0}[mode]

    def predict_match(self, meter, slot, ask, accounts, orders, fills):
        """The error matchOrders must raise (None: none), and the lot's and bids' states after it."""
        if slot <= self.slot:
            return "TradingClosed", None
        if slot >= self.slot + FAR:
            return "SlotTooFar", None
        states = {}
        for account in accounts:
            bid_slot, bid_wh = self.bid_state[account]
            if bid_slot > slot:
                return "BidOutOfOrder", None
            states[account] = [self.balances[account], bid_wh if bid_slot == slot else 0]
        trades = []
        lot = self.lots.get((meter, slot), Lot())
        sold, count = lot.sold, len(lot.trades)
        for _, index, wh, price in fills:
            account, (max_wh, max_price) = accounts[index], orders[index]
            cost = -(-wh * price // 1_000)
            balance, matched = states[account]
            failure = next(
                (
                    name
                    for name, failed in (
                        ("BuyerIsSeller", account == self.owner[meter]),
                        ("PriceOutsideOrders", not ask[2] <= price <= max_price or price == 0),
                        ("FillTooSmall", wh == 0 or wh < ask[1]),
                        ("ExceedsAsk", sold + wh > ask[0]),
                        ("LotFull", count >= 50),
                        ("ExceedsBid", matched + wh > max_wh),
                        ("InsufficientBalance", balance < cost),
                    )
                    if failed
                ),
                None,
            )
            if failure:
                return failure, None
            sold, count = sold + wh, count + 1
            states[account] = [balance - cost, matched + wh]
            trades.append((account, wh, cost))
        return None, (trades, states)

    def apply_match(self, meter, slot, trades, states):
        self.lots.setdefault((meter, slot), Lot()).trades.extend(trades)
        self.touched.add((meter, slot))
        for account, (balance, matched) in states.items():
            self.balances[account] = balance
            self.bid_state[account] = (slot, matched)

    @rule(steps=st.integers(1, 3))
    def advance(self, steps):
        self.position += steps
        self.mine_at(self.time_of(self.position))

    @precondition(lambda self: self.lots)
    @rule(picks=PICKS, exports=EXPORTS, tamper=TAMPER)
    def settle(self, picks, exports, tamper):
        """settleLots of a few lots, open or not; with `tamper`, the first open lot's trades lose their last one."""
        keys = self.pick_lots(picks)
        tampered = next((k for k in keys if self.is_open(k)), None) if tamper else None
        proofs, error, closing = [], None, {}
        for key, exported in zip(keys, exports, strict=False):
            lot = self.lots.get(key, Lot(state="never"))
            trades = lot.as_lot_trades()[: -1 if key == tampered else None] or [
                LotTrade(str(self.m.operator), 1, 1).as_tuple()
            ]
            proofs.append(self.m.proof(*key, trades, exported))
            if error or not self.is_open(key) or key in closing:
                continue
            end = self.escrow.slotEnd(key[1])
            now = self.time_of(self.position)
            error = (
                "TradesMismatch"
                if key == tampered
                else "SlotNotOver"
                if now < end
                else "SettlementWindowClosed"
                if now >= end + GRACE
                else None
            )
            closing[key] = exported
        tx = self.send(error, self.escrow.settleLots, proofs)
        if tx is None:
            return
        self.record_closures(tx)
        assert len(events_named(tx, "LotSettled")) == len(closing)
        for key, exported in closing.items():
            self.close(key, exported, "settled")

    @precondition(lambda self: self.lots)
    @rule(picks=PICKS, tamper=TAMPER)
    def refund(self, picks, tamper):
        keys = self.pick_lots(picks)
        tampered = next((k for k in keys if self.is_open(k)), None) if tamper else None
        lots, error, closing = [], None, []
        for key in keys:
            trades = self.lots.get(key, Lot()).as_lot_trades()
            trades = trades[1:] if key == tampered else trades
            lots.append((*key, trades or [LotTrade(str(self.m.operator), 1, 1).as_tuple()]))
            if error or not self.is_open(key) or key in closing:
                continue
            due = self.escrow.slotEnd(key[1]) + GRACE
            error = (
                "TradesMismatch"
                if key == tampered
                else "RefundNotYetDue"
                if self.time_of(self.position) < due
                else None
            )
            closing.append(key)
        tx = self.send(error, self.escrow.refundLots, lots)
        if tx is None:
            return
        self.record_closures(tx)
        for key in closing:
            self.close(key, None, "refunded")

    @rule(steps=st.integers(1, 3), exports=EXPORTS)
    def operator_round(self, steps, exports):
        """What a runner does: let time pass, then settle every lot it can and refund every lot that is overdue."""
        self.advance(steps)
        due = [k for k in sorted(self.lots) if self.is_open(k) and self.settleable(k)]
        if due:
            self.settle_all(due, exports)
        overdue = [k for k in sorted(self.lots) if self.is_open(k) and self.slot > k[1] + GRACE_SLOTS]
        if overdue:
            self.refund_all(overdue)

    def settle_all(self, keys, exports):
        proofs = [self.m.proof(*k, self.lots[k].as_lot_trades(), exports[i % 3]) for i, k in enumerate(keys)]
        self.record_closures(self.send(None, self.escrow.settleLots, proofs))
        for i, key in enumerate(keys):
            self.close(key, exports[i % 3], "settled")

    def refund_all(self, keys):
        self.record_closures(
            self.send(None, self.escrow.refundLots, [(*k, self.lots[k].as_lot_trades()) for k in keys])
        )
        for key in keys:
            self.close(key, None, "refunded")

    def is_open(self, key):
        return key in self.lots and self.lots[key].state == "open"

    def settleable(self, key):
        return key[1] < self.slot <= key[1] + GRACE_SLOTS

    # ----------------------------------------------------------- invariants

    @invariant()
    def escrow_holds_exactly_balances_plus_locked(self):
        assert self.token.balanceOf(self.escrow) == self.escrow.totalBalances() + self.escrow.totalLocked()

    @invariant()
    def total_balances_is_the_sum_of_the_balances(self):
        assert self.escrow.totalBalances() == sum(self.balances.values())

    @invariant()
    def each_balance_and_bid_count_is_the_models(self):
        accounts = {a: tuple(int(v) for v in self.escrow.accountOf(a)) for a in self.balances}
        assert accounts == {a: (self.balances[a], *self.bid_state[a]) for a in self.balances}

    @invariant()
    def total_locked_is_the_cost_of_the_open_lots(self):
        assert self.escrow.totalLocked() == sum(lot.cost for lot in self.lots.values() if lot.state == "open")

    @invariant()
    def each_lot_word_commits_to_its_trades_or_is_cleared(self):
        """Checked for the lots a step changed (all of them at the end): the others' words cannot have changed
        unless one of the other invariants fails too."""
        touched, self.touched = self.touched, set()
        for meter, slot in touched:
            lot = self.lots[(meter, slot)]
            expected = (commitment(LotTrade(*t) for t in lot.trades), lot.sold, len(lot.trades))
            word = self.escrow.lotOf(meter, slot)
            assert (bytes(word[0]), int(word[1]), int(word[2])) == (
                expected if lot.state == "open" else (bytes(24), 0, 0)
            )

    # ------------------------------------------------------------- the end

    def teardown(self):
        """Every lot closes (the open ones refunded after their grace period), every trade ends paid or
        refunded with paid <= cost, and once everyone withdraws the escrow holds nothing."""
        open_lots = [k for k in sorted(self.lots) if self.is_open(k)]
        if open_lots:
            self.position = max(self.position, 2 * (max(k[1] for k in open_lots) + GRACE_SLOTS + 1))
            self.mine_at(self.time_of(self.position))
            self.refund_all(open_lots)
        self.touched = set(self.lots)
        self.each_lot_word_commits_to_its_trades_or_is_cleared()
        for key, lot in self.lots.items():
            assert self.closures.get(key) == 1 and len(lot.paid) == len(lot.trades)
            assert all(0 <= paid <= cost for paid, (_, _, cost) in zip(lot.paid, lot.trades, strict=True))
        for account, balance in self.balances.items():
            if balance:
                self.escrow.withdraw(balance, {"from": self.traders[account]})
        assert (self.token.balanceOf(self.escrow), self.escrow.totalBalances(), self.escrow.totalLocked()) == (0, 0, 0)


def test_escrow_invariants_hold_over_random_action_sequences(
    chain, escrow, token, registry, ask, bid, proof, mine_at, admin, seller, seller2, buyer, buyer2
):
    traders = [seller, seller2, buyer, buyer2]
    # The fixture's buyer balances are withdrawn first, so that the model starts from empty balances.
    for account in (buyer, buyer2):
        escrow.withdraw(escrow.balanceOf(account), {"from": account})
    for account in [admin, *traders]:
        token.mint(account, WALLET, {"from": admin})
        token.approve(escrow, 2**256 - 1, {"from": account})
    chain.snapshot()
    EscrowMachine.market = Market(
        chain,
        escrow,
        token,
        registry,
        ask,
        bid,
        proof,
        mine_at,
        admin,
        [(SELLER_METER, seller), (OTHER_METER, seller2)],
        traders,
    )
    run_state_machine_as_test(
        EscrowMachine,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=40, deadline=None, database=None),
    )
