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

The books (:class:`p2p_energy.run.ledger.Ledger`) are kept from the events; the
run ends with checks of the chain against them.

Interruptions. Every transaction of a run follows from the scenario, its
seed and four facts fixed when it starts (first chain slot c0, the block of
meter ids, the block it started after, the balances before), which go into
a run record (:mod:`p2p_energy.run.resume`) before anything is sent. So the loop
is idempotent per tick: `--resume` reads the run's own transactions back
from the blocks after its start (by sender: households, attacker, operator),
feeds their receipts through the same bookkeeping as a live run (ledger,
readings, gas, failures, attacks) and walks the ticks from the start again,
dropping from each phase what the chain already holds: a call with the same
sender, calldata and value that was mined (succeeded or reverted: a reverted
transaction is reported, never blindly sent again), a reading on chain, a
closed lot, a withdrawn credit. Chain time tells where the run is; if it
passed a slot's start while the node was down, that slot's offers and takes
can no longer be made: they are skipped and the report lists them.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from eth_utils.crypto import keccak

from p2p_energy.chain.evm import AbiCodec, Call, KeyAccount, MinedTransaction, NodeAccount, Outcome, Sender, TxSender
from p2p_energy.domain.market import SlotMarket, clear_all
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain, simulated_meter_key
from p2p_energy.domain.profiles import EnergyPlan, simulate_energy
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.output.records import AttackRecord, GasRecord, HouseholdRecord, RunResult, SlotRecord, TradeRecord
from p2p_energy.run.attacks import FORGED, REPLAY_KINDS, AttackReading, forged, replayed
from p2p_energy.run.ledger import Ledger
from p2p_energy.run.resume import RunRecord, scenario_fingerprint

MAX_UINT256 = 2**256 - 1
#: EnergyEscrow.MAX_TRADES_PER_CALL: trades closed by one settleLots/refundLots.
MAX_TRADES_PER_CALL = 800
#: Meter ids of one run: base + household row + 1, base a multiple of this,
#: so runs against a reused deployment never collide.
METER_ID_BLOCK = 1_000_000
#: What the HTTP provider raises when the node is gone or stops answering.
NODE_GONE: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
)

#: What a run's honest transactions call (plus "fund": gas coin sent to households on a chain that charges gas).
RUN_OPERATIONS = frozenset(
    (
        "fund",
        "mint",
        "registerMeter",
        "approve",
        "submitReadings",
        "postOffer",
        "takeOffers",
        "settleLots",
        "refundLots",
        "withdraw",
    )
)

# Gas limits per call, generous: unused gas is not charged. A few times the
# measured cost (see `p2p-energy gas`), so a slow path never runs out.
GAS = {
    "mint": 120_000,
    "approve": 100_000,
    "registerMeter": 200_000,
    "postOffer": 200_000,
    "withdraw": 150_000,
    "fund": 21_000,
}


def _gas_take(n: int) -> int:
    return 150_000 + 150_000 * n


def _gas_readings(n: int) -> int:
    return 100_000 + 80_000 * n


def _gas_lots(lots: int, trades: int) -> int:
    return 100_000 + 80_000 * lots + 40_000 * trades


class RunFailed(P2PEnergyError):
    """The run finished but the chain disagrees with the simulator's books."""

    def __init__(self, message: str, result: RunResult):
        super().__init__(message)
        self.result = result


class ChainStopped(P2PEnergyError):
    """The node stopped answering in the middle of a run; what it mined stays on chain."""

    RESUME = "restart it and run again with --resume"

    def __init__(self, url: str, stage: str, cause: BaseException | str, advice: str = RESUME):
        self.url = url
        self.stage = stage
        self.cause = cause if isinstance(cause, str) else cause.__class__.__name__
        super().__init__(f"the chain at {url} stopped answering during {stage} ({self.cause}); {advice}")

    def with_advice(self, advice: str) -> ChainStopped:
        return ChainStopped(self.url, self.stage, self.cause, advice)


@dataclass(frozen=True)
class MarketAddresses:
    token: str
    registry: str
    escrow: str

    def as_dict(self) -> dict[str, str]:
        return {"EnergyToken": self.token, "MeterRegistry": self.registry, "EnergyEscrow": self.escrow}


@dataclass
class Household:
    index: int
    name: str
    account: Sender
    meter_id: int
    meter_key: MeterKey


@dataclass
class Progress:
    """Callbacks for a progress display; all optional. `note` gets a line worth keeping on screen."""

    phase: Callable[[str], None] = lambda _: None
    tick: Callable[[int, int, int], None] = lambda done, total, trades: None
    note: Callable[[str], None] = lambda _: None


@dataclass
class Stage:
    """Where the run is, for the message when the node stops answering."""

    name: str = "the start of the run"


