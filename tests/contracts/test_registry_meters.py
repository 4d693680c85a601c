"""MeterRegistry: registering and revoking meters (roles and refusals), its slot clock and its deployment."""

import brownie

from p2p_energy.limits import MAX_METERS_PER_CALL
from tests.contracts.conftest import OTHER_METER, SELLER_METER, SLOT_LENGTH, error, meter_key

NEW_METER = 7
LATER_METER = 8


def unauthorized(account):
    return f"AccessControlUnauthorizedAccount: {str(account).lower()}, .+"


def test_a_registered_meter_has_its_owner_and_signer_and_is_active(registry, admin, seller):
    registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": admin})
    assert registry.meterInfo(NEW_METER) == (seller, meter_key(NEW_METER).address, True)


def test_meter_owner_of_a_registered_meter_is_its_owner_and_active(registry, admin, seller):
    registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": admin})
    assert registry.meterOwner(NEW_METER) == (seller, True)


def test_register_emits_meter_registered(registry, admin, seller):
    event = registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": admin}).events[
        "MeterRegistered"
    ]
    assert (event["meterId"], event["owner"], event["signer"]) == (NEW_METER, seller, meter_key(NEW_METER).address)


def test_register_by_a_non_operator_reverts(registry, stranger, seller):
    with brownie.reverts(revert_pattern=unauthorized(stranger)):
        registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": stranger})


def test_registering_a_registered_id_reverts(registry, escrow, admin, seller2):
    with brownie.reverts(error("MeterAlreadyRegistered", SELLER_METER)):
        registry.registerMeter(SELLER_METER, seller2, meter_key(NEW_METER).address, {"from": admin})


def test_register_with_a_zero_owner_reverts(registry, admin):
    with brownie.reverts(error("InvalidAccount")):
        registry.registerMeter(NEW_METER, brownie.ZERO_ADDRESS, meter_key(NEW_METER).address, {"from": admin})


def test_register_with_a_zero_signer_reverts(registry, admin, seller):
    with brownie.reverts(error("InvalidAccount")):
        registry.registerMeter(NEW_METER, seller, brownie.ZERO_ADDRESS, {"from": admin})


def test_register_meters_registers_each(registry, admin, seller, seller2):
    keys = [meter_key(NEW_METER).address, meter_key(LATER_METER).address]
    registry.registerMeters([NEW_METER, LATER_METER], [seller, seller2], keys, {"from": admin})
    assert (registry.meterInfo(NEW_METER), registry.meterInfo(LATER_METER)) == (
        (seller, keys[0], True),
        (seller2, keys[1], True),
    )


def test_register_meters_emits_meter_registered_per_meter(registry, admin, seller, seller2):
    keys = [meter_key(NEW_METER).address, meter_key(LATER_METER).address]
    tx = registry.registerMeters([NEW_METER, LATER_METER], [seller, seller2], keys, {"from": admin})
    assert [(e["meterId"], e["owner"]) for e in tx.events["MeterRegistered"]] == [
        (NEW_METER, seller),
        (LATER_METER, seller2),
    ]


def test_register_meters_registers_none_if_one_is_refused(registry, escrow, admin, seller):
    keys = [meter_key(NEW_METER).address, meter_key(SELLER_METER).address]
    with brownie.reverts(error("MeterAlreadyRegistered", SELLER_METER)):
        registry.registerMeters([NEW_METER, SELLER_METER], [seller, seller], keys, {"from": admin})
    assert registry.meterInfo(NEW_METER) == (brownie.ZERO_ADDRESS, brownie.ZERO_ADDRESS, False)


def test_register_meters_with_one_id_twice_reverts(registry, admin, seller):
    keys = [meter_key(NEW_METER).address] * 2
    with brownie.reverts(error("MeterAlreadyRegistered", NEW_METER)):
        registry.registerMeters([NEW_METER, NEW_METER], [seller, seller], keys, {"from": admin})


def test_register_meters_with_fewer_owners_than_ids_reverts(registry, admin, seller):
    keys = [meter_key(NEW_METER).address, meter_key(LATER_METER).address]
    with brownie.reverts(error("LengthMismatch", 2, 1, 2)):
        registry.registerMeters([NEW_METER, LATER_METER], [seller], keys, {"from": admin})


def test_register_meters_with_more_signers_than_ids_reverts(registry, admin, seller):
    keys = [meter_key(NEW_METER).address, meter_key(LATER_METER).address]
    with brownie.reverts(error("LengthMismatch", 1, 1, 2)):
        registry.registerMeters([NEW_METER], [seller], keys, {"from": admin})


def test_register_meters_with_a_zero_signer_reverts(registry, admin, seller):
    keys = [meter_key(NEW_METER).address, brownie.ZERO_ADDRESS]
    with brownie.reverts(error("InvalidAccount")):
        registry.registerMeters([NEW_METER, LATER_METER], [seller, seller], keys, {"from": admin})


