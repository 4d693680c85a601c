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
from p2p_energy.output.compare_versus import TIMES, Kind, Versus, unlike
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
    #: How its difference to the first run is written (the default: a count).
    kind: Kind = "count"


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
    name: str,
    shown: Callable[[KpiRecord], str],
    value: Callable[[KpiRecord], int | float | None],
    kind: Kind,
) -> Metric:
    """A row of the neighbourhood's KPIs: "-" for a run whose report holds none."""
    return Metric(
        name,
        lambda r, t: "-" if r.kpis is None else shown(r.kpis),
        lambda r, t: None if r.kpis is None else value(r.kpis),
        kind,
    )


def _nrg_kpi(name: str, value: Callable[[KpiRecord], int]) -> Metric:
    return _kpi_metric(name, lambda k: nrg(value(k)), value, "nrg")


def _share_kpi(name: str, value: Callable[[KpiRecord], float | None]) -> Metric:
    return _kpi_metric(name, lambda k: share(value(k)), value, "share")


KPI_METRICS = (
    _share_kpi("self-sufficiency", lambda k: k.self_sufficiency),
    _share_kpi("self-consumption", lambda k: k.self_consumption),
    _share_kpi("local trade share", lambda k: k.local_trade_share),
    _kpi_metric(
        "peak grid import kW", lambda k: f"{k.peak_grid_import_kw:,.3f}", lambda k: k.peak_grid_import_kw, "decimal"
    ),
    _nrg_kpi("bills grid-only NRG", lambda k: k.bills_grid_only),
    _nrg_kpi("bills with market NRG", lambda k: k.bills_with_market),
    _nrg_kpi("saving vs grid NRG", lambda k: k.bill_savings_vs_grid),
    _nrg_kpi("grid fees NRG", lambda k: k.grid_fees),
)


def _grid_metric(name: str, value: Callable[[GridRecord], int | float], shape: str = "{:,}") -> Metric:
    """A row of the power flows on the network, with the market: "-" for a run without a network."""
    return Metric(
        f"network: {name}",
        lambda r, t: "-" if r.grid is None else shape.format(value(r.grid)),
        lambda r, t: None if r.grid is None else value(r.grid),
        "count" if shape == "{:,}" else "decimal",
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
    Metric("traded kWh", lambda r, t: kwh(t.traded_wh), lambda r, t: t.traded_wh, "wh"),
    Metric(
        "delivered kWh",
        lambda r, t: kwh(t.delivered_wh) + _share(t.delivered_wh, t.traded_wh),
        lambda r, t: t.delivered_wh,
        "wh",
    ),
    Metric("mean NRG/kWh", lambda r, t: nrg(t.mean_price_per_kwh), lambda r, t: t.mean_price_per_kwh, "nrg"),
    Metric("paid NRG", lambda r, t: nrg(t.tokens_paid), lambda r, t: t.tokens_paid, "nrg"),
    Metric("refunded NRG", lambda r, t: nrg(t.tokens_refunded), lambda r, t: t.tokens_refunded, "nrg"),
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
    Metric("wall time s", lambda r, t: f"{r.wall_time_s:,.2f}", lambda r, t: r.wall_time_s, "decimal"),
    Metric("tx per second", lambda r, t: f"{_per_second(r, t) or 0:,.1f}", _per_second, "decimal"),
)


def _per(value: int | None, whole: int, scale: int = 1) -> float | None:
    return None if value is None or not whole else value * scale / whole


def _per_household(name: str, value: Callable[[RunResult, RunTotals], int | None], kind: Kind) -> Metric:
    def each(r: RunResult, t: RunTotals) -> float | None:
        return _per(value(r, t), t.households)

    def shown(r: RunResult, t: RunTotals) -> str:
        v = each(r, t)
        if v is None:
            return "-"
        return f"{v / 1000:,.3f}" if kind == "wh" else nrg(round(v)) if kind == "nrg" else f"{v:,.1f}"

    return Metric(f"{name} / household", shown, each, kind)


