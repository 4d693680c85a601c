"""The run loop: a scenario's neighbourhood day, slot by slot, on a real chain.

Off chain first (deterministic from the seed): household energy
(:mod:`p2p_energy.domain.profiles`) and the market plan (:mod:`p2p_energy.domain.market`).
Then on chain, in phases that each go out as one batch (one block on a local
chain, see :mod:`p2p_energy.chain.evm`):

1. set-up: token funding (mint), approvals, one meter per household;
2. for each tick t, half a slot before chain slot c0 + t starts:
   - block A: the attacker's readings (if the scenario has any), then the
     meters' signed readings of scenario slot t - 2 (slot -1 is each meter's
     baseline) in batches, for the meters whose lots need them, and the
     sellers' offers for slot t;
   - block B: the buyers' takes for slot t (one `takeOffers` per buyer),
     settlement of slot t - 2's lots in batches, and refunds of every lot
     whose grace period is over;
3. withdrawals of everything credited.

Slot t - 2 settles at tick t because its reading (end of slot t - 2) can
only be submitted once that slot has ended, which is half a slot before
tick t. Offline meters send no reading: their lots, and the lots of the
slot after (whose export needs the previous reading), are refunded after the
grace period.

The books (:class:`p2p_energy.run.books.Books`) are kept from the events; the
run ends with checks of the chain against them.

Interruptions: a run record is written before anything is sent, and
`--resume` reads the run's own transactions back and sends only what is
missing (:mod:`p2p_energy.run.replay`). Chain time tells where the run is; if
it passed a slot's start while the node was down, that slot's offers and
takes can no longer be made: they are skipped and the report lists them.

The parts: :mod:`~p2p_energy.run.context` (what a run is given),
:mod:`~p2p_energy.run.state` (its fixed facts), :mod:`~p2p_energy.run.calls`
(the transactions), :mod:`~p2p_energy.run.books` (events -> ledger),
:mod:`~p2p_energy.run.checks` (the chain against the books) and
:mod:`~p2p_energy.run.result` (the records).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import Call, InsufficientFunds, Outcome
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.meters import simulated_meter_key
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.output.records import RunResult
from p2p_energy.run.attacks import attack_calls, attack_schedule
from p2p_energy.run.books import Books
from p2p_energy.run.calls import (
    offer_calls,
    planned_gas,
    reading_calls,
    refund_calls,
    settle_calls,
    setup_calls,
    take_calls,
    withdraw_calls,
)
from p2p_energy.run.checks import ChainState, check_run, credits_of
from p2p_energy.run.context import RunContext, RunFailed, Stage, reporting_chain_stops
from p2p_energy.run.replay import Resumption, call_key, new_record, read_back, resumable
from p2p_energy.run.result import build_result
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import Household, RunSetup, household_account


@dataclass
class _Run:
    """One run in progress: its fixed facts, its books, what a resume found, and where it is."""

    setup: RunSetup
    books: Books = field(default_factory=Books)
    resumption: Resumption = field(default_factory=Resumption)
    stage: Stage = field(default_factory=Stage)
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - started

    def send(self, calls: list[Call], timestamp: int | None) -> list[Outcome]:
        """Send honest `calls` and book their outcomes."""
        try:
            outcomes = self.setup.chain.send(calls, timestamp=timestamp)
        except InsufficientFunds as short:
            raise P2PEnergyError(f"{self.who(short.address)}: {short}") from None
        self.books.record(self.setup, outcomes)
        return outcomes

    def who(self, address: str) -> str:
        """The household (or the operator, or the attacker) an address belongs to."""
        setup = self.setup
        row = setup.row_by_address.get(address.lower())
        if row is not None:
            return f"household {setup.households[row].name}"
        return "the operator" if address.lower() == setup.admin.address.lower() else "the attacker"


def run_simulation(context: RunContext) -> RunResult:
    """Run `context.scenario` against the deployed market; see the module docstring.

    Raises:
        UsageError: the scenario does not fit the deployment or the accounts, or
            there is no run to resume that fits this scenario and chain.
        ChainStopped: the node stopped answering; run again with `resume`.
        RunFailed: the run ended but a check of the chain against the books failed.
    """
    _check_fits(context)
    stage = Stage()
    with reporting_chain_stops(context.chain.url, stage):
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        wall = time.perf_counter()
        before = replace(context.chain.stats)  # the backend may have deployed the market just before
        run, record = _start(context, stage)
        progress = context.progress
        stage.name = "the set-up"
        progress.phase("funding households and registering meters")
        with run.timed("setup"):
            _setup(run)
        with run.timed("trading"):
            _trade(run, progress.phase, progress.tick)
        stage.name = "the withdrawals"
        progress.phase("withdrawing credits")
        with run.timed("withdrawing"):
            _withdraw(run)
        stage.name = "the final checks"
        with run.timed("checking"):
            result = _finish(run, record, started_at)
        result.evm_version = context.evm_version
        stats = context.chain.stats
        run.timings.update(
            {
                "signing": stats.signing_s - before.signing_s,
                "sending": stats.sending_s - before.sending_s,
                "mining and waiting": stats.mining_s - before.mining_s,
                "receipts": stats.receipts_s - before.receipts_s,
            }
        )
        result.timings = run.timings
        result.wall_time_s = time.perf_counter() - wall
        return result


def _check_fits(context: RunContext) -> None:
    """Refuse (UsageError, nothing sent) a run that cannot work on this deployment or with these accounts."""
    scenario, timing = context.scenario, context.timing
    if timing.slot_length != scenario.slot_length_s:
        raise UsageError(
            f"{scenario.source}: slot_length_s is {scenario.slot_length_s} s but the deployment's slots are "
            f"{timing.slot_length} s: deploy anew with --slot-length {scenario.slot_length_s} or change the scenario"
        )
    if timing.grace_period < timing.slot_length:
        raise UsageError(
            f"the deployment's grace period ({timing.grace_period} s) is shorter than a slot ({timing.slot_length} s): "
            "the runner settles a slot half a slot after its reading can be sent; deploy with --grace-period >= the "
            "slot length"
        )
    if context.resume and context.record_path is None:
        raise UsageError("resuming needs the run record of the interrupted run")
    needed = len(scenario.household_names) + 1
    if context.node_accounts and len(context.node_accounts) < needed:
        raise UsageError(
            f"--node-accounts needs one account per household plus one for the attacker "
            f"({needed}); the node offered {len(context.node_accounts)}"
        )


def _start(context: RunContext, stage: Stage) -> tuple[_Run, RunRecord]:
    """Plan the day, write (or, resuming, read) the run record, and read a resumed run back from the chain."""
    scenario, progress = context.scenario, context.progress
    names = scenario.household_names
    node_accounts = list(context.node_accounts[: len(names) + 1])
    progress.phase("planning energy and market")
    started = time.perf_counter()
    plan = simulate_energy(scenario)
    markets = clear_all(scenario, plan)
    planning_s = time.perf_counter() - started
    accounts = [Account.held_by_node(a) for a in node_accounts] or [
        household_account(context.chain, scenario.seed, n) for n in [*names, "attacker"]
    ]
    record, resumed = _record(context, accounts, node_accounts)
    households = [
        Household(i, n, accounts[i], record.meter_base + i + 1, simulated_meter_key(scenario.seed, n))
        for i, n in enumerate(names)
    ]
    setup = RunSetup(
        scenario, plan, markets, context.market, context.admin, accounts[-1], households, context.timing, record.c0
    )
    run = _Run(setup, stage=stage, timings={"planning": planning_s})
    if resumed:
        stage.name = "the read-back of the run from the chain"
        senders = [h.account.address for h in households] + [setup.admin.address, setup.attacker.address]
        pending = context.chain.settle_pending(senders)
        if pending:
            progress.note(f"the interrupted run left transactions on the node: {pending}")
        progress.phase("reading the run back from the chain")
        with run.timed("reading back"):
            run.resumption, found = read_back(setup, run.books, record.first_block)
        closed = sum(1 for lot in run.books.ledger.lots.values() if lot.state != "open")
        progress.note(
            f"resuming the run started {record.started_at}: {found} of its transactions are on chain "
            f"({len(run.books.ledger.trades)} trades, {closed} lots closed); sending only what is missing"
        )
    return run, record


def _record(context: RunContext, accounts: Sequence[Account], node_accounts: list[str]) -> tuple[RunRecord, bool]:
    """The run record: the interrupted run's if it can be resumed (True), else a new one, saved (False)."""
    scenario, genesis = context.scenario, context.timing.genesis
    if context.resume:
        assert context.record_path is not None
        found = resumable(scenario, context.market, genesis, node_accounts, context.record_path, context.progress)
        if found is not None:
            return found, True
    record = new_record(scenario, context.market, genesis, accounts, node_accounts)
    if context.record_path is not None:
        record.save(context.record_path)
    return record, False


