"""Two runs with the same --out: the second is refused in one line (exit 2) and writes nothing there; the
first ends with its own report, unmixed."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "p2p-energy"


def simulate(scenario: str, out: Path) -> subprocess.Popen[str]:
    args = [str(CLI), "simulate", str(PROJECT / "scenarios" / scenario), "--out", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=PROJECT)


def test_a_second_run_into_a_report_folder_being_written_is_refused_and_the_first_report_stays_whole(tmp_path):
    out = tmp_path / "report"
    first = simulate("city-day.toml", out)  # long enough (10 s or more) to be under way when the second comes
    deadline = time.monotonic() + 120
    while not (out / "run.json").exists() and first.poll() is None:
        assert time.monotonic() < deadline, "the first run wrote no run record in 2 minutes"
        time.sleep(0.02)
    second = simulate("faults.toml", out)
    _, said = second.communicate(timeout=120)
    _, first_said = first.communicate(timeout=300)
    assert second.returncode == 2
    lines = said.strip().splitlines()
    assert len(lines) == 1 and f"another run is writing {out}" in lines[0], said
    assert first.returncode == 0, first_said
    assert json.loads((out / "summary.json").read_text())["scenario"] == "city-day"
    assert json.loads((out / "run.json").read_text())["scenario"] == "city-day"
