"""Readings an attacker submits during a simulation; every one must be rejected.

The attacker holds no meter key. It can sign with its own key (a forged
reading) or take a meter's genuine signature and use it where it does not
belong (a replay): again for the same slot, for the next slot, under another
meter's id, or signed for the same registry address on another chain id or
for another deployment on this chain. The registry must refuse each: the
signature recovers to a key that is not the meter's, or the slot is not
later than the meter's last reading.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from eth_utils.crypto import keccak

from p2p_energy.chain.backend import Call
from p2p_energy.domain.keys import ATTACKER_LABEL, seed_key
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.books import Books
from p2p_energy.run.calls import gas_readings
from p2p_energy.run.state import RunSetup

FORGED = "forged reading"
REPLAY_KINDS = (
    "replayed reading (same slot again)",
    "replayed reading (signature moved to the next slot)",
    "replayed reading (signature moved to another meter)",
    "replayed reading (signed for another chain id)",
    "replayed reading (signed for another deployment)",
)


@dataclass(frozen=True)
class AttackReading:
    kind: str
    reading: Reading
    signature: bytes


def attacker_key(seed: int) -> MeterKey:
    return MeterKey(seed_key(seed, ATTACKER_LABEL))


def forged(seed: int, domain: ReadingDomain, genuine: Reading) -> AttackReading:
    """The victim's reading with its export inflated, signed by the attacker's own key."""
    inflated = Reading(genuine.meter_id, genuine.slot, genuine.import_wh, genuine.export_wh + 10_000)
    return AttackReading(FORGED, inflated, attacker_key(seed).sign(domain, inflated))


def replayed(
    number: int, domain: ReadingDomain, key: MeterKey, accepted: Reading, upcoming: Reading, other_meter: int
) -> AttackReading:
    """Replay number `number` (cycling through REPLAY_KINDS).

    `accepted` is a reading already on chain with its genuine signature;
    `upcoming` is the victim's next genuine reading, not yet submitted.
    """
    kind = REPLAY_KINDS[number % len(REPLAY_KINDS)]
    genuine = key.sign(domain, accepted)
    if kind == REPLAY_KINDS[0]:
        return AttackReading(kind, accepted, genuine)
    if kind == REPLAY_KINDS[1]:
        moved = Reading(accepted.meter_id, upcoming.slot, accepted.import_wh, upcoming.export_wh + 10_000)
        return AttackReading(kind, moved, genuine)
    if kind == REPLAY_KINDS[2]:
        moved = Reading(other_meter, upcoming.slot, upcoming.import_wh, upcoming.export_wh)
        return AttackReading(kind, moved, key.sign(domain, upcoming))
    if kind == REPLAY_KINDS[3]:
        other_chain = ReadingDomain(domain.chain_id + 1, domain.registry)
        return AttackReading(kind, upcoming, key.sign(other_chain, upcoming))
    other_registry = ReadingDomain(domain.chain_id, "0x" + keccak(bytes.fromhex(domain.registry[2:]))[:20].hex())
    return AttackReading(kind, upcoming, key.sign(other_registry, upcoming))


def attack_schedule(scenario: Scenario) -> dict[int, list[str]]:
    """Tick -> attack kinds, spread over the slots that have a previous reading."""
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


def attack_calls(setup: RunSetup, books: Books, kinds: list[str], slot: int, first: int, done: int) -> list[Call]:
    """The attacker's readings of `slot`, one transaction each, to go before the meters' own.

    `first` is the schedule's index of kinds[0]; the schedule's first `done`
    attacks are on chain already (a resumed run) and are not sent again.
    """
    households = setup.households
    victims = [h for h in households if (h.index, slot - 1) in books.readings_ok] or households
    calls = []
    for number, kind in enumerate(kinds):
        if first + number < done:
            continue
        victim = victims[number % len(victims)]
        other = households[(victim.index + 1) % len(households)]
        imported, exported = setup.plan.registers(victim.index, slot)
        upcoming = Reading(victim.meter_id, setup.c0 + slot, imported, exported)
        last_i, last_e = setup.plan.registers(victim.index, slot - 1)
        accepted = Reading(victim.meter_id, setup.c0 + slot - 1, last_i, last_e)
        attack = (
            forged(setup.scenario.seed, setup.domain, upcoming)
            if kind == FORGED
            else replayed(REPLAY_KINDS.index(kind), setup.domain, victim.meter_key, accepted, upcoming, other.meter_id)
        )
        data = setup.encode("submitReading", attack.reading.as_tuple(), attack.signature)
        calls.append(Call(kind, setup.attacker, setup.addresses.registry, data, gas_readings(1)))
    return calls
