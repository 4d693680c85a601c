"""Runs side by side: `p2p-energy compare DIR DIR...` (e.g. merit order vs uniform price, anvil vs Qtum).

One terminal table and one self-contained page (compare.html) from the report folders' summary.json
files; like the report, it never needs a chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from p2p_energy.errors import UsageError
from p2p_energy.output.page import count, document, esc, kwh, nrg, slot_data
from p2p_energy.output.plots import PER_SETTLED_TRADE_LABELS, per_settled_trade
from p2p_energy.output.report import ReportError, load_report, share, write_file_atomic
from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.grid_records import GridRecord
from p2p_energy.records.run_records import SETTLE_OPERATION, RunResult, RunTotals

COMPARE_FILE = "compare.html"


@dataclass(frozen=True)
class ComparedRun:
    """One report folder in a comparison, with the short label its column gets."""

    label: str
    folder: Path
    result: RunResult

    @property
    def totals(self) -> RunTotals:
        return self.result.totals()


@dataclass(frozen=True)
class Metric:
    """One row of the comparison: its name, the figure of a run as shown, and as a number (or None)."""

    name: str
    shown: Callable[[RunResult, RunTotals], str]
    value: Callable[[RunResult, RunTotals], int | float | None] = lambda r, t: None


def _share(part: int, whole: int) -> str:
    return f" ({part / whole:.1%})" if whole else ""


def _per_second(r: RunResult, t: RunTotals) -> float | None:
    return round(t.transactions / r.wall_time_s, 1) if r.wall_time_s else None


#: Short names of the four gas-per-settled-trade figures (plots.PER_SETTLED_TRADE_LABELS), for the table.
_PER_TRADE_NAMES = (
    f"{SETTLE_OPERATION} gas / trade",
    "+ readings gas / trade",
    "trading gas / trade",
    "all gas / trade",
)


def _per_settled_metric(index: int) -> Metric:
    def value(r: RunResult, t: RunTotals) -> int | None:
        return per_settled_trade(t)[index][1]

    return Metric(_PER_TRADE_NAMES[index], lambda r, t: count(value(r, t)), value)


def _kpi_metric(
    name: str, shown: Callable[[KpiRecord], str], value: Callable[[KpiRecord], int | float | None]
) -> Metric:
    """A row of the neighbourhood's KPIs: "-" for a run whose report holds none."""
    return Metric(
        name,
        lambda r, t: "-" if r.kpis is None else shown(r.kpis),
        lambda r, t: None if r.kpis is None else value(r.kpis),
    )


KPI_METRICS = (
    _kpi_metric("self-sufficiency", lambda k: share(k.self_sufficiency), lambda k: k.self_sufficiency),
    _kpi_metric("self-consumption", lambda k: share(k.self_consumption), lambda k: k.self_consumption),
    _kpi_metric("local trade share", lambda k: share(k.local_trade_share), lambda k: k.local_trade_share),
    _kpi_metric("peak grid import kW", lambda k: f"{k.peak_grid_import_kw:,.3f}", lambda k: k.peak_grid_import_kw),
    _kpi_metric("bills grid-only NRG", lambda k: nrg(k.bills_grid_only), lambda k: k.bills_grid_only),
    _kpi_metric("bills with market NRG", lambda k: nrg(k.bills_with_market), lambda k: k.bills_with_market),
    _kpi_metric("saving vs grid NRG", lambda k: nrg(k.bill_savings_vs_grid), lambda k: k.bill_savings_vs_grid),
    _kpi_metric("grid fees NRG", lambda k: nrg(k.grid_fees), lambda k: k.grid_fees),
)


def _grid_metric(name: str, value: Callable[[GridRecord], int | float], shape: str = "{:,}") -> Metric:
    """A row of the power flows on the network, with the market: "-" for a run without a network."""
    return Metric(
        f"network: {name}",
        lambda r, t: "-" if r.grid is None else shape.format(value(r.grid)),
        lambda r, t: None if r.grid is None else value(r.grid),
    )


GRID_METRICS = (
    _grid_metric("slots outside the voltage band", lambda g: g.with_market.voltage_violation_slots),
    _grid_metric("slots over 100 %", lambda g: g.with_market.overload_slots),
    _grid_metric("losses kWh", lambda g: g.with_market.losses_kwh, "{:,.2f}"),
    _grid_metric("slots the market caused a violation in", lambda g: g.caused_violation_slots),
    _grid_metric("storage trades refused", lambda g: g.stopped_trades),
)

METRICS = (
    Metric("scenario", lambda r, t: f"{r.scenario} (seed {r.seed})"),
    Metric("market", lambda r, t: r.scenario_facts.market_mode if r.scenario_facts else "?"),
    Metric("chain id, EVM", lambda r, t: f"{r.chain_id}, {r.evm_version or '?'}"),
    Metric("households / slots", lambda r, t: f"{t.households:,} / {t.slots:,}", lambda r, t: t.households),
    Metric("trades", lambda r, t: f"{t.trades:,} ({t.refunded_trades:,} refunded)", lambda r, t: t.trades),
    Metric("traded kWh", lambda r, t: kwh(t.traded_wh), lambda r, t: t.traded_wh),
    Metric(
        "delivered kWh",
        lambda r, t: kwh(t.delivered_wh) + _share(t.delivered_wh, t.traded_wh),
        lambda r, t: t.delivered_wh,
    ),
    Metric("mean NRG/kWh", lambda r, t: nrg(t.mean_price_per_kwh), lambda r, t: t.mean_price_per_kwh),
    Metric("paid NRG", lambda r, t: nrg(t.tokens_paid), lambda r, t: t.tokens_paid),
    Metric("refunded NRG", lambda r, t: nrg(t.tokens_refunded), lambda r, t: t.tokens_refunded),
    *KPI_METRICS,
    *GRID_METRICS,
    Metric("transactions", lambda r, t: count(t.transactions), lambda r, t: t.transactions),
    Metric("gas", lambda r, t: count(t.gas), lambda r, t: t.gas),
    *(_per_settled_metric(i) for i in range(len(PER_SETTLED_TRADE_LABELS))),
    Metric(
        "attacks rejected",
        lambda r, t: f"{t.attacks_rejected:,} of {t.attacks_submitted:,}",
        lambda r, t: t.attacks_rejected,
    ),
    Metric("checks passed", lambda r, t: f"{t.checks_passed} of {len(r.checks)}", lambda r, t: t.checks_passed),
    Metric("wall time s", lambda r, t: f"{r.wall_time_s:,.2f}", lambda r, t: r.wall_time_s),
    Metric("tx per second", lambda r, t: f"{_per_second(r, t) or 0:,.1f}", _per_second),
)


