"""MeterRegistry: registering meters for one escrow (market), revoking them, roles, refusals, slot clock."""

import brownie
from web3 import Web3

from tests.contracts.conftest import OTHER_METER, SELLER_METER, SLOT_LENGTH, error, meter_key, plain

NEW_METER = 7
LATER_METER = 8
ACTIVE = 2**32 - 1
OPERATOR_ROLE = bytes(Web3.keccak(text="OPERATOR_ROLE"))


def unauthorized(account, role):
    return error("AccessControlUnauthorizedAccount", account, role)


def signer(meter):
    return meter_key(meter).address


def test_a_registered_meter_has_its_owner_signer_market_and_is_active(registry, escrow, admin, seller):
    registry.registerMeter(NEW_METER, seller, signer(NEW_METER), escrow, {"from": admin})
    assert plain(registry.meterInfo(NEW_METER)) == (seller, signer(NEW_METER), escrow.address, ACTIVE)


def test_meter_owner_of_a_registered_meter_is_its_owner_and_active(registry, escrow, admin, seller):
    registry.registerMeter(NEW_METER, seller, signer(NEW_METER), escrow, {"from": admin})
    assert plain(registry.meterOwner(NEW_METER)) == (seller, True)


def test_register_emits_meter_registered_with_its_market(registry, escrow, admin, seller):
    event = registry.registerMeter(NEW_METER, seller, signer(NEW_METER), escrow, {"from": admin}).events[
        "MeterRegistered"
    ]
    assert dict(event) == {"meterId": NEW_METER, "owner": seller, "signer": signer(NEW_METER), "market": escrow}


def test_the_first_meter_of_a_market_adds_the_market_with_the_next_number(registry, rival, admin, seller):
    tx = registry.registerMeter(NEW_METER, seller, signer(NEW_METER), rival, {"from": admin})
    assert (tx.events["MarketAdded"]["market"], tx.events["MarketAdded"]["id"], registry.marketOf(2)) == (
        rival,
        2,
        rival,
    )


def test_a_later_meter_of_a_known_market_adds_no_market(registry, escrow, admin, seller):
    tx = registry.registerMeter(NEW_METER, seller, signer(NEW_METER), escrow, {"from": admin})
    assert "MarketAdded" not in tx.events


def test_the_fixtures_escrow_is_market_number_one(registry, escrow):
    assert (registry.marketOf(1), registry.marketOf(2)) == (escrow, brownie.ZERO_ADDRESS)


def test_meters_of_two_markets_keep_their_own_market(registry, escrow, rival, admin, seller):
    registry.registerMeter(NEW_METER, seller, signer(NEW_METER), rival, {"from": admin})
    assert (registry.meterInfo(NEW_METER)["market"], registry.meterInfo(SELLER_METER)["market"]) == (rival, escrow)


def test_register_by_a_non_operator_reverts(registry, escrow, stranger, seller):
    with brownie.reverts(unauthorized(stranger, OPERATOR_ROLE)):
        registry.registerMeter(NEW_METER, seller, signer(NEW_METER), escrow, {"from": stranger})


def test_registering_a_registered_id_reverts(registry, escrow, admin, seller2):
    with brownie.reverts(error("MeterAlreadyRegistered", SELLER_METER)):
        registry.registerMeter(SELLER_METER, seller2, signer(NEW_METER), escrow, {"from": admin})


