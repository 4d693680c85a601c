"""Bad input to `simulate`, everywhere a user can type: one clear line on stderr, exit code 2, nothing sent.

"Nothing sent" is checked on a real anvil: its block number does not move
and no run record is written. A deployment record whose addresses hold no
code is not an error: it describes another chain (a fresh one), so a new
market is deployed and the output says why.
"""

import json
import socket
import subprocess
import sys
import time

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain, free_port
from p2p_energy.run.resume import RUN_RECORD_FILE
from p2p_energy.run.target import PRIVATE_KEY_ENV
from p2p_energy.solidity.toolchain import find_toolchain
from tests.cli.conftest import TINY

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(PRIVATE_KEY_ENV, raising=False)


@pytest.fixture(scope="module")
def chain():
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(find_toolchain().anvil, options) as chain:
        yield chain


@pytest.fixture
def scenario(tiny_scenario):
    """The scenario most tests here break one way or another: TINY."""
    return tiny_scenario


@pytest.fixture
def simulate(cli, scenario, tmp_path):
    """`p2p-energy simulate tiny.toml` with its report and deployment records in the test's folder."""

    def run(*args: str, scenario=scenario):
        out = ["--out", str(tmp_path / "out"), "--deployments", str(tmp_path / "deployments")]
        return cli("simulate", str(scenario), *out, *args)

    return run


def block(chain) -> int:
    return chain.web3().eth.block_number


def one_error_line(completed) -> str:
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def assert_nothing_sent(chain, before, tmp_path):
    assert block(chain) == before
    assert not (tmp_path / "out" / RUN_RECORD_FILE).exists()


def record_of(chain, cli, tmp_path, **changes) -> None:
    """A real deployment record of `chain` (one `deploy`), then edited."""
    completed = cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path / "deployments"))
    assert completed.returncode == 0, completed.stderr
    path = tmp_path / "deployments" / "local-31337.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_an_unknown_network_exits_2_naming_the_choices(simulate, chain):
    completed = simulate("--rpc-url", chain.url, "--network", "qtum-devnet")
    assert completed.returncode == 2
    assert "argument --network: invalid choice: 'qtum-devnet'" in one_error_line(completed)


def test_a_bad_rpc_url_exits_2_with_one_line(simulate, tmp_path):
    completed = simulate("--rpc-url", "127.0.0.1:8545")
    assert completed.returncode == 2
    assert "is not valid: give one like http://127.0.0.1:8545" in one_error_line(completed)


def test_an_unreachable_node_exits_2_with_one_line(simulate, tmp_path):
    completed = simulate("--rpc-url", f"http://127.0.0.1:{free_port()}")
    assert completed.returncode == 2
    assert "no EVM node answers" in one_error_line(completed)
    assert not (tmp_path / "out" / RUN_RECORD_FILE).exists()


def test_a_network_preset_with_another_chain_id_exits_2_and_sends_nothing(simulate, chain, tmp_path):
    before = block(chain)
    completed = simulate("--rpc-url", chain.url, "--network", "qtum-regtest")
    assert completed.returncode == 2
    assert "has chain id 31337, not 8890 (qtum-regtest)" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_a_deployment_record_with_another_chain_id_exits_2_and_sends_nothing(simulate, cli, chain, tmp_path):
    record_of(chain, cli, tmp_path, chain_id=8890)
    before = block(chain)
    completed = simulate("--rpc-url", chain.url)
    assert completed.returncode == 2
    assert "records chain id 8890 but is the file of chain 31337" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_a_bad_private_key_exits_2_and_sends_nothing(simulate, chain, tmp_path):
    before = block(chain)
    completed = simulate("--rpc-url", chain.url, "--private-key", "0x1234")
    assert completed.returncode == 2
    assert "not a valid private key" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_a_bad_wif_key_exits_2_and_sends_nothing(simulate, chain, tmp_path):
    before = block(chain)
    completed = simulate("--rpc-url", chain.url, "--private-key", "cN" + "1" * 50)
    assert completed.returncode == 2
    assert "private key" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_a_private_key_without_an_rpc_url_exits_2(simulate, tmp_path):
    completed = simulate("--private-key", "0x" + "11" * 32)
    assert completed.returncode == 2
    assert "--network and --private-key go with --rpc-url" in one_error_line(completed)


