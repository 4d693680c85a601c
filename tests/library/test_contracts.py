import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.contracts import ContractClient, Signer, TransactionFailed, decode_revert
from p2p_energy.errors import UsageError

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


@pytest.fixture
def deployed(chain, compile_for):
    client = ContractClient(chain.web3())
    admin = Signer.from_key(chain.accounts[0].private_key)
    token, receipt = client.deploy(compile_for("cancun")["EnergyToken"], admin, "Energy Token", "NRG", admin.address)
    return client, admin, token, receipt


def test_decode_revert_names_a_custom_error_and_its_arguments():
    data = revert_data("ERC20InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"],
                       ["0x" + "11" * 20, 3, 5])  # fmt: skip
    assert decode_revert(ERROR_ABI, data) == f"ERC20InsufficientBalance(sender=0x{'11' * 20}, balance=3, needed=5)"


def test_decode_revert_reads_error_strings_and_panics():
    assert decode_revert([], revert_data("Error(string)", ["string"], ["no way"])) == "no way"
    assert decode_revert([], revert_data("Panic(uint256)", ["uint256"], [0x11])) == "Panic(0x11)"


def test_decode_revert_shows_unknown_selectors():
    assert decode_revert(ERROR_ABI, "0xdeadbeef").startswith("unknown error 0xdeadbeef")


def test_deploy_reads_the_address_from_the_receipt(deployed):
    _, _, token, receipt = deployed
    assert token.address == receipt["contractAddress"]
    assert receipt["status"] == 1


def test_transact_raises_the_decoded_custom_error(deployed, chain):
    client, _, token, _ = deployed
    stranger = Signer.from_key(chain.accounts[1].private_key)
    with pytest.raises(TransactionFailed, match=r"transfer reverted: ERC20InsufficientBalance\(sender=0x"):
        client.transact(token.functions.transfer(chain.accounts[2].address, 1), stranger)


def test_signer_counts_its_own_nonces(deployed, chain):
    client, admin, token, _ = deployed
    first = admin.next_nonce
    client.transact(token.functions.mint(chain.accounts[1].address, 1), admin)
    assert admin.next_nonce == first + 1
    assert chain.web3().eth.get_transaction_count(admin.address) == admin.next_nonce


def test_at_refuses_an_address_without_code(deployed, chain, compile_for):
    client = deployed[0]
    with pytest.raises(UsageError, match="no contract code"):
        client.at(compile_for("cancun")["EnergyToken"], chain.accounts[2].address)


def test_signer_rejects_a_malformed_private_key():
    with pytest.raises(UsageError, match="not a valid private key"):
        Signer.from_key("0x1234")