@dataclass
class _Run:
    """State of one run (internal)."""

    scenario: Scenario
    plan: EnergyPlan
    markets: list[SlotMarket]
    sender: TxSender
    codec: AbiCodec
    addresses: MarketAddresses
    admin: Sender
    attacker: Sender
    households: list[Household]
    domain: ReadingDomain
    genesis: int
    slot_length: int
    grace: int
    c0: int
    stage: Stage
    ledger: Ledger = field(default_factory=Ledger)
    gas: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    readings_ok: set[tuple[int, int]] = field(default_factory=set)  # (household, scenario slot), -1 = baseline
    attacks: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # kind -> outcomes
    attacks_accepted: list[str] = field(default_factory=list)
    #: Honest transactions that failed (reverted, refused, dropped), one line each: what, who, tx, why.
    tx_failures: list[str] = field(default_factory=list)
    #: Planned actions not sent because the chain could no longer take them (after an interruption).
    skipped: list[str] = field(default_factory=list)
    #: Disagreements between the chain and the books, found by the final checks.
    problems: list[str] = field(default_factory=list)
    meter_row: dict[int, int] = field(default_factory=dict)
    row_by_address: dict[str, int] = field(default_factory=dict)  # lowercase account -> household row
    offer_ids: dict[tuple[int, int], int] = field(default_factory=dict)  # (slot, offer index) -> offer id
    #: Calls already mined before a resume (sender, to, calldata, value), each counted once per copy.
    mined_before: Counter[tuple[str, str, bytes, int]] = field(default_factory=Counter)
    #: Attacker transactions found on chain by a resume: the schedule's first ones are done.
    attacks_before: int = 0

    def slot_start(self, chain_slot: int) -> int:
        return self.genesis + chain_slot * self.slot_length

    def encode(self, function: str, *args: Any) -> bytes:
        return self.codec.encode(function, *args)


def household_account(seed: int, name: str) -> KeyAccount:
    """The key of `name`'s trading account in a run with `seed` (simulation only)."""
    material = keccak(text=f"{seed}:household:{name}")
    return KeyAccount(material)


