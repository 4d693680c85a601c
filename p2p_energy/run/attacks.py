"""Readings an attacker puts into settlements during a simulation; every one must prove nothing.

The attacker holds no meter key, but anyone may call `closeLots`, and the
lots' trades are public (Traded events). So it closes an open lot's group
itself, before the operator does, with a reading that would pay the seller
more than the meter proved or settle the lot on a reading that is not its
own:

- a forged reading: the lot's own meter and slot with the export inflated,
  signed with the attacker's own key (the registry: BadSignature);
- replays of genuine signatures where they do not belong: the meter's
  reading of another slot (it does not cover the lot's slot), a genuine
  signature moved to a reading of this slot, another meter's reading of this
  slot, or the lot's reading signed for another chain id or another registry
  deployment.

The escrow does not revert for a reading that proves nothing: it leaves the
lot open (LotSkipped, Unproven) and the operator settles it with the meter's
real reading. An attack is accepted only if its transaction closes a lot.
Each attack is one transaction naming one group with an open lot whose
settlement window is open and none past its grace period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from eth_utils.crypto import keccak

from p2p_energy.chain.backend import Call
from p2p_energy.domain.keys import ATTACKER_LABEL, seed_key
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.books import Books
from p2p_energy.run.calls import ATTACK_GAS, group_closes, wire_lot
from p2p_energy.run.ledger import Lot
from p2p_energy.run.state import RunSetup
from p2p_energy.wire.eip712 import sign_struct
from p2p_energy.wire.readings import MeterKey, Reading, SignedReading, reading_domain
from p2p_energy.wire.records import CloseCall, credited_by

FORGED = "forged reading"
REPLAY_KINDS = (
    "replayed reading (the meter's reading of another slot)",
    "replayed reading (signature moved to another slot)",
    "replayed reading (another meter's reading)",
    "replayed reading (signed for another chain id)",
    "replayed reading (signed for another deployment)",
)
#: Wh a forged reading adds to the meter's real export.
INFLATED_WH = 10_000


def attacker_key(seed: int) -> MeterKey:
    return MeterKey(seed_key(seed, ATTACKER_LABEL))


def _export(setup: RunSetup, row: int, slot: int) -> int:
    return int(setup.plan.export_wh[row, slot]) if 0 <= slot < setup.scenario.slots else 0


def attack_reading(setup: RunSetup, kind: str, lot: Lot, other: int) -> SignedReading:
    """The reading attack `kind` gives for `lot`; `other` is another household's row."""
    meters, domain = setup.households, setup.readings
    victim, chain_slot = meters[lot.seller], setup.c0 + lot.slot
    own = Reading(victim.meter_id, chain_slot, (_export(setup, lot.seller, lot.slot),))
    earlier = Reading(victim.meter_id, chain_slot - 1, (_export(setup, lot.seller, lot.slot - 1),))
    key = victim.meter_key.private_key
    if kind == FORGED:
        inflated = Reading(own.meter_id, own.first_slot, (own.exported_wh[0] + INFLATED_WH,))
        return attacker_key(setup.scenario.seed).sign(domain, inflated)
    if kind == REPLAY_KINDS[0]:
        return victim.meter_key.sign(domain, earlier)
    if kind == REPLAY_KINDS[1]:
        moved = Reading(own.meter_id, own.first_slot, (earlier.exported_wh[0] + INFLATED_WH,))
        return SignedReading(moved, sign_struct(key, domain, earlier.struct_hash()))
    if kind == REPLAY_KINDS[2]:
        return setup.reading(other, range(lot.slot, lot.slot + 1))
    if kind == REPLAY_KINDS[3]:
        return victim.meter_key.sign(reading_domain(domain.chain_id + 1, domain.contract), own)
    other_registry = reading_domain(domain.chain_id, "0x" + keccak(bytes.fromhex(domain.contract[2:]))[:20].hex())
    return victim.meter_key.sign(other_registry, own)


def attack_schedule(scenario: Scenario) -> dict[int, list[str]]:
    """Tick -> attack kinds, spread over the ticks that settle a slot (slot t - 2 at tick t)."""
    spec = scenario.faults.attacker
    kinds = [FORGED] * spec.forged_readings + [
        REPLAY_KINDS[i % len(REPLAY_KINDS)] for i in range(spec.replayed_readings)
    ]
    if not kinds:
        return {}
    ticks = list(range(3, scenario.slots + 2)) or [2]
    schedule: dict[int, list[str]] = defaultdict(list)
    for i, kind in enumerate(kinds):
        schedule[ticks[i % len(ticks)]].append(kind)
    return schedule


def victims(setup: RunSetup, books: Books, at: int) -> list[Lot]:
    """Open lots whose settlement window is open at `at`, in groups with no lot past its grace period, the latest
    slot's first."""
    grace = setup.timing.grace_period
    ledger = books.ledger

    def due(lot: Lot) -> bool:
        ends = setup.slot_start(setup.c0 + lot.slot + 1)
        return ends <= at < ends + grace

    def overdue(lot: Lot) -> bool:
        return lot.state == "open" and at >= setup.slot_start(setup.c0 + lot.slot + 1) + grace

    lots = []
    for lot in ledger.open_lots():
        members = [ledger.lots[key] for key in ledger.groups.get(lot.group, [])] if lot.group else []
        if due(lot) and members and not any(overdue(m) for m in members):
            lots.append(lot)
    return sorted(lots, key=lambda lot: (-lot.slot, lot.meter_id))


def attack_calls(
    setup: RunSetup, books: Books, kinds: Sequence[str], first: int, done: int, at: int
) -> list[Call] | None:
    """The attacker's closings, one transaction each, to go before the operator's (at chain time `at`).

    `first` is the schedule's index of kinds[0]; the schedule's first `done`
    attacks are on chain already (a resumed run) and are not sent again.
    None when no lot can be attacked at `at`: the caller keeps them for a later tick.
    """
    if first + len(kinds) <= done:
        return []
    targets = victims(setup, books, at)
    if not targets:
        return None
    households = setup.households
    calls = []
    for number, kind in enumerate(kinds):
        if first + number < done:
            continue
        lot = targets[number % len(targets)]
        other = (lot.seller + 1) % len(households)
        reading = attack_reading(setup, kind, lot, other)
        group = group_closes(setup, books, [lot])[0]
        victim = wire_lot(setup, books, lot)
        call = CloseCall(
            (group,), (reading,), {victim.key: 0}, frozenset(credited_by(victim, reading.reading.exported_wh[0]))
        )
        calls.append(Call(kind, setup.attacker, setup.addresses.escrow, call.calldata, ATTACK_GAS))
    return calls