def _finish(run: _Run, record: RunRecord, started_at: str) -> RunResult:
    """The checks of the chain against the books, and the result; RunFailed if a check failed."""
    setup, books = run.setup, run.books
    after = ChainState.read(setup)
    verdict = check_run(setup, books, record, after)
    result = build_result(setup, books, record, after, verdict, started_at)
    failed = [name for name, ok in result.checks.items() if not ok]
    if failed:
        listed = [f"{len(result.failures)} listed failures, the first: {result.failures[0]}"] if result.failures else []
        details = "; ".join([*verdict.problems, *listed]) or ", ".join(failed)
        raise RunFailed(f"the chain disagrees with the simulator: {details}", result)
    return result


# ------------------------------------------------------------------ phases


def _require_ok(outcomes: Sequence[Outcome], what: str) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        first = failed[0]
        raise P2PEnergyError(
            f"{len(failed)} of {len(outcomes)} {what} transactions failed; first: {first.call.label} from "
            f"{first.call.sender.address} (tx {first.tx_hash}): {first.error}"
        )


def _setup(run: _Run) -> None:
    """Coin for gas (on a chain that charges it), funding, meters and approvals."""
    setup = run.setup
    chain, admin = setup.chain, setup.admin
    if chain.gas_price > 0:
        attacks = sum(len(kinds) for kinds in attack_schedule(setup.scenario).values())
        amounts = {
            address: chain.gas_price * gas
            for address, gas in planned_gas(setup, attacks).items()
            if not run.resumption.mined(call_key(admin.address, address, b"", chain.gas_price * gas))
        }
        outcomes = chain.fund(admin, amounts)
        run.books.record(setup, outcomes)
        _require_ok(outcomes, "gas funding")
    _require_ok(run.send(run.resumption.unsent(setup_calls(setup)), None), "set-up")