def test_a_scenario_with_an_unknown_key_exits_2_naming_the_file_and_the_key(simulate, scenario, chain, tmp_path):
    scenario.write_text(TINY.replace("seed = 7", "seed = 7\nsed = 8"))
    before = block(chain)
    completed = simulate("--rpc-url", chain.url)
    assert completed.returncode == 2
    line = one_error_line(completed)
    assert str(scenario) in line and "sed" in line
    assert_nothing_sent(chain, before, tmp_path)


def test_a_missing_scenario_file_exits_2(simulate, tmp_path):
    completed = simulate(scenario=tmp_path / "nowhere.toml")
    assert completed.returncode == 2
    assert "nowhere.toml" in one_error_line(completed)


def test_a_deployment_record_whose_addresses_hold_no_code_deploys_a_new_market_and_says_why(
    simulate, cli, chain, tmp_path
):
    empty = {name: f"0x{'de' * 19}{n:02x}" for n, name in enumerate(("EnergyToken", "MeterRegistry", "EnergyEscrow"))}
    record_of(chain, cli, tmp_path, addresses=empty)
    completed = simulate("--rpc-url", chain.url)
    assert completed.returncode == 0, completed.stderr
    said = " ".join(completed.stdout.split())
    assert "the chain has no code at the recorded addresses (a fresh chain); deploying a new market" in said
    record = json.loads((tmp_path / "deployments" / "local-31337.json").read_text())
    assert record["addresses"] != empty


def test_an_out_folder_under_a_file_exits_2_saying_it_is_a_file_and_sends_nothing(simulate, chain, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    before = block(chain)
    completed = simulate("--rpc-url", chain.url, "--out", str(a_file / "report"))
    assert completed.returncode == 2
    assert f"{a_file} is a file" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_an_out_folder_where_nothing_can_be_written_exits_2_and_sends_nothing(simulate, chain, tmp_path):
    before = block(chain)
    completed = simulate("--rpc-url", chain.url, "--out", "/sys/p2p-energy/report")
    assert completed.returncode == 2
    assert "cannot write the report folder /sys/p2p-energy/report in /sys" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_a_project_folder_that_does_not_exist_exits_2_with_one_line(cli, scenario, chain, tmp_path):
    before = block(chain)
    nowhere = tmp_path / "nowhere"
    out = ["--out", str(tmp_path / "out"), "--deployments", str(tmp_path / "deployments")]
    completed = cli("--project", str(nowhere), "simulate", str(scenario), "--rpc-url", chain.url, *out)
    assert completed.returncode == 2
    assert f"--project {nowhere}: no such folder" in one_error_line(completed)
    assert_nothing_sent(chain, before, tmp_path)


def test_a_project_folder_that_holds_no_project_exits_2_with_one_line(cli, tmp_path):
    completed = cli("--project", str(tmp_path), "networks")
    assert completed.returncode == 2
    assert f"--project {tmp_path}: no p2p-energy project" in one_error_line(completed)


@pytest.fixture
def web_server(tmp_path):
    """`python -m http.server` on a free loopback port: something answers HTTP there, but not JSON-RPC."""
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "http.server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_rpc_url_answered_by_a_web_server_exits_2_saying_it_is_no_json_rpc_node(simulate, web_server, tmp_path):
    completed = simulate("--rpc-url", web_server)
    assert completed.returncode == 2
    line = one_error_line(completed)
    assert f"something answers at {web_server} but it is not a JSON-RPC node (HTTP 501" in line
    assert not (tmp_path / "out" / RUN_RECORD_FILE).exists()
