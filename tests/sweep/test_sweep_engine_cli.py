"""The sweep's engine in earnest: SIGTERM mid-sweep (nothing left running, the next sweep finishes the rest),
and the runs sent to a real `dask scheduler` and `dask worker` started here as processes of their own."""

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.cli.conftest import CLI
from tests.sweep.sweeping import alive, run_cli
from tests.sweep.test_sweep_cli import sweep_file

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

DASK = Path(sys.executable).parent / "dask"
FOUR_RUNS = "[axes]\nseed = [1, 2, 3, 4]\n"


def descendants(pid: int, names: set[str]) -> dict[int, psutil.Process]:
    """The processes under `pid` now, their names added to `names`."""
    found = {}
    for process in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            names.add(process.name())
            found[process.pid] = process
    return found


def finished_runs(out: Path) -> list[Path]:
    """The run folders with a report in place (not one being built beside its folder, `.KEY.writing-*`)."""
    return [path for path in out.glob("runs/*/summary.json") if not path.parent.name.startswith(".")]


def test_sigterm_mid_sweep_leaves_nothing_running_and_the_next_sweep_finishes_the_rest(tmp_path):
    path, out = sweep_file(tmp_path, FOUR_RUNS), tmp_path / "out"
    command = [str(CLI), "sweep", str(path), "--workers", "1", "--out", str(out)]
    sweep = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: dict[int, psutil.Process] = {}
    names: set[str] = set()
    deadline = time.monotonic() + 240
    # until the first run is done and an anvil was seen (on a loaded machine a poll can miss a short run's)
    while not (finished_runs(out) and "anvil" in names):
        assert sweep.poll() is None and time.monotonic() < deadline, sweep.stderr.read() if sweep.stderr else ""
        seen.update(descendants(sweep.pid, names))
        time.sleep(0.2)
    seen.update(descendants(sweep.pid, names))
    sweep.send_signal(signal.SIGTERM)
    assert sweep.wait(timeout=60) == 143
    assert "anvil" in names, f"the test saw no anvil among the sweep's processes: {names}"
    assert alive(list(seen.values())) == [], [p.cmdline() for p in alive(list(seen.values()))]
    finished = run_cli("sweep", str(path), "--workers", "1", "--out", str(out))
    assert finished.returncode == 0, finished.stderr
    statuses = pd.read_parquet(out / "sweep.parquet")["status"]
    assert len(statuses) == 4 and (statuses == "reused").sum() >= 1


@pytest.fixture
def dask_cluster(tmp_path):
    """A `dask scheduler` and one `dask worker` (one process, one thread), each a process of its own."""
    address_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", str(address_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not address_file.is_file():
            assert scheduler.poll() is None and time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        worker = subprocess.Popen(
            [str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        yield address
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_a_sweep_runs_on_an_existing_dask_scheduler_and_its_workers(tmp_path, dask_cluster):
    path, out = sweep_file(tmp_path, '[axes]\n"market.mode" = ["pay_as_clear"]\n'), tmp_path / "out"
    done = run_cli("sweep", str(path), "--scheduler", dask_cluster, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"on the Dask cluster at {dask_cluster}" in done.stdout
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(table["status"]) == ["done"] and (table["trades"] > 0).all()
