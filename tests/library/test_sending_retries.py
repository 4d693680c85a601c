"""The sending path when transactions fail: what is reported, what is sent again, and that no nonce is spent twice.

A real anvil with the market deployed; faults are made the way a node makes
them: a transfer the account cannot pay is refused, a transaction taken out
of the pool after it was sent (as a node's pool evicts one) is dropped, and
withdrawing more than the account's escrow balance reverts on chain.
"""

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.legacy_tx import sign_legacy
from tests.local_chain import deploy_local_market

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

MAX_UINT256 = 2**256 - 1


@pytest.fixture(scope="module")
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=1, base_fee_wei=0)) as chain:
        yield chain


@pytest.fixture(scope="module")
def market(chain, compile_for):
    market = deploy_local_market(chain, compile_for("cancun"), genesis=0, gas_price=0)
    yield market
    market.chain.close()


@pytest.fixture
def sender(chain, market):
    backend = EvmBackend(chain.web3(), market.codec, gas_price=0, can_mine=True)
    yield backend
    backend.close()


@pytest.fixture
def account(request):
    """An account of this test alone, with no coin (gas is free on this chain)."""
    return Account.from_key(keccak(text=f"retries:{request.node.name}"))


def approve(market, account, amount=1):
    data = market.codec.encode("approve", market.address("EnergyEscrow"), amount)
    return Call("approve", account, market.address("EnergyToken"), data, 100_000)


def pay(account, to, wei):
    return Call("pay", account, to, b"", 21_000, value=wei)


def on_chain_nonce(chain, account):
    return chain.web3().eth.get_transaction_count(account.address)


def pool_hashes(chain, account):
    pending = chain.web3().provider.make_request("txpool_content", [])["result"]["pending"]
    for address, by_nonce in pending.items():
        if address.lower() == account.address.lower():
            return {int(nonce): tx["hash"] for nonce, tx in by_nonce.items()}
    return {}


def test_a_refused_transaction_is_reported_with_the_nodes_reason(chain, market, sender, account):
    outcomes = sender.send([pay(account, chain.accounts[0].address, 1)])
    assert outcomes[0].status == -1
    assert outcomes[0].error.startswith("refused by the node:")
    assert "insufficient" in outcomes[0].error.lower()


def test_after_a_refusal_the_accounts_later_transactions_are_mined_with_the_freed_nonces(
    chain, market, sender, account
):
    calls = [approve(market, account, 1), pay(account, chain.accounts[0].address, 1), approve(market, account, 2)]
    outcomes = sender.send(calls)
    assert [o.status for o in outcomes] == [1, -1, 1]
    assert on_chain_nonce(chain, account) == 2  # nonces 0 and 1: the refused one left no gap


def test_a_transaction_dropped_from_the_pool_is_sent_again_once_with_the_same_bytes(chain, market, sender, account):
    sent = {}

    def evict(_):
        sent.update(pool_hashes(chain, account))
        chain.web3().provider.make_request("anvil_removePoolTransactions", [account.address])

    outcomes = sender.send([approve(market, account, 1), approve(market, account, 2)], on_sent=evict)
    assert [o.status for o in outcomes] == [1, 1]
    assert [o.tx_hash for o in outcomes] == [sent[0], sent[1]]
    assert on_chain_nonce(chain, account) == 2


def test_a_dropped_transaction_whose_nonce_another_transaction_used_is_not_sent_again(chain, market, sender, account):
    def replace(_):
        chain.web3().provider.make_request("anvil_removePoolTransactions", [account.address])
        raw = sign_legacy(account, 0, 0, 21_000, account.address, b"", sender.chain_id)
        chain.web3().provider.make_request("eth_sendRawTransaction", ["0x" + raw.hex()])

    outcomes = sender.send([approve(market, account, 1)], on_sent=replace)
    assert outcomes[0].status == -1
    assert "nonce 0 of" in outcomes[0].error
    assert "was used by another transaction; not sent again" in outcomes[0].error
    assert on_chain_nonce(chain, account) == 1  # the other transaction only


def test_a_reverted_transaction_is_reported_with_its_decoded_error_and_sent_once(chain, market, sender, account):
    withdraw = Call("withdraw", account, market.address("EnergyEscrow"), market.codec.encode("withdraw", 1), 150_000)
    outcomes = sender.send([withdraw])
    assert outcomes[0].status == 0
    assert outcomes[0].error == f"InsufficientBalance(account={account.address.lower()}, balance=0, needed=1)"
    assert on_chain_nonce(chain, account) == 1


def test_the_backend_reads_its_clock_from_the_chain(chain, sender):
    latest = chain.web3().eth.get_block("latest")["timestamp"]
    assert sender.clock == latest
