"""The `[faults]` table of a scenario: cloudy slots, offline meters, sellers that under-deliver, an attacker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from p2p_energy.domain.scenario_fields import REQUIRED, Limits, Table, show, type_name

if TYPE_CHECKING:
    from p2p_energy.domain.scenario import HouseholdSpec

_FAULT_KEYS = ("cloudy_slots", "cloud_factor", "offline", "under_delivery", "attacker")


@dataclass(frozen=True)
class OfflineMeter:
    """A meter that sends no readings in slots first_slot..last_slot (inclusive)."""

    household: str
    first_slot: int
    last_slot: int

    def covers(self, slot: int) -> bool:
        return self.first_slot <= slot <= self.last_slot


@dataclass(frozen=True)
class UnderDelivery:
    """A seller whose actual export is at most `factor` x its forecast export."""

    household: str
    factor: float


@dataclass(frozen=True)
class AttackSpec:
    """Readings an attacker submits: forged (signed with a wrong key) and replayed (valid, re-sent elsewhere)."""

    forged_readings: int = 0
    replayed_readings: int = 0


@dataclass(frozen=True)
class FaultSpec:
    cloudy_slots: tuple[int, ...] = ()
    cloud_factor: float = 0.2
    offline: tuple[OfflineMeter, ...] = ()
    under_delivery: tuple[UnderDelivery, ...] = ()
    attacker: AttackSpec = AttackSpec()

    def is_offline(self, household: str, slot: int) -> bool:
        return any(o.household == household and o.covers(slot) for o in self.offline)


def _slot_list(faults: Table, key: str, slots: int) -> tuple[int, ...]:
    allowed = f"an array of slot numbers from 0 to {slots - 1}, each at most once"
    value = faults.data.get(key, [])
    if not isinstance(value, list):
        faults.fail(key, f"{show(value)} is a {type_name(value)}, not an array", allowed)
    seen: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            faults.fail(key, f"{show(item)} is a {type_name(item)}, not a slot number", allowed)
        if not 0 <= item < slots:
            faults.fail(key, f"slot {item} does not exist (the scenario has {slots} slots)", allowed)
        if item in seen:
            faults.fail(key, f"slot {item} is listed twice", allowed)
        seen.append(item)
    return tuple(sorted(seen))


def _household_ref(table: Table, households: Sequence[HouseholdSpec], seller: bool = False) -> str:
    names = [h.name for h in households if h.has_pv or not seller]
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    allowed = f"the name of a household{' with PV' if seller else ''} ({shown})"
    name = table._get("household", REQUIRED, allowed)
    if not isinstance(name, str):
        table.fail("household", f"{show(name)} is a {type_name(name)}, not a string", allowed)
    if not any(h.name == name for h in households):
        table.fail("household", f"no household is named {show(name)}", allowed)
    if name not in names:
        table.fail("household", f"{show(name)} has no PV, so it never sells", allowed)
    return name


def _slot_range(table: Table, slots: int) -> tuple[int, int]:
    allowed = f"a slot number or a range [first, last] of slot numbers from 0 to {slots - 1}"
    value = table._get("slots", REQUIRED, allowed)
    items = value if isinstance(value, list) else [value]
    if len(items) not in (1, 2):
        table.fail("slots", f"{show(value)} has {len(items)} items, not 2", allowed)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            table.fail("slots", f"{show(item)} is a {type_name(item)}, not a slot number", allowed)
        if not 0 <= item < slots:
            table.fail("slots", f"slot {item} does not exist (the scenario has {slots} slots)", allowed)
    first, last = items[0], items[-1]
    if first > last:
        table.fail("slots", f"{show(value)} is not a range (first > last)", allowed)
    return first, last


def parse_faults(faults: Table, households: Sequence[HouseholdSpec], slots: int) -> FaultSpec:
    """The faults of a scenario with `households` and `slots` slots, checked."""
    faults.check_keys(_FAULT_KEYS)
    offline: list[OfflineMeter] = []
    for table in faults.tables("offline"):
        table.check_keys(("household", "slots"))
        offline.append(OfflineMeter(_household_ref(table, households), *_slot_range(table, slots)))
    under: list[UnderDelivery] = []
    for table in faults.tables("under_delivery"):
        table.check_keys(("household", "factor"))
        name = _household_ref(table, households, seller=True)
        if any(u.household == name for u in under):
            table.fail("household", f"{show(name)} is listed twice", "each household at most once")
        factor = table.number("factor", Limits(low=0, high=1, high_open=True, unit="share of forecast export"))
        under.append(UnderDelivery(name, factor))
    attacker = faults.table("attacker")
    attacker.check_keys(("forged_readings", "replayed_readings"))
    counts = Limits(low=0, high=10_000, unit="readings")
    return FaultSpec(
        cloudy_slots=_slot_list(faults, "cloudy_slots", slots),
        cloud_factor=faults.number(
            "cloud_factor", Limits(low=0, high=1, high_open=True, unit="share of PV left in cloudy slots"), 0.2
        ),
        offline=tuple(offline),
        under_delivery=tuple(under),
        attacker=AttackSpec(
            forged_readings=attacker.integer("forged_readings", counts, 0),
            replayed_readings=attacker.integer("replayed_readings", counts, 0),
        ),
    )
