"""Each run of a comparison against the first: the difference and ratio of a row, and what makes runs unlike.

Runs of different sizes (households, slots, time of day) are not comparable in their totals; `unlike` names
how they differ, in one line the table and the page show above the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from p2p_energy.output.slot_times import slot_minutes, slot_starts
from p2p_energy.records.run_records import RunResult

#: How a row's figure is written, and so its difference: a count, Wh shown as kWh, NRG base units, a share
#: (0..1, its difference in percentage points), or a plain decimal number.
Kind = Literal["count", "wh", "nrg", "share", "decimal"]

#: The sign written before a ratio (as in 0.750 times the first run), and in its column's head.
TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class Versus:
    """A run's figure against the first run's: their difference and ratio (None where either is missing,
    and the ratio where the first run's figure is 0)."""

    difference: int | float | None
    ratio: float | None

    @staticmethod
    def of(value: int | float | None, first: int | float | None) -> Versus:
        if value is None or first is None:
            return Versus(None, None)
        return Versus(value - first, value / first if first else None)

    def shown_difference(self, kind: Kind) -> str:
        d = self.difference
        if d is None:
            return "-"
        if kind == "wh":
            return f"{d / 1000:+,.2f}"
        if kind == "nrg":
            return f"{d / 10**8:+,.4f}"
        if kind == "share":
            return f"{d * 100:+.1f} pt"
        if kind == "decimal":
            return f"{d:+,.2f}"
        return f"{d:+,.0f}"

    def shown_ratio(self) -> str:
        return "-" if self.ratio is None else f"{TIMES}{self.ratio:,.3f}"


@dataclass(frozen=True)
class RunShape:
    """What a run's totals scale with: its households, its slots and the time of day they span."""

    households: int
    slots: int
    window: str

    @staticmethod
    def of(result: RunResult) -> RunShape:
        starts = slot_starts(result.slots)
        if not starts:
            return RunShape(len(result.households), 0, "-")
        end = starts[-1] + slot_minutes(result)
        days = (end - 1) // 1440  # a whole day from 00:00 ends at 24:00 of that day, not 00:00 of the next
        later = f" (+{days} d)" if days else ""
        return RunShape(
            len(result.households), len(starts), f"{_hhmm(starts[0])}\N{EN DASH}{_hhmm(end - 1440 * days)}{later}"
        )


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def unlike(labels: Sequence[str], results: Sequence[RunResult]) -> str | None:
    """One line naming how the runs differ in households, slots or time window (None when they do not)."""
    shapes = [RunShape.of(r) for r in results]
    parts = []
    for name, field in (("households", "households"), ("slots", "slots"), ("time window", "window")):
        values = [getattr(s, field) for s in shapes]
        if len(set(values)) > 1:
            each = ", ".join(
                f"{label} {value:,}" if isinstance(value, int) else f"{label} {value}"
                for label, value in zip(labels, values, strict=True)
            )
            parts.append(f"{name} ({each})")
    if not parts:
        return None
    return (
        "these runs differ in " + "; ".join(parts) + ": their totals do not compare one to one, "
        "see the rows per household and per kWh"
    )
