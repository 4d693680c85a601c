"""One run of a sweep, as a Dask task: the same path as `p2p-energy simulate`, quietly, into its own folder.

:func:`run_sweep_run` runs on a worker (a process of its own, one task at a
time): it holds the run's report folder (`files.folder_lock`), returns the
row of a run already finished there (same key: same resolved scenario, backend
and code), else parses the scenario, starts its own chain (anvil on a free
port, or qtumd), runs, writes the usual report folder and returns the row. A
run that fails is a row with status "failed" and its one-line error; it never
raises, so the other runs go on.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p2p_energy.chain.backends import backend_kind
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.errors import P2PEnergyError
from p2p_energy.files import folder_lock
from p2p_energy.output.report import SUMMARY_FILE, check_report_folder, finished_report, write_report
from p2p_energy.run.context import Progress, RunFailed
from p2p_energy.run.deployment_record import DEFAULT_DIRECTORY
from p2p_energy.run.resume import RUN_RECORD_FILE
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import TargetOptions
from p2p_energy.solidity.toolchain import find_toolchain
from p2p_energy.sweep.sweep_file import RunSpec

DONE, FAILED, REUSED = "done", "failed", "reused"
#: summary.json's totals and KPIs kept in a row, as they are named there.
TOTALS = ("households", "slots", "trades", "settled_trades", "refunded_trades", "transactions", "gas")
KPIS = (
    "self_sufficiency",
    "self_consumption",
    "local_trade_share",
    "peak_grid_import_kw",
    "battery_losses_kwh",
    "feeder_limit_bound_slots",
)


@dataclass(frozen=True)
class RunRow:
    """What a run gives the sweep's table: its key, axis values, status, error, wall time and figures."""

    key: str
    values: tuple[tuple[str, Any], ...]
    status: str
    error: str
    wall_time_s: float
    figures: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.key,
            **dict(self.values),
            "status": self.status,
            "error": self.error,
            "wall_time_s": round(self.wall_time_s, 3),
            **dict(self.figures),
        }


def run_sweep_run(spec: RunSpec) -> RunRow:
    """Run `spec` (or reuse its finished report); a failure is a row, never an exception (Ctrl-C aside)."""
    started = time.perf_counter()
    try:
        with folder_lock(spec.out, "a sweep run"):
            check_report_folder(spec.out)
            _remove_unfinished_reports(spec.out)
            if finished_report(spec.out) is not None:
                return _row(spec, REUSED, "", time.perf_counter() - started)
            _simulate(spec)
            return _row(spec, DONE, "", time.perf_counter() - started)
    except RunFailed as failed:
        write_report(failed.result, spec.out)
        return _row(spec, FAILED, _one_line(failed), time.perf_counter() - started)
    except Exception as exc:
        return RunRow(spec.key, spec.values, FAILED, _one_line(exc), time.perf_counter() - started)


def _remove_unfinished_reports(out: Path) -> None:
    """Reports of this run folder left half built beside it (`.KEY.writing-*`) by a worker killed mid-write."""
    for building in out.parent.glob(f".{out.name}.writing-*"):
        shutil.rmtree(building, ignore_errors=True)


def _simulate(spec: RunSpec) -> None:
    toolchain = find_toolchain()
    scenario = parse_scenario(json.loads(json.dumps(spec.scenario)), spec.source)
    target = TargetOptions(
        rpc_url=None,
        network=None,
        profile=scenario.chain.profile if backend_kind(spec.backend).takes_profile else None,
        evm_version=scenario.chain.evm,
        private_key=None,
        accounts=2,
        simulation=True,
        backend=spec.backend,
    )
    spec.out.mkdir(parents=True, exist_ok=True)
    options = SimulateOptions(
        target=target, deployments=toolchain.root / DEFAULT_DIRECTORY, run_record=spec.out / RUN_RECORD_FILE
    )
    result = simulate_scenario(toolchain, scenario, options, Progress(), lambda _: None)
    write_report(result, spec.out)


def _row(spec: RunSpec, status: str, error: str, wall_time_s: float) -> RunRow:
    summary = json.loads((spec.out / SUMMARY_FILE).read_text(encoding="utf-8"))
    return RunRow(spec.key, spec.values, status, error, wall_time_s, tuple(figures_of(summary).items()))


def figures_of(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's totals, KPIs, gas and fee per kWh and its own run time, from its summary.json."""
    totals, kpis, fees = summary["totals"], summary.get("kpis") or {}, summary.get("fees") or {}
    per_kwh = fees.get("per_kwh_traded")
    return {
        **{name: totals[name] for name in TOTALS},
        "traded_kwh": totals["traded_wh"] / 1000,
        "delivered_kwh": totals["delivered_wh"] / 1000,
        "paid_nrg": float(totals["tokens_paid_nrg"]),
        "gas_per_settled_trade": totals["all_gas_per_settled_trade"],
        "gas_per_kwh": round(totals["gas"] / (totals["traded_wh"] / 1000)) if totals["traded_wh"] else None,
        "fee_per_kwh": float(per_kwh) if per_kwh is not None else None,
        "fee_currency": fees.get("currency", ""),
        **{name: kpis.get(name) for name in KPIS},
        "bill_savings_nrg": float(kpis["bill_savings_vs_grid_nrg"]) if kpis else None,
        "checks_passed": totals["checks_passed"],
        "run_time_s": summary["wall_time_s"],
    }


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return first if isinstance(error, P2PEnergyError) else f"{type(error).__name__}: {first}"
