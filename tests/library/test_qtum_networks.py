"""Network presets, and a local anvil chain made to look like Qtum regtest."""

import dataclasses

import pytest
from web3 import Web3
from web3.exceptions import Web3RPCError

from p2p_energy.chain.anvil import LocalChain, chain_options
from p2p_energy.errors import UsageError
from p2p_energy.networks import NETWORKS, network

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

QTUM = ["qtum-mainnet", "qtum-testnet", "qtum-regtest"]
FLOOR_WEI = 40 * 10**10  # 40 sat/gas, 1 sat = 10^10 wei as Janus shows it


@pytest.mark.parametrize(
    ("name", "chain_id"), [("local", 31337), ("qtum-mainnet", 81), ("qtum-testnet", 8889), ("qtum-regtest", 8890)]
)
def test_each_preset_has_its_chain_id(name, chain_id):
    assert network(name).chain_id == chain_id


@pytest.mark.parametrize("name", QTUM)
def test_qtum_presets_have_the_qtum_gas_rules(name):
    preset = network(name)
    assert (preset.min_gas_price_wei, preset.min_gas_price_satoshi) == (FLOOR_WEI, 40)
    assert preset.block_gas_limit == 40_000_000
    assert preset.legacy_transactions_only
    assert preset.evm_version == "cancun"


@pytest.mark.parametrize(
    ("name", "address", "wif"), [("qtum-mainnet", 58, 128), ("qtum-testnet", 120, 239), ("qtum-regtest", 120, 239)]
)
def test_qtum_presets_carry_their_base58_versions(name, address, wif):
    assert (network(name).address_version, network(name).wif_version) == (address, wif)


@pytest.mark.parametrize("name", QTUM)
def test_qtum_presets_default_to_a_local_janus(name):
    assert network(name).rpc_url == "http://127.0.0.1:23889"


def test_local_preset_is_anvil_with_no_gas_price_floor():
    local = network("local")
    assert (local.min_gas_price_wei, local.is_qtum, local.rpc_url) == (0, False, "http://127.0.0.1:8545")


def test_unknown_network_lists_every_known_name():
    with pytest.raises(UsageError) as raised:
        network("qtum")
    assert all(preset.name in str(raised.value) for preset in NETWORKS)


def test_presets_cannot_be_changed():
    with pytest.raises(dataclasses.FrozenInstanceError):
        network("qtum-regtest").chain_id = 1  # type: ignore[misc]


def test_regtest_chain_options_carry_chain_id_gas_limit_and_price():
    options = chain_options("qtum-regtest")
    assert (options.chain_id, options.block_gas_limit, options.gas_price_wei) == (8890, 40_000_000, FLOOR_WEI)
    assert options.hardfork == "cancun"


def test_chain_options_keep_an_explicit_evm_target_and_chain_id():
    options = chain_options("qtum-regtest", evm_version="london", chain_id=81)
    assert (options.hardfork, options.chain_id) == ("london", 81)


def test_local_chain_options_leave_gas_to_anvil():
    options = chain_options("local")
    assert (options.block_gas_limit, options.gas_price_wei, options.base_fee_wei) == (None, None, None)


@pytest.fixture
def regtest_chain(toolchain):
    with LocalChain(toolchain.anvil, chain_options("qtum-regtest", accounts=2)) as chain:
        yield chain


def test_regtest_profile_runs_anvil_with_qtum_chain_id_gas_limit_and_price(regtest_chain):
    w3 = regtest_chain.web3()
    assert w3.eth.chain_id == 8890
    assert w3.eth.get_block("latest")["gasLimit"] == 40_000_000
    assert w3.eth.gas_price == FLOOR_WEI


def _transfer(w3: Web3, private_key: str, gas_price: int) -> bytes:
    account = w3.eth.account.from_key(private_key)
    tx = {"to": account.address, "value": 0, "gas": 21_000, "gasPrice": gas_price, "nonce": 0, "chainId": 8890}
    return w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)


def test_regtest_profile_refuses_a_legacy_transaction_under_40_sat_per_gas(regtest_chain):
    with pytest.raises(Web3RPCError, match="less than block base fee"):
        _transfer(regtest_chain.web3(), regtest_chain.accounts[0].private_key, FLOOR_WEI - 10**10)


def test_regtest_profile_mines_a_legacy_transaction_at_40_sat_per_gas(regtest_chain):
    w3 = regtest_chain.web3()
    receipt = w3.eth.wait_for_transaction_receipt(_transfer(w3, regtest_chain.accounts[0].private_key, FLOOR_WEI))
    assert (receipt["status"], receipt["type"], receipt["effectiveGasPrice"]) == (1, 0, FLOOR_WEI)