def test_register_meters_by_a_non_operator_reverts(registry, stranger, seller):
    with brownie.reverts(revert_pattern=unauthorized(stranger)):
        registry.registerMeters([NEW_METER], [seller], [meter_key(NEW_METER).address], {"from": stranger})


def test_register_meters_takes_the_most_meters_a_call_registers(registry, admin, seller):
    ids = list(range(100, 100 + MAX_METERS_PER_CALL))
    registry.registerMeters(ids, [seller] * len(ids), [meter_key(NEW_METER).address] * len(ids), {"from": admin})
    assert registry.meterOwner(ids[-1]) == (seller, True)


def test_register_meters_with_one_meter_more_than_a_call_registers_reverts(registry, admin, seller):
    ids = list(range(100, 101 + MAX_METERS_PER_CALL))
    with brownie.reverts(error("BatchTooLarge", 201, 200)):
        registry.registerMeters(ids, [seller] * len(ids), [meter_key(NEW_METER).address] * len(ids), {"from": admin})


def test_revoke_emits_meter_revoked(registry, escrow, admin):
    tx = registry.revokeMeter(SELLER_METER, {"from": admin})
    assert tx.events["MeterRevoked"]["meterId"] == SELLER_METER


def test_a_revoked_meter_keeps_its_owner_but_is_inactive(registry, escrow, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert registry.meterOwner(SELLER_METER) == (seller, False)


def test_revoking_one_meter_leaves_the_others_active(registry, escrow, admin, seller2):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert registry.meterOwner(OTHER_METER) == (seller2, True)


def test_revoking_an_unknown_meter_reverts(registry, admin):
    with brownie.reverts(error("UnknownMeter", NEW_METER)):
        registry.revokeMeter(NEW_METER, {"from": admin})


def test_revoking_twice_reverts(registry, escrow, admin):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterNotActive", SELLER_METER)):
        registry.revokeMeter(SELLER_METER, {"from": admin})


def test_revoke_by_a_non_operator_reverts(registry, escrow, seller):
    with brownie.reverts(revert_pattern=unauthorized(seller)):
        registry.revokeMeter(SELLER_METER, {"from": seller})


def test_a_revoked_id_cannot_be_registered_again(registry, escrow, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterAlreadyRegistered", SELLER_METER)):
        registry.registerMeter(SELLER_METER, seller, meter_key(NEW_METER).address, {"from": admin})


def test_the_admin_holds_the_operator_role(registry, admin):
    assert registry.hasRole(registry.OPERATOR_ROLE(), admin)


def test_a_granted_operator_can_register_a_meter(registry, admin, stranger, seller):
    registry.grantRole(registry.OPERATOR_ROLE(), stranger, {"from": admin})
    registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": stranger})
    assert registry.meterOwner(NEW_METER) == (seller, True)


def test_an_operator_without_the_admin_role_cannot_grant_the_operator_role(registry, admin, stranger, seller):
    registry.grantRole(registry.OPERATOR_ROLE(), stranger, {"from": admin})
    with brownie.reverts(revert_pattern=unauthorized(stranger)):
        registry.grantRole(registry.OPERATOR_ROLE(), seller, {"from": stranger})


def test_meter_owner_of_an_unknown_meter_reverts(registry):
    with brownie.reverts(error("UnknownMeter", NEW_METER)):
        registry.meterOwner(NEW_METER)


def test_meter_info_of_an_unknown_meter_is_empty(registry):
    assert registry.meterInfo(NEW_METER) == (brownie.ZERO_ADDRESS, brownie.ZERO_ADDRESS, False)


def test_deploying_with_a_zero_admin_reverts(MeterRegistry, admin, chain):
    with brownie.reverts(error("ZeroAdmin")):
        MeterRegistry.deploy(brownie.ZERO_ADDRESS, chain[-1].timestamp, SLOT_LENGTH, {"from": admin})


def test_deploying_with_a_zero_slot_length_reverts(MeterRegistry, admin, chain):
    with brownie.reverts(error("InvalidSlotLength", 0)):
        MeterRegistry.deploy(admin, chain[-1].timestamp, 0, {"from": admin})


def test_slot_start_counts_whole_slots_from_genesis(registry):
    assert registry.slotStart(5) == registry.genesis() + 5 * SLOT_LENGTH


def test_slot_end_is_the_start_of_the_next_slot(registry):
    assert registry.slotEnd(5) == registry.slotStart(6)


def test_current_slot_changes_exactly_at_the_slot_end(registry, mine_at):
    mine_at(registry.slotEnd(3) - 1)
    before = registry.currentSlot()
    mine_at(registry.slotEnd(3))
    assert (before, registry.currentSlot()) == (3, 4)


def test_current_slot_before_genesis_is_zero(MeterRegistry, admin, chain):
    later = MeterRegistry.deploy(admin, chain[-1].timestamp + 10 * SLOT_LENGTH, SLOT_LENGTH, {"from": admin})
    assert later.currentSlot() == 0


def test_the_registry_refuses_native_value(registry, admin):
    with brownie.reverts():
        admin.transfer(registry, 1)
