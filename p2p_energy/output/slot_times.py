"""The delivery slots' start times in minutes, for the pages' slot axis (report.html and compare.html)."""

from __future__ import annotations

from collections.abc import Sequence

from p2p_energy.records.run_records import RunResult, SlotRecord


def slot_minutes(result: RunResult) -> int:
    """Length of a slot in minutes: the scenario's, else the step between the first two start times, else 15."""
    if result.scenario_facts is not None and result.scenario_facts.slot_length_s >= 60:
        return result.scenario_facts.slot_length_s // 60
    starts = slot_starts(result.slots)
    return starts[1] - starts[0] if len(starts) > 1 and starts[1] > starts[0] else 15


def slot_starts(slots: Sequence[SlotRecord]) -> list[int]:
    """Start of each slot in minutes from midnight of the first day (a day is added where times wrap)."""
    starts: list[int] = []
    for s in slots:
        hours, minutes = (int(part) for part in s.start_time.split(":"))
        minute = hours * 60 + minutes
        while starts and minute <= starts[-1]:
            minute += 1440
        starts.append(minute)
    return starts