def load_runs(folders: Sequence[Path]) -> list[ComparedRun]:
    """The report folders to compare (at least two, each once); a folder that is no report is a UsageError."""
    if len(folders) < 2:
        raise UsageError(f"compare needs two or more report folders, got {len(folders)}: name the runs to compare")
    seen: dict[Path, Path] = {}
    for folder in folders:
        resolved = Path(folder).resolve()
        if resolved in seen:
            raise UsageError(f"{folder} is named twice: compare each report folder once")
        seen[resolved] = Path(folder)
    results = [load_report(Path(folder)) for folder in folders]
    return [
        ComparedRun(label, Path(folder), result)
        for label, folder, result in zip(_labels([Path(f) for f in folders]), folders, results, strict=True)
    ]


def _labels(folders: Sequence[Path]) -> list[str]:
    """Each folder's name, or its last two parts where names repeat."""
    names = [f.resolve().name or str(f) for f in folders]
    if len(set(names)) == len(names):
        return names
    return [f"{f.resolve().parent.name}/{f.resolve().name}" for f in folders]


def render_comparison(runs: Sequence[ComparedRun], console: Console) -> None:
    table = Table(title=f"{len(runs)} runs side by side")
    table.add_column("", no_wrap=True)
    for run in runs:
        table.add_column(escape(run.label))
    for metric in METRICS:
        table.add_row(escape(metric.name), *(escape(metric.shown(run.result, run.totals)) for run in runs))
    console.print(table)


def comparison_figures(runs: Sequence[ComparedRun], page: Path) -> dict[str, Any]:
    """`compare --json`: each run's row of the table as `value` (a number, or None where the row has none)
    and `shown` (the table's text), and its totals."""
    return {
        "runs": [
            {
                "label": run.label,
                "folder": str(run.folder),
                "figures": {
                    m.name: {"value": m.value(run.result, run.totals), "shown": m.shown(run.result, run.totals)}
                    for m in METRICS
                },
                "totals": run.totals.to_json(),
            }
            for run in runs
        ],
        "page": str(page),
    }


def write_comparison(runs: Sequence[ComparedRun], path: Path) -> Path:
    """Write the comparison page to `path` (a file; its folder is created if missing)."""
    path = Path(path)
    if path.is_dir():
        path = path / COMPARE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {path.parent}: {exc.strerror}; choose a writable place") from exc
    try:
        write_file_atomic(path, render_compare_page(runs).encode())
    except ReportError as exc:  # a place the user named that cannot take the page: theirs to fix
        raise UsageError(f"{exc}; choose a writable place with --out") from None
    return path


def compare_data(runs: Sequence[ComparedRun]) -> dict[str, Any]:
    return {
        "runs": [
            {
                "label": run.label,
                "slots": slot_data(run.result),
                "grid_tariff": run.result.scenario_facts.grid_tariff if run.result.scenario_facts else None,
                "gas": dict(run.totals.gas_per_operation),
                "tx": dict(run.totals.transactions_per_operation),
                "per_settled": [[label, value] for label, value in per_settled_trade(run.totals)],
            }
            for run in runs
        ]
    }


def render_compare_page(runs: Sequence[ComparedRun]) -> str:
    head = "".join(f"<th>{esc(run.label)}</th>" for run in runs)
    rows = []
    for metric in METRICS:
        cells = "".join(
            f'<td data-run="{i}" data-value="{esc(_raw(metric.value(run.result, run.totals)))}">'
            f"{esc(metric.shown(run.result, run.totals))}</td>"
            for i, run in enumerate(runs)
        )
        rows.append(f'<tr data-metric="{esc(metric.name)}"><th>{esc(metric.name)}</th>{cells}</tr>')
    folders = "".join(f"<li><b>{esc(run.label)}</b>: <code>{esc(run.folder)}</code></li>" for run in runs)
    charts = "".join(
        f'<section id="{key}"><h2>{esc(title)}</h2><div class="chart" id="chart-{key}"></div></section>'
        for key, title in (
            ("traded", "Energy traded per slot"),
            ("price", "Mean price per slot (dotted: each run's grid tariff, where it fits the scale)"),
            ("gas-trade", "Gas per settled trade"),
            ("gas-ops", "Gas per transaction, by operation"),
        )
    )
    body = (
        '<header><div class="wrap"><h1>Comparison <small>'
        + esc(" vs ".join(run.label for run in runs))
        + "</small></h1></div></header>"
        '<main class="wrap"><section id="runs"><h2>The runs</h2><ul>'
        + folders
        + '</ul><div class="scroll"><table id="compare-table"><thead><tr><th></th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div></section>"
        + charts
        + "</main>"
    )
    return document("Comparison — p2p-energy", body, compare_data(runs), ["compare.js"])


def _raw(value: int | float | None) -> str:
    return "" if value is None else str(value)