def _trade(run: _Run, phase: Callable[[str], None], tick: Callable[[int, int, int], None]) -> None:
    """Tick by tick: readings, offers, takes, settlements and refunds, until every lot is closed."""
    setup = run.setup
    slots = setup.scenario.slots
    grace_slots = math.ceil(setup.timing.grace_period / setup.timing.slot_length)
    last_tick = slots + 1 + grace_slots + 1
    attacks = _Attacks(attack_schedule(setup.scenario))
    for t in range(last_tick + 1):
        run.stage.name = f"slot {t} of {slots}" if t < slots else f"the settlement after slot {slots - 1}"
        phase(f"slot {min(t, slots)}/{slots}")
        time_a = _block_a(run, t, attacks)
        _block_b(run, t, time_a + 1)
        tick(t + 1, last_tick + 1, len(run.books.ledger.trades))
        if t >= slots + 1 and not run.books.ledger.open_lots():
            break
    for lot in run.books.ledger.open_lots():
        run.books.unclosed.append(_why_open(run, lot.meter_id, lot.slot, lot.seller, len(lot.trades)))


def _why_open(run: _Run, meter_id: int, slot: int, seller: int, trades: int) -> str:
    """One line on a lot still open when the run ends: which, and the likeliest cause."""
    name = run.setup.households[seller].name
    if not run.books.delivery_known(seller, slot):
        cause = (
            f"its meter's readings of slots {slot - 1} and {slot} are not both on chain, and its refund "
            "(after the grace period) did not close it either"
        )
    else:
        cause = "its readings are on chain but neither its settlement nor its refund closed it"
    return (
        f"lot of {name} (meter {meter_id}), slot {slot}: {trades} trades still open after the grace period; "
        f"{cause} (see the failed transactions listed)"
    )


