"""p2p_energy.limits against the deployed contracts: every limit and the trade-id layout the planner relies on."""

import pytest

from p2p_energy import limits
from tests.contracts.conftest import OTHER_METER

MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1
# (meter id, slot, index): awkward values at the edges of each field.
TRADES = [
    (1, 1, 0),
    (MAX_UINT32, 1, 0),
    (1, MAX_UINT64, 0),
    (MAX_UINT32, MAX_UINT64, 49),
    (MAX_UINT32, 2**40 + 7, MAX_UINT32),
    (0, 0, 0),
]
ESCROW_LIMITS = ["MAX_TAKES_PER_CALL", "MAX_TRADES_PER_LOT", "MAX_LOTS_PER_CALL", "MAX_TRADES_PER_CALL"]


@pytest.mark.parametrize("name", ESCROW_LIMITS)
def test_each_escrow_limit_equals_the_deployed_escrows_constant(escrow, name):
    assert getattr(escrow, name)() == getattr(limits, name)


def test_the_readings_limit_equals_the_deployed_registrys_constant(registry):
    assert registry.MAX_READINGS_PER_CALL() == limits.MAX_READINGS_PER_CALL


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_trade_id_equals_the_escrows_trade_id_of(escrow, meter_id, slot, index):
    assert escrow.tradeIdOf(meter_id, slot, index) == limits.trade_id(meter_id, slot, index)


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_meter_of_trade_recovers_the_meter_from_the_escrows_trade_id(escrow, meter_id, slot, index):
    assert limits.meter_of_trade(escrow.tradeIdOf(meter_id, slot, index)) == meter_id


@pytest.mark.parametrize(("meter_id", "slot", "index"), TRADES)
def test_slot_of_trade_recovers_the_slot_from_the_escrows_trade_id(escrow, meter_id, slot, index):
    assert limits.slot_of_trade(escrow.tradeIdOf(meter_id, slot, index)) == slot


def test_an_opened_trades_id_names_its_offers_meter_and_slot(escrow, offer, take, seller2):
    tx = take((offer(1_000, slot=2, meter_id=OTHER_METER, by=seller2), 400))
    trade_id = tx.events["TradeOpened"]["tradeId"]
    assert (limits.meter_of_trade(trade_id), limits.slot_of_trade(trade_id)) == (OTHER_METER, 2)


@pytest.mark.parametrize(("meter_id", "slot", "index"), [(2**32, 1, 0), (1, 2**64, 0), (1, 1, 2**32), (-1, 1, 0)])
def test_trade_id_rejects_a_field_the_escrow_could_not_hold(meter_id, slot, index):
    with pytest.raises(ValueError, match="trade id out of range"):
        limits.trade_id(meter_id, slot, index)
