"""p2p_energy's copies of the contracts' limits against the deployed contracts, and the trade-id layout.

Each limit is also tested at exactly the limit and one past it: MAX_TRADES_PER_LOT and MAX_HORIZON in
test_escrow_fill_skips, MAX_LOTS_PER_GROUP in test_escrow_groups and test_escrow_close_skips,
MAX_SLOTS_PER_READING in test_registry_proofs, the balance bound in test_escrow_balances and
test_escrow_close_skips, the others in test_limits_edges.
"""

import pytest

from p2p_energy import limits
from p2p_energy.wire import readings
from p2p_energy.wire.records import lot_key, lot_of_key
from tests.contracts.conftest import OTHER_METER, trade

MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1
# limits' name -> (deployed contract, its constant)
CONSTANTS = {
    "MAX_ACCOUNTS_PER_CALL": ("escrow", "MAX_ACCOUNTS_PER_CALL"),
    "MAX_BYTES_PER_STREAM": ("escrow", "MAX_BYTES_PER_STREAM"),
    "MAX_TRADES_PER_LOT": ("escrow", "MAX_TRADES_PER_LOT"),
    "MAX_LOTS_PER_GROUP": ("escrow", "MAX_LOTS_PER_GROUP"),
    "MAX_DEPOSITS_PER_CALL": ("escrow", "MAX_DEPOSITS_PER_CALL"),
    "MAX_KEYS_PER_CALL": ("escrow", "MAX_KEYS_PER_CALL"),
    "MAX_HORIZON_S": ("escrow", "MAX_HORIZON"),
    "MAX_METERS_PER_CALL": ("registry", "MAX_METERS_PER_CALL"),
    "MAX_READINGS_PER_CALL": ("registry", "MAX_READINGS_PER_CALL"),
}
# Limits p2p_energy keeps beside the wire format they bound, not in limits.py.
ELSEWHERE = {("registry", "MAX_SLOTS_PER_READING"): readings.MAX_SLOTS_PER_READING}
# (meter id, slot, index): awkward values at the edges of each field.
TRADES = [(1, 1, 0), (MAX_UINT32, 1, 0), (1, MAX_UINT64, 0), (MAX_UINT32, MAX_UINT64, 49), (0, 0, 0)]


def public_constants(module):
    return {name for name in vars(module) if name.isupper() and not name.startswith("_")}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_each_limit_equals_the_deployed_contracts_constant(escrow, registry, name):
    contract, constant = CONSTANTS[name]
    assert getattr({"escrow": escrow, "registry": registry}[contract], constant)() == getattr(limits, name)


def test_the_wires_max_slots_per_reading_equals_the_registrys(registry):
    assert registry.MAX_SLOTS_PER_READING() == readings.MAX_SLOTS_PER_READING


def test_every_constant_of_limits_is_checked_here():
    assert public_constants(limits) == set(CONSTANTS)


def test_every_max_constant_of_the_contracts_has_its_copy_in_p2p_energy(escrow, registry):
    contracts = {"escrow": escrow, "registry": registry}
    maxima = {
        (c, f["name"]) for c, contract in contracts.items() for f in contract.abi if f.get("name", "")[:4] == "MAX_"
    }
    assert maxima == set(CONSTANTS.values()) | set(ELSEWHERE)


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_a_trade_ids_upper_bits_are_the_escrows_lot_key(escrow, meter_id, slot, index):
    assert limits.trade_id(meter_id, slot, index) >> 32 == escrow.lotKey(meter_id, slot)


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_the_wires_lot_key_is_the_escrows(escrow, meter_id, slot, index):
    assert (lot_key(meter_id, slot), lot_of_key(escrow.lotKey(meter_id, slot))) == (
        escrow.lotKey(meter_id, slot),
        (meter_id, slot),
    )


def test_a_traded_events_lot_key_names_the_lots_meter_and_slot(standing, match, lot, buyer2):
    key = match(lot(trade(buyer2, 1_234), slot=2, meter=OTHER_METER)).events["Traded"]["lotKey"]
    assert (limits.trade_id(OTHER_METER, 2, 0), lot_of_key(key)) == (key << 32, (OTHER_METER, 2))


@pytest.mark.parametrize(("meter_id", "slot", "index"), [(2**32, 1, 0), (1, 2**64, 0), (1, 1, 2**32), (-1, 1, 0)])
def test_trade_id_rejects_a_field_the_escrow_could_not_hold(meter_id, slot, index):
    with pytest.raises(ValueError, match="trade id out of range"):
        limits.trade_id(meter_id, slot, index)
