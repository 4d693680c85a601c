"""Starting a run, and picking an interrupted one up from what the chain holds.

Every transaction of a run follows from the scenario, its seed and four
facts fixed when it starts (first chain slot c0, the block of meter ids,
the block it started after, the balances before), which go into a run
record (:mod:`p2p_energy.run.resume`) before anything is sent. So the loop
is idempotent per tick: `--resume` reads the run's own transactions back
from the blocks after its start (by sender: households, attacker,
operator), feeds their receipts through the same books as a live run
(:class:`p2p_energy.run.books.Books`) and walks the ticks from the start
again, dropping from each phase what the chain already holds
(:meth:`Resumption.unsent`): a call with the same sender, calldata and value
that was mined (succeeded or reverted: a reverted transaction is reported,
never blindly sent again; every call is built from the plan and the books
alone, so it has the same calldata when built again), a closed lot, a
withdrawn balance. The books follow the events of what was mined (Traded,
GroupMatched, LotSettled, LotRefunded, Deposited, Withdrawn, ...), as in a live run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import Call, MinedTransaction, Outcome
from p2p_energy.chain.market import Market
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import UsageError
from p2p_energy.run.attacks import attack_schedule
from p2p_energy.run.books import Books
from p2p_energy.run.context import Progress
from p2p_energy.run.resume import RunRecord, scenario_fingerprint
from p2p_energy.run.state import RunSetup

#: Meter ids of one run: base + household row + 1, base a multiple of this,
#: so runs against a reused deployment never collide.
METER_ID_BLOCK = 1_000_000
#: What a run's honest transactions call (plus "fund": gas coin sent to households on a chain that charges gas).
RUN_OPERATIONS = frozenset(
    (
        "fund",
        "mint",
        "approve",
        "depositFor",
        "registerMeters",
        "setTrader",
        "nameOwnKeys",
        "matchOrders",
        "closeLots",
        "payOut",
    )
)

CallKey = tuple[str, str, bytes, int]


def call_key(sender: str, to: str, data: bytes, value: int) -> CallKey:
    """What identifies a mined call for a resume: (sender, to, calldata, value), addresses in lower case."""
    return (sender.lower(), to.lower(), data, value)


@dataclass
class Resumption:
    """What a resumed run found on chain and must not send again (empty for a new run)."""

    #: Calls already mined, each counted once per copy.
    mined_before: Counter[CallKey] = field(default_factory=Counter)
    #: Attacker transactions found on chain: the schedule's first ones are done.
    attacks_before: int = 0

    def mined(self, key: CallKey) -> bool:
        """True (and the mined copy used up) when the chain holds a call with this key."""
        if self.mined_before[key] > 0:
            self.mined_before[key] -= 1
            return True
        return False

    def unsent(self, calls: list[Call]) -> list[Call]:
        """`calls` without those the chain already holds (each mined copy excuses one call)."""
        if not self.mined_before:
            return calls
        return [c for c in calls if not self.mined(call_key(c.sender.address, c.to, c.data, c.value))]


def new_record(
    scenario: Scenario, market: Market, genesis: int, accounts: Sequence[Account], node_accounts: Sequence[str]
) -> RunRecord:
    """The chain facts of a new run, read before it sends anything."""
    chain, codec, addresses = market.chain, market.codec, market.addresses
    base = _free_meter_block(market)
    latest = chain.latest_block()
    now = latest.timestamp
    slot_length = scenario.slot_length_s
    c0 = (now - genesis) // slot_length + 2 if now >= genesis else 2
    households = [a.address for a in accounts[:-1]]
    answers = chain.calls(
        [
            (addresses.token, codec.encode("totalSupply")),
            (addresses.escrow, codec.encode("totalLocked")),
            (addresses.escrow, codec.encode("totalBalances")),
            *((addresses.token, codec.encode("balanceOf", a)) for a in households),
            *((addresses.escrow, codec.encode("balanceOf", a)) for a in households),
        ]
    )
    supply, locked, balances_total, *balances = (int.from_bytes(a[:32], "big") for a in answers)
    return RunRecord(
        scenario=scenario.name,
        fingerprint=scenario_fingerprint(scenario),
        seed=scenario.seed,
        chain_id=chain.chain_id,
        deployment=addresses.as_dict(),
        genesis=genesis,
        meter_base=base,
        c0=c0,
        first_block=latest.number,
        first_block_hash=latest.hash,
        supply_before=supply,
        balances_before=balances[: len(households)],
        escrow_before=[locked, balances_total],
        escrow_balances_before=balances[len(households) :],
        node_accounts=list(node_accounts),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _free_meter_block(market: Market) -> int:
    """The first block of METER_ID_BLOCK meter ids whose first id is unregistered."""
    for block in range(0, 2**32 // METER_ID_BLOCK):
        base = block * METER_ID_BLOCK
        info = market.chain.call(market.addresses.registry, market.codec.encode("meterInfo", base + 1))
        if int.from_bytes(info[:32], "big") == 0:  # no owner
            return base
    raise UsageError("the registry has no free block of meter ids left: deploy a new market")


def resumable(
    scenario: Scenario, market: Market, genesis: int, node_accounts: list[str], path: Path, progress: Progress
) -> RunRecord | None:
    """The recorded run if the chain still holds its start; None (start afresh) if the chain lost the market.

    A record that names this chain's market but not its blocks (edited, or of an earlier life of the chain) is
    refused (UsageError) before anything is sent: resuming it would send a run that cannot add up.
    """
    record = RunRecord.load(path)
    record.check_fits(path, scenario, market.chain.chain_id, node_accounts)
    escrow = record.deployment.get("EnergyEscrow", "")
    if record.deployment != market.addresses.as_dict() and not (escrow and market.chain.code_at(escrow)):
        progress.note(
            f"cannot resume the run in {path}: the market it ran on is not on this chain any more (the market was "
            "deployed anew); starting the run from the beginning"
        )
        return None
    stale = _stale(record, market, genesis)
    if stale:
        raise UsageError(
            f"cannot resume the run in {path}: {stale}; the record was edited or belongs to another chain's past, "
            "so nothing was sent: run without --resume (or into another --out) to start anew"
        )
    return record


def _stale(record: RunRecord, market: Market, genesis: int) -> str:
    """Why `record` does not fit this chain's market and blocks ("" if it fits)."""
    if record.deployment != market.addresses.as_dict():
        return f"it names the market {record.deployment}, this chain's is {market.addresses.as_dict()}"
    if record.genesis != genesis:
        return f"it names slot genesis {record.genesis}, the market's is {genesis}"
    head = market.chain.latest_block().number
    if record.first_block > head:
        return f"it started after block {record.first_block}, but this chain's latest block is {head}"
    if market.chain.block_hash(record.first_block) != record.first_block_hash:
        return f"block {record.first_block}, after which it started, is another block on this chain"
    return ""


