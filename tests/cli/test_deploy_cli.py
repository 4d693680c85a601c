import json

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain, free_port
from p2p_energy.run.target import PRIVATE_KEY_ENV
from p2p_energy.solidity.toolchain import find_toolchain

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


@pytest.fixture(scope="module")
def toolchain():
    return find_toolchain()


@pytest.fixture(scope="module")
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as chain:
        yield chain


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(PRIVATE_KEY_ENV, raising=False)


def said(stream):
    """The output with rich's line wrapping undone."""
    return " ".join(stream.split())


def nonce(chain):
    return chain.web3().eth.get_transaction_count(chain.accounts[0].address)


def test_deploy_to_an_rpc_url_exits_0_and_writes_the_record(cli, chain, tmp_path):
    completed = cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    record = json.loads((tmp_path / "local-31337.json").read_text())
    assert f"EnergyEscrow   {record['addresses']['EnergyEscrow']}  tx {record['tx_hashes']['EnergyEscrow']}" in (
        completed.stdout
    )


def test_a_second_deploy_to_the_same_chain_says_reused(cli, chain, tmp_path):
    cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path))
    completed = cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "reused the recorded market" in completed.stdout


def test_a_bad_rpc_url_exits_2(cli, tmp_path):
    completed = cli("deploy", "--rpc-url", "127.0.0.1:8545", "--deployments", str(tmp_path))
    assert completed.returncode == 2
    assert "is not valid: give one like http://127.0.0.1:8545" in said(completed.stderr)


def test_an_unreachable_node_exits_2(cli, tmp_path):
    completed = cli("deploy", "--rpc-url", f"http://127.0.0.1:{free_port()}", "--deployments", str(tmp_path))
    assert completed.returncode == 2
    assert "no EVM node answers" in said(completed.stderr)


def test_a_network_with_another_chain_id_exits_2_and_sends_nothing(cli, chain, tmp_path):
    before = nonce(chain)
    completed = cli("deploy", "--rpc-url", chain.url, "--network", "qtum-regtest", "--deployments", str(tmp_path))
    assert completed.returncode == 2
    assert "has chain id 31337, not 8890 (qtum-regtest)" in said(completed.stderr)
    assert nonce(chain) == before
    assert not any(tmp_path.iterdir())


def test_a_bad_private_key_exits_2_and_sends_nothing(cli, chain, tmp_path):
    before = nonce(chain)
    completed = cli("deploy", "--rpc-url", chain.url, "--private-key", "0x1234", "--deployments", str(tmp_path))
    assert completed.returncode == 2
    assert "not a valid private key" in said(completed.stderr)
    assert nonce(chain) == before


def test_the_key_from_the_environment_deploys(cli, chain, tmp_path, monkeypatch):
    monkeypatch.setenv(PRIVATE_KEY_ENV, chain.accounts[1].private_key)
    completed = cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert json.loads((tmp_path / "local-31337.json").read_text())["deployer"] == chain.accounts[1].address


def test_off_anvil_chain_id_a_key_is_required(cli, toolchain, tmp_path):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=1, chain_id=4242)) as other:
        completed = cli("deploy", "--rpc-url", other.url, "--deployments", str(tmp_path))
    assert completed.returncode == 2
    assert f"give the deployer's key with --private-key or ${PRIVATE_KEY_ENV}" in said(completed.stderr)


def test_a_zero_grace_period_exits_2(cli, tmp_path):
    completed = cli("deploy", "--grace-period", "0", "--deployments", str(tmp_path))
    assert completed.returncode == 2
    assert "no lot could ever be settled" in said(completed.stderr)


def test_without_an_rpc_url_it_deploys_on_a_throwaway_local_chain_whose_record_goes_with_it(cli, tmp_path):
    completed = cli("deploy", "--deployments", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "local chain stopped, and its record with it" in said(completed.stdout)
    assert list(tmp_path.iterdir()) == []


def test_the_record_of_a_persistent_chain_survives_a_simulate_on_simulates_own_chain(cli, chain, tmp_path):
    deployed = cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path))
    assert deployed.returncode == 0, deployed.stderr
    record = (tmp_path / "local-31337.json").read_text()
    demo = find_toolchain().root / "scenarios" / "demo.toml"
    simulated = cli("simulate", str(demo), "--out", str(tmp_path / "report"), "--deployments", str(tmp_path))
    assert simulated.returncode == 0, simulated.stderr
    assert "overwriting the record" not in said(simulated.stdout)
    assert (tmp_path / "local-31337.json").read_text() == record
    again = cli("deploy", "--rpc-url", chain.url, "--deployments", str(tmp_path))
    assert "reused the recorded market" in said(again.stdout)
