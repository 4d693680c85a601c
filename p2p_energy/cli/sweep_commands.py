"""`p2p-energy sweep`: a sweep file's runs on Dask, their table and page; `report SWEEPDIR` prints it again."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from p2p_energy.cli.common import say_to
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.files import folder_lock
from p2p_energy.solidity.toolchain import Toolchain

#: What marks a sweep's folder (p2p_energy.sweep.results.META_FILE; named here so `report` imports no pandas).
SWEEP_META_FILE = "sweep.json"


def cmd_sweep(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    from p2p_energy.sweep.engine import Engine, Tally, dask_client, run_all
    from p2p_energy.sweep.page import write_sweep_page
    from p2p_energy.sweep.results import render_table, sweep_table, write_table
    from p2p_energy.sweep.run_one import FAILED, REUSED, RunRow
    from p2p_energy.sweep.sweep_file import code_version, load_sweep

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give at least 1 worker process")
    out = args.out or _default_out(toolchain, args.sweep)
    # Every run's scenario is checked here: a bad sweep file is one line and exit 2 before any run starts.
    sweep = load_sweep(args.sweep, out, args.backend, code_version(toolchain.root))
    engine = Engine(args.scheduler, args.workers)
    say = say_to(console)
    say(
        f"sweep {sweep.name}: {len(sweep.runs)} runs of {sweep.base.name} ({', '.join(sweep.axis_names)}) on "
        f"{engine.describe()}; folder {out}"
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with folder_lock(out, "its sweep"), dask_client(engine) as client, Progress(*columns, console=console) as bar:
        task = bar.add_task("starting the runs", total=len(sweep.runs))

        def on_row(row: RunRow) -> None:
            if row.status == FAILED:
                say(f"failed: {', '.join(f'{a}={v}' for a, v in row.values)}: {row.error}")

        def on_tally(tally: Tally) -> None:
            bar.update(
                task,
                completed=tally.done,
                description=(f"{tally.done - tally.failed} done, {tally.failed} failed, {tally.running} running"),
            )

        rows = run_all(client, sweep.runs, on_row, on_tally)
    table = sweep_table(sweep.name, sweep.axis_names, rows, [run.key for run in sweep.runs])
    write_table(table, out)
    page = write_sweep_page(table, out)
    render_table(table, console)
    failed, reused = len(table.failed), sum(1 for row in rows if row.status == REUSED)
    say(f"{len(rows)} runs: {len(rows) - failed} done ({reused} already done before), {failed} failed")
    say(f"table: {out / 'sweep.parquet'} and sweep.csv; page: {page}; `p2p-energy report {out}` shows it again")
    if failed:
        raise P2PEnergyError(f"{failed} of {len(rows)} runs failed (listed above); run the sweep again to retry them")
    return 0


def _default_out(toolchain: Toolchain, sweep: Path) -> Path:
    """reports/sweeps/<name>: the sweep file's stem (its `name` may say otherwise; --out is then clearer)."""
    return toolchain.root / "reports" / "sweeps" / sweep.stem


def cmd_report_sweep(folder: Path, console: Console) -> int:
    from p2p_energy.sweep.page import PAGE_FILE
    from p2p_energy.sweep.results import load_table, render_table

    render_table(load_table(folder), console)
    console.print(f"page: {folder / PAGE_FILE}", markup=False, highlight=False, soft_wrap=True)
    return 0