def read_back(setup: RunSetup, books: Books, first_block: int) -> tuple[Resumption, int]:
    """Feed the run's own mined transactions (the blocks after `first_block`) through the books.

    Calls are labelled by their function (attacker transactions by their
    place in the attack schedule, which they were sent in) and remembered
    in the returned Resumption, so that the ticks do not send them again.
    Also returns how many transactions were found.
    """
    by_address: dict[str, Account] = {h.account.address.lower(): h.account for h in setup.households}
    by_address[setup.admin.address.lower()] = setup.admin
    attacker = setup.attacker.address.lower()
    by_address[attacker] = setup.attacker
    market = {a.lower() for a in setup.addresses.as_dict().values()}
    kinds = [kind for _, tick_kinds in sorted(attack_schedule(setup.scenario).items()) for kind in tick_kinds]
    resumption = Resumption()
    outcomes: list[Outcome] = []
    for tx in setup.chain.mined_transactions(by_address, first_block + 1):
        who = by_address[tx.sender.lower()]
        if tx.sender.lower() == attacker:
            done = resumption.attacks_before
            kind = kinds[done] if done < len(kinds) else "attack"
            resumption.attacks_before += 1
            books.record_attack(setup, _mined_outcome(setup, Call(kind, who, tx.to, tx.data, tx.gas, tx.value), tx))
            continue
        if tx.to.lower() in market:
            label = setup.market.codec.function_of(tx.data)
        else:
            label = "fund" if not tx.data and tx.value else None
        if label not in RUN_OPERATIONS:
            continue  # not one of the run's (the operator's key may do other things)
        call = Call(label, who, tx.to, tx.data, tx.gas, tx.value)
        resumption.mined_before[call_key(who.address, tx.to, tx.data, tx.value)] += 1
        outcomes.append(_mined_outcome(setup, call, tx))
    books.record(setup, outcomes)
    return resumption, len(outcomes) + resumption.attacks_before


def _mined_outcome(setup: RunSetup, call: Call, tx: MinedTransaction) -> Outcome:
    if tx.status == 1:
        return Outcome(call, tx.tx_hash, 1, tx.gas_used, tx.block, tx.logs)
    error = setup.chain.explain_revert(call, tx.block, tx.tx_hash)
    return Outcome(call, tx.tx_hash, tx.status, tx.gas_used, tx.block, (), error)
