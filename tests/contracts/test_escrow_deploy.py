"""EnergyEscrow's deployment: what it refuses, and what it keeps."""

import brownie
import pytest

from tests.contracts.conftest import GRACE, SLOT_LENGTH, error


def test_deploying_with_a_zero_grace_period_reverts(EnergyEscrow, token, registry, admin, matcher):
    with brownie.reverts(error("InvalidGracePeriod")):
        EnergyEscrow.deploy(token, registry, 0, matcher, {"from": admin})


def test_deploying_with_a_zero_token_reverts(EnergyEscrow, registry, admin, matcher):
    with brownie.reverts(error("InvalidAccount")):
        EnergyEscrow.deploy(brownie.ZERO_ADDRESS, registry, GRACE, matcher, {"from": admin})


def test_deploying_with_a_zero_matcher_reverts(EnergyEscrow, token, registry, admin):
    with brownie.reverts(error("InvalidAccount")):
        EnergyEscrow.deploy(token, registry, GRACE, brownie.ZERO_ADDRESS, {"from": admin})


def test_deploying_with_a_registry_that_is_no_contract_reverts_without_data(EnergyEscrow, token, admin, matcher):
    # registry.genesis() on an address without code: Solidity's extcodesize check reverts with no data
    with pytest.raises(brownie.exceptions.VirtualMachineError) as refused:
        EnergyEscrow.deploy(token, brownie.ZERO_ADDRESS, GRACE, matcher, {"from": admin})
    assert refused.value.revert_msg in (None, "")


def test_the_escrow_keeps_the_registrys_slot_clock(escrow, registry):
    assert (escrow.genesis(), escrow.slotLength()) == (registry.genesis(), SLOT_LENGTH)


def test_the_escrow_keeps_its_token_registry_grace_period_and_matcher(escrow, token, registry, matcher):
    assert (escrow.token(), escrow.registry(), escrow.gracePeriod(), escrow.matcher()) == (
        token,
        registry,
        GRACE,
        matcher,
    )


def test_the_escrow_signs_orders_in_its_own_domain_version_3(escrow, chain):
    _, name, version, chain_id, contract, _, _ = escrow.eip712Domain()
    assert (name, version, chain_id, contract) == ("P2P Energy Escrow", "3", chain.id, escrow.address)


def test_the_escrow_refuses_native_value_without_data(escrow, admin):
    with pytest.raises(brownie.exceptions.VirtualMachineError) as refused:
        admin.transfer(escrow, 1)
    assert refused.value.revert_msg in (None, "")


def test_a_call_of_no_function_of_the_escrow_reverts_without_data(escrow, admin):
    with pytest.raises(brownie.exceptions.VirtualMachineError) as refused:
        admin.transfer(escrow, 0, data="0x12345678")
    assert refused.value.revert_msg in (None, "")
