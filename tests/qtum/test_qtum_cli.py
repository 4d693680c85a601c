"""Bad input with --backend qtum: one line, exit 2, nothing sent (the node's height does not move)."""

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from p2p_energy.chain.market import market_codec
from p2p_energy.run.target import TargetOptions, open_target

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "p2p-energy"
DEMO = PROJECT / "scenarios" / "demo.toml"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=120, check=False, env=env, cwd=PROJECT
    )


def one_line(completed: subprocess.CompletedProcess[str]) -> str:
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    return lines[0]


@pytest.fixture
def height(node):
    """The node's height now, to check afterwards that nothing was mined."""
    return node.rpc().call("getblockcount")


def test_no_qtumd_anywhere_exits_2_saying_where_we_looked_and_how_to_get_qtum_core(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QTUMD"}
    env["PATH"] = "/usr/bin:/bin"
    completed = run("simulate", str(DEMO), "--backend", "qtum", "--out", str(tmp_path / "out"), env=env)
    assert completed.returncode == 2
    line = one_line(completed)
    assert "--qtumd PATH" in line and "$QTUMD" in line and "PATH" in line and "qtumproject/qtum/releases" in line


def test_wrong_rpc_credentials_exit_2_naming_http_401(node, height, tmp_path):
    url = f"http://{node.url.user}:wrong@127.0.0.1:{node.url.port}"
    completed = run("simulate", str(DEMO), "--backend", "qtum", "--rpc-url", url, "--out", str(tmp_path / "o"))
    assert completed.returncode == 2
    assert "HTTP 401" in one_line(completed)
    assert node.rpc().call("getblockcount") == height


def test_a_node_of_another_network_than_the_preset_named_exits_2(node, height, tmp_path):
    url = node.url.with_credentials
    completed = run(
        "simulate", str(DEMO), "--backend", "qtum", "--rpc-url", url, "--network", "qtum-testnet",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert completed.returncode == 2
    assert "runs regtest, not qtum-testnet" in one_line(completed)
    assert node.rpc().call("getblockcount") == height


@pytest.mark.parametrize("option", [["--profile", "local"], ["--node-accounts"], ["--private-key", "0x" + "11" * 32]])
def test_an_evm_only_option_with_backend_qtum_exits_2(option, tmp_path):
    completed = run("simulate", str(DEMO), "--backend", "qtum", *option, "--out", str(tmp_path / "o"))
    assert completed.returncode == 2
    assert option[0] in one_line(completed)


def test_qtumd_without_backend_qtum_exits_2(tmp_path):
    completed = run("simulate", str(DEMO), "--qtumd", "/bin/true", "--out", str(tmp_path / "o"))
    assert completed.returncode == 2
    assert "--qtumd goes with --backend qtum" in one_line(completed)


def test_no_mine_without_an_rpc_url_exits_2_saying_nobody_would_mine(tmp_path):
    completed = run("simulate", str(DEMO), "--backend", "qtum", "--no-mine", "--out", str(tmp_path / "o"))
    assert completed.returncode == 2
    assert "--no-mine goes with --rpc-url" in one_line(completed)


def test_block_time_without_backend_qtum_exits_2(tmp_path):
    completed = run("simulate", str(DEMO), "--block-time", "32", "--out", str(tmp_path / "o"))
    assert completed.returncode == 2
    assert "--block-time goes with --backend qtum" in one_line(completed)


def test_no_mine_on_a_regtest_node_waits_for_its_blocks_instead_of_mining(node, compiled):
    options = TargetOptions(backend="qtum", rpc_url=node.url.with_credentials, mine=False)
    with open_target(Path("anvil"), options, market_codec(compiled), lambda _: None) as target:
        assert not target.chain.can_mine
    with open_target(Path("anvil"), replace(options, mine=True), market_codec(compiled), lambda _: None) as target:
        assert target.chain.can_mine


def test_qtumd_env_naming_a_file_that_is_not_executable_exits_2_saying_so(tmp_path):
    not_executable = tmp_path / "qtumd"
    not_executable.write_text("#!/bin/sh\n")
    env = {**os.environ, "QTUMD": str(not_executable)}
    completed = run("simulate", str(DEMO), "--backend", "qtum", "--out", str(tmp_path / "out"), env=env)
    assert completed.returncode == 2
    line = one_line(completed)
    assert f"$QTUMD {not_executable}: not executable" in line
