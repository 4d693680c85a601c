"""sweep.html: a sweep on one offline page (plotly.js inlined, as report.html), each KPI against each axis.

Per KPI and axis, one line per combination of the other axes (but `seed`): the
mean over the runs at each value (the seeds) with their spread (standard
deviation) as error bars. Below: every run with a link to its report.html,
and the failed runs with their one-line errors. Aggregated here, drawn by
`assets/sweep.js`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from p2p_energy.files import write_whole
from p2p_energy.output.page import document, esc
from p2p_energy.sweep.results import SHOWN, SweepTable
from p2p_energy.sweep.run_one import FAILED

PAGE_FILE = "sweep.html"
#: The axis whose values are repetitions, not a setting: spread, never a line of its own.
SEED_AXIS = "seed"
#: KPIs charted: column, title.
KPIS = (
    ("bill_savings_nrg", "bill savings against grid only (NRG)"),
    ("local_trade_share", "local trade share"),
    ("self_sufficiency", "self-sufficiency"),
    ("traded_kwh", "kWh traded"),
    ("gas_per_kwh", "gas per kWh traded"),
    ("fee_per_kwh", "chain fee per kWh traded (QTUM at 40 sat/gas)"),
    ("wall_time_s", "wall time of the run (s)"),
)
#: More lines than this in one chart: the other axes are pooled into one line.
MAX_LINES = 8


def write_sweep_page(table: SweepTable, folder: Path) -> Path:
    path = folder / PAGE_FILE
    write_whole(path, lambda out: out.write(render_sweep_page(table).encode()) > 0)
    return path


def chart_data(table: SweepTable) -> list[dict[str, Any]]:
    """Per KPI and axis (but seed): lines of (value, mean, spread, runs) over the runs that did not fail."""
    good = table.frame[table.frame["status"] != FAILED]
    charts = []
    for axis in (a for a in table.axes if a != SEED_AXIS):
        others = [a for a in table.axes if a not in (axis, SEED_AXIS)]
        groups = others if others and good.groupby(others).ngroups <= MAX_LINES else []
        for column, title in KPIS:
            if column in good and good[column].notna().any():
                charts.append(
                    {"axis": axis, "kpi": column, "title": title, "lines": _lines(good, axis, groups, column)}
                )
    return charts


def _lines(frame: pd.DataFrame, axis: str, groups: list[str], column: str) -> list[dict[str, Any]]:
    parts = frame.groupby(groups, sort=False) if groups else [((), frame)]
    lines = []
    for name, part in parts:
        keys = name if isinstance(name, tuple) else (name,)
        stats = part.groupby(axis, sort=False)[column].agg(["mean", "std", "count"])
        lines.append(
            {
                "name": ", ".join(f"{g}={k}" for g, k in zip(groups, keys, strict=True)) or "all runs",
                "x": [str(value) for value in stats.index],
                "y": [_number(v) for v in stats["mean"]],
                "spread": [_number(v) if c > 1 else 0.0 for v, c in zip(stats["std"], stats["count"], strict=True)],
                "runs": [int(c) for c in stats["count"]],
            }
        )
    return lines


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def render_sweep_page(table: SweepTable) -> str:
    frame = table.frame
    failed = frame[frame["status"] == FAILED]
    head = "".join(f"<th>{esc(a)}</th>" for a in table.axes) + "".join(f"<th>{esc(h)}</th>" for _, h, _ in SHOWN)
    rows = "".join(_run_row(record, table.axes) for record in frame.to_dict("records"))
    errors = "".join(
        f'<li data-run="{esc(r["run"])}">{esc(_values(r, table.axes))}: {esc(r["error"])}</li>'
        for r in failed.to_dict("records")
    )
    charts = chart_data(table)
    sections = "".join(
        f'<div><h3>{esc(c["title"])} by {esc(c["axis"])}</h3><div class="chart" id="chart-{i}"></div></div>'
        for i, c in enumerate(charts)
    )
    body = (
        f'<header><div class="wrap"><h1>Sweep {esc(table.name)} <small>{len(frame)} runs, {len(failed)} failed, '
        f"axes {esc(', '.join(table.axes))}</small></h1></div></header>"
        '<main class="wrap"><section id="charts"><h2>KPIs against each axis</h2><p>Mean over the runs at each '
        "value (the seeds), error bars one standard deviation; one line per value of the other axes.</p>"
        f'<div class="pair">{sections}</div></section>'
        f'<section id="failed"><h2>Failed runs ({len(failed)})</h2>'
        + (f'<div class="failures"><ul>{errors}</ul></div>' if errors else "<p>None.</p>")
        + f'</section><section id="runs"><h2>The runs</h2><div class="scroll"><table id="sweep-table"><thead><tr>'
        f"{head}<th>report</th></tr></thead><tbody>{rows}</tbody></table></div></section></main>"
    )
    return document(f"Sweep {table.name} — p2p-energy", body, {"charts": charts}, ["sweep.js"])


def _values(record: Mapping[Any, Any], axes: tuple[str, ...]) -> str:
    return ", ".join(f"{axis}={record[axis]}" for axis in axes)


def _run_row(record: Mapping[Any, Any], axes: tuple[str, ...]) -> str:
    cells = "".join(f"<td>{esc(record[a])}</td>" for a in axes)
    for name, _, form in SHOWN:
        value = record.get(name)
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        cells += f"<td>{'-' if missing else esc(form.format(value))}</td>"
    link = f'<a href="{esc(record["report"])}">report.html</a>'
    return f'<tr data-run="{esc(record["run"])}" data-status="{esc(record["status"])}">{cells}<td>{link}</td></tr>'
