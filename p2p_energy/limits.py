"""The contracts' batch limits and trade-id layout, the one Python copy of each.

The planner and the runner must keep to these or a planned transaction
reverts on chain; they live here, importing nothing, so every module reads
the same numbers. tests/contracts/test_limits.py checks each one against the
deployed contracts, so a contract change cannot silently desynchronise them.
"""

#: EnergyEscrow.MAX_ASKS_PER_CALL: most asks in one matchOrders call.
MAX_ASKS_PER_CALL = 200
#: EnergyEscrow.MAX_BIDS_PER_CALL: most bids in one matchOrders call.
MAX_BIDS_PER_CALL = 400
#: EnergyEscrow.MAX_FILLS_PER_CALL: most fills (trades) in one matchOrders call.
MAX_FILLS_PER_CALL = 800
#: EnergyEscrow.MAX_TRADES_PER_LOT: most trades in one (meter, slot) lot, over all matchOrders calls.
MAX_TRADES_PER_LOT = 50
#: EnergyEscrow.MAX_LOTS_PER_CALL: most lots one settleLots or refundLots call handles.
MAX_LOTS_PER_CALL = 200
#: EnergyEscrow.MAX_TRADES_PER_CALL: most trades one settleLots or refundLots call closes.
MAX_TRADES_PER_CALL = 800
#: EnergyEscrow.MAX_DEPOSITS_PER_CALL: most accounts one depositFor call funds.
MAX_DEPOSITS_PER_CALL = 200
#: EnergyEscrow.MAX_HORIZON: orders for a slot that starts more than this many seconds after the
#: matching block are refused (SlotTooFar).
MAX_HORIZON_S = 7 * 24 * 3600
#: MeterRegistry.MAX_METERS_PER_CALL: most meters one registerMeters call registers.
MAX_METERS_PER_CALL = 200

_METER_BITS = 32
_SLOT_BITS = 64
_INDEX_BITS = 32


def trade_id(meter_id: int, slot: int, index: int) -> int:
    """The records' id of trade number `index` (in match order, from 0) of the (meter, slot) lot.

    EnergyEscrow.lotKey(meterId, slot) = meterId << 64 | slot (the `lotKey` of its Traded events),
    above a 32-bit index: the chain stores no trade ids, this is how the books name a trade.
    """
    if not (0 <= meter_id < 1 << _METER_BITS and 0 <= slot < 1 << _SLOT_BITS and 0 <= index < 1 << _INDEX_BITS):
        raise ValueError(
            f"trade id out of range: meter {meter_id} (uint32), slot {slot} (uint64), index {index} (uint32)"
        )
    return (((meter_id << _SLOT_BITS) | slot) << _INDEX_BITS) | index


def meter_of_trade(trade_id: int) -> int:
    """Meter id of a trade id (see trade_id): its bits above the 64-bit slot and 32-bit index."""
    return trade_id >> (_SLOT_BITS + _INDEX_BITS)


def slot_of_trade(trade_id: int) -> int:
    """Slot of a trade id (see trade_id): the 64 bits above the 32-bit index."""
    return (trade_id >> _INDEX_BITS) & ((1 << _SLOT_BITS) - 1)
