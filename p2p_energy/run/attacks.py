"""Readings an attacker puts into settlements during a simulation; every one must be rejected.

The attacker holds no meter key, but anyone may call `settleLots`, and the
lots' trades are public (Traded events). So it settles an open lot itself,
before the operator does, with a reading that would pay the seller more
than the meter proved or settle it on a reading that is not the lot's:

- a forged reading: the lot's own (meter, slot) with the export inflated,
  signed with the attacker's own key; the registry refuses it
  (InvalidMeterSignature);
- replays of genuine signatures where they do not belong: the meter's
  reading of another slot or another meter's reading of this slot (the
  escrow refuses a reading of another lot, ReadingOfOtherLot), a genuine
  signature moved to this slot, or the lot's reading signed for another
  chain id or another registry deployment (InvalidMeterSignature).

Each attack is one transaction naming one open lot whose settlement window
is open, so that it reaches the reading's check (a lot that is not open
would be skipped, not refused).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from eth_utils.crypto import keccak

from p2p_energy.chain.backend import Call
from p2p_energy.domain.eip712 import Signature
from p2p_energy.domain.keys import ATTACKER_LABEL, seed_key
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.books import Books
from p2p_energy.run.calls import gas_lots, lot_of
from p2p_energy.run.encoding import LotProof, settle_lots
from p2p_energy.run.ledger import Lot
from p2p_energy.run.state import RunSetup, sign_typed

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


def attack_reading(setup: RunSetup, kind: str, lot: Lot, other: int) -> tuple[Reading, Signature]:
    """The reading (and its signature) attack `kind` gives for `lot`; `other` is another household's row."""
    meters, domain = setup.households, setup.readings
    victim, chain_slot = meters[lot.seller], setup.c0 + lot.slot
    own = Reading(victim.meter_id, chain_slot, _export(setup, lot.seller, lot.slot))
    earlier = Reading(victim.meter_id, chain_slot - 1, _export(setup, lot.seller, lot.slot - 1))
    key = victim.meter_key.private_key
    if kind == FORGED:
        inflated = Reading(own.meter_id, own.slot, own.exported_wh + INFLATED_WH)
        return inflated, sign_typed(attacker_key(setup.scenario.seed).private_key, domain, inflated.struct_hash())
    if kind == REPLAY_KINDS[0]:
        return earlier, sign_typed(key, domain, earlier.struct_hash())
    if kind == REPLAY_KINDS[1]:
        moved = Reading(own.meter_id, own.slot, earlier.exported_wh + INFLATED_WH)
        return moved, sign_typed(key, domain, earlier.struct_hash())
    if kind == REPLAY_KINDS[2]:
        return setup.reading(other, lot.slot)
    if kind == REPLAY_KINDS[3]:
        other_chain = reading_domain(domain.chain_id + 1, domain.contract)
        return own, sign_typed(key, other_chain, own.struct_hash())
    other_registry = reading_domain(domain.chain_id, "0x" + keccak(bytes.fromhex(domain.contract[2:]))[:20].hex())
    return own, sign_typed(key, other_registry, own.struct_hash())


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
    """Open lots whose settlement window is open at `at`, the latest slot's first."""
    lots = []
    for lot in books.ledger.open_lots():
        ends = setup.slot_start(setup.c0 + lot.slot + 1)
        if ends <= at < ends + setup.timing.grace_period:
            lots.append(lot)
    return sorted(lots, key=lambda lot: (-lot.slot, lot.meter_id))


def attack_calls(
    setup: RunSetup, books: Books, kinds: Sequence[str], first: int, done: int, at: int
) -> list[Call] | None:
    """The attacker's settlements, one transaction each, to go before the operator's (at chain time `at`).

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
    selector = setup.encode("settleLots", [])[:4]
    calls = []
    for number, kind in enumerate(kinds):
        if first + number < done:
            continue
        lot = targets[number % len(targets)]
        other = (lot.seller + 1) % len(households)
        proof = LotProof(lot_of(setup, books, lot), *attack_reading(setup, kind, lot, other))
        data = settle_lots(selector, [proof])
        calls.append(Call(kind, setup.attacker, setup.addresses.escrow, data, gas_lots(1, len(lot.trades))))
    return calls
