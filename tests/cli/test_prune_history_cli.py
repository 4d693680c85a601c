"""`p2p-energy chain --prune-history N`: anvil keeps the states of the last N blocks; not with --state."""

import signal
import subprocess

import psutil
import pytest

from tests.child_output import ChildOutput
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


def test_chain_help_names_prune_history(cli):
    assert "--prune-history N" in cli("chain", "--help").stdout


def test_chain_with_prune_history_starts_anvil_keeping_that_many_states():
    process = subprocess.Popen(
        [str(CLI), "chain", "--port", "0", "--prune-history", "4"], stdout=subprocess.PIPE, text=True
    )
    try:
        ChildOutput(process).lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
        (anvil,) = [p for p in psutil.Process(process.pid).children(recursive=True) if p.name() == "anvil"]
        arguments = anvil.cmdline()
        assert arguments[arguments.index("--prune-history") + 1] == "4"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_chain_with_prune_history_and_a_state_file_exits_2(cli, tmp_path):
    completed = cli("chain", "--port", "0", "--prune-history", "4", "--state", str(tmp_path / "chain.json"))
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "error: a chain kept in a state file keeps its history: drop one of --state, --prune-history"
    )


def test_chain_with_a_negative_prune_history_exits_2(cli):
    completed = cli("chain", "--port", "0", "--prune-history", "-1")
    assert completed.returncode == 2
    assert "--prune-history takes a number of states to keep (0: all), got -1" in completed.stderr


def test_prune_history_does_not_go_with_a_qtum_chain(cli):
    completed = cli("chain", "--backend", "qtum", "--prune-history", "4")
    assert completed.returncode == 2
    assert "--prune-history shapes an anvil chain" in completed.stderr
