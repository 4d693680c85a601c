import signal
import socket
import subprocess

import psutil
import pytest
from web3 import HTTPProvider, Web3

from tests.child_output import ChildOutput
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


@pytest.mark.parametrize("command", ["compile", "export", "chain", "demo", "toolchain"])
def test_each_command_has_help(cli, command):
    completed = cli(command, "--help")
    assert completed.returncode == 0
    assert f"usage: p2p-energy {command}" in completed.stdout


def test_top_level_help_lists_the_commands(cli):
    out = cli("--help").stdout
    for command in ("compile", "export", "chain", "demo", "toolchain"):
        assert command in out


def test_unknown_command_exits_2(cli):
    completed = cli("frobnicate")
    assert completed.returncode == 2
    assert "invalid choice" in completed.stderr


def test_unknown_evm_target_exits_2(cli):
    completed = cli("compile", "--evm", "osaka")
    assert completed.returncode == 2
    assert "invalid choice: 'osaka'" in completed.stderr


def test_compile_lists_the_token_with_its_size(cli):
    completed = cli("compile")
    assert completed.returncode == 0, completed.stderr
    assert "EnergyToken" in completed.stdout
    assert "contracts/EnergyToken.sol" in completed.stdout


def test_compile_twice_comes_from_the_cache(cli):
    cli("compile", "--evm", "london")
    assert "from cache" in cli("compile", "--evm", "london").stdout


def test_toolchain_names_solc_anvil_and_openzeppelin(cli):
    out = cli("toolchain").stdout
    assert "0.8.28" in out and "anvil" in out and "5.4.0" in out


def test_demo_deploys_the_token_and_mints_to_holders(cli):
    completed = cli("demo", "--holders", "2")
    assert completed.returncode == 0, completed.stderr
    assert "EnergyToken at 0x" in completed.stdout
    assert completed.stdout.count("1000.00000000") == 2


def test_demo_rejects_zero_holders_with_exit_2(cli):
    completed = cli("demo", "--holders", "0")
    assert completed.returncode == 2
    assert "--holders must be from 1 to 1,000, got 0" in completed.stderr


def test_chain_runs_until_ctrl_c_and_leaves_no_process():
    process = subprocess.Popen([str(CLI), "chain", "--port", "0"], stdout=subprocess.PIPE, text=True)
    output = ChildOutput(process)
    try:
        lines = output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
        url = lines[0].rsplit(" at ", 1)[1]
        w3 = Web3(HTTPProvider(url))
        assert w3.eth.chain_id == 31337
        assert lines[1].startswith(f"account 0: {w3.eth.accounts[0]} key 0x")
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    assert "chain stopped" in "\n".join(output.rest(timeout=20))
    assert children and not any(child.is_running() for child in children)


def _start_chain(*args):
    process = subprocess.Popen([str(CLI), "chain", "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    lines = ChildOutput(process).lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
    return process, Web3(HTTPProvider(lines[0].rsplit(" at ", 1)[1]))


def test_chain_with_a_state_file_comes_back_with_its_blocks(tmp_path):
    state = tmp_path / "chain.json"
    process, w3 = _start_chain("--state", str(state))
    try:
        w3.provider.make_request("evm_mine", [])
        w3.provider.make_request("evm_mine", [])
        mined = w3.eth.block_number
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    process, w3 = _start_chain("--state", str(state))
    try:
        assert w3.eth.block_number == mined >= 2
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_chain_exits_1_with_one_line_when_its_anvil_dies():
    process = subprocess.Popen(
        [str(CLI), "chain", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        ChildOutput(process).lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
        (anvil,) = psutil.Process(process.pid).children(recursive=True)
        anvil.kill()
        assert process.wait(timeout=20) == 1
    finally:
        process.kill()
        process.wait()
    lines = process.stderr.read().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: anvil at http://127.0.0.1:"), lines
    assert "exited (killed by SIGKILL); the chain is gone" in lines[0]


def test_chain_on_a_port_in_use_exits_2_saying_so(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = cli("chain", "--port", str(port))
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: port {port} is in use; choose another --port"


def test_chain_with_simulation_has_the_block_gas_limit_and_the_zero_base_fee_of_simulates_own_chain():
    process, w3 = _start_chain("--simulation")
    try:
        latest = w3.eth.get_block("latest")
        assert latest["gasLimit"] == 1_000_000_000
        assert latest["baseFeePerGas"] == 0
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_demo_refuses_more_holders_than_anvil_starts_in_time_with_exit_2_and_one_line(cli):
    completed = cli("demo", "--holders", "100000")
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "error: --holders must be from 1 to 1,000, got 100,000 (anvil makes one account per holder before it starts, "
        "and more would not start in time)"
    ]
