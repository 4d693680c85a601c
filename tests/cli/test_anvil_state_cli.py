"""`p2p-energy chain --state FILE`: a damaged file is one line and exit 2; a chain SIGKILLed under a
`simulate --rpc-url` run comes back from its file and the run resumes to the end, every check passed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import requests

from p2p_energy.chain.anvil import ChainOptions, LocalChain, free_port
from p2p_energy.run.resume import RUN_RECORD_FILE
from p2p_energy.run.target import PRIVATE_KEY_ENV
from p2p_energy.solidity.toolchain import find_toolchain
from tests.child_output import ChildOutput
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: The environment of the CLI runs: anvil's dev key, not one from the environment, deploys.
ENV = {name: value for name, value in os.environ.items() if name != PRIVATE_KEY_ENV}


def block_number(url: str) -> int:
    answer = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}, timeout=10)
    return int(answer.json()["result"], 16)


def start_chain(state: Path, port: int = 0) -> tuple[subprocess.Popen[str], ChildOutput, str]:
    """`chain --simulation --state FILE` in the background: the process, its output and its URL."""
    command = [str(CLI), "chain", "--simulation", "--port", str(port), "--state", str(state)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    output = ChildOutput(process)
    lines = output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
    return process, output, lines[0].rsplit(" at ", 1)[1]


def stop_chain(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def a_saved_state(tmp_path: Path) -> Path:
    """A state file written by `chain --state`, with a few blocks in it."""
    state = tmp_path / "good.json"
    process, _, url = start_chain(state)
    try:
        for _ in range(3):
            requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}, timeout=10)
    finally:
        assert stop_chain(process) == 0
    return state


@pytest.mark.parametrize("damage", ["cut short", "not json", "empty"])
def test_chain_with_a_damaged_state_file_exits_2_with_one_line_naming_the_file(cli, tmp_path, damage):
    good = a_saved_state(tmp_path).read_bytes()
    state = tmp_path / "damaged.json"
    state.write_bytes({"cut short": good[: len(good) // 2], "not json": b"hello\n", "empty": b""}[damage])
    completed = cli("chain", "--port", "0", "--state", str(state), timeout=60)
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert str(state) in lines[0]
    assert "delete it" in lines[0] and "invalid value" not in lines[0]
    assert state.read_bytes() == {"cut short": good[: len(good) // 2], "not json": b"hello\n", "empty": b""}[damage]


def test_chain_with_a_state_file_in_a_missing_folder_exits_2(cli, tmp_path):
    state = tmp_path / "no-such-folder" / "chain.json"
    completed = cli("chain", "--port", "0", "--state", str(state), timeout=60)
    assert completed.returncode == 2, completed.stderr
    assert str(state.parent) in completed.stderr.strip()


def test_chain_prints_where_it_keeps_its_state(tmp_path):
    state = tmp_path / "chain.json"
    process, output, _ = start_chain(state)
    assert stop_chain(process) == 0
    assert any(str(state) in line for line in output.seen), output.seen
    assert json.loads(state.read_text())["best_block_number"] == 0


# -- a chain killed under a run, restarted from its file, the run resumed ------------------------


@pytest.fixture(scope="module")
def scenario(long_faults: Path) -> Path:
    return long_faults


def simulate(scenario: Path, url: str, work: Path, *extra: str) -> list[str]:
    out = ["--out", str(work / "out"), "--deployments", str(work / "deployments")]
    return [str(CLI), "simulate", str(scenario), "--rpc-url", url, *out, *extra]


def wait_for(condition, what: str, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def anvil_of(chain: subprocess.Popen[str]) -> psutil.Process:
    (anvil,) = [p for p in psutil.Process(chain.pid).children(recursive=True) if p.name() == "anvil"]
    return anvil


@pytest.fixture(scope="module")
def killed_and_resumed(scenario, tmp_path_factory):
    base = tmp_path_factory.mktemp("baseline")
    options = ChainOptions(block_gas_limit=1_000_000_000, base_fee_wei=0)
    with LocalChain(find_toolchain().anvil, options) as fresh:
        done = subprocess.run(simulate(scenario, fresh.url, base), capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr
    baseline = json.loads((base / "out" / "summary.json").read_text())

    work = tmp_path_factory.mktemp("killed")
    state, port = work / "chain.json", free_port()
    chain, _, url = start_chain(state, port)
    runner = subprocess.Popen(
        simulate(scenario, url, work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    try:
        record = work / "out" / RUN_RECORD_FILE
        wait_for(record.exists, "it wrote its run record", runner)
        first = json.loads(record.read_text())["first_block"]
        wait_for(lambda: block_number(url) >= first + 12, "a few slots were mined", runner)
        runner.send_signal(signal.SIGSTOP)  # until the chain has saved a state with the run in it
        try:
            paused = time.time()
            deadline = time.monotonic() + 10
            while not (state.exists() and state.stat().st_mtime > paused):
                assert time.monotonic() < deadline, "the chain saved no state within 10 s"
                time.sleep(0.01)
            saved = json.loads(state.read_text())["best_block_number"]
        finally:
            runner.send_signal(signal.SIGCONT)
        wait_for(lambda: block_number(url) >= saved + 3, "blocks were mined after the save", runner)
        anvil_of(chain).kill()  # SIGKILL
        _, stderr = runner.communicate(timeout=120)
        killed = (runner.returncode, stderr)
        chain_code = chain.wait(timeout=60)
    finally:
        for process in (runner, chain):
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait()

    chain, _, url = start_chain(state, port)
    try:
        restored = block_number(url)
        resumed = subprocess.run(
            simulate(scenario, url, work, "--resume"), capture_output=True, text=True, timeout=120, env=ENV
        )
    finally:
        assert stop_chain(chain) == 0
    report = json.loads((work / "out" / "summary.json").read_text())
    return killed, chain_code, saved, restored, resumed, report, baseline


def test_the_run_and_the_chain_killed_under_it_exit_1(killed_and_resumed):
    (code, stderr), chain_code, *_ = killed_and_resumed
    assert code == 1, stderr
    assert "restart it and run again with --resume" in stderr
    assert chain_code == 1


def test_the_chain_restarts_from_its_last_whole_save(killed_and_resumed):
    _, _, saved, restored, *_ = killed_and_resumed
    assert restored >= saved


def test_the_resumed_run_passes_every_check_with_the_totals_of_an_uninterrupted_run(killed_and_resumed):
    *_, resumed, report, baseline = killed_and_resumed
    assert resumed.returncode == 0, resumed.stderr
    assert [name for name, ok in report["checks"].items() if not ok] == []
    assert report["totals"] == baseline["totals"]
    assert report["attacks"] == baseline["attacks"]


def test_chain_stopped_the_moment_it_says_it_is_ready_exits_0_every_time():
    """A script that sends Ctrl-C as soon as it reads the "Ctrl-C stops the chain." line: a clean stop each time."""
    for _ in range(5):
        process = subprocess.Popen(
            [str(CLI), "chain", "--port", "0", "--accounts", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        output = ChildOutput(process)
        output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
        assert stop_chain(process) == 0, process.stderr.read() if process.stderr else ""
        assert output.rest(timeout=20) == ["chain stopped"]
