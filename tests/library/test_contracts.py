"""Deploying and calling contracts through the chain backend: receipts, reverts, nonces, keys."""

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from p2p_energy.chain.abi import decode_revert
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call, CallReverted
from p2p_energy.chain.market import deploy_contract
from p2p_energy.errors import UsageError
from tests.local_chain import deploy_local_market, first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

ERROR_ABI = [
    {
        "type": "error",
        "name": "ERC20InsufficientBalance",
        "inputs": [
            {"name": "sender", "type": "address"},
            {"name": "balance", "type": "uint256"},
            {"name": "needed", "type": "uint256"},
        ],
    }
]


def revert_data(signature: str, types: list[str], values: list) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, values)).hex()


@pytest.fixture(scope="module")
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=3)) as chain:
        yield chain


@pytest.fixture(scope="module")
def compiled(compile_for):
    return compile_for("cancun")


@pytest.fixture(scope="module")
def market(chain, compiled):
    market = deploy_local_market(chain, compiled)
    yield market
    market.chain.close()


def test_decode_revert_names_a_custom_error_and_its_arguments():
    data = revert_data("ERC20InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"],
                       ["0x" + "11" * 20, 3, 5])  # fmt: skip
    assert decode_revert(ERROR_ABI, data) == f"ERC20InsufficientBalance(sender=0x{'11' * 20}, balance=3, needed=5)"


def test_decode_revert_reads_error_strings_and_panics():
    assert decode_revert([], revert_data("Error(string)", ["string"], ["no way"])) == "no way"
    assert decode_revert([], revert_data("Panic(uint256)", ["uint256"], [0x11])) == "Panic(0x11)"


def test_decode_revert_shows_unknown_selectors():
    assert decode_revert(ERROR_ABI, "0xdeadbeef").startswith("unknown error 0xdeadbeef")


def test_deploy_reads_the_address_from_the_receipt(chain, market, compiled):
    admin = first_account(chain)
    deployed = deploy_contract(market.chain, compiled, "EnergyToken", admin, "Energy Token", "NRG", admin.address)
    receipt = chain.web3().eth.get_transaction_receipt(deployed.tx_hash)
    assert receipt["status"] == 1
    assert deployed.address == receipt["contractAddress"]
    assert (deployed.block, deployed.gas_used) == (receipt["blockNumber"], receipt["gasUsed"])
    assert market.chain.code_at(deployed.address)


def test_a_node_held_account_deploys_through_eth_send_transaction(chain, market, compiled):
    held = Account.held_by_node(chain.accounts[1].address)  # no key on our side: anvil signs
    deployed = deploy_contract(market.chain, compiled, "EnergyToken", held, "Energy Token", "NRG", held.address)
    assert chain.web3().eth.get_transaction(deployed.tx_hash)["from"] == held.address
    assert chain.web3().eth.get_transaction_receipt(deployed.tx_hash)["contractAddress"] == deployed.address


def test_transact_raises_call_reverted_naming_the_decoded_custom_error(chain, market):
    stranger = Account.from_hex(chain.accounts[1].private_key)
    with pytest.raises(CallReverted, match=r"^transfer reverted: ERC20InsufficientBalance\(sender=0x") as reverted:
        market.transact(stranger, "EnergyToken", "transfer", chain.accounts[2].address, 1)
    assert reverted.value.action == "transfer"
    assert reverted.value.reason == (
        f"ERC20InsufficientBalance(sender={stranger.address.lower()}, balance=0, needed=1)"
    )


def test_estimate_gas_raises_call_reverted_with_the_decoded_error(chain, market):
    stranger = Account.from_hex(chain.accounts[1].private_key)
    data = market.codec.encode("mint", stranger.address, 1)
    with pytest.raises(CallReverted, match=r"^mint reverted: AccessControlUnauthorizedAccount\(account=0x"):
        market.chain.estimate_gas(stranger, market.address("EnergyToken"), data)


def test_transact_returns_the_mined_outcome(chain, market):
    admin = first_account(chain)
    outcome = market.transact(admin, "EnergyToken", "mint", chain.accounts[1].address, 7)
    assert outcome.ok
    assert outcome.call.label == "mint"
    assert chain.web3().eth.get_transaction_receipt(outcome.tx_hash)["blockNumber"] == outcome.block
    assert market.view("EnergyToken", "balanceOf", chain.accounts[1].address) >= 7


def test_the_backend_counts_an_accounts_nonces_itself(chain, market):
    admin = first_account(chain)
    w3 = chain.web3()
    first = w3.eth.get_transaction_count(admin.address)
    token = market.address("EnergyToken")
    mints = [Call("mint", admin, token, market.codec.encode("mint", admin.address, n + 1), 120_000) for n in range(3)]
    outcomes = market.chain.send(mints)  # all three sent before one is mined
    assert [o.status for o in outcomes] == [1, 1, 1]
    assert [w3.eth.get_transaction(o.tx_hash)["nonce"] for o in outcomes] == [first, first + 1, first + 2]
    assert w3.eth.get_transaction_count(admin.address) == first + 3


def test_an_address_without_code_has_none(chain, market):
    assert market.chain.code_at(chain.accounts[2].address) == b""
    assert market.chain.code_at(market.address("EnergyToken")) != b""


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("0xzz", "not a valid private key"),
        ("0x1234", r"not a valid private key: expected 64 hex digits, got 4"),
        ("0x" + "00" * 32, "not a valid secp256k1 private key"),
    ],
)
def test_a_malformed_private_key_is_a_usage_error(key, message):
    with pytest.raises(UsageError, match=message):
        Account.from_hex(key)
