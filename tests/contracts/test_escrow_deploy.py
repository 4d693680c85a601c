"""EnergyEscrow's deployment: what it refuses, and what it takes from the registry."""

import brownie

from tests.contracts.conftest import GRACE, SLOT_LENGTH, error


def test_deploying_with_a_zero_grace_period_reverts(EnergyEscrow, token, registry, admin):
    with brownie.reverts(error("InvalidGracePeriod")):
        EnergyEscrow.deploy(token, registry, 0, {"from": admin})


def test_deploying_with_a_zero_token_reverts(EnergyEscrow, registry, admin):
    with brownie.reverts(error("InvalidAccount")):
        EnergyEscrow.deploy(brownie.ZERO_ADDRESS, registry, GRACE, {"from": admin})


def test_deploying_with_a_zero_registry_reverts(EnergyEscrow, token, admin):
    with brownie.reverts():
        EnergyEscrow.deploy(token, brownie.ZERO_ADDRESS, GRACE, {"from": admin})


def test_the_escrow_keeps_the_registrys_slot_clock(escrow, registry):
    assert (escrow.genesis(), escrow.slotLength()) == (registry.genesis(), SLOT_LENGTH)


def test_the_escrow_keeps_its_token_registry_and_grace_period(escrow, token, registry):
    assert (escrow.token(), escrow.registry(), escrow.gracePeriod()) == (token, registry, GRACE)


def test_the_escrow_refuses_native_value(escrow, admin):
    with brownie.reverts():
        admin.transfer(escrow, 1)