def run_simulation(
    scenario: Scenario,
    *,
    sender: TxSender,
    codec: AbiCodec,
    addresses: MarketAddresses,
    admin: Sender,
    genesis: int,
    slot_length: int,
    grace_period: int,
    node_accounts: Sequence[str] = (),
    rpc_url: str = "",
    evm_version: str = "",
    progress: Progress | None = None,
    record_path: Path | None = None,
    resume: bool = False,
) -> RunResult:
    """Run `scenario` against deployed contracts; see the module docstring.

    With `node_accounts`, households and the attacker send through accounts
    the node holds (eth_sendTransaction), one each, in order. The run record
    is written to `record_path` before the first transaction; with `resume`,
    the run recorded there is continued from what the chain holds.

    Raises:
        UsageError: the scenario does not fit the deployment or the accounts, or
            there is no run to resume that fits this scenario and chain.
        ChainStopped: the node stopped answering; run again with `resume`.
        RunFailed: the run ended but a check of the chain against the books failed.
    """
    progress = progress or Progress()
    if slot_length != scenario.slot_length_s:
        raise UsageError(
            f"{scenario.source}: slot_length_s is {scenario.slot_length_s} s but the deployment's slots are "
            f"{slot_length} s: deploy anew with --slot-length {scenario.slot_length_s} or change the scenario"
        )
    if grace_period < slot_length:
        raise UsageError(
            f"the deployment's grace period ({grace_period} s) is shorter than a slot ({slot_length} s): the runner "
            "settles a slot half a slot after its reading can be sent; deploy with --grace-period >= the slot length"
        )
    if resume and record_path is None:
        raise UsageError("resuming needs the run record of the interrupted run")
    names = scenario.household_names
    if node_accounts and len(node_accounts) < len(names) + 1:
        raise UsageError(
            f"--node-accounts needs one account per household plus one for the attacker "
            f"({len(names) + 1}); the node offered {len(node_accounts)}"
        )
    stage = Stage()
    node_accounts = list(node_accounts[: len(names) + 1])
    with reporting_chain_stops(rpc_url, stage):
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        wall = time.perf_counter()
        timings: dict[str, float] = {}

        progress.phase("planning energy and market")
        t0 = time.perf_counter()
        plan = simulate_energy(scenario)
        markets = clear_all(scenario, plan)
        timings["planning"] = time.perf_counter() - t0

        accounts: list[Sender] = [NodeAccount(a) for a in node_accounts]
        if not node_accounts:
            accounts = [household_account(scenario.seed, n) for n in [*names, "attacker"]]
        record = None
        if resume:
            assert record_path is not None
            record = _resumable(scenario, sender, addresses, genesis, node_accounts, record_path, progress)
        resumed = record is not None
        if record is None:
            record = _new_record(scenario, sender, codec, addresses, genesis, slot_length, accounts, node_accounts)
            if record_path is not None:
                record.save(record_path)
        base = record.meter_base
        households = [
            Household(i, n, accounts[i], base + i + 1, simulated_meter_key(scenario.seed, n))
            for i, n in enumerate(names)
        ]
        run = _Run(
            scenario=scenario,
            plan=plan,
            markets=markets,
            sender=sender,
            codec=codec,
            addresses=addresses,
            admin=admin,
            attacker=accounts[-1],
            households=households,
            domain=ReadingDomain(sender.chain_id, addresses.registry),
            genesis=genesis,
            slot_length=slot_length,
            grace=grace_period,
            c0=record.c0,
            stage=stage,
            meter_row={h.meter_id: h.index for h in households},
        )
        if resumed:
            stage.name = "the read-back of the run from the chain"
            progress.phase("reading the run back from the chain")
            t0 = time.perf_counter()
            found = _replay(run, record.first_block)
            timings["reading back"] = time.perf_counter() - t0
            closed = sum(1 for lot in run.ledger.lots.values() if lot.state != "open")
            progress.note(
                f"resuming the run started {record.started_at}: {found} of its transactions are on chain "
                f"({len(run.ledger.trades)} trades, {closed} lots closed); sending only what is missing"
            )

        stage.name = "the set-up"
        progress.phase("funding households and registering meters")
        t0 = time.perf_counter()
        _setup(run)
        timings["setup"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        _trade(run, progress)
        timings["trading"] = time.perf_counter() - t0

        stage.name = "the withdrawals"
        progress.phase("withdrawing credits")
        t0 = time.perf_counter()
        _withdraw(run)
        timings["withdrawing"] = time.perf_counter() - t0

        stage.name = "the final checks"
        t0 = time.perf_counter()
        result = _result(run, record, started_at, rpc_url, evm_version)
        timings["checking"] = time.perf_counter() - t0
        stats = sender.stats
        timings.update(
            {
                "signing": stats.signing_s,
                "sending": stats.sending_s,
                "mining and waiting": stats.mining_s,
                "receipts": stats.receipts_s,
            }
        )
        result.timings = timings
        result.wall_time_s = time.perf_counter() - wall
        failed = [name for name, ok in result.checks.items() if not ok]
        if failed:
            listed = (
                [f"{len(result.failures)} listed failures, the first: {result.failures[0]}"] if result.failures else []
            )
            details = "; ".join([*run.problems, *listed]) or ", ".join(failed)
            raise RunFailed(f"the chain disagrees with the simulator: {details}", result)
        return result


@contextmanager
def reporting_chain_stops(rpc_url: str, stage: Stage) -> Iterator[None]:
    """Turn the node going away into ChainStopped, naming the stage it went away in."""
    try:
        yield
    except NODE_GONE as exc:
        raise ChainStopped(rpc_url or "the RPC URL", stage.name, exc) from None


# ------------------------------------------------------------------ start and resume


def _new_record(
    scenario: Scenario,
    sender: TxSender,
    codec: AbiCodec,
    addresses: MarketAddresses,
    genesis: int,
    slot_length: int,
    accounts: Sequence[Sender],
    node_accounts: Sequence[str],
) -> RunRecord:
    """The chain facts of a new run, read before it sends anything."""
    base = _free_meter_block(sender, codec, addresses.registry)
    latest = sender.latest_block()
    now = latest.timestamp
    c0 = (now - genesis) // slot_length + 2 if now >= genesis else 2
    households = [a.address for a in accounts[:-1]]
    answers = sender.calls(
        [
            (addresses.token, codec.encode("totalSupply")),
            (addresses.escrow, codec.encode("totalLocked")),
            (addresses.escrow, codec.encode("totalCredited")),
            *((addresses.token, codec.encode("balanceOf", a)) for a in households),
        ]
    )
    supply, locked, credited, *balances = (int.from_bytes(a[:32], "big") for a in answers)
    return RunRecord(
        scenario=scenario.name,
        fingerprint=scenario_fingerprint(scenario),
        seed=scenario.seed,
        chain_id=sender.chain_id,
        deployment=addresses.as_dict(),
        genesis=genesis,
        meter_base=base,
        c0=c0,
        first_block=latest.number,
        first_block_hash=latest.hash,
        supply_before=supply,
        balances_before=balances,
        escrow_before=[locked, credited],
        node_accounts=list(node_accounts),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _resumable(
    scenario: Scenario,
    sender: TxSender,
    addresses: MarketAddresses,
    genesis: int,
    node_accounts: list[str],
    path: Path,
    progress: Progress,
) -> RunRecord | None:
    """The recorded run if the chain still holds its start; None (start afresh) if the chain lost it."""
    record = RunRecord.load(path)
    record.check_fits(path, scenario, sender.chain_id, node_accounts)
    if record.deployment != addresses.as_dict() or record.genesis != genesis:
        why = "the market it ran on is not on this chain any more (the market was deployed anew)"
    elif sender.block_hash(record.first_block) != record.first_block_hash:
        why = f"block {record.first_block}, after which it started, is not on this chain any more"
    else:
        return record
    progress.note(f"cannot resume the run in {path}: {why}; starting the run from the beginning")
    return None


def _replay(run: _Run, first_block: int) -> int:
    """Feed the run's own mined transactions (the blocks after `first_block`) through the books.

    Calls are labelled by their function (attacker transactions by their
    place in the attack schedule, which they were sent in) and remembered
    in `run.mined_before`, so that the ticks do not send them again.
    Returns how many transactions were found.
    """
    by_address: dict[str, Sender] = {h.account.address.lower(): h.account for h in run.households}
    by_address[run.admin.address.lower()] = run.admin
    attacker = run.attacker.address.lower()
    by_address[attacker] = run.attacker
    market = {a.lower() for a in run.addresses.as_dict().values()}
    kinds = [kind for _, tick_kinds in sorted(_attack_schedule(run).items()) for kind in tick_kinds]
    posted: set[tuple[int, int]] = set()
    outcomes: list[Outcome] = []
    for tx in run.sender.mined_transactions(by_address, first_block + 1):
        who = by_address[tx.sender.lower()]
        if tx.sender.lower() == attacker:
            kind = kinds[run.attacks_before] if run.attacks_before < len(kinds) else "attack"
            run.attacks_before += 1
            _record_attack(run, _mined_outcome(run, Call(kind, who, tx.to, tx.data, tx.gas, tx.value), tx))
            continue
        if tx.to.lower() in market:
            label = run.codec.function_of(tx.data)
        else:
            label = "fund" if not tx.data and tx.value else None
        if label not in RUN_OPERATIONS:
            continue  # not one of the run's (the operator's key may do other things)
        tag = _offer_tag(run, tx.data, posted) if label == "postOffer" else None
        call = Call(label, who, tx.to, tx.data, tx.gas, tx.value, tag)
        run.mined_before[_call_key(call)] += 1
        outcomes.append(_mined_outcome(run, call, tx))
    _record(run, outcomes)
    return len(outcomes) + run.attacks_before


def _mined_outcome(run: _Run, call: Call, tx: MinedTransaction) -> Outcome:
    if tx.status == 1:
        return Outcome(call, tx.tx_hash, 1, tx.gas_used, tx.block, tx.logs)
    error = run.sender.explain_revert(call, tx.block, tx.tx_hash)
    return Outcome(call, tx.tx_hash, tx.status, tx.gas_used, tx.block, (), error)


def _offer_tag(run: _Run, data: bytes, posted: set[tuple[int, int]]) -> tuple[int, int] | None:
    """(scenario slot, offer index) of the planned offer a mined postOffer made, or None if it is no planned one."""
    meter_id, chain_slot, wh, price = run.codec.decode_arguments("postOffer", data)
    slot, row = chain_slot - run.c0, run.meter_row.get(meter_id)
    if row is None or not 0 <= slot < run.scenario.slots:
        return None
    for offer in run.markets[slot].offers:
        key = (slot, offer.index)
        if key not in posted and (offer.seller, offer.wh, offer.price_per_kwh) == (row, wh, price):
            posted.add(key)
            return key
    return None


def _call_key(call: Call) -> tuple[str, str, bytes, int]:
    return (call.sender.address.lower(), call.to.lower(), call.data, call.value)


def _unsent(run: _Run, calls: list[Call]) -> list[Call]:
    """`calls` without those the chain already holds (each mined copy excuses one call)."""
    if not run.mined_before:
        return calls
    left = []
    for call in calls:
        key = _call_key(call)
        if run.mined_before[key] > 0:
            run.mined_before[key] -= 1
        else:
            left.append(call)
    return left


def _at(run: _Run, planned: int) -> int:
    """The time of the next block sent for `planned`: never before the chain's latest block on a local chain."""
    return max(planned, run.sender.clock + 1) if run.sender.local_mining else planned


# ------------------------------------------------------------------ phases


def _send(run: _Run, calls: list[Call], timestamp: int | None) -> list[Outcome]:
    outcomes = run.sender.run(calls, timestamp=timestamp)
    _record(run, outcomes)
    return outcomes


def _require_ok(outcomes: Sequence[Outcome], what: str) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        first = failed[0]
        raise P2PEnergyError(
            f"{len(failed)} of {len(outcomes)} {what} transactions failed; first: {first.call.label} from "
            f"{first.call.sender.address} (tx {first.tx_hash}): {first.error}"
        )


def _setup(run: _Run) -> None:
    scenario, a = run.scenario, run.addresses
    senders = [h.account for h in run.households] + [run.attacker]
    if run.sender.gas_price > 0:
        if run.sender.local_mining:
            run.sender.fund_locally([s.address for s in senders], 10**24)
        else:
            value = run.sender.gas_price * 30_000_000
            calls = [Call("fund", run.admin, s.address, b"", GAS["fund"], value) for s in senders]
            _require_ok(_send(run, _unsent(run, calls), None), "gas funding")
    calls = []
    for h in run.households:
        calls.append(
            Call(
                "mint", run.admin, a.token, run.encode("mint", h.account.address, scenario.prices.funding), GAS["mint"]
            )
        )
        calls.append(
            Call(
                "registerMeter",
                run.admin,
                a.registry,
                run.encode("registerMeter", h.meter_id, h.account.address, h.meter_key.address),
                GAS["registerMeter"],
            )
        )
        calls.append(Call("approve", h.account, a.token, run.encode("approve", a.escrow, MAX_UINT256), GAS["approve"]))
    _require_ok(_send(run, _unsent(run, calls), None), "set-up")


def _trade(run: _Run, progress: Progress) -> None:
    slots = run.scenario.slots
    grace_slots = math.ceil(run.grace / run.slot_length)
    last_tick = slots + 1 + grace_slots + 1
    attack_ticks = _attack_schedule(run)
    attacks_before_tick = 0  # the attack schedule's index of this tick's first attack
    for t in range(last_tick + 1):
        run.stage.name = f"slot {t} of {slots}" if t < slots else f"the settlement after slot {slots - 1}"
        time_a = run.slot_start(run.c0 + t) - run.slot_length // 2
        progress.phase(f"slot {min(t, slots)}/{slots}")
        if not run.sender.local_mining:
            # A chain whose time we cannot move: wait for it (real time, one slot per slot length).
            run.sender.advance_to(time_a)
        if t - 2 >= -1 and t - 2 < slots:
            attacks = attack_ticks.get(t, [])
            if attacks:
                _attack(run, attacks, t - 2, time_a, attacks_before_tick)
                attacks_before_tick += len(attacks)
                time_a += 1
        calls: list[Call] = []
        if -1 <= t - 2 < slots:
            calls += _reading_calls(run, t - 2)
        if t < slots:
            calls += _too_late(run, t, "offers", _offer_calls(run, t), _at(run, time_a))
        _send(run, calls, time_a)
        time_b = time_a + 1
        calls = []
        if t < slots:
            calls += _too_late(run, t, "takes", _take_calls(run, t), _at(run, time_b))
        at_b = _at(run, time_b)
        calls += _settle_calls(run, at_b)
        calls += _refund_calls(run, at_b)
        _send(run, calls, time_b)
        progress.tick(t + 1, last_tick + 1, len(run.ledger.trades))
        if t >= slots + 1 and not run.ledger.open_lots():
            break
    left = run.ledger.open_lots()
    if left:
        raise P2PEnergyError(f"{len(left)} lots are still open after the last slot's grace period")


def _too_late(run: _Run, slot: int, what: str, calls: list[Call], at: int) -> list[Call]:
    """`calls` (offers or takes for `slot`) if the chain can still take them at `at`, else none (noted)."""
    starts = run.slot_start(run.c0 + slot)
    if not calls or at < starts:
        return calls
    run.skipped.append(
        f"slot {slot}: {len(calls)} planned {what} not sent: chain time {at} had passed the slot's start "
        f"{starts} (the chain was down or the run interrupted too long)"
    )
    return []


def _reading_calls(run: _Run, slot: int) -> list[Call]:
    """The meters' readings of `slot`, where settlement needs them.

    A lot of slot s settles on the readings of s - 1 and s, so a meter's
    reading goes on chain when its household sold in this slot or the next:
    on-chain readings cost gas, and most meters sell in few slots of a day.
    """
    selling = {lot.seller for lot in run.ledger.lots.values() if lot.slot in (slot, slot + 1)}
    readings: list[tuple[tuple[int, int, int, int], bytes]] = []
    for h in run.households:
        if h.index not in selling or (slot >= 0 and run.scenario.faults.is_offline(h.name, slot)):
            continue
        if (h.index, slot) in run.readings_ok:
            continue  # on chain already (a resumed run)
        imported, exported = run.plan.registers(h.index, slot)
        reading = Reading(h.meter_id, run.c0 + slot, imported, exported)
        readings.append((reading.as_tuple(), h.meter_key.sign(run.domain, reading)))
    size = run.scenario.chain.readings_per_tx
    calls = []
    for start in range(0, len(readings), size):
        chunk = readings[start : start + size]
        data = run.encode("submitReadings", [r for r, _ in chunk], [s for _, s in chunk])
        calls.append(
            Call("submitReadings", run.admin, run.addresses.registry, data, _gas_readings(len(chunk)), tag=slot)
        )
    return _unsent(run, calls)


def _offer_calls(run: _Run, slot: int) -> list[Call]:
    calls = []
    for offer in run.markets[slot].offers:
        h = run.households[offer.seller]
        data = run.encode("postOffer", h.meter_id, run.c0 + slot, offer.wh, offer.price_per_kwh)
        calls.append(
            Call("postOffer", h.account, run.addresses.escrow, data, GAS["postOffer"], tag=(slot, offer.index))
        )
    return _unsent(run, calls)


def _take_calls(run: _Run, slot: int) -> list[Call]:
    by_buyer: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for take in run.markets[slot].takes:
        offer_id = run.offer_ids.get((slot, take.offer_index))
        if offer_id is not None:
            by_buyer[take.buyer].append((offer_id, take.wh))
    size = run.scenario.chain.takes_per_tx
    calls = []
    for buyer, takes in sorted(by_buyer.items()):
        h = run.households[buyer]
        for start in range(0, len(takes), size):
            chunk = takes[start : start + size]
            calls.append(
                Call(
                    "takeOffers",
                    h.account,
                    run.addresses.escrow,
                    run.encode("takeOffers", chunk),
                    _gas_take(len(chunk)),
                )
            )
    return _unsent(run, calls)


def _delivery_known(run: _Run, row: int, slot: int) -> bool:
    return (row, slot) in run.readings_ok and (row, slot - 1) in run.readings_ok


def _lot_calls(run: _Run, label: str, lots: list[tuple[int, int, int]]) -> list[Call]:
    """settleLots/refundLots calls over (meter, chain slot, trades), within the per-call bounds."""
    calls: list[Call] = []
    chunk: list[tuple[int, int]] = []
    trades = 0
    for meter, chain_slot, n in lots:
        if chunk and (len(chunk) >= run.scenario.chain.lots_per_tx or trades + n > MAX_TRADES_PER_CALL):
            calls.append(
                Call(label, run.admin, run.addresses.escrow, run.encode(label, chunk), _gas_lots(len(chunk), trades))
            )
            chunk, trades = [], 0
        chunk.append((meter, chain_slot))
        trades += n
    if chunk:
        calls.append(
            Call(label, run.admin, run.addresses.escrow, run.encode(label, chunk), _gas_lots(len(chunk), trades))
        )
    return calls


def _settle_calls(run: _Run, at: int) -> list[Call]:
    due = []
    for lot in run.ledger.open_lots():
        chain_slot = run.c0 + lot.slot
        ends = run.slot_start(chain_slot + 1)
        if ends <= at < ends + run.grace and _delivery_known(run, lot.seller, lot.slot):
            due.append((lot.meter_id, chain_slot, len(lot.trades)))
    return _lot_calls(run, "settleLots", sorted(due))


def _refund_calls(run: _Run, at: int) -> list[Call]:
    due = []
    for lot in run.ledger.open_lots():
        chain_slot = run.c0 + lot.slot
        if at >= run.slot_start(chain_slot + 1) + run.grace:
            due.append((lot.meter_id, chain_slot, len(lot.trades)))
    return _lot_calls(run, "refundLots", sorted(due))


def _record(run: _Run, outcomes: Sequence[Outcome]) -> None:
    """Book the outcomes of honest transactions: gas, failures, and the books from their events."""
    for outcome in outcomes:
        tally = run.gas[outcome.call.label]
        tally[0] += 1
        tally[1] += outcome.gas_used
        if not outcome.ok:
            run.tx_failures.append(_failure(outcome))
            continue
        label = outcome.call.label
        for event in _events(run, outcome):
            if event.name == "ReadingRecorded":
                row = run.meter_row.get(event.args["meterId"])
                if row is not None:
                    run.readings_ok.add((row, event.args["slot"] - run.c0))
            elif event.name == "OfferPosted" and label == "postOffer" and outcome.call.tag is not None:
                slot, index = outcome.call.tag
                offer = run.markets[slot].offers[index]
                run.ledger.offer_posted(event.args["offerId"], slot, offer.seller, offer.wh, offer.price_per_kwh)
                run.offer_ids[(slot, index)] = event.args["offerId"]
            elif event.name == "TradeOpened" and event.args["offerId"] in run.ledger.offers:
                run.ledger.trade_opened(
                    event.args["tradeId"],
                    event.args["offerId"],
                    _row_of(run, event.args["buyer"]),
                    event.args["wh"],
                    event.args["cost"],
                    event.args["tradeId"] >> 96,
                )
            elif event.name == "TradeClosed" and event.args["tradeId"] in run.ledger.trades:
                run.ledger.trade_closed(
                    event.args["tradeId"], event.args["paid"], event.args["refunded"], label == "settleLots"
                )
            elif event.name in ("LotSettled", "LotRefunded"):
                key = (event.args["meterId"], event.args["slot"] - run.c0)
                if key in run.ledger.lots:
                    settled = event.name == "LotSettled"
                    run.ledger.lot_closed(*key, settled, event.args["deliveredWh"] if settled else 0)


def _failure(outcome: Outcome) -> str:
    """One line on a failed transaction: what, from whom, which transaction, and why (decoded)."""
    call = outcome.call
    if outcome.tx_hash is None:
        return f"{call.label} from {call.sender.address} was not sent: {outcome.error}"
    how = "reverted" if outcome.status == 0 else "was not mined"
    return f"{call.label} from {call.sender.address} {how} (tx {outcome.tx_hash}): {outcome.error}"


def _row_of(run: _Run, address: str) -> int:
    if not run.row_by_address:
        run.row_by_address.update({h.account.address.lower(): h.index for h in run.households})
    row = run.row_by_address.get(address.lower())
    if row is None:
        raise P2PEnergyError(f"a trade names buyer {address}, which is not a household of this run")
    return row


def _events(run: _Run, outcome: Outcome) -> list[Any]:
    return [e for e in (run.codec.decode_log(log) for log in outcome.logs) if e is not None]


# ----------------------------------------------------------------- attacks


def _attack_schedule(run: _Run) -> dict[int, list[str]]:
    """Tick -> attack kinds, spread over the slots that have a previous reading."""
    spec = run.scenario.faults.attacker
    kinds = [FORGED] * spec.forged_readings + [
        REPLAY_KINDS[i % len(REPLAY_KINDS)] for i in range(spec.replayed_readings)
    ]
    if not kinds:
        return {}
    ticks = list(range(3, run.scenario.slots + 2)) or [2]
    schedule: dict[int, list[str]] = defaultdict(list)
    for i, kind in enumerate(kinds):
        schedule[ticks[i % len(ticks)]].append(kind)
    return schedule


def _attack(run: _Run, kinds: list[str], slot: int, at: int, first: int) -> None:
    """Submit the attacker's readings of `slot`, each alone, before the meters' own.

    `first` is the schedule's index of kinds[0]; attacks a resumed run found on
    chain (the schedule's first `run.attacks_before`) are not sent again.
    """
    victims = [h for h in run.households if (h.index, slot - 1) in run.readings_ok] or run.households
    calls = []
    for number, kind in enumerate(kinds):
        if first + number < run.attacks_before:
            continue
        victim = victims[number % len(victims)]
        other = run.households[(victim.index + 1) % len(run.households)]
        imported, exported = run.plan.registers(victim.index, slot)
        upcoming = Reading(victim.meter_id, run.c0 + slot, imported, exported)
        last_i, last_e = run.plan.registers(victim.index, slot - 1)
        accepted = Reading(victim.meter_id, run.c0 + slot - 1, last_i, last_e)
        attack: AttackReading = (
            forged(run.scenario.seed, run.domain, upcoming)
            if kind == FORGED
            else replayed(REPLAY_KINDS.index(kind), run.domain, victim.meter_key, accepted, upcoming, other.meter_id)
        )
        data = run.encode("submitReading", attack.reading.as_tuple(), attack.signature)
        calls.append(Call(kind, run.attacker, run.addresses.registry, data, _gas_readings(1)))
    for outcome in run.sender.run(calls, timestamp=at):
        _record_attack(run, outcome)


def _record_attack(run: _Run, outcome: Outcome) -> None:
    run.attacks[outcome.call.label].append(outcome.error or "accepted")
    if outcome.ok:
        run.attacks_accepted.append(f"{outcome.call.label} (tx {outcome.tx_hash})")


# ----------------------------------------------------------------- the end


def _withdraw(run: _Run) -> None:
    credits = _uints(run, run.addresses.escrow, "creditOf", [h.account.address for h in run.households])
    calls = [
        Call("withdraw", h.account, run.addresses.escrow, run.encode("withdraw"), GAS["withdraw"])
        for h, credit in zip(run.households, credits, strict=True)
        if credit > 0
    ]
    _send(run, _unsent(run, calls), None)


def _uint(run: _Run, to: str, function: str, *args: Any) -> int:
    return int.from_bytes(run.sender.call(to, run.encode(function, *args))[:32], "big")


def _uints(run: _Run, to: str, function: str, addresses: Sequence[str]) -> list[int]:
    answers = run.sender.calls([(to, run.encode(function, a)) for a in addresses])
    return [int.from_bytes(a[:32], "big") for a in answers]


def _balances(run: _Run) -> list[int]:
    return _uints(run, run.addresses.token, "balanceOf", [h.account.address for h in run.households])


def _free_meter_block(sender: TxSender, codec: AbiCodec, registry: str) -> int:
    """The first block of METER_ID_BLOCK meter ids whose first id is unregistered."""
    for block in range(0, 2**32 // METER_ID_BLOCK):
        base = block * METER_ID_BLOCK
        info = sender.call(registry, codec.encode("meterInfo", base + 1))
        if int.from_bytes(info[:32], "big") == 0:  # no owner
            return base
    raise UsageError("the registry has no free block of meter ids left: deploy a new market")


def _result(run: _Run, record: RunRecord, started_at: str, rpc_url: str, evm_version: str) -> RunResult:
    scenario, plan, ledger = run.scenario, run.plan, run.ledger
    a = run.addresses
    supply_before, balances_before = record.supply_before, record.balances_before
    escrow_before = tuple(record.escrow_before)
    balances_after = _balances(run)
    supply_after = _uint(run, a.token, "totalSupply")
    escrow_after = (_uint(run, a.escrow, "totalLocked"), _uint(run, a.escrow, "totalCredited"))

    exported: dict[tuple[int, int], int | None] = {}
    for lot in ledger.lots.values():
        known = _delivery_known(run, lot.seller, lot.slot) and lot.state == "settled"
        exported[lot.key] = int(plan.export_wh[lot.seller, lot.slot]) if known else None
    wrong = ledger.mismatches(exported)

    trades = [
        TradeRecord(
            trade_id=t.trade_id,
            slot=t.slot,
            chain_slot=run.c0 + t.slot,
            meter_id=t.meter_id,
            seller=run.households[t.seller].name,
            buyer=run.households[t.buyer].name,
            wh=t.wh,
            price_per_kwh=t.price_per_kwh,
            cost=t.cost,
            paid=t.closes[0][0] if t.closes else 0,
            refunded=t.closes[0][1] if t.closes else t.cost,
            outcome=t.outcome if t.outcome in ("settled", "refunded") else "refunded",
        )
        for t in sorted(ledger.trades.values(), key=lambda t: t.trade_id)
    ]
    expected_end = [b + scenario.prices.funding for b in balances_before]
    delivered_by_seller: dict[int, int] = defaultdict(int)
    for lot in ledger.lots.values():
        delivered_by_seller[lot.seller] += lot.delivered_wh
    for t in ledger.trades.values():
        paid, refunded = t.closes[0] if t.closes else (0, 0)
        expected_end[t.seller] += paid
        expected_end[t.buyer] += refunded - t.cost
    sold: dict[int, int] = defaultdict(int)
    bought: dict[int, int] = defaultdict(int)
    for t in ledger.trades.values():
        sold[t.seller] += t.wh
        bought[t.buyer] += t.wh
    households = [
        HouseholdRecord(
            name=h.name,
            address=h.account.address,
            meter_id=h.meter_id,
            pv_kwp=scenario.households[h.index].pv_kwp,
            generated_wh=int(plan.generated_wh[h.index].sum()),
            load_wh=int(plan.load_wh[h.index].sum()),
            exported_wh=int(plan.export_wh[h.index].sum()),
            imported_wh=int(plan.import_wh[h.index].sum()),
            offered_wh=sum(wh for (seller, _), wh in ledger.offered_wh.items() if seller == h.index),
            sold_wh=sold[h.index],
            bought_wh=bought[h.index],
            delivered_wh=delivered_by_seller[h.index],
            tokens_start=balances_before[h.index] + scenario.prices.funding,  # after funding
            tokens_end=balances_after[h.index],
        )
        for h in run.households
    ]
    slots = []
    for s in range(scenario.slots):
        slot_trades = [t for t in ledger.trades.values() if t.slot == s]
        traded = sum(t.wh for t in slot_trades)
        value = sum(t.wh * t.price_per_kwh for t in slot_trades)
        start_hour = scenario.slot_start_hour(s) % 24
        slots.append(
            SlotRecord(
                slot=s,
                chain_slot=run.c0 + s,
                start_time=f"{int(start_hour):02d}:{round((start_hour % 1) * 60) % 60:02d}",
                generated_wh=int(plan.generated_wh[:, s].sum()),
                load_wh=int(plan.load_wh[:, s].sum()),
                offered_wh=sum(wh for (_, slot), wh in ledger.offered_wh.items() if slot == s),
                traded_wh=traded,
                delivered_wh=sum(lot.delivered_wh for lot in ledger.lots.values() if lot.slot == s),
                trades=len(slot_trades),
                settled_trades=sum(1 for t in slot_trades if t.outcome == "settled"),
                refunded_trades=sum(1 for t in slot_trades if t.outcome == "refunded"),
                clearing_price=run.markets[s].clearing_price,
                mean_price=value // traded if traded else None,
            )
        )
    attacks = [
        AttackRecord(kind, len(outcomes), sum(1 for o in outcomes if o != "accepted"), tuple(sorted(set(outcomes))))
        for kind, outcomes in sorted(run.attacks.items())
    ]
    gas = [GasRecord(label, count, used) for label, (count, used) in sorted(run.gas.items())]

    if wrong:
        run.problems.append(f"trades that differ from the settlement rule or did not close once: {wrong[:20]}")
    mismatched = [h.name for h, e, b in zip(run.households, expected_end, balances_after, strict=True) if e != b]
    if mismatched:
        run.problems.append(f"token balances differ from the books for {mismatched[:20]}")
    if run.attacks_accepted:
        run.problems.append(f"attacks accepted by the chain: {run.attacks_accepted}")
    minted = scenario.prices.funding * len(run.households)
    checks = {
        "every trade closed exactly once by the settlement rule": not wrong,
        "household token balances match the books": not mismatched,
        "total supply grew by exactly the funding minted": supply_after == supply_before + minted,
        "escrow holds nothing for this run at the end": escrow_after == escrow_before,
        "every attack was rejected": not run.attacks_accepted,
        "every honest transaction succeeded": not run.tx_failures,
        "every planned offer and take was sent": not run.skipped,
    }
    result = RunResult(
        scenario=scenario.name,
        seed=scenario.seed,
        chain_id=run.sender.chain_id,
        evm_version=evm_version,
        rpc_url=rpc_url,
        deployment={"EnergyToken": a.token, "MeterRegistry": a.registry, "EnergyEscrow": a.escrow},
        started_at=started_at,
        wall_time_s=0.0,
        slots=slots,
        households=households,
        trades=trades,
        gas=gas,
        attacks=attacks,
        checks=checks,
        failures=[*run.tx_failures, *run.skipped],
    )
    result.checks.update(result.consistency_checks())
    return result
