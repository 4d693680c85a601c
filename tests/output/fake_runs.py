"""Fake runs for the report page tests: tests/run_factory.make_run plus what a real run adds
(the scenario's facts and each household's generation and load per slot)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from p2p_energy.output.page import render_page
from p2p_energy.output.records import OfflineMeterRecord, RunResult, ScenarioFacts, UnderDeliveryRecord
from p2p_energy.output.report import PAGE_FILE, REPORT_FORMAT, REPORT_VERSION, SUMMARY_FILE
from tests.run_factory import NRG, make_run


def spread(total: int, weights: list[float]) -> tuple[int, ...]:
    """`total` Wh split over the slots in proportion to `weights`, in whole Wh adding up exactly."""
    if total == 0 or not any(weights):
        return (0,) * len(weights) if total == 0 else (total, *(0,) * (len(weights) - 1))
    scale = total / sum(weights)
    parts = [math.floor(w * scale) for w in weights]
    parts[max(range(len(parts)), key=lambda i: weights[i])] += total - sum(parts)
    return tuple(parts)


def facts(slots: int) -> ScenarioFacts:
    """Faults like those of scenarios/faults.toml, placed where make_run's own faults are."""
    return ScenarioFacts(
        description="a fake street for the report tests",
        market_mode="uniform",
        slot_length_s=900,
        grid_tariff=30 * NRG // 100,
        ask_min=18 * NRG // 100,
        ask_max=32 * NRG // 100,
        funding=1_000 * NRG,
        cloudy_slots=(slots // 3,),
        cloud_factor=0.2,
        offline_meters=(OfflineMeterRecord("house-01", slots // 2, slots - 1),),
        under_delivery=(UnderDeliveryRecord("house-03", 0.7),),
    )


def full_run(households: int = 8, slots: int = 12, seed: int = 7) -> RunResult:
    """make_run with scenario facts and per-slot household series, as a real run writes them."""
    run = make_run(households=households, slots=slots, seed=seed)
    sun = [max(0.0, math.sin(math.pi * (s + 0.5) / slots)) for s in range(slots)]
    homes = [
        dataclasses.replace(
            h,
            generated_wh_per_slot=spread(h.generated_wh, sun),
            load_wh_per_slot=spread(h.load_wh, [1.0 + (s % 4) / 4 for s in range(slots)]),
        )
        for h in run.households
    ]
    return dataclasses.replace(run, households=homes, scenario_facts=facts(slots))


def write_summary(run: RunResult, folder: Path) -> Path:
    """A report folder with only its summary.json (enough for `report` and `compare`; no plots drawn)."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"format": REPORT_FORMAT, "format_version": REPORT_VERSION, **run.to_json()}
    (folder / SUMMARY_FILE).write_text(json.dumps(summary))
    return folder


def write_page_only(run: RunResult, folder: Path) -> Path:
    """Only the report.html of `run` (for the browser tests that need no other file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PAGE_FILE
    path.write_text(render_page(run))
    return path