def test_registering_a_revoked_id_again_reverts(registry, escrow, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterAlreadyRegistered", SELLER_METER)):
        registry.registerMeter(SELLER_METER, seller, signer(NEW_METER), escrow, {"from": admin})


def test_register_with_meter_id_zero_reverts(registry, escrow, admin, seller):
    with brownie.reverts(error("InvalidMeterId")):
        registry.registerMeter(0, seller, signer(NEW_METER), escrow, {"from": admin})


def test_register_with_a_zero_owner_reverts(registry, escrow, admin):
    with brownie.reverts(error("InvalidAccount")):
        registry.registerMeter(NEW_METER, brownie.ZERO_ADDRESS, signer(NEW_METER), escrow, {"from": admin})


def test_register_with_a_zero_signer_reverts(registry, escrow, admin, seller):
    with brownie.reverts(error("InvalidAccount")):
        registry.registerMeter(NEW_METER, seller, brownie.ZERO_ADDRESS, escrow, {"from": admin})


def test_register_for_a_zero_market_reverts(registry, admin, seller):
    with brownie.reverts(error("InvalidAccount")):
        registry.registerMeter(NEW_METER, seller, signer(NEW_METER), brownie.ZERO_ADDRESS, {"from": admin})


def test_register_meters_registers_each_for_the_market(registry, escrow, admin, seller, seller2):
    keys = [signer(NEW_METER), signer(LATER_METER)]
    registry.registerMeters([NEW_METER, LATER_METER], [seller, seller2], keys, escrow, {"from": admin})
    assert (plain(registry.meterInfo(NEW_METER)), plain(registry.meterInfo(LATER_METER))) == (
        (seller, keys[0], escrow.address, ACTIVE),
        (seller2, keys[1], escrow.address, ACTIVE),
    )


def test_register_meters_emits_meter_registered_per_meter_and_market_added_once(registry, rival, admin, seller):
    keys = [signer(NEW_METER), signer(LATER_METER)]
    tx = registry.registerMeters([NEW_METER, LATER_METER], [seller, seller], keys, rival, {"from": admin})
    assert ([e["meterId"] for e in tx.events["MeterRegistered"]], len(tx.events["MarketAdded"])) == (
        [NEW_METER, LATER_METER],
        1,
    )


def test_register_meters_with_a_registered_id_registers_none(registry, escrow, admin, seller):
    keys = [signer(NEW_METER), signer(SELLER_METER)]
    with brownie.reverts(error("MeterAlreadyRegistered", SELLER_METER)):
        registry.registerMeters([NEW_METER, SELLER_METER], [seller, seller], keys, escrow, {"from": admin})
    assert registry.meterInfo(NEW_METER)["owner"] == brownie.ZERO_ADDRESS


def test_register_meters_with_fewer_owners_reverts_with_length_mismatch(registry, escrow, admin, seller):
    keys = [signer(NEW_METER), signer(LATER_METER)]
    with brownie.reverts(error("LengthMismatch", 2, 1, 2)):
        registry.registerMeters([NEW_METER, LATER_METER], [seller], keys, escrow, {"from": admin})


def test_register_meters_with_fewer_signers_reverts_with_length_mismatch(registry, escrow, admin, seller):
    with brownie.reverts(error("LengthMismatch", 2, 2, 1)):
        registry.registerMeters(
            [NEW_METER, LATER_METER], [seller, seller], [signer(NEW_METER)], escrow, {"from": admin}
        )


def test_register_meters_by_a_non_operator_reverts(registry, escrow, stranger, seller):
    with brownie.reverts(unauthorized(stranger, OPERATOR_ROLE)):
        registry.registerMeters([NEW_METER], [seller], [signer(NEW_METER)], escrow, {"from": stranger})


# ------------------------------------------------------------------ revoking


def test_revoking_a_meter_marks_it_inactive(registry, admin, seller):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert plain(registry.meterOwner(SELLER_METER)) == (seller, False)


def test_revoking_takes_effect_from_the_slot_under_way(registry, admin, goto):
    goto(5, 300)
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert registry.meterInfo(SELLER_METER)["revokedFrom"] == 5


def test_revoke_emits_meter_revoked_with_its_first_slot(registry, admin, goto):
    goto(5, 300)
    event = registry.revokeMeter(SELLER_METER, {"from": admin}).events["MeterRevoked"]
    assert (event["meterId"], event["fromSlot"]) == (SELLER_METER, 5)


def test_revoking_one_meter_leaves_the_others_active(registry, admin):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    assert registry.meterOwner(OTHER_METER)[1]


def test_revoking_twice_reverts_with_meter_not_active(registry, admin):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterNotActive", SELLER_METER)):
        registry.revokeMeter(SELLER_METER, {"from": admin})


def test_revoking_an_unknown_meter_reverts(registry, admin):
    with brownie.reverts(error("UnknownMeter", NEW_METER)):
        registry.revokeMeter(NEW_METER, {"from": admin})


def test_revoke_by_a_non_operator_reverts(registry, stranger):
    with brownie.reverts(unauthorized(stranger, OPERATOR_ROLE)):
        registry.revokeMeter(SELLER_METER, {"from": stranger})


def test_meter_owner_of_an_unknown_meter_reverts(registry):
    with brownie.reverts(error("UnknownMeter", NEW_METER)):
        registry.meterOwner(NEW_METER)


def test_meter_info_of_an_unknown_meter_is_all_zero(registry):
    zero = brownie.ZERO_ADDRESS
    assert plain(registry.meterInfo(NEW_METER)) == (zero, zero, zero, 0)


# ------------------------------------------------------------- roles, deploy


def test_a_granted_operator_can_register(registry, escrow, admin, stranger, seller):
    registry.grantRole(OPERATOR_ROLE, stranger, {"from": admin})
    registry.registerMeter(NEW_METER, seller, signer(NEW_METER), escrow, {"from": stranger})
    assert registry.meterOwner(NEW_METER)[0] == seller


def test_the_admin_holds_both_roles(registry, admin):
    assert (registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), admin), registry.hasRole(OPERATOR_ROLE, admin)) == (
        True,
        True,
    )


def test_a_registry_nobody_administers_cannot_be_deployed(MeterRegistry, admin, chain):
    with brownie.reverts(error("ZeroAdmin")):
        MeterRegistry.deploy(brownie.ZERO_ADDRESS, chain[-1].timestamp, SLOT_LENGTH, {"from": admin})


def test_a_registry_with_slots_of_no_length_cannot_be_deployed(MeterRegistry, admin, chain):
    with brownie.reverts(error("InvalidSlotLength", 0)):
        MeterRegistry.deploy(admin, chain[-1].timestamp, 0, {"from": admin})


def test_the_registry_signs_readings_in_its_own_domain_version_3(registry, chain):
    _, name, version, chain_id, contract, _, _ = registry.eip712Domain()
    assert (name, version, chain_id, contract) == ("P2P Energy Meter Registry", "3", chain.id, registry.address)


def test_slot_s_covers_genesis_plus_s_slot_lengths(registry):
    genesis = registry.genesis()
    assert (registry.slotStart(3), registry.slotEnd(3)) == (genesis + 3 * SLOT_LENGTH, genesis + 4 * SLOT_LENGTH)


def test_the_current_slot_changes_at_the_slots_first_second(registry, mine_at):
    mine_at(registry.slotStart(4) - 1)
    before = registry.currentSlot()
    mine_at(registry.slotStart(4))
    assert (before, registry.currentSlot()) == (3, 4)


def test_the_current_slot_before_genesis_is_zero(MeterRegistry, admin, chain):
    later = MeterRegistry.deploy(admin, chain[-1].timestamp + 10 * SLOT_LENGTH, SLOT_LENGTH, {"from": admin})
    assert later.currentSlot() == 0
