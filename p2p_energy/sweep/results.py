"""A sweep's results: one row per run in `sweep.parquet` (pyarrow) and `sweep.csv`, and its terminal table.

A row holds every axis value, the run's status and one-line error, its wall
time in the sweep, its totals and KPIs, gas and the chain fee per kWh, and
the path of its report page. `sweep.json` keeps which columns are axes, so
`p2p-energy report SWEEPDIR` can print the table again without the sweep file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from p2p_energy.errors import UsageError
from p2p_energy.files import write_whole
from p2p_energy.output.report import PAGE_FILE
from p2p_energy.sweep.run_one import FAILED, RunRow

PARQUET_FILE, CSV_FILE, META_FILE = "sweep.parquet", "sweep.csv", "sweep.json"
#: The columns the terminal table shows after the axes (every column is in the files).
SHOWN = (
    ("status", "status", "{}"),
    ("trades", "trades", "{:,.0f}"),
    ("traded_kwh", "kWh traded", "{:,.1f}"),
    ("local_trade_share", "local share", "{:.1%}"),
    ("self_sufficiency", "self-suff.", "{:.1%}"),
    ("bill_savings_nrg", "savings NRG", "{:,.2f}"),
    ("gas_per_kwh", "gas/kWh", "{:,.0f}"),
    ("fee_per_kwh", "fee/kWh", "{:.4f}"),
    ("wall_time_s", "wall s", "{:.1f}"),
)


@dataclass(frozen=True)
class SweepTable:
    """A sweep's rows (a DataFrame, one row per run, in the sweep's run order) and its axis columns."""

    name: str
    axes: tuple[str, ...]
    frame: pd.DataFrame

    @property
    def failed(self) -> pd.DataFrame:
        return self.frame[self.frame["status"] == FAILED]


def sweep_table(name: str, axes: Sequence[str], rows: Sequence[RunRow], order: Sequence[str]) -> SweepTable:
    """The table of `rows`, in the order of the run keys `order` (rows of runs not finished are left out)."""
    by_key = {row.key: row for row in rows}
    records = [{**by_key[key].as_dict(), "report": f"runs/{key}/{PAGE_FILE}"} for key in order if key in by_key]
    frame = pd.DataFrame.from_records(records)
    for axis in axes:  # an axis of mixed types (1 and 0.5, say) is one column of one type in Parquet
        if axis in frame and frame[axis].map(type).nunique() > 1:
            frame[axis] = (
                frame[axis].astype(str)
                if frame[axis].map(lambda v: isinstance(v, str)).any()
                else frame[axis].astype(float)
            )
    return SweepTable(name, tuple(axes), frame)


def write_table(table: SweepTable, folder: Path) -> None:
    """sweep.parquet, sweep.csv and sweep.json in `folder`, each replaced whole."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format": "p2p-energy sweep", "name": table.name, "axes": list(table.axes)}
    write_whole(folder / META_FILE, lambda out: out.write(json.dumps(meta, indent=1).encode()) > 0)
    write_whole(folder / CSV_FILE, lambda out: out.write(table.frame.to_csv(index=False).encode()) > 0)
    write_whole(folder / PARQUET_FILE, lambda out: table.frame.to_parquet(out, engine="pyarrow", index=False) or True)


def is_sweep_folder(folder: Path) -> bool:
    return (Path(folder) / META_FILE).is_file()


def load_table(folder: Path) -> SweepTable:
    """The table a sweep wrote to `folder`."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        frame = pd.read_parquet(folder / PARQUET_FILE, engine="pyarrow")
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: the sweep's table cannot be read ({exc}); run the sweep again") from None
    return SweepTable(str(meta["name"]), tuple(meta["axes"]), frame)


def render_table(table: SweepTable, console: Console) -> None:
    """One line per run (axes, status and the main figures), then the failed runs with their errors."""
    grid = Table(title=f"sweep {table.name}: {len(table.frame)} runs", title_justify="left")
    for axis in table.axes:
        grid.add_column(axis)
    for _, header, _ in SHOWN:
        grid.add_column(header, justify="right")
    for record in table.frame.to_dict("records"):
        grid.add_row(*(str(record[axis]) for axis in table.axes), *(_cell(record, name, f) for name, _, f in SHOWN))
    console.print(grid)
    for record in table.failed.to_dict("records"):
        values = ", ".join(f"{axis}={record[axis]}" for axis in table.axes)
        console.print(f"failed: {values}: {record['error']}", markup=False, soft_wrap=True)


def _cell(record: Mapping[Any, Any], name: str, form: str) -> str:
    value = record.get(name)
    if value is None or (isinstance(value, float) and value != value):  # missing, or NaN in a failed run's row
        return "-"
    return form.format(value)
