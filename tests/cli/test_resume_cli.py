"""`simulate` when its chain dies mid-run: exit 1 with one line, then `--resume` on the restarted chain.

The chain is a real anvil that saves its state to a file every second
(`--state`). Its periodic save can race with the mining of a block (the
block's state lands in the file, the block itself does not), so the test
takes its snapshot while the runner is paused (SIGSTOP), copies it, lets the
runner mine a few more blocks and then kills anvil with SIGKILL: those blocks
are lost, as a crashed node loses what it had not saved, and the chain
restarted from the copy holds the run only up to the snapshot. The resumed
run must end with the totals of an uninterrupted run of the same scenario
and seed on a fresh chain.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from p2p_energy.chain.anvil import ChainOptions, LocalChain, free_port
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.run.resume import RUN_RECORD_FILE, RunRecord, scenario_fingerprint
from p2p_energy.run.target import PRIVATE_KEY_ENV
from p2p_energy.solidity.toolchain import find_toolchain
from tests.cli.conftest import CLI, FAULTS, TINY

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: Blocks the runner mines after the set-up before it is paused for the snapshot, and after it.
BLOCKS_BEFORE_SNAPSHOT = 12
BLOCKS_LOST = 3


#: The environment of the CLI runs: anvil's dev key, not one from the environment, deploys.
ENV = {name: value for name, value in os.environ.items() if name != PRIVATE_KEY_ENV}


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(PRIVATE_KEY_ENV, raising=False)


def said(stream: str) -> str:
    return " ".join(stream.split())


def chain_options(**extra) -> ChainOptions:
    """Like the chain `simulate` starts for itself: no base fee, a roomy block gas limit."""
    return ChainOptions(block_gas_limit=1_000_000_000, base_fee_wei=0, **extra)


def simulate(scenario: Path, url: str, work: Path) -> list[str]:
    out, deployments = work / "out", work / "deployments"
    return [str(CLI), "simulate", str(scenario), "--rpc-url", url, "--out", str(out), "--deployments", str(deployments)]


def wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


@dataclass
class Interrupted:
    killed: subprocess.CompletedProcess
    resumed: subprocess.CompletedProcess
    again: subprocess.CompletedProcess
    baseline: dict
    report: dict
    report_again: dict
    blocks_at_kill: int
    blocks_restored: int
    blocks_after_resume: int
    blocks_after_second_resume: int


@pytest.fixture(scope="module")
def scenario(long_faults: Path) -> Path:
    return long_faults


@pytest.fixture(scope="module")
def interrupted(scenario, tmp_path_factory) -> Interrupted:
    anvil = find_toolchain().anvil
    base = tmp_path_factory.mktemp("baseline")
    with LocalChain(anvil, chain_options()) as fresh:
        done = subprocess.run(simulate(scenario, fresh.url, base), capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr
    baseline = json.loads((base / "out" / "summary.json").read_text())

    work = tmp_path_factory.mktemp("interrupted")
    live_state, snapshot = work / "live-state.json", work / "snapshot.json"
    port = free_port()
    chain = LocalChain(anvil, chain_options(port=port, state_path=live_state)).start()
    command = simulate(scenario, chain.url, work)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        w3 = Web3(Web3.HTTPProvider(chain.url))
        record = work / "out" / RUN_RECORD_FILE
        wait_for(record.exists, "it wrote its run record", process)
        first = json.loads(record.read_text())["first_block"]
        wait_for(lambda: w3.eth.block_number >= first + BLOCKS_BEFORE_SNAPSHOT, "a few slots were mined", process)
        process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(0.2)  # a block being mined, or a save being written, when the runner stopped is done
            paused = time.time()
            deadline = time.monotonic() + 5
            while not live_state.exists() or live_state.stat().st_mtime < paused:
                assert time.monotonic() < deadline, "anvil saved no state within 5 s"
                time.sleep(0.01)
            time.sleep(0.3)  # the save, started, is written out
            shutil.copy(live_state, snapshot)
            snapshot_block = w3.eth.block_number
        finally:
            process.send_signal(signal.SIGCONT)
        wait_for(
            lambda: w3.eth.block_number >= snapshot_block + BLOCKS_LOST, "blocks were mined after the save", process
        )
        blocks_at_kill = w3.eth.block_number
        os.killpg(chain.pid, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=120)
        killed = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    finally:
        if process.poll() is None:  # the test failed half-way: leave nothing running
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait()
        chain.stop()

    with LocalChain(anvil, chain_options(port=port, state_path=snapshot)) as restarted:
        w3 = restarted.web3()
        blocks_restored = w3.eth.block_number
        resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=120, env=ENV)
        report = json.loads((work / "out" / "summary.json").read_text())
        blocks_after_resume = w3.eth.block_number
        again = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=120, env=ENV)
        report_again = json.loads((work / "out" / "summary.json").read_text())
        blocks_after_second_resume = w3.eth.block_number
    return Interrupted(
        killed,
        resumed,
        again,
        baseline,
        report,
        report_again,
        blocks_at_kill,
        blocks_restored,
        blocks_after_resume,
        blocks_after_second_resume,
    )


def net_tokens(report: dict) -> dict[str, int]:
    return {h["name"]: h["tokens_end"] - h["tokens_start"] for h in report["households"]}


def closes(report: dict) -> list[tuple[int, int, int, str]]:
    return [(t["trade_id"], t["paid"], t["refunded"], t["outcome"]) for t in report["trades"]]


def test_a_run_whose_chain_is_killed_exits_1_with_one_line_naming_the_slot_and_resume(interrupted):
    assert interrupted.killed.returncode == 1
    lines = interrupted.killed.stderr.strip().splitlines()
    assert len(lines) == 1, interrupted.killed.stderr
    assert "stopped answering during slot" in lines[0]
    assert lines[0].endswith("restart it and run again with --resume")
    assert "Traceback" not in interrupted.killed.stderr


def test_the_restarted_chain_lost_the_blocks_mined_after_its_last_save(interrupted):
    assert interrupted.blocks_restored <= interrupted.blocks_at_kill - BLOCKS_LOST


def test_the_resumed_run_exits_0_with_every_check_passed(interrupted):
    assert interrupted.resumed.returncode == 0, interrupted.resumed.stderr
    assert all(interrupted.report["checks"].values()), interrupted.report["checks"]
    assert "resuming the run started" in said(interrupted.resumed.stdout)


def test_the_resumed_run_has_the_totals_of_an_uninterrupted_run(interrupted):
    assert interrupted.report["totals"] == interrupted.baseline["totals"]


def test_the_resumed_run_closes_every_trade_as_the_uninterrupted_run_did(interrupted):
    assert closes(interrupted.report) == closes(interrupted.baseline)


def test_the_resumed_run_leaves_every_household_with_the_net_balance_of_the_uninterrupted_run(interrupted):
    assert net_tokens(interrupted.report) == net_tokens(interrupted.baseline)


def test_the_resumed_run_reports_the_attacks_and_their_reasons_of_the_uninterrupted_run(interrupted):
    assert interrupted.report["attacks"] == interrupted.baseline["attacks"]


def test_resuming_a_finished_run_sends_nothing_and_reports_the_same_totals(interrupted):
    assert interrupted.again.returncode == 0, interrupted.again.stderr
    assert interrupted.blocks_after_second_resume == interrupted.blocks_after_resume
    assert interrupted.report_again["totals"] == interrupted.report["totals"]


# -- resume refused: nothing is sent ----------------------------------------------------------------


@pytest.fixture(scope="module")
def chain():
    with LocalChain(find_toolchain().anvil, chain_options(accounts=1)) as chain:
        yield chain


def block(chain) -> int:
    return chain.web3().eth.block_number


def test_resume_without_an_rpc_url_exits_2(cli, tmp_path):
    completed = cli("simulate", str(FAULTS), "--resume", "--out", str(tmp_path))
    assert completed.returncode == 2
    assert "--resume continues a run on a chain of your own (--rpc-url)" in said(completed.stderr)


def resume(cli, chain, tmp_path: Path, scenario: Path = FAULTS) -> subprocess.CompletedProcess:
    out = ["--out", str(tmp_path / "out"), "--deployments", str(tmp_path / "deployments")]
    return cli("simulate", str(scenario), "--rpc-url", chain.url, *out, "--resume")


def other_run(**changes) -> RunRecord:
    fields = {
        "scenario": "other",
        "fingerprint": "0" * 64,
        "seed": 1,
        "chain_id": 31337,
        "deployment": {},
        "genesis": 0,
        "meter_base": 0,
        "c0": 2,
        "first_block": 0,
        "first_block_hash": "0x" + "0" * 64,
        "supply_before": 0,
        "balances_before": [],
        "escrow_before": [0, 0],
        "escrow_balances_before": [],
        "node_accounts": [],
        "started_at": "2026-11-25T09:00:00+00:00",
    }
    return RunRecord(**{**fields, **changes})


def test_resume_without_a_run_record_exits_2_and_sends_nothing(cli, chain, tmp_path):
    before = block(chain)
    completed = resume(cli, chain, tmp_path)
    assert completed.returncode == 2
    assert "nothing to resume" in said(completed.stderr)
    assert block(chain) == before


def test_resume_with_the_record_of_another_scenario_exits_2_and_sends_nothing(cli, chain, tmp_path):
    other_run().save(tmp_path / "out" / RUN_RECORD_FILE)
    before = block(chain)
    completed = resume(cli, chain, tmp_path)
    assert completed.returncode == 2
    assert "records a run of scenario 'other' with seed 1, not of this scenario file" in said(completed.stderr)
    assert block(chain) == before


def test_resume_with_the_record_of_another_chain_exits_2_and_sends_nothing(cli, chain, tmp_path):
    other_run(fingerprint=scenario_fingerprint(load_scenario(FAULTS)), chain_id=8890).save(
        tmp_path / "out" / RUN_RECORD_FILE
    )
    before = block(chain)
    completed = resume(cli, chain, tmp_path)
    assert completed.returncode == 2
    assert "records a run on chain id 8890, but the node has chain id 31337" in said(completed.stderr)
    assert block(chain) == before


def test_resume_with_a_damaged_run_record_exits_2_naming_the_file(cli, chain, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / RUN_RECORD_FILE).write_text('{"format": 2, "scenario": "faults"')
    completed = resume(cli, chain, tmp_path)
    assert completed.returncode == 2
    assert f"cannot read the run record {tmp_path / 'out' / RUN_RECORD_FILE}" in said(completed.stderr)


def test_resume_with_a_run_record_from_before_the_gas_redesign_exits_2_and_sends_nothing(cli, chain, tmp_path):
    record = tmp_path / "out" / RUN_RECORD_FILE
    other_run().save(record)
    data = json.loads(record.read_text())
    data["format"] = 1  # a run of the escrow of offers and takes, which kept no balances in the escrow
    del data["escrow_balances_before"]
    record.write_text(json.dumps(data))
    before = block(chain)
    completed = resume(cli, chain, tmp_path)
    assert completed.returncode == 2
    assert f"{record} is not a run record of format 2; run without --resume" in said(completed.stderr)
    assert block(chain) == before


@pytest.fixture(scope="module")
def tiny_run(chain, tmp_path_factory) -> Path:
    """TINY run once on the module's chain: its folder (out/ with run.json, deployments/)."""
    work = tmp_path_factory.mktemp("tiny")
    (work / "tiny.toml").write_text(TINY)
    out = ["--out", str(work / "out"), "--deployments", str(work / "deployments")]
    finished = subprocess.run(
        [str(CLI), "simulate", str(work / "tiny.toml"), "--rpc-url", chain.url, *out],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return work


@pytest.mark.parametrize(
    ("field", "value", "said_why"),
    [
        ("first_block", 999, "it started after block 999, but this chain's latest block is"),
        ("first_block_hash", "0x" + "ab" * 32, ", after which it started, is another block on this chain"),
        ("genesis", 12345, "it names slot genesis 12345, the market's is"),
    ],
)
def test_resume_with_a_run_record_edited_against_the_chain_exits_2_sends_nothing_and_keeps_it_and_the_report(
    cli, chain, tiny_run, field, value, said_why
):
    record, summary = tiny_run / "out" / RUN_RECORD_FILE, tiny_run / "out" / "summary.json"
    kept, report = record.read_text(), summary.read_bytes()
    edited = json.dumps({**json.loads(kept), field: value})
    record.write_text(edited)
    before = block(chain)
    out = ["--out", str(tiny_run / "out"), "--deployments", str(tiny_run / "deployments")]
    completed = cli("simulate", str(tiny_run / "tiny.toml"), "--rpc-url", chain.url, *out, "--resume")
    left = record.read_text()
    record.write_text(kept)
    assert (completed.returncode, block(chain), left, summary.read_bytes()) == (2, before, edited, report)
    assert said_why in said(completed.stderr) and len(completed.stderr.strip().splitlines()) == 1


def test_a_resume_that_fails_its_checks_keeps_the_earlier_report_whole_and_writes_its_own_beside_it(
    cli, chain, tmp_path_factory
):
    work = tmp_path_factory.mktemp("failing-resume")
    (work / "tiny.toml").write_text(TINY)
    out = ["--out", str(work / "out"), "--deployments", str(work / "deployments")]
    assert cli("simulate", str(work / "tiny.toml"), "--rpc-url", chain.url, *out).returncode == 0
    report = {path.name: path.read_bytes() for path in (work / "out").iterdir() if path.name != RUN_RECORD_FILE}
    (work / "out" / RUN_RECORD_FILE).touch()  # as if the run had been started again into its folder and stopped
    record = json.loads(next((work / "deployments").glob("*.json")).read_text())
    w3 = chain.web3()
    token = w3.eth.contract(record["addresses"]["EnergyToken"], abi=MINT_ABI)
    # supply the run did not make: its check of the token's total supply fails
    token.functions.mint(record["deployer"], 1).transact({"from": record["deployer"], "gasPrice": 0})
    completed = cli("simulate", str(work / "tiny.toml"), "--rpc-url", chain.url, *out, "--resume")
    beside = work / "out.failed-resume"
    assert completed.returncode == 1 and f"the report is in {beside}" in said(completed.stderr)
    assert {path.name: path.read_bytes() for path in (work / "out").iterdir() if path.name != RUN_RECORD_FILE} == report
    assert json.loads((beside / "summary.json").read_text())["checks"] != {}


MINT_ABI = [
    {
        "type": "function",
        "name": "mint",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [],
        "stateMutability": "nonpayable",
    }
]
