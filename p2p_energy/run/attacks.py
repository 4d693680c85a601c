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

from dataclasses import dataclass

from eth_utils.crypto import keccak

from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain

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
    return MeterKey(keccak(text=f"{seed}:attacker"))


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