@dataclass
class _Attacks:
    """The attack schedule and how far along it the run is."""

    schedule: dict[int, list[str]]
    sent: int = 0  # the schedule's index of the next tick's first attack


def _block_a(run: _Run, t: int, attacks: _Attacks) -> int:
    """Half a slot before slot t: the attacker's readings, the meters' readings of slot t - 2, the offers
    for slot t. Returns the block's time."""
    setup = run.setup
    slots = setup.scenario.slots
    time_a = setup.slot_start(setup.c0 + t) - setup.timing.slot_length // 2
    if not setup.chain.can_mine:
        # A chain whose time we cannot move: wait for it (real time, one slot per slot length).
        setup.chain.advance_to(time_a)
    if -1 <= t - 2 < slots:
        kinds = attacks.schedule.get(t, [])
        if kinds:
            sent_before = run.resumption.attacks_before
            hostile = attack_calls(setup, run.books, kinds, t - 2, attacks.sent, sent_before)
            for outcome in setup.chain.send(hostile, timestamp=time_a):
                run.books.record_attack(outcome)
            attacks.sent += len(kinds)
            time_a += 1
    calls: list[Call] = []
    if -1 <= t - 2 < slots:
        calls += run.resumption.unsent(reading_calls(setup, run.books, t - 2))
    if t < slots:
        calls += _too_late(run, t, "offers", run.resumption.unsent(offer_calls(setup, t)), _at(run, time_a))
    run.send(calls, time_a)
    return time_a


def _block_b(run: _Run, t: int, time_b: int) -> None:
    """The takes for slot t, then the settlements and refunds that are due."""
    setup = run.setup
    calls: list[Call] = []
    if t < setup.scenario.slots:
        takes = run.resumption.unsent(take_calls(setup, run.books, t))
        calls += _too_late(run, t, "takes", takes, _at(run, time_b))
    at_b = _at(run, time_b)
    calls += settle_calls(setup, run.books, at_b)
    calls += refund_calls(setup, run.books, at_b)
    run.send(calls, time_b)


def _at(run: _Run, planned: int) -> int:
    """The time of the next block sent for `planned`: never before the chain's latest block where we mine."""
    chain = run.setup.chain
    return max(planned, chain.clock + 1) if chain.can_mine else planned


def _too_late(run: _Run, slot: int, what: str, calls: list[Call], at: int) -> list[Call]:
    """`calls` (offers or takes for `slot`) if the chain can still take them at `at`, else none (noted)."""
    starts = run.setup.slot_start(run.setup.c0 + slot)
    if not calls or at < starts:
        return calls
    run.books.skipped.append(
        f"slot {slot}: {len(calls)} planned {what} not sent: chain time {at} had passed the slot's start "
        f"{starts} (the chain was down or the run interrupted too long)"
    )
    return []


def _withdraw(run: _Run) -> None:
    calls = withdraw_calls(run.setup, credits_of(run.setup))
    run.send(run.resumption.unsent(calls), None)
