"""A meter's signature binds the live chain id: MeterRegistry.exportProven on a real anvil whose chain id changes."""

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import SendError
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import Market
from p2p_energy.domain.eip712 import Eip712Domain
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from tests.library.conftest import deploy_local_market, first_account

METER = 1
KEY = MeterKey(b"\x42" * 32)


@pytest.fixture
def market(toolchain, compile_for):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as chain:
        market = deploy_local_market(chain, compile_for("cancun"), slot_length=900, grace_period=3600)
        admin = first_account(chain)
        market.transact(admin, "MeterRegistry", "registerMeter", METER, admin.address, KEY.address)
        yield market, admin


def on_chain_id(market: Market, chain_id: int) -> Market:
    """Switch the node to `chain_id`; the market through a new backend, which signs for it."""
    chain = market.chain
    assert isinstance(chain, EvmBackend)
    chain.w3.provider.make_request("anvil_setChainId", [chain_id])
    return Market(EvmBackend(chain.w3, market.codec, can_mine=True), market.codec, market.addresses)


def proven(market: Market, domain: Eip712Domain, slot: int) -> tuple:
    """What MeterRegistry.exportProven says of the meter's reading of `slot` signed in `domain`."""
    reading = Reading(METER, slot, 100 + slot)
    signature = KEY.sign(domain, reading)
    data = market.codec.encode("exportProven", reading.as_tuple(), signature.as_tuple())
    return market.codec.decode_result("exportProven", market.chain.call(market.address("MeterRegistry"), data))


def test_a_reading_signed_for_the_live_chain_id_proves_the_meters_export(market):
    market, admin = market
    domain = reading_domain(market.chain.chain_id, market.address("MeterRegistry"))
    assert proven(market, domain, 5) == (admin.address, True, 105)


def test_after_the_chain_id_changes_a_reading_signed_for_the_old_one_proves_nothing(market):
    market, _ = market
    old = reading_domain(market.chain.chain_id, market.address("MeterRegistry"))
    moved = on_chain_id(market, 8890)
    with pytest.raises(SendError, match="InvalidMeterSignature"):
        proven(moved, old, 0)


def test_after_the_chain_id_changes_the_registry_follows_it(market):
    market, admin = market
    moved = on_chain_id(market, 8890)
    assert moved.chain.chain_id == 8890
    assert proven(moved, reading_domain(8890, market.address("MeterRegistry")), 1) == (admin.address, True, 101)
