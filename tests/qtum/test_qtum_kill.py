"""A run on qtumd whose runner is SIGKILLed at three points (while its set-up calls wait in the node's pool,
between two rounds mid-day, and while a late round waits in the pool) resumes each time and ends exactly where
an uninterrupted run of the same seed ends (anvil's), every check passing."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from p2p_energy.output.report import load_report
from p2p_energy.run.target import TargetOptions
from tests.simulating import simulate_quietly

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "p2p-energy"
DEMO = PROJECT / "scenarios" / "demo.toml"
#: Where the runner is killed: blocks mined since the node was handed over, and whether the node's pool must hold
#: transactions of the run at that moment (sent, not mined) or none (between phases).
KILL_AT = ((0, True), (15, False), (24, True))


def _simulate(url: str, out: Path, *, resume: bool) -> subprocess.Popen[str]:
    args = [str(CLI), "simulate", str(DEMO), "--backend", "qtum", "--rpc-url", url, "--out", str(out),
            "--deployments", str(out.parent / "deployments"), *(["--resume"] if resume else [])]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=PROJECT)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return simulate_quietly(DEMO, TargetOptions(simulation=True), tmp_path_factory.mktemp("anvil"))


@pytest.fixture(scope="module")
def interrupted(node, tmp_path_factory):
    """The demo on qtumd, its runner SIGKILLed at each of KILL_AT and resumed; the last resume runs to the end."""
    out = tmp_path_factory.mktemp("qtum-kill") / "report"
    kills = []
    rpc, url = node.rpc(), node.url.with_credentials
    assert rpc.call("getrawmempool") == []
    first = rpc.call("getblockcount")
    for number, (blocks, pending) in enumerate(KILL_AT):
        runner = _simulate(url, out, resume=number > 0)
        deadline = time.monotonic() + 240
        while runner.poll() is None and time.monotonic() < deadline:
            begun = (out / "run.json").exists() and rpc.call("getblockcount") - first >= blocks
            if begun and bool(rpc.call("getrawmempool")) == pending:
                break
            time.sleep(0.005)
        height = rpc.call("getblockcount") - first
        assert runner.poll() is None, f"run ended before kill {number} (+{height} blocks): {runner.stderr.read()}"
        runner.kill()
        runner.wait(timeout=30)
        kills.append((rpc.call("getblockcount") - first, len(rpc.call("getrawmempool"))))
    final = _simulate(url, out, resume=True)
    _, errors = final.communicate(timeout=600)
    return final.returncode, errors, kills, load_report(out) if final.returncode == 0 else None


def test_the_last_resume_ends_the_run_successfully(interrupted):
    code, errors, _, _ = interrupted
    assert code == 0, errors


def test_the_runner_was_killed_twice_with_its_transactions_in_the_pool_and_once_between_phases(interrupted):
    _, _, kills, _ = interrupted
    assert [waiting > 0 for _, waiting in kills] == [True, False, True], kills
    assert [height for height, _ in kills] == sorted(height for height, _ in kills)


def test_the_resumed_run_passes_every_check(interrupted):
    code, errors, _, result = interrupted
    assert code == 0, errors
    assert [name for name, ok in result.checks.items() if not ok] == []


def test_the_resumed_run_settles_the_uninterrupted_runs_trades(interrupted, uninterrupted):
    code, errors, _, result = interrupted
    assert code == 0, errors

    def outcome(trades) -> list[tuple]:
        return sorted((t.slot, t.seller, t.buyer, t.wh, t.price_per_kwh, t.paid, t.refunded, t.outcome) for t in trades)

    assert outcome(result.trades) == outcome(uninterrupted.trades)


def test_the_resumed_run_reports_its_wall_time(interrupted):
    code, errors, _, result = interrupted
    assert code == 0, errors
    assert result.wall_time_s > 0
