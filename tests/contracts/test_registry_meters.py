import brownie

from tests.contracts.conftest import OTHER_METER, SELLER_METER, SLOT_LENGTH, meter_key

NEW_METER = 7
# brownie renders a custom error without arguments with a trailing ": ".
INVALID_ACCOUNT = "InvalidAccount: "


def test_registered_meter_is_active_without_readings(registry, admin, seller):
    registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": admin})
    info = registry.meterInfo(NEW_METER)
    assert (info["owner"], info["signer"]) == (seller, meter_key(NEW_METER).address)
    assert (info["active"], info["hasReading"], info["lastSlot"]) == (True, False, 0)


def test_meter_owner_of_a_registered_meter_is_its_owner_and_active(registry, admin, seller):
    registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": admin})
    assert registry.meterOwner(NEW_METER) == (seller, True)


def test_register_emits_meter_registered(registry, admin, seller):
    tx = registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": admin})
    event = tx.events["MeterRegistered"]
    assert (event["meterId"], event["owner"], event["signer"]) == (NEW_METER, seller, meter_key(NEW_METER).address)


def test_register_by_a_non_operator_reverts(registry, stranger, seller):
    with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {stranger.address.lower()}, .+"):
        registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": stranger})


def test_registering_the_same_id_twice_reverts(registry, escrow, admin, seller2):
    with brownie.reverts(f"MeterAlreadyRegistered: {SELLER_METER}"):
        registry.registerMeter(SELLER_METER, seller2, meter_key(NEW_METER).address, {"from": admin})


def test_register_with_a_zero_owner_reverts(registry, admin):
    with brownie.reverts(INVALID_ACCOUNT):
        registry.registerMeter(NEW_METER, brownie.ZERO_ADDRESS, meter_key(NEW_METER).address, {"from": admin})


def test_register_with_a_zero_signer_reverts(registry, admin, seller):
    with brownie.reverts(INVALID_ACCOUNT):
        registry.registerMeter(NEW_METER, seller, brownie.ZERO_ADDRESS, {"from": admin})


def test_revoke_emits_meter_revoked(registry, escrow, admin):
    tx = registry.revokeMeter(SELLER_METER, {"from": admin})
    assert tx.events["MeterRevoked"]["meterId"] == SELLER_METER


def test_revoked_meter_keeps_its_owner_but_is_inactive(registry, escrow, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert registry.meterOwner(SELLER_METER) == (seller, False)


def test_revoking_one_meter_leaves_the_others_active(registry, escrow, admin, seller2):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert registry.meterOwner(OTHER_METER) == (seller2, True)


def test_revoke_of_an_unknown_meter_reverts(registry, admin):
    with brownie.reverts(f"UnknownMeter: {NEW_METER}"):
        registry.revokeMeter(NEW_METER, {"from": admin})


def test_revoke_twice_reverts(registry, escrow, admin):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(f"MeterNotActive: {SELLER_METER}"):
        registry.revokeMeter(SELLER_METER, {"from": admin})


def test_revoke_by_a_non_operator_reverts(registry, escrow, seller):
    with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {seller.address.lower()}, .+"):
        registry.revokeMeter(SELLER_METER, {"from": seller})


def test_a_revoked_id_cannot_be_registered_again(registry, escrow, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(f"MeterAlreadyRegistered: {SELLER_METER}"):
        registry.registerMeter(SELLER_METER, seller, meter_key(NEW_METER).address, {"from": admin})


def test_admin_holds_the_operator_role(registry, admin):
    assert registry.hasRole(registry.OPERATOR_ROLE(), admin)


def test_granted_operator_can_register_a_meter(registry, admin, stranger, seller):
    registry.grantRole(registry.OPERATOR_ROLE(), stranger, {"from": admin})
    registry.registerMeter(NEW_METER, seller, meter_key(NEW_METER).address, {"from": stranger})
    assert registry.meterOwner(NEW_METER) == (seller, True)


def test_operator_without_the_admin_role_cannot_grant_the_operator_role(registry, admin, stranger, seller):
    registry.grantRole(registry.OPERATOR_ROLE(), stranger, {"from": admin})
    with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {stranger.address.lower()}, .+"):
        registry.grantRole(registry.OPERATOR_ROLE(), seller, {"from": stranger})


def test_meter_owner_of_an_unknown_meter_reverts(registry):
    with brownie.reverts(f"UnknownMeter: {NEW_METER}"):
        registry.meterOwner(NEW_METER)


def test_delivery_of_an_unknown_meter_reverts(registry):
    with brownie.reverts(f"UnknownMeter: {NEW_METER}"):
        registry.delivery(NEW_METER, 1)


def test_meter_info_of_an_unknown_meter_is_empty(registry):
    info = registry.meterInfo(NEW_METER)
    assert (info["owner"], info["signer"]) == (brownie.ZERO_ADDRESS, brownie.ZERO_ADDRESS)
    assert (info["active"], info["hasReading"], info["lastSlot"]) == (False, False, 0)


def test_deploy_with_a_zero_admin_reverts(MeterRegistry, admin, chain):
    with brownie.reverts(INVALID_ACCOUNT):
        MeterRegistry.deploy(brownie.ZERO_ADDRESS, chain[-1].timestamp, SLOT_LENGTH, {"from": admin})


def test_deploy_with_a_zero_slot_length_reverts(MeterRegistry, admin, chain):
    with brownie.reverts("InvalidSlotLength: 0"):
        MeterRegistry.deploy(admin, chain[-1].timestamp, 0, {"from": admin})


def test_slot_length_is_the_deployed_one(registry):
    assert registry.slotLength() == SLOT_LENGTH


def test_slot_start_counts_whole_slots_from_genesis(registry):
    assert registry.slotStart(5) == registry.genesis() + 5 * SLOT_LENGTH


def test_slot_end_is_the_start_of_the_next_slot(registry):
    assert registry.slotEnd(5) == registry.slotStart(6)


def test_slot_zero_starts_at_genesis(registry):
    assert registry.slotStart(0) == registry.genesis()


def test_current_slot_is_the_slot_holding_the_block_time(registry, goto):
    goto(3, SLOT_LENGTH // 2)
    assert registry.currentSlot() == 3


def test_current_slot_changes_exactly_at_the_slot_end(registry, mine_at):
    mine_at(registry.slotEnd(3) - 1)
    before = registry.currentSlot()
    mine_at(registry.slotEnd(3))
    assert (before, registry.currentSlot()) == (3, 4)


def test_current_slot_before_genesis_is_zero(MeterRegistry, admin, chain):
    later = MeterRegistry.deploy(admin, chain[-1].timestamp + 10 * SLOT_LENGTH, SLOT_LENGTH, {"from": admin})
    assert later.currentSlot() == 0


def test_registry_rejects_native_value(registry, admin):
    with brownie.reverts():
        admin.transfer(registry, 1)