def _gas_per_kwh(r: RunResult, t: RunTotals) -> float | None:
    return _per(t.gas, t.traded_wh, 1000)


#: Rows added where the runs differ in size (compare_versus.unlike): figures per household and per kWh.
SCALED_METRICS = (
    _per_household("traded kWh", lambda r, t: t.traded_wh, "wh"),
    _per_household("bills with market NRG", lambda r, t: None if r.kpis is None else r.kpis.bills_with_market, "nrg"),
    _per_household("saving vs grid NRG", lambda r, t: None if r.kpis is None else r.kpis.bill_savings_vs_grid, "nrg"),
    _per_household("transactions", lambda r, t: t.transactions, "decimal"),
    Metric("gas / kWh traded", lambda r, t: count(_rounded(_gas_per_kwh(r, t))), _gas_per_kwh),
)


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


@dataclass(frozen=True)
class Comparison:
    """The runs, the rows they are compared on, and the line that says how they differ in size (or None)."""

    runs: Sequence[ComparedRun]
    metrics: tuple[Metric, ...]
    warning: str | None

    @staticmethod
    def of(runs: Sequence[ComparedRun]) -> Comparison:
        warning = unlike([r.label for r in runs], [r.result for r in runs])
        return Comparison(runs, METRICS + SCALED_METRICS if warning else METRICS, warning)

    def figure(self, metric: Metric, index: int) -> dict[str, Any]:
        """A run's row: its value and text, and (after the first run) its difference and ratio to the first."""
        run, first = self.runs[index], self.runs[0]
        value = metric.value(run.result, run.totals)
        figure: dict[str, Any] = {"value": value, "shown": metric.shown(run.result, run.totals)}
        if index:
            versus = Versus.of(value, metric.value(first.result, first.totals))
            figure |= {
                "difference": versus.difference,
                "ratio": versus.ratio,
                "difference_shown": versus.shown_difference(metric.kind),
                "ratio_shown": versus.shown_ratio(),
            }
        return figure


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


def _versus_headers(runs: Sequence[ComparedRun]) -> list[str]:
    """The page's columns: each run's, and after each later run's, its difference and ratio to the first."""
    heads = [runs[0].label]
    for run in runs[1:]:
        heads += [run.label, f"Δ {run.label}", f"{TIMES} {run.label}"]
    return heads


def render_comparison(runs: Sequence[ComparedRun], console: Console) -> None:
    """The terminal's table: a later run's difference and ratio share one column (one cell holds both), so
    that two runs fit 80 columns; long row names wrap."""
    comparison = Comparison.of(runs)
    table = Table(title=f"{len(runs)} runs side by side (Δ {TIMES}: against {runs[0].label})", pad_edge=False)
    table.add_column("", min_width=21, max_width=26)
    table.add_column(escape(runs[0].label))
    for run in runs[1:]:
        table.add_column(escape(run.label))
        table.add_column(escape(f"Δ {TIMES} {run.label}"))
    for metric in comparison.metrics:
        cells = []
        for index in range(len(runs)):
            figure = comparison.figure(metric, index)
            cells.append(figure["shown"])
            if index:
                cells.append(
                    "-" if figure["difference"] is None else f"{figure['difference_shown']} {figure['ratio_shown']}"
                )
        table.add_row(escape(metric.name), *(escape(cell) for cell in cells))
    if comparison.warning:
        console.print(f"warning: {comparison.warning}", markup=False, highlight=False, soft_wrap=True)
    console.print(table)


