"""Signals to a running `simulate`: SIGTERM and SIGHUP end it like Ctrl-C; SIGKILL takes its anvil with it.

Each run gets a temporary folder of its own ($TMPDIR), so the test sees
every `p2p-energy-anvil-*` folder the run leaves behind. The signal goes out
while the run is paused (SIGSTOP) just after it said where its anvil is, and
arrives when it continues: mid-run, however fast the machine.
"""

import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from p2p_energy.run.target import PRIVATE_KEY_ENV
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml"
ANVIL_STARTED = b"local anvil chain (id 31337"


@pytest.fixture
def temp_root(tmp_path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def environment(temp_root: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != PRIVATE_KEY_ENV}
    return {**env, "TMPDIR": str(temp_root)}


def start_simulate(tmp_path: Path, temp_root: Path) -> subprocess.Popen[bytes]:
    command = [str(CLI), "simulate", str(DEMO), "--out", str(tmp_path / "out"), "--deployments", str(tmp_path / "dep")]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(temp_root))


def wait_for_output(process: subprocess.Popen[bytes], text: bytes, timeout: float = 60.0) -> None:
    """Read the run's stdout until `text` appears; fail (never hang) if it ends or the deadline passes."""
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while text not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {text!r} within {timeout:.0f} s; stdout so far: {seen!r}")
            if selector.select(timeout=left):
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    pytest.fail(f"the run ended before {text!r}: {process.wait()} {process.stderr.read()!r}")
                seen += chunk


def anvil_of(process: subprocess.Popen[bytes]) -> psutil.Process:
    (anvil,) = [child for child in psutil.Process(process.pid).children(recursive=True) if child.name() == "anvil"]
    return anvil


def gone(anvil: psutil.Process) -> bool:
    """Not running (a zombie left to a parent that has not reaped it yet is gone too)."""
    try:
        return anvil.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def gone_within(anvil: psutil.Process, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not gone(anvil) and time.monotonic() < deadline:
        time.sleep(0.05)
    return gone(anvil)


def anvil_mid_run(process: subprocess.Popen[bytes]) -> psutil.Process:
    """Pause the run once its anvil is up; the caller signals it, then `resume` lets it take the signal."""
    wait_for_output(process, ANVIL_STARTED)
    process.send_signal(signal.SIGSTOP)
    return anvil_of(process)


def resume(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGCONT)


@pytest.fixture
def simulate_run(tmp_path, temp_root):
    process = start_simulate(tmp_path, temp_root)
    yield process
    if process.poll() is None:  # the test failed half-way: leave nothing running
        process.kill()
        process.wait()
    for left in psutil.process_iter(["cmdline"]):  # nor an anvil of this run's (its files are in temp_root)
        if any(str(temp_root) in part for part in left.info["cmdline"] or ()):
            left.kill()


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_terminating_signal_stops_the_run_with_one_line_and_leaves_no_anvil_nor_temp_folder(
    simulate_run, temp_root, name, code
):
    anvil = anvil_mid_run(simulate_run)
    simulate_run.send_signal(getattr(signal, name))
    resume(simulate_run)
    assert simulate_run.wait(timeout=30) == code
    lines = simulate_run.stderr.read().decode().strip().splitlines()
    assert lines == [f"interrupted by {name}"]
    assert gone(anvil)
    assert list(temp_root.iterdir()) == []


def test_sigkill_to_the_run_takes_its_anvil_with_it_within_seconds(simulate_run):
    anvil = anvil_mid_run(simulate_run)
    simulate_run.send_signal(signal.SIGKILL)
    resume(simulate_run)
    simulate_run.wait(timeout=10)
    assert gone_within(anvil, 5)


def test_a_temp_folder_a_killed_run_left_is_removed_by_the_next_run(simulate_run, temp_root, tmp_path):
    anvil = anvil_mid_run(simulate_run)
    simulate_run.send_signal(signal.SIGKILL)
    resume(simulate_run)
    simulate_run.wait(timeout=10)
    assert gone_within(anvil, 5)
    (left,) = temp_root.iterdir()
    assert left.name.startswith("p2p-energy-anvil-")
    command = [str(CLI), "deploy", "--deployments", str(tmp_path / "dep")]
    completed = subprocess.run(command, capture_output=True, timeout=120, env=environment(temp_root), check=False)
    assert completed.returncode == 0, completed.stderr
    assert list(temp_root.iterdir()) == []
