"""The Qtum backend against a real qtumd: addresses, funding, deployment, calls, reverts, mempool rounds."""

from decimal import Decimal

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.backend import Call, CallReverted, InsufficientFunds
from p2p_energy.chain.market import Market, MarketAddresses, deploy_contract
from p2p_energy.chain.qtum import MAX_CALLS_PER_ROUND
from p2p_energy.chain.qtum_keys import QtumKey
from p2p_energy.run.deployments import DeploymentRequest, deploy_or_reuse
from p2p_energy.units import SATOSHI_PER_QTUM


def key(label: str) -> bytes:
    return keccak(text=f"test_qtum_backend:{label}")


@pytest.fixture
def token(backend, compiled, operator) -> Market:
    deployed = deploy_contract(backend, compiled, "EnergyToken", operator, "Energy", "NRG", operator.address)
    return Market(backend, backend.codec, MarketAddresses(deployed.address, "", ""))


@pytest.fixture
def funded(backend, operator):
    """A household account with 10 QTUM for fees."""
    account = backend.account(key("funded"))
    assert all(o.ok for o in backend.fund(operator, {account.address: 10 * SATOSHI_PER_QTUM}))
    return account


def test_an_accounts_address_is_the_hash160_the_node_gives_its_base58_address(backend):
    account = backend.account(key("address"))
    base58 = backend.sender(account)
    assert "0x" + backend.rpc.call("gethexaddress", base58) == account.address.lower()


def test_the_node_spells_an_accounts_hex_address_as_our_base58_address(backend):
    account = backend.account(key("base58"))
    assert backend.rpc.call("fromhexaddress", account.address[2:].lower()) == backend.sender(account)


def test_an_accounts_address_is_not_its_keccak_address(backend):
    account = backend.account(key("keccak"))
    assert account.address.lower() != QtumKey(key("keccak")).keccak_address.lower()


def test_funding_gives_the_account_the_amount_in_qtum(backend, funded):
    assert Decimal(str(backend.rpc.call("getreceivedbyaddress", backend.sender(funded), 0))) == 10


def test_a_deployed_contract_has_code_at_the_address_the_node_named(backend, token):
    assert len(backend.code_at(token.addresses.token)) > 1000


def test_a_view_call_returns_the_contracts_answer(token):
    assert token.view("EnergyToken", "decimals") == 8


def test_msg_sender_of_a_households_call_is_its_hash160_address(backend, token, operator, funded):
    token.transact(operator, "EnergyToken", "mint", funded.address, 1_000)
    token.transact(funded, "EnergyToken", "transfer", operator.address, 400)
    assert token.view("EnergyToken", "balanceOf", funded.address) == 600


def test_a_transaction_costs_the_sender_at_most_gas_limit_times_price_plus_fee(backend, token, operator, funded):
    token.transact(operator, "EnergyToken", "mint", funded.address, 1_000)
    spendable = _spendable(backend, funded)
    outcome = token.transact(funded, "EnergyToken", "transfer", operator.address, 1)
    spent = spendable - _spendable(backend, funded)
    gas_limit = outcome.call.gas
    assert 0 < spent <= Decimal(backend.gas_price * gas_limit) / SATOSHI_PER_QTUM + Decimal("0.01")


def _spendable(backend, account) -> Decimal:
    coins = backend.rpc.call("listunspent", 0, 9_999_999, [backend.sender(account)])
    return sum((Decimal(str(c["amount"])) for c in coins), Decimal(0))


def test_a_revert_surfaces_as_the_decoded_custom_error(token, funded, operator):
    with pytest.raises(
        CallReverted, match=r"ERC20InsufficientBalance\(sender=0x[0-9a-fA-F]{40}, balance=0, needed=5\)"
    ):
        token.transact(funded, "EnergyToken", "transfer", operator.address, 5)


def test_a_mined_revert_names_the_decoded_custom_error_in_its_outcome(backend, token, funded, operator):
    data = backend.codec.encode("transfer", operator.address, 5)
    outcome = backend.send([Call("transfer", funded, token.addresses.token, data, 100_000)])[0]
    assert outcome.status == 0
    assert outcome.error.startswith("ERC20InsufficientBalance(")


def test_a_phase_larger_than_the_mempool_limit_goes_out_in_rounds(backend, token, operator, funded):
    backend.max_unconfirmed = 3
    data = backend.codec.encode("mint", funded.address, 1)
    outcomes = backend.send([Call("mint", operator, token.addresses.token, data, 100_000) for _ in range(7)])
    assert [o.ok for o in outcomes] == [True] * 7
    assert token.view("EnergyToken", "balanceOf", funded.address) == 7


def test_a_phase_larger_than_the_wallet_takes_between_blocks_goes_out_in_rounds(backend, token, operator, funded):
    # qtumd refuses (map::at) every contract transaction past the 501st between two blocks.
    data = backend.codec.encode("mint", funded.address, 1)
    before = token.view("EnergyToken", "balanceOf", funded.address)
    calls = [Call("mint", operator, token.addresses.token, data, 100_000) for _ in range(MAX_CALLS_PER_ROUND + 50)]
    outcomes = backend.send(calls)
    assert [o.error for o in outcomes if not o.ok] == []
    assert token.view("EnergyToken", "balanceOf", funded.address) == before + MAX_CALLS_PER_ROUND + 50


def test_advancing_time_mines_a_block_at_that_time(backend):
    target = backend.latest_block().timestamp + 3_600
    backend.advance_to(target)
    assert backend.latest_block().timestamp == target


def test_logs_of_a_contract_come_back_in_ethereum_shape(backend, token, operator, funded):
    """Decoded as Ethereum logs are, each naming its transaction and block as eth_getLogs does."""
    first = backend.latest_block().number
    sent = token.transact(operator, "EnergyToken", "mint", funded.address, 9)
    logs = backend.logs([token.addresses.token], first)
    events = [backend.codec.decode_log(log) for log in logs]
    assert [(e.name, e.args["value"]) for e in events if e is not None] == [("Transfer", 9)]
    assert [(log["transactionHash"], int(log["blockNumber"], 16)) for log in logs] == [(sent.tx_hash, sent.block)]


def test_a_sender_without_enough_qtum_is_named_with_what_it_lacks_before_anything_is_sent(backend, token, operator):
    poor = backend.account(key("poor"))
    assert all(o.ok for o in backend.fund(operator, {poor.address: SATOSHI_PER_QTUM // 100}))  # 0.01 QTUM
    pool = len(backend.rpc.call("getrawmempool"))
    data = backend.codec.encode("transfer", operator.address, 0)
    with pytest.raises(
        InsufficientFunds, match=rf"{backend.sender(poor)} \(0x[0-9a-f]{{40}}\) lacks 0\.\d+ QTUM"
    ) as short:
        backend.send([Call("transfer", poor, token.addresses.token, data, 100_000)])
    assert short.value.address == poor.address.lower()
    assert len(backend.rpc.call("getrawmempool")) == pool


def test_a_deployment_record_on_qtum_keeps_the_deployers_base58_and_hex_addresses(
    backend, compiled, operator, tmp_path
):

    request = DeploymentRequest("qtum-regtest", 900, 1_800, tmp_path)
    record, _, _ = deploy_or_reuse(backend, compiled, operator, request)
    assert record.deployer_base58 == backend.sender(operator)
    assert "0x" + backend.rpc.call("gethexaddress", record.deployer_base58) == record.deployer.lower()
    assert all(len(backend.code_at(address)) > 0 for address in record.addresses.values())