def comparison_figures(runs: Sequence[ComparedRun], page: Path) -> dict[str, Any]:
    """`compare --json`: each run's row of the table as `value` (a number, or None where the row has none)
    and `shown` (the table's text), after the first run also its `difference` and `ratio` to the first (and
    as shown), and its totals; `warning` says how the runs differ in size (or is None)."""
    comparison = Comparison.of(runs)
    return {
        "versus": runs[0].label,
        "warning": comparison.warning,
        "runs": [
            {
                "label": run.label,
                "folder": str(run.folder),
                "figures": {m.name: comparison.figure(m, index) for m in comparison.metrics},
                "totals": run.totals.to_json(),
            }
            for index, run in enumerate(runs)
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


def _kpi_data(kpis: KpiRecord | None) -> dict[str, Any] | None:
    if kpis is None:
        return None
    return {
        "self_sufficiency": kpis.self_sufficiency,
        "self_consumption": kpis.self_consumption,
        "local_trade_share": kpis.local_trade_share,
        "bills_grid_only": kpis.bills_grid_only,
        "bills_with_market": kpis.bills_with_market,
        "saving": kpis.bill_savings_vs_grid,
        "grid_fees": kpis.grid_fees,
    }


def compare_data(runs: Sequence[ComparedRun]) -> dict[str, Any]:
    return {
        "runs": [
            {
                "label": run.label,
                "households": run.totals.households,
                "slots": slot_data(run.result),
                "grid_tariff": run.result.scenario_facts.grid_tariff if run.result.scenario_facts else None,
                "gas": dict(run.totals.gas_per_operation),
                "tx": dict(run.totals.transactions_per_operation),
                "per_settled": [[label, value] for label, value in per_settled_trade(run.totals)],
                "kpis": _kpi_data(run.result.kpis),
            }
            for run in runs
        ]
    }


CHARTS = (
    ("kpis", "Self-sufficiency, self-consumption and local trade share"),
    ("bills", "The neighbourhood's bills: grid only, with the market, and the saving"),
    ("traded", "Energy traded per slot"),
    ("price", "Mean price per slot (dotted: each run's grid tariff, where it fits the scale)"),
    ("gas-trade", "Gas per settled trade"),
    ("gas-ops", "Gas per transaction, by operation"),
)


def _table(comparison: Comparison) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in _versus_headers(comparison.runs))
    rows = []
    for metric in comparison.metrics:
        cells = []
        for i in range(len(comparison.runs)):
            figure = comparison.figure(metric, i)
            cells.append(f'<td data-run="{i}" data-value="{esc(_raw(figure["value"]))}">{esc(figure["shown"])}</td>')
            if i:
                cells.append(
                    f'<td class="versus" data-run="{i}" data-difference="{esc(_raw(figure["difference"]))}">'
                    f'{esc(figure["difference_shown"])}</td><td class="versus" data-run="{i}" '
                    f'data-ratio="{esc(_raw(figure["ratio"]))}">{esc(figure["ratio_shown"])}</td>'
                )
        rows.append(f'<tr data-metric="{esc(metric.name)}"><th>{esc(metric.name)}</th>{"".join(cells)}</tr>')
    return (
        '<div class="scroll-x"><table id="compare-table"><thead><tr><th></th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def render_compare_page(runs: Sequence[ComparedRun]) -> str:
    comparison = Comparison.of(runs)
    folders = "".join(f"<li><b>{esc(run.label)}</b>: <code>{esc(run.folder)}</code></li>" for run in runs)
    warning = f'<p class="warning" id="compare-warning">{esc(comparison.warning)}</p>' if comparison.warning else ""
    charts = "".join(
        f'<section id="{key}"><h2>{esc(title)}</h2><div class="chart" id="chart-{key}"></div></section>'
        for key, title in CHARTS
    )
    body = (
        '<header><div class="wrap"><h1>Comparison <small>'
        + esc(" vs ".join(run.label for run in runs))
        + "</small></h1></div></header>"
        '<main class="wrap"><section id="runs"><h2>The runs</h2><ul>'
        + folders
        + f'</ul>{warning}<p class="note">Δ and {TIMES}: each run against {esc(runs[0].label)}.</p>'
        + _table(comparison)
        + "</section>"
        + charts
        + "</main>"
    )
    return document("Comparison — p2p-energy", body, compare_data(runs), ["compare.js"])


def _raw(value: int | float | None) -> str:
    return "" if value is None else str(value)
