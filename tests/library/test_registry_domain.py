import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import CallReverted
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import Market
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain
from tests.library.conftest import deploy_local_market, first_account

METER = 1
KEY = MeterKey(b"\x42" * 32)


@pytest.fixture
def market(toolchain, compile_for):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as chain:
        market = deploy_local_market(chain, compile_for("cancun"), slot_length=900, grace_period=3600)
        admin = first_account(chain)
        market.transact(admin, "MeterRegistry", "registerMeter", METER, admin.address, KEY.address)
        market.chain.advance_to(market.view("MeterRegistry", "genesis") + 900 * 5)
        yield market, admin


def on_chain_id(market: Market, chain_id: int) -> Market:
    """Switch the node to `chain_id`; the market through a new backend, which signs for it."""
    chain = market.chain
    assert isinstance(chain, EvmBackend)
    chain.w3.provider.make_request("anvil_setChainId", [chain_id])
    return Market(EvmBackend(chain.w3, market.codec, can_mine=True), market.codec, market.addresses)


def submit(market, admin, domain, slot):
    reading = Reading(METER, slot, 0, slot)
    signature = KEY.sign(domain, reading)
    return market.transact(admin, "MeterRegistry", "submitReading", reading.as_tuple(), signature)


def test_a_reading_signed_for_the_live_chain_id_is_accepted(market):
    market, admin = market
    assert submit(market, admin, ReadingDomain(market.chain.chain_id, market.address("MeterRegistry")), 0).ok


def test_after_the_chain_id_changes_a_reading_signed_for_the_old_one_is_rejected(market):
    market, admin = market
    old = ReadingDomain(market.chain.chain_id, market.address("MeterRegistry"))
    moved = on_chain_id(market, 8890)
    with pytest.raises(CallReverted, match="InvalidMeterSignature"):
        submit(moved, admin, old, 0)


def test_after_the_chain_id_changes_the_registry_follows_it(market):
    market, admin = market
    moved = on_chain_id(market, 8890)
    assert moved.chain.chain_id == 8890
    assert submit(moved, admin, ReadingDomain(8890, market.address("MeterRegistry")), 1).ok
