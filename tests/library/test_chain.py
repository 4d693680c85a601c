import os
import socket
import subprocess

import psutil
import pytest

from p2p_energy.chain.anvil import WORKDIR_PREFIX, ChainOptions, LocalChain, _written_config
from p2p_energy.chain.backend import CallReverted, ChainError
from p2p_energy.chain.market import deploy_contract
from p2p_energy.chain.processes import PID_FILE, sweep_stale
from p2p_energy.chain.rpc import connect
from p2p_energy.errors import UsageError
from tests.local_chain import first_account, local_backend

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def deploy_token(chain, compiled):
    """EnergyToken on `chain`, deployed through a backend; returns its address."""
    backend = local_backend(chain, compiled)
    try:
        admin = first_account(chain)
        return deploy_contract(backend, compiled, "EnergyToken", admin, "Energy Token", "NRG", admin.address).address
    finally:
        backend.close()


def test_local_chain_answers_with_funded_accounts(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=3)) as chain:
        w3 = chain.web3()
        assert w3.eth.chain_id == 31337
        assert [a.address for a in chain.accounts] == w3.eth.accounts
        assert w3.eth.get_balance(chain.accounts[2].address) == 10_000 * 10**18


def test_local_chain_takes_the_chain_id_asked_for(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(chain_id=8890, accounts=1)) as chain:
        assert chain.web3().eth.chain_id == 8890


def test_stop_leaves_no_process_and_frees_the_port(toolchain):
    chain = LocalChain(toolchain.anvil, ChainOptions(accounts=1)).start()
    pid, port = chain.pid, int(chain.url.rsplit(":", 1)[1])
    assert psutil.pid_exists(pid)
    chain.stop()
    assert not psutil.pid_exists(pid)
    assert not port_is_open(port)


def test_leaving_the_block_on_an_error_stops_the_chain(toolchain):
    with pytest.raises(RuntimeError), LocalChain(toolchain.anvil, ChainOptions(accounts=1)) as chain:
        pid = chain.pid
        raise RuntimeError("boom")
    assert not psutil.pid_exists(pid)


def test_start_on_a_busy_port_fails_saying_the_port_is_in_use_and_starts_no_process(toolchain):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        chain = LocalChain(toolchain.anvil, ChainOptions(port=port, accounts=1))
        with pytest.raises(UsageError, match=f"^port {port} is in use; choose another --port$"):
            chain.start()
    assert chain.pid is None


def test_chain_options_reject_an_unknown_evm_target():
    with pytest.raises(UsageError, match="unknown EVM target 'prague'"):
        ChainOptions(evm_version="prague")


@pytest.mark.parametrize("evm_version", ["london", "shanghai", "cancun"])
def test_contracts_built_for_a_target_run_on_its_chain(toolchain, compile_for, evm_version):
    with LocalChain(toolchain.anvil, ChainOptions(evm_version=evm_version, accounts=1)) as chain:
        compiled = compile_for(evm_version)
        token = chain.web3().eth.contract(address=deploy_token(chain, compiled), abi=compiled["EnergyToken"].abi)
        assert token.functions.decimals().call() == 8


@pytest.mark.parametrize(("built_for", "chain_runs"), [("shanghai", "london"), ("cancun", "shanghai")])
def test_a_build_for_a_newer_target_is_rejected_by_an_older_chain(toolchain, compile_for, built_for, chain_runs):
    # PUSH0 came with shanghai and MCOPY with cancun: an older chain refusing
    # the bytecode proves it really runs the hardfork we asked for.
    with (
        LocalChain(toolchain.anvil, ChainOptions(evm_version=chain_runs, accounts=1)) as chain,
        pytest.raises(CallReverted, match=r"^deploy EnergyToken reverted: .*NotActivated"),
    ):
        deploy_token(chain, compile_for(built_for))


def test_connect_rejects_a_url_that_is_not_http():
    with pytest.raises(UsageError, match="not valid"):
        connect("localhost:8545")


def test_connect_reports_a_node_that_does_not_answer():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ChainError, match=f"no EVM node answers at http://127.0.0.1:{port}"):
        connect(f"http://127.0.0.1:{port}", timeout_s=1)


def test_only_temp_folders_whose_run_and_node_are_both_dead_are_swept(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    folders = {name: tmp_path / f"{WORKDIR_PREFIX}{name}" for name in ("dead", "running", "unclaimed")}
    for folder in folders.values():
        folder.mkdir()
    (folders["dead"] / PID_FILE).write_text(f"{dead.pid} {dead.pid}\n")
    (folders["running"] / PID_FILE).write_text(f"{os.getpid()} {dead.pid}\n")
    assert sweep_stale(WORKDIR_PREFIX, tmp_path) == [folders["dead"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{WORKDIR_PREFIX}running", f"{WORKDIR_PREFIX}unclaimed"]


@pytest.mark.parametrize("text", ["", '{"available_accounts": ["0x01"]', "[]"])
def test_an_anvil_config_not_yet_written_whole_is_not_read_as_the_chains_accounts(tmp_path, text):
    config = tmp_path / "config.json"
    config.write_text(text)
    assert _written_config(config) is None


def test_an_anvil_config_written_whole_gives_the_chains_accounts(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"available_accounts": ["0x01"], "private_keys": ["0x02"]}')
    assert _written_config(config) == {"available_accounts": ["0x01"], "private_keys": ["0x02"]}
