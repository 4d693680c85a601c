"""Fake runs for the report page tests: tests/run_factory.make_run plus what a real run adds
(the scenario's facts, each household's generation and load per slot, and the bills)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from p2p_energy.domain.bills import BillPrices, LocalTrade, MeterFlows, delivered_shares, neighbourhood_bills
from p2p_energy.domain.profiles import EnergyPlan, simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.limits import trade_id
from p2p_energy.output.page import render_page
from p2p_energy.output.report import PAGE_FILE, REPORT_FORMAT, REPORT_VERSION, SUMMARY_FILE
from p2p_energy.records.run_records import OfflineMeterRecord, RunResult, ScenarioFacts, UnderDeliveryRecord
from p2p_energy.run.result import battery_fields, bill_fields, kpi_record
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
        feed_in_tariff=8 * NRG // 100,
        grid_fee_per_kwh=NRG // 100,
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
    return with_bills(dataclasses.replace(run, households=homes, scenario_facts=facts(slots)))


def _local_trades(run: RunResult) -> list[LocalTrade]:
    """make_run's trades with their shares of what their lot delivered: all it sold, 70 % of it (paid
    less than its cost: an under-delivering seller), or nothing (refunded in full)."""
    row = {h.name: i for i, h in enumerate(run.households)}
    lots = defaultdict(list)
    for t in run.trades:
        lots[(t.seller, t.slot)].append(t)
    local = []
    for trades in lots.values():
        sold = sum(t.wh for t in trades)
        if trades[0].outcome == "refunded":
            delivered = 0
        else:
            delivered = sold if sum(t.paid for t in trades) == sum(t.cost for t in trades) else sold * 7 // 10
        for t, share in zip(trades, delivered_shares(delivered, [t.wh for t in trades]), strict=True):
            local.append(LocalTrade(t.slot, row[t.buyer], row[t.seller], t.wh, share, t.paid))
    return local


def with_bills(run: RunResult) -> RunResult:
    """`run` with bills and KPIs, from meter flows made up to fit its trades (each export at least what its
    seller delivered, each import at least what its buyer received) and the checks that they add up."""
    trades, slots = _local_trades(run), len(run.slots)
    weights = [1.0] * slots
    generated = np.array([h.generated_wh_per_slot or spread(h.generated_wh, weights) for h in run.households])
    load = np.array([h.load_wh_per_slot or spread(h.load_wh, weights) for h in run.households])
    local_in, local_out = np.zeros_like(load), np.zeros_like(load)
    for t in trades:
        local_in[t.buyer, t.slot] += t.delivered_wh
        local_out[t.seller, t.slot] += t.delivered_wh
    flows = MeterFlows(
        generated_wh=generated,
        load_wh=load,
        import_wh=np.maximum(np.maximum(load - generated, 0), local_in),
        export_wh=np.maximum(np.maximum(generated - load, 0), local_out),
        battery_losses_wh=np.zeros_like(load),
        slot_hours=0.25,
    )
    f = run.scenario_facts
    prices = BillPrices(30 * NRG // 100, 8 * NRG // 100, NRG // 100)
    if f is not None:
        prices = BillPrices(f.grid_tariff, f.feed_in_tariff, f.grid_fee_per_kwh)
    bills = neighbourhood_bills(flows, trades, prices, feeder_limit_bound_slots=1)
    homes = [
        dataclasses.replace(h, **bill_fields(bill)) for h, bill in zip(run.households, bills.households, strict=True)
    ]
    billed = dataclasses.replace(run, households=homes, kpis=kpi_record(bills))
    billed.checks = {**run.checks, **billed.consistency_checks()}
    return billed


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


def battery_plan(slots: int) -> EnergyPlan:
    """A real plan (domain.profiles) of one household with PV and a home battery, over `slots` 15-minute slots."""
    scenario = parse_scenario(
        {
            "seed": 11,
            "slots": slots,
            "start_hour": 15.0,
            "households": [
                {"name": "home", "pv_kwp": 4.0, "load_kwh_per_day": 24.0, "battery": {"initial_soc": 0.6}},
            ],
        },
        Path("battery.toml"),
    )
    return simulate_energy(scenario)


def with_battery(run: RunResult, plan: EnergyPlan, row: int = 0) -> RunResult:
    """`run` whose household in row `row` has the battery of `plan`'s first household (as run.result records it)."""
    homes = list(run.households)
    homes[row] = dataclasses.replace(homes[row], **battery_fields(plan, 0))
    return dataclasses.replace(run, households=homes)


def with_escrow_ids(run: RunResult) -> RunResult:
    """`run` whose trades carry the escrow's ids: the seller's meter, the chain slot, the index in the lot."""
    meters = {h.name: h.meter_id for h in run.households}
    index: dict[tuple[int, int], int] = {}
    trades = []
    for t in run.trades:
        key = (meters[t.seller], t.chain_slot)
        index[key] = index.get(key, -1) + 1
        trades.append(dataclasses.replace(t, trade_id=trade_id(*key, index[key]), meter_id=key[0]))
    return dataclasses.replace(run, trades=trades)
