"""The run loop: a scenario's neighbourhood day, slot by slot, on a real chain.

Off chain first (deterministic from the seed): household energy
(:mod:`p2p_energy.domain.profiles`), the market plan (:mod:`p2p_energy.domain.market`)
and from it every matchOrders call of the day (:mod:`p2p_energy.run.matching`:
standing orders, lots, calls cut per round). Then on chain, in phases that
each go out as one batch (one block on a local chain where the block gas
limit allows, see :mod:`p2p_energy.chain.evm`):

1. set-up: the operator mints the households' funding to itself, approves
   the escrow once and registers the meter of every household that exports,
   bound to this escrow (registerMeters in batches); a household whose key's
   `ecrecover` address is not its address (Qtum) names it (setTrader); then,
   in the next block, the operator deposits each household's funding
   (depositFor in batches);
2. for each tick t, half a slot before chain slot c0 + t starts:
   - the attacker's closings with forged or replayed readings (if the
     scenario has an attacker), in a block of their own, before the operator
     closes the lots they target;
   - every `chain.window_slots` ticks, a round: the operator closes the lots
     whose slots ended since the last round (closeLots: settled against their
     meters' signed readings, or refunded once their grace period is over) and
     matches the round's slots (matchOrders, each call in a block after the
     one before: a buyer's slots must be matched in order);
3. the operator pays every household its balance (payOut in batches).

A lot can be settled once its slot has ended, which for slot t - 2 is half a
slot before tick t. An offline meter signs no reading: its lots are refunded
after the grace period.

The books (:class:`p2p_energy.run.books.Books`) are kept from the events; the
run ends with checks of the chain against them.

Interruptions: a run record is written before anything is sent, and
`--resume` reads the run's own transactions back and sends only what is
missing (:mod:`p2p_energy.run.replay`). Chain time tells where the run is; if
it passed a slot's start while the node was down, that round's matches can
no longer be made: they are skipped and the report lists them.

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
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.records.clock_records import RoundRecord
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.attacks import attack_calls, attack_schedule
from p2p_energy.run.audit import audit_checks
from p2p_energy.run.books import Books
from p2p_energy.run.calls import close_calls, match_calls, payout_calls, planned_gas, setup_calls
from p2p_energy.run.checks import ChainState, balances_of, check_run
from p2p_energy.run.context import RunContext, RunFailed, Stage, reporting_chain_stops
from p2p_energy.run.matching import match_schedule
from p2p_energy.run.replay import Resumption, call_key, new_record, read_back, resumable
from p2p_energy.run.result import build_result
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import Household, RunSetup, household_account, simulated_meter_key, trader_key
from p2p_energy.wire.records import MatchCall


@dataclass
class _Run:
    """One run in progress: its fixed facts, its books, what a resume found, and where it is."""

    setup: RunSetup
    #: The block the run started after: its transactions, and everyone's on its market, are in later ones.
    first_block: int
    books: Books = field(default_factory=Books)
    resumption: Resumption = field(default_factory=Resumption)
    stage: Stage = field(default_factory=Stage)
    timings: dict[str, float] = field(default_factory=dict)
    #: Tick -> the matchOrders calls of the round that starts at it (see matching.match_schedule).
    schedule: dict[int, list[MatchCall]] = field(default_factory=dict)

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
        if self.books.closed_elsewhere:
            # Someone else closed lots of ours first (anyone may): their events say how.
            escrow = self.setup.addresses.escrow
            self.books.learn_closes(self.setup, self.setup.chain.logs([escrow], self.first_block + 1))
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
        _check_clock(run)
        progress = context.progress
        stage.name = "the set-up"
        progress.phase("funding households and registering meters")
        with run.timed("setup"):
            _setup(run)
        with run.timed("trading"):
            _trade(run, progress.phase, progress.tick)
        stage.name = "the payout"
        progress.phase("paying out balances")
        with run.timed("paying out"):
            _pay_out(run)
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
    wait = scenario.chain.window_slots * timing.slot_length
    if timing.grace_period < wait:
        raise UsageError(
            f"the deployment's grace period ({timing.grace_period} s) is shorter than window_slots slots ({wait} s), "
            f"about the longest a lot waits for its closing round: deploy with --grace-period >= {wait} or lower "
            "chain.window_slots"
        )
    if context.resume and context.record_path is None:
        raise UsageError("resuming needs the run record of the interrupted run")
    needed = len(scenario.household_names) + 1
    if context.node_accounts and len(context.node_accounts) < needed:
        raise UsageError(
            f"--node-accounts needs one account per household plus one for the attacker "
            f"({needed}); the node offered {len(context.node_accounts)}"
        )


def _check_clock(run: _Run) -> None:
    """Refuse (UsageError, nothing of the run sent) a day whose matches cannot be mined in time on a chain whose
    blocks come on a fixed clock: a round goes out half a slot before its first slot starts, each matchOrders call
    in a block after the one before, so its last call lands no sooner than one block time per call later."""
    setup = run.setup
    block_time = setup.chain.block_time
    if block_time is None or not run.schedule:
        return
    first, calls = max(run.schedule.items(), key=lambda item: (len(item[1]), -item[0]))
    lead = setup.timing.slot_length // 2
    needed = len(calls) * block_time
    if needed >= lead:
        slot_length = -(-(2 * needed + 1) // 60) * 60
        raise UsageError(
            f"with a block every {block_time} s the round from slot {first} cannot be mined before trading "
            f"closes: its {len(calls)} matchOrders calls need a block each ({needed} s) and go out {lead} s "
            f"(half a slot) before the slot starts; slots of {slot_length} s or more would work "
            "(slot_length_s in the scenario)"
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
        Household(
            i,
            n,
            accounts[i],
            record.meter_base + i + 1,
            simulated_meter_key(scenario.seed, n),
            trader_key(accounts[i], scenario.seed, n),
        )
        for i, n in enumerate(names)
    ]
    setup = RunSetup(
        scenario, plan, markets, context.market, context.admin, accounts[-1], households, context.timing, record.c0
    )
    started = time.perf_counter()
    schedule = match_schedule(setup)
    planning_s += time.perf_counter() - started
    run = _Run(setup, record.first_block, stage=stage, timings={"planning": planning_s}, schedule=schedule)
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
    after = ChainState.read(setup, books)
    verdict = check_run(setup, books, record, after)
    result = build_result(setup, books, record, after, verdict, started_at)
    result.checks.update(audit_checks(setup, record, result))
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
    """Coin for gas (on a chain that charges it), then the set-up calls (see calls.setup_calls)."""
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
    for calls in setup_calls(setup):
        _require_ok(run.send(run.resumption.unsent(calls), None), "set-up")


def _trade(run: _Run, phase: Callable[[str], None], tick: Callable[[int, int, int], None]) -> None:
    """Tick by tick: attacks, matches, settlements and refunds, until every lot is closed."""
    setup = run.setup
    slots = setup.scenario.slots
    grace_slots = math.ceil(setup.timing.grace_period / setup.timing.slot_length)
    # The last round that can refund the last slot's lots: its grace period over, at a round tick.
    last_tick = slots + 1 + grace_slots + setup.scenario.chain.window_slots + 1
    attacks = _Attacks(attack_schedule(setup.scenario))
    for t in range(last_tick + 1):
        run.stage.name = f"slot {t} of {slots}" if t < slots else f"the settlement after slot {slots - 1}"
        phase(f"slot {min(t, slots)}/{slots}")
        _tick(run, t, attacks)
        tick(t + 1, last_tick + 1, len(run.books.ledger.trades))
        if t >= slots + 1 and not run.books.ledger.open_lots():
            break
    for lot in run.books.ledger.open_lots():
        run.books.unclosed.append(_why_open(run, lot.meter_id, lot.slot, lot.seller, len(lot.trades)))


def _why_open(run: _Run, meter_id: int, slot: int, seller: int, trades: int) -> str:
    """One line on a lot still open when the run ends: which, and the likeliest cause."""
    name = run.setup.households[seller].name
    if not run.setup.reading_online(seller, slot):
        cause = "its meter was offline and signed no reading, and its refund (after the grace period) did not close it"
    else:
        cause = "its meter signed its reading but neither its settlement nor its refund closed it"
    return (
        f"lot of {name} (meter {meter_id}), slot {slot}: {trades} trades still open after the grace period; "
        f"{cause} (see the failed transactions listed)"
    )


@dataclass
class _Attacks:
    """The attack schedule and how far along it the run is."""

    schedule: dict[int, list[str]]
    #: Attacks due but not sent yet (no lot could be attacked when they were due).
    waiting: list[str] = field(default_factory=list)
    sent: int = 0  # the schedule's index of waiting[0]


def _tick(run: _Run, t: int, attacks: _Attacks) -> None:
    """Half a slot before slot t: the attacker's closings (a block of their own), then, every window_slots ticks,
    the operator's round: the closings that are due and the round's matches, each match call in a block after the
    one before (a buyer's slots are matched in order, and a Qtum block does not keep one sender's order)."""
    setup = run.setup
    at = setup.slot_start(setup.c0 + t) - setup.timing.slot_length // 2
    if not setup.chain.can_mine:
        # A chain whose time we cannot move: wait for it (real time, one slot per slot length).
        setup.chain.advance_to(at)
    attacks.waiting += attacks.schedule.get(t, [])
    if attacks.waiting:
        hostile = attack_calls(
            setup, run.books, attacks.waiting, attacks.sent, run.resumption.attacks_before, _at(run, at)
        )
        if hostile is not None:
            for outcome in setup.chain.send(hostile, timestamp=at):
                run.books.record_attack(setup, outcome)
            attacks.sent += len(attacks.waiting)
            attacks.waiting = []
            at += 1 if hostile else 0
    if t % setup.scenario.chain.window_slots:
        return
    matches: list[Call] = []
    if t < setup.scenario.slots and t in run.schedule:
        matches = run.resumption.unsent(match_calls(setup, run.schedule[t]))
        if not _too_late(run, t, matches, _at(run, at)):
            _offered(run, t)
        else:
            matches = []
    phases = [close_calls(setup, run.books, _at(run, at)) + matches[:1], *([call] for call in matches[1:])]
    outcomes = [outcome for number, calls in enumerate(phases) for outcome in run.send(calls, at + number)]
    if matches:
        run.books.rounds.append(_round(run, t, at, outcomes))


def _round(run: _Run, t: int, at: int, outcomes: Sequence[Outcome]) -> RoundRecord:
    """The round from slot t, sent for chain time `at`, as it met the chain's clock. Where we mine, the last
    block mined holds the round's last transaction; elsewhere the latest block is at or after it."""
    chain = run.setup.chain
    mined_at = chain.clock if chain.can_mine else chain.latest_block().timestamp
    return RoundRecord(
        first_slot=t,
        transactions=len(outcomes),
        gas=sum(o.gas_used for o in outcomes),
        sent_at=at,
        closes_at=run.setup.slot_start(run.setup.c0 + t),
        mined_at=mined_at,
        blocks=len({o.block for o in outcomes if o.block}),
    )


def _offered(run: _Run, first: int) -> None:
    """The plan's offers of the round's slots from `first` (their orders went out) in the books' offered energy."""
    setup = run.setup
    for market in setup.markets[first : first + setup.scenario.chain.window_slots]:
        for offer in market.offers:
            run.books.ledger.offered_wh[(offer.seller, market.slot)] += offer.wh


def _at(run: _Run, planned: int) -> int:
    """The time of the next block sent for `planned`: never before the chain's latest block where we mine."""
    chain = run.setup.chain
    return max(planned, chain.clock + 1) if chain.can_mine else planned


def _too_late(run: _Run, slot: int, calls: list[Call], at: int) -> bool:
    """True (and noted) when `calls`, the matches of the round from `slot`, can no longer be made at chain time `at`."""
    starts = run.setup.slot_start(run.setup.c0 + slot)
    if not calls or at < starts:
        return False
    run.books.skipped.append(
        f"slot {slot}: {len(calls)} planned matchOrders calls not sent: chain time {at} had passed the slot's "
        f"start {starts} (the chain was down or the run interrupted too long)"
    )
    return True


def _pay_out(run: _Run) -> None:
    calls = payout_calls(run.setup, balances_of(run.setup))
    run.send(run.resumption.unsent(calls), None)
