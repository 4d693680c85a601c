import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain, mine_at
from p2p_energy.chain.contracts import ContractClient, Signer, TransactionFailed, deploy_market
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain

METER = 1
KEY = MeterKey(b"\x42" * 32)


@pytest.fixture
def market(toolchain, compile_for):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as chain:
        w3 = chain.web3()
        client = ContractClient(w3)
        admin = Signer.from_key(chain.accounts[0].private_key)
        genesis = int(w3.eth.get_block("latest")["timestamp"])
        contracts = deploy_market(
            client, compile_for("cancun"), admin, genesis=genesis, slot_length=900, grace_period=3600
        )
        client.transact(contracts.registry.functions.registerMeter(METER, admin.address, KEY.address), admin)
        mine_at(w3, genesis + 900 * 5)
        yield w3, client, admin, contracts.registry


def submit(client, admin, registry, domain, slot):
    reading = Reading(METER, slot, 0, slot)
    return client.transact(registry.functions.submitReading(reading.as_tuple(), KEY.sign(domain, reading)), admin)


def test_a_reading_signed_for_the_live_chain_id_is_accepted(market):
    w3, client, admin, registry = market
    assert submit(client, admin, registry, ReadingDomain(w3.eth.chain_id, registry.address), 0)["status"] == 1


def test_after_the_chain_id_changes_a_reading_signed_for_the_old_one_is_rejected(market):
    w3, client, admin, registry = market
    old = ReadingDomain(w3.eth.chain_id, registry.address)
    w3.provider.make_request("anvil_setChainId", [8890])
    with pytest.raises(TransactionFailed, match="InvalidMeterSignature"):
        submit(client, admin, registry, old, 0)


def test_after_the_chain_id_changes_the_registry_follows_it(market):
    w3, client, admin, registry = market
    w3.provider.make_request("anvil_setChainId", [8890])
    assert submit(client, admin, registry, ReadingDomain(8890, registry.address), 1)["status"] == 1
