"""The benchmark's "one transaction per action" baseline: a scenario's trades with one lot per matchOrders call and
one group (of that one lot) per closeLots call, each transaction sent alone, in its own block, and waited for.

The runner (:mod:`p2p_energy.run.loop`) cuts a round's lots into as few calls as the bounds allow and has no
setting for one lot per call, so the bench replays the scenario itself, with the runner's own pieces used as they
are: its plan (profiles, market clearing), households and keys (:mod:`p2p_energy.run.state`), set-up and payout
calls and standing orders and lots (:mod:`p2p_energy.run.calls`, :mod:`p2p_energy.run.matching`); the batch calls
are built with :mod:`p2p_energy.wire`. Per tick (half a slot before each slot, as the runner): every lot whose
slot is over and whose meter signed a reading is settled (a closeLots of its one group, with its reading of that
slot), every lot whose grace period is over is refunded, and the slot's lots are matched, each in a matchOrders
call of its own that also places the standing orders it is the first to need. The backend sends unbatched
(`EvmBackend(batched=False)`). Its wall time counts the same phases as the runner's (planning, set-up, trading,
payout) but not the runner's final checks of the chain against its books: the run instead checks that every
call succeeded and skipped nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from p2p_energy.bench_machine import BenchError
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call, Outcome
from p2p_energy.chain.market import Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import Scenario
from p2p_energy.gas_shapes import group_closes
from p2p_energy.run.calls import payout_calls, setup_calls
from p2p_energy.run.checks import balances_of
from p2p_energy.run.context import MarketTiming
from p2p_energy.run.matching import slot_lots, standing_orders
from p2p_energy.run.state import Household, RunSetup, household_account, simulated_meter_key, trader_key
from p2p_energy.run.target import LOCAL_BLOCK_GAS_LIMIT
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.solidity.toolchain import Toolchain
from p2p_energy.wire.cutting import CloseCut, LotAction, call_gas, close_call
from p2p_energy.wire.orders import Bid, SignedOrder
from p2p_energy.wire.records import CloseCall, GroupClose, Lot, MatchCall

#: Events that say a call left something undone.
_SKIPS = ("OrderSkipped", "FillSkipped", "LotSkipped", "GroupSkipped")


@dataclass(frozen=True)
class BaselineRun:
    """One baseline run: its wall time (without anvil's start and the deployment), with them, what it settled
    and how many transactions it sent."""

    run_s: float
    total_s: float
    settled_trades: int
    transactions: int


@dataclass
class _Replay:
    """The baseline in progress: its fixed facts, the orders still to place and the lots still open."""

    setup: RunSetup
    orders: dict[str, list[SignedOrder]]
    placed: set[tuple[str, bool]] = field(default_factory=set)
    open: dict[int, tuple[int, GroupClose]] = field(default_factory=dict)  # lot key -> (scenario slot, its group)
    settled_trades: int = 0
    transactions: int = 0

    def send(self, calls: Sequence[Call], at: int) -> list[Outcome]:
        outcomes = self.setup.chain.send(calls, timestamp=at)
        self.transactions += len(outcomes)
        failed = [o for o in outcomes if not o.ok]
        if failed:
            first = failed[0]
            raise BenchError(
                f"the one-per-action baseline: {first.call.label} failed (tx {first.tx_hash}): {first.error}"
            )
        return outcomes

    def events(self, outcome: Outcome) -> list[dict[str, object]]:
        codec, escrow = self.setup.market.codec, self.setup.addresses.escrow.lower()
        decoded = (codec.decode_log(log) for log in outcome.logs)
        found = [{**e.args, "event": e.name} for e in decoded if e is not None and e.address.lower() == escrow]
        skipped = [e for e in found if e["event"] in _SKIPS]
        if skipped:
            raise BenchError(f"the one-per-action baseline: {outcome.call.label} skipped: {skipped[0]}")
        return found

    def needed(self, lot: Lot) -> list[SignedOrder]:
        """The standing orders `lot` needs that no earlier call placed: its seller's ask, its buyers' bids."""
        wanted = [(lot.seller.lower(), False), *((b, True) for b in sorted(lot.buyers))]
        found = []
        for account, is_bid in wanted:
            if (account, is_bid) not in self.placed:
                self.placed.add((account, is_bid))
                found += [o for o in self.orders.get(account, ()) if isinstance(o.order, Bid) == is_bid]
        return found


def one_by_one(toolchain: Toolchain, compiled: CompilationResult, scenario: Scenario) -> BaselineRun:
    """Run `scenario`'s trades one lot per call on a fresh anvil (see the module docstring)."""
    started = time.perf_counter()
    options = ChainOptions(
        compiled.settings.evm_version, accounts=2, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0
    )
    with LocalChain(toolchain.anvil, options) as anvil:
        chain = anvil.backend(market_codec(compiled), batched=False)
        try:
            admin = Account.from_hex(anvil.accounts[0].private_key)
            genesis = chain.latest_block().timestamp
            deployed = deploy_market(
                chain, compiled, admin, genesis=genesis, slot_length=scenario.slot_length_s,
                grace_period=scenario.chain.grace_period_s,
            )  # fmt: skip
            market = Market(chain, chain.codec, MarketAddresses.of({n: d.address for n, d in deployed.items()}))
            wall = time.perf_counter()
            setup = _setup(scenario, market, admin, genesis)
            replay = _Replay(setup, standing_orders(setup))
            for calls in setup_calls(setup):
                replay.send(calls, setup.chain.clock + 1)
            _trade(replay)
            replay.send(payout_calls(setup, balances_of(setup)), setup.chain.clock + 1)
            run_s = time.perf_counter() - wall
        finally:
            chain.close()
    return BaselineRun(run_s, time.perf_counter() - started, replay.settled_trades, replay.transactions)


def _setup(scenario: Scenario, market: Market, admin: Account, genesis: int) -> RunSetup:
    """The runner's fixed facts of a run of `scenario` on `market`: the plan, the households and their keys."""
    plan = simulate_energy(scenario)
    markets = clear_all(scenario, plan)
    chain = market.chain
    names = scenario.household_names
    accounts = [household_account(chain, scenario.seed, n) for n in [*names, "attacker"]]
    households = [
        Household(
            i, n, accounts[i], i + 1, simulated_meter_key(scenario.seed, n), trader_key(accounts[i], scenario.seed, n)
        )
        for i, n in enumerate(names)
    ]
    timing = MarketTiming(genesis, scenario.slot_length_s, scenario.chain.grace_period_s)
    c0 = (chain.latest_block().timestamp - genesis) // scenario.slot_length_s + 2
    return RunSetup(scenario, plan, markets, market, admin, accounts[-1], households, timing, c0)


def _trade(replay: _Replay) -> None:
    """Tick by tick, half a slot before each slot: the lots due closed, one per call; the slot's lots matched, one
    per call; until every lot is closed."""
    setup = replay.setup
    slots, timing = setup.scenario.slots, setup.timing
    last_tick = slots + 1 + math.ceil(timing.grace_period / timing.slot_length) + 1
    for t in range(last_tick + 1):
        at = max(setup.slot_start(setup.c0 + t) - timing.slot_length // 2, setup.chain.clock + 1)
        _close_due(replay, at)
        if t < slots:
            for lot in slot_lots(setup, setup.markets[t]):
                call = MatchCall(tuple(replay.needed(lot)), (lot,))
                outcome = replay.send([_call(setup, "matchOrders", call)], max(at, setup.chain.clock + 1))[0]
                (group,) = group_closes(call, replay.events(outcome))
                replay.open[lot.key] = (t, group)
        if t >= slots and not replay.open:
            return
    if replay.open:
        raise BenchError(f"the one-per-action baseline left {len(replay.open)} lots open")


def _close_due(replay: _Replay, at: int) -> None:
    """Settle each open lot whose slot is over (its meter's reading of that slot), refund each whose grace period
    is over: a closeLots call per lot."""
    setup = replay.setup
    for key, (slot, group) in sorted(replay.open.items()):
        (lot,) = group.lots
        ends = setup.slot_start(lot.slot + 1)
        row = setup.meter_row[lot.meter_id]
        if at >= ends + setup.timing.grace_period:
            action = LotAction(settle=False)
        elif at >= ends and setup.reading_online(row, slot):
            action = LotAction(settle=True, exported_wh=int(setup.plan.export_wh[row, slot]))
        else:
            continue
        readings = [setup.reading(row, range(slot, slot + 1))] if action.settle else []
        call = close_call(CloseCut((group,), frozenset(action.credited(lot))), readings)
        outcome = replay.send([_call(setup, "closeLots", call)], max(at, setup.chain.clock + 1))[0]
        if any(e["event"] == "LotSettled" for e in replay.events(outcome)):
            replay.settled_trades += len(lot.trades)
        del replay.open[key]


def _call(setup: RunSetup, label: str, call: MatchCall | CloseCall) -> Call:
    return Call(label, setup.admin, setup.addresses.escrow, call.calldata, call_gas(call))
