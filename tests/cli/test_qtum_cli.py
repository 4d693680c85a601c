"""`p2p-energy networks`, `check-qtum` and `chain --profile`."""

import re
import signal
import subprocess

import pytest
from web3 import HTTPProvider, Web3

from tests.child_output import ChildOutput
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


@pytest.mark.parametrize("command", ["networks", "check-qtum"])
def test_qtum_commands_have_help(cli, command):
    completed = cli(command, "--help")
    assert completed.returncode == 0
    assert f"usage: p2p-energy {command}" in completed.stdout


def test_networks_lists_each_preset_with_its_chain_id(cli):
    out = cli("networks").stdout
    for name, chain_id in [
        ("local", "31337"),
        ("qtum-mainnet", "81"),
        ("qtum-testnet", "8889"),
        ("qtum-regtest", "8890"),
    ]:
        assert re.search(rf"{name}\s+│\s+{chain_id}\s", out), name


def test_networks_shows_the_qtum_gas_price_floor_in_satoshi_and_wei(cli):
    out = cli("networks").stdout
    assert out.count("40 sat/gas") == 3
    assert out.count("400,000,000,000") == 3


@pytest.mark.parametrize("evm", ["cancun", "shanghai", "london"])
def test_check_qtum_passes_our_contracts_for_each_target(cli, evm):
    completed = cli("check-qtum", "--evm", evm)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no findings" in completed.stdout


def test_check_qtum_fails_a_shanghai_build_for_london_naming_push0_and_offset(cli):
    completed = cli("check-qtum", "--evm", "london", "--compiled-for", "shanghai")
    assert completed.returncode == 1
    assert re.search(r"EnergyToken: PUSH0 at byte \d+ \(0x[0-9a-f]+\): needs shanghai", completed.stdout)


def test_check_qtum_rejects_an_unknown_target_with_exit_2(cli):
    completed = cli("check-qtum", "--compiled-for", "osaka")
    assert completed.returncode == 2
    assert "invalid choice: 'osaka'" in completed.stderr


def test_chain_rejects_an_unknown_profile_with_exit_2(cli):
    completed = cli("chain", "--profile", "qtum-devnet")
    assert completed.returncode == 2
    assert "invalid choice: 'qtum-devnet'" in completed.stderr


def test_chain_with_the_regtest_profile_runs_anvil_like_qtum_regtest():
    process = subprocess.Popen(
        [str(CLI), "chain", "--profile", "qtum-regtest", "--port", "0", "--accounts", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = ChildOutput(process).lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
        w3 = Web3(HTTPProvider(lines[0].rsplit(" at ", 1)[1]))
        assert w3.eth.chain_id == 8890
        assert w3.eth.get_block("latest")["gasLimit"] == 40_000_000
        assert w3.eth.gas_price == 400_000_000_000
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.wait()
