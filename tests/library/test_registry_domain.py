"""A meter's signature binds the live chain id: MeterRegistry.provenExports on a real anvil whose chain id changes."""

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import Market
from p2p_energy.wire.eip712 import Eip712Domain
from p2p_energy.wire.readings import UNPROVEN, MeterKey, Reading, reading_domain
from tests.local_chain import deploy_local_market, first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

METER = 1
KEY = MeterKey(b"\x42" * 32)


@pytest.fixture
def market(toolchain, compile_for):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as chain:
        market = deploy_local_market(chain, compile_for("cancun"), slot_length=900, grace_period=3600)
        admin = first_account(chain)
        escrow = market.address("EnergyEscrow")
        market.transact(admin, "MeterRegistry", "registerMeter", METER, admin.address, KEY.address, escrow)
        yield market


def on_chain_id(market: Market, chain_id: int) -> Market:
    """Switch the node to `chain_id`; the market through a new backend, which signs for it."""
    chain = market.chain
    assert isinstance(chain, EvmBackend)
    chain.w3.provider.make_request("anvil_setChainId", [chain_id])
    return Market(EvmBackend(chain.w3, market.codec, can_mine=True), market.codec, market.addresses)


def proven(market: Market, domain: Eip712Domain, slot: int) -> tuple[int, str]:
    """What provenExports tells the meter's escrow of the meter's reading of `slot` signed in `domain`:
    (the first slot it does not prove, why)."""
    signed = KEY.sign(domain, Reading(METER, slot, (100 + slot,)))
    data = market.codec.encode("provenExports", signed.record)
    escrow = market.address("EnergyEscrow")
    answer = market.chain.w3.eth.call({"to": market.address("MeterRegistry"), "from": escrow, "data": data})
    (proofs,) = market.codec.decode_result("provenExports", bytes(answer))
    return proofs[0] & 0xFFFFFFFF, UNPROVEN[(proofs[0] >> 32) & 0xFF]


def test_a_reading_signed_for_the_live_chain_id_proves_its_slot(market):
    domain = reading_domain(market.chain.chain_id, market.address("MeterRegistry"))
    assert proven(market, domain, 5) == (6, "None")


def test_after_the_chain_id_changes_a_reading_signed_for_the_old_one_proves_nothing(market):
    old = reading_domain(market.chain.chain_id, market.address("MeterRegistry"))
    moved = on_chain_id(market, 8890)
    assert proven(moved, old, 0) == (0, "BadSignature")


def test_after_the_chain_id_changes_the_registry_follows_it(market):
    moved = on_chain_id(market, 8890)
    assert moved.chain.chain_id == 8890
    assert proven(moved, reading_domain(8890, market.address("MeterRegistry")), 1) == (2, "None")
