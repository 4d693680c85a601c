"""The contracts' limits and trade-id layout, the one Python copy of each.

The planner, the wire format and the runner keep to these or a call
reverts on chain; they live here, importing nothing, so every module reads
the same numbers. tests/contracts/test_limits.py checks each one against
the deployed contracts, so a contract change cannot silently desynchronise them.
"""

#: EnergyEscrow.MAX_ACCOUNTS_PER_CALL: most accounts one matchOrders or closeLots call names.
MAX_ACCOUNTS_PER_CALL = 2000
#: EnergyEscrow.MAX_BYTES_PER_STREAM: most bytes in one of a call's record streams.
MAX_BYTES_PER_STREAM = 200_000
#: EnergyEscrow.MAX_TRADES_PER_LOT: most trades in one (meter, slot) lot.
MAX_TRADES_PER_LOT = 50
#: EnergyEscrow.MAX_LOTS_PER_GROUP: most lots one group (one commitment word) holds.
MAX_LOTS_PER_GROUP = 64
#: EnergyEscrow.MAX_DEPOSITS_PER_CALL: most accounts one depositFor call funds or one payOut call pays.
MAX_DEPOSITS_PER_CALL = 200
#: EnergyEscrow.MAX_KEYS_PER_CALL: most public keys one nameOwnKeys call names.
MAX_KEYS_PER_CALL = 200
#: EnergyEscrow.MAX_HORIZON: fills for a slot that starts more than this many seconds after the matching
#: block are skipped (SlotTooFar).
MAX_HORIZON_S = 7 * 24 * 3600
#: MeterRegistry.MAX_METERS_PER_CALL: most meters one registerMeters call registers.
MAX_METERS_PER_CALL = 200
#: MeterRegistry.MAX_READINGS_PER_CALL: most readings one provenExports call (so one closeLots call) checks.
MAX_READINGS_PER_CALL = 1000

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


def trade_index(trade_id: int) -> int:
    """The index part of a trade id: the trade's number in its lot."""
    return trade_id & ((1 << _INDEX_BITS) - 1)
