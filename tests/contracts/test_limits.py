"""p2p_energy.limits against the deployed contracts: every limit and the trade-id layout the planner relies on."""

import pytest

from p2p_energy import limits
from tests.contracts.conftest import OTHER_METER

MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1
# limits' name -> (deployed contract, its constant)
CONSTANTS = {
    "MAX_ASKS_PER_CALL": ("escrow", "MAX_ASKS_PER_CALL"),
    "MAX_BIDS_PER_CALL": ("escrow", "MAX_BIDS_PER_CALL"),
    "MAX_FILLS_PER_CALL": ("escrow", "MAX_FILLS_PER_CALL"),
    "MAX_TRADES_PER_LOT": ("escrow", "MAX_TRADES_PER_LOT"),
    "MAX_LOTS_PER_CALL": ("escrow", "MAX_LOTS_PER_CALL"),
    "MAX_TRADES_PER_CALL": ("escrow", "MAX_TRADES_PER_CALL"),
    "MAX_DEPOSITS_PER_CALL": ("escrow", "MAX_DEPOSITS_PER_CALL"),
    "MAX_HORIZON_S": ("escrow", "MAX_HORIZON"),
    "MAX_METERS_PER_CALL": ("registry", "MAX_METERS_PER_CALL"),
}
# (meter id, slot, index): awkward values at the edges of each field.
TRADES = [(1, 1, 0), (MAX_UINT32, 1, 0), (1, MAX_UINT64, 0), (MAX_UINT32, MAX_UINT64, 49), (0, 0, 0)]


def public_constants(module):
    return {name for name in vars(module) if name.isupper() and not name.startswith("_")}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_each_limit_equals_the_deployed_contracts_constant(escrow, registry, name):
    contract, constant = CONSTANTS[name]
    assert getattr({"escrow": escrow, "registry": registry}[contract], constant)() == getattr(limits, name)


def test_every_constant_of_limits_is_checked_here():
    assert public_constants(limits) == set(CONSTANTS)


def test_every_max_constant_of_the_contracts_has_its_copy_in_limits(escrow, registry):
    contracts = {"escrow": escrow, "registry": registry}
    maxima = {
        (c, f["name"]) for c, contract in contracts.items() for f in contract.abi if f.get("name", "")[:4] == "MAX_"
    }
    assert maxima == set(CONSTANTS.values())


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_a_trade_ids_upper_bits_are_the_escrows_lot_key(escrow, meter_id, slot, index):
    assert limits.trade_id(meter_id, slot, index) >> 32 == escrow.lotKey(meter_id, slot)


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_meter_and_slot_of_trade_recover_what_the_trade_id_holds(meter_id, slot, index):
    trade_id = limits.trade_id(meter_id, slot, index)
    assert (limits.meter_of_trade(trade_id), limits.slot_of_trade(trade_id)) == (meter_id, slot)


def test_a_traded_events_lot_key_names_the_lots_meter_and_slot(trade, buyer2):
    lot_key = trade(1_234, by=buyer2, slot=2, meter=OTHER_METER).events["Traded"]["lotKey"]
    trade_id = lot_key << 32  # index 0: the lot's first trade
    assert (limits.trade_id(OTHER_METER, 2, 0), limits.meter_of_trade(trade_id), limits.slot_of_trade(trade_id)) == (
        trade_id,
        OTHER_METER,
        2,
    )


@pytest.mark.parametrize(("meter_id", "slot", "index"), [(2**32, 1, 0), (1, 2**64, 0), (1, 1, 2**32), (-1, 1, 0)])
def test_trade_id_rejects_a_field_the_escrow_could_not_hold(meter_id, slot, index):
    with pytest.raises(ValueError, match="trade id out of range"):
        limits.trade_id(meter_id, slot, index)
