"""The sweep benchmark (`make sweep-bench`): a study on a LocalCluster against the same runs one after another.

Both halves run every run of the sweep file from scratch, each into a folder
of its own: first one after another in this process (`run_one.run_sweep_run`
in a loop: no Dask at all), then as tasks on a LocalCluster of one worker
process per core. The figures: both wall times and their ratio, the cluster's
start-up, and the engine's overhead per run: the cluster's worker-seconds
(wall time x workers) not spent inside a run, divided by the runs. They go to
`bench/sweep.json` and the terminal. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from p2p_energy.solidity.toolchain import find_toolchain
from p2p_energy.sweep.engine import Engine, dask_client, run_all
from p2p_energy.sweep.page import chart_data, write_sweep_page
from p2p_energy.sweep.results import SweepTable, load_table, sweep_table, write_table
from p2p_energy.sweep.run_one import FAILED, run_sweep_run
from p2p_energy.sweep.sweep_file import code_version, load_sweep


@dataclass(frozen=True)
class SweepBench:
    """What `make sweep-bench` measured (seconds unless named otherwise)."""

    sweep: str
    runs: int
    workers: int
    cores: int
    sequential_s: float
    cluster_s: float
    cluster_start_s: float
    speedup: float
    run_s_mean: float
    overhead_per_run_s: float
    failed: int
    measured_at: str


def bench_sweep(sweep_file: Path, folder: Path, workers: int) -> SweepBench:
    toolchain = find_toolchain()
    code = code_version(toolchain.root)
    shutil.rmtree(folder, ignore_errors=True)
    one_by_one = load_sweep(sweep_file, folder / "one-by-one", "evm", code)
    started = time.perf_counter()
    sequential = [run_sweep_run(spec) for spec in one_by_one.runs]
    sequential_s = time.perf_counter() - started
    on_cluster = load_sweep(sweep_file, folder / "cluster", "evm", code)
    started = time.perf_counter()
    with dask_client(Engine(workers=workers)) as client:
        client.wait_for_workers(workers)
        cluster_start_s = time.perf_counter() - started
        rows = run_all(client, on_cluster.runs, lambda _: None, lambda _: None)
    cluster_s = time.perf_counter() - started
    table = sweep_table(on_cluster.name, on_cluster.axis_names, rows, [run.key for run in on_cluster.runs])
    write_table(table, folder / "cluster")
    busy = sum(row.wall_time_s for row in rows)
    return SweepBench(
        sweep=str(sweep_file),
        runs=len(rows),
        workers=workers,
        cores=os.cpu_count() or 1,
        sequential_s=round(sequential_s, 1),
        cluster_s=round(cluster_s, 1),
        cluster_start_s=round(cluster_start_s, 2),
        speedup=round(sequential_s / cluster_s, 2),
        run_s_mean=round(sum(row.wall_time_s for row in sequential) / len(sequential), 2),
        overhead_per_run_s=round((cluster_s * workers - busy) / len(rows), 2),
        failed=sum(1 for row in (*sequential, *rows) if row.status == FAILED),
        measured_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )


def write_study_chart(table: SweepTable, x_axis: str, path: Path) -> Path:
    """Two panels, bill savings and local trade share against `x_axis`: a line per value of the other axes,
    error bars across seeds (the chart of docs/sweeps.md and the README)."""
    from p2p_energy.output.plots import figure, png

    charts = {c["kpi"]: c for c in chart_data(table) if c["axis"] == x_axis}
    fig = figure(11, 4)
    axes = fig.subplots(1, 2)
    for ax, kpi in zip(axes, ("bill_savings_nrg", "local_trade_share"), strict=True):
        for line in charts[kpi]["lines"]:
            ax.errorbar(line["x"], line["y"], yerr=line["spread"], marker="o", capsize=3, label=line["name"])
        ax.set_xlabel(x_axis)
        ax.set_title(charts[kpi]["title"])
    axes[0].legend(fontsize=8)
    path.write_bytes(png(fig))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2p_energy.sweep.bench", description=__doc__)
    parser.add_argument("sweep", type=Path, nargs="?", default=Path("scenarios/sweeps/neighbourhood.toml"))
    parser.add_argument("--out", type=Path, default=Path("bench/sweep"), help="folder of both halves' runs")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    figures = bench_sweep(args.sweep, args.out, args.workers)
    table = load_table(args.out / "cluster")
    write_sweep_page(table, args.out / "cluster")
    write_study_chart(table, table.axes[0], args.out / "study.png")
    text = json.dumps(asdict(figures), indent=1)
    (args.out.parent / "sweep.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 1 if figures.failed else 0


if __name__ == "__main__":
    sys.exit(main())
