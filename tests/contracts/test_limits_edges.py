"""The batch limits at exactly the limit (accepted) and one past it (refused with the named error and its
arguments): MAX_ACCOUNTS_PER_CALL, MAX_BYTES_PER_STREAM (each of the four streams), MAX_DEPOSITS_PER_CALL
(depositFor and payOut), MAX_METERS_PER_CALL and MAX_READINGS_PER_CALL.

Streams one byte past the limit are the at-limit stream and one byte more: the length is checked before a
record is read, so such a stream is refused for its length (BatchTooLarge), not for its last byte. A
matches or readings stream of MAX_BYTES_PER_STREAM bytes of records the escrow works through costs more gas
than a block holds (about 1,400 gas per empty 9-byte lot: 31 million; readings: memory grows with each), so
at the limit those two streams are shown to pass the length check and fail later, at their first record,
for a reason of their own.
"""

import brownie
import pytest

from p2p_energy.limits import (
    MAX_ACCOUNTS_PER_CALL,
    MAX_BYTES_PER_STREAM,
    MAX_DEPOSITS_PER_CALL,
    MAX_METERS_PER_CALL,
    MAX_READINGS_PER_CALL,
)
from p2p_energy.wire.orders import order_records
from p2p_energy.wire.readings import reading_records
from p2p_energy.wire.records import AccountList, CloseCall, GroupClose, Lot, Trade
from tests.contracts.conftest import (
    SELLER_METER,
    ListedMatchCall,
    UncheckedLot,
    close_streams,
    error,
    match_streams,
    meter_key,
    trade,
)

BLOCK_GAS = 12_000_000  # brownie's anvil
PRICED_LOT = 15 + 50 * 11  # a closing lot's header and 50 trades with their own prices


def addresses(n):
    """n distinct addresses in increasing order (no keys: accounts that are only listed or paid)."""
    return [f"0x{i + 1:040x}" for i in range(n)]


def too_large(size):
    return error("BatchTooLarge", size, MAX_BYTES_PER_STREAM)


# ------------------------------------------------------------- accounts per call


def test_a_match_call_listing_max_accounts_per_call_accounts_is_accepted(escrow, matcher):
    listed = AccountList.of(addresses(MAX_ACCOUNTS_PER_CALL), [])
    assert escrow.matchOrders(listed.data, MAX_ACCOUNTS_PER_CALL, b"", b"", {"from": matcher}).status == 1


def test_a_match_call_listing_one_account_more_reverts_with_batch_too_large(escrow, matcher):
    listed = AccountList.of(addresses(MAX_ACCOUNTS_PER_CALL + 1), [])
    with brownie.reverts(error("BatchTooLarge", MAX_ACCOUNTS_PER_CALL + 1, MAX_ACCOUNTS_PER_CALL)):
        escrow.matchOrders(listed.data, 0, b"", b"", {"from": matcher})


def test_a_close_call_listing_max_accounts_per_call_accounts_is_accepted(escrow, stranger):
    listed = AccountList.of([], addresses(MAX_ACCOUNTS_PER_CALL))
    assert escrow.closeLots(listed.data, 0, b"", b"", {"from": stranger}).status == 1


def test_a_close_call_listing_one_account_more_reverts_with_batch_too_large(escrow, stranger):
    listed = AccountList.of([], addresses(MAX_ACCOUNTS_PER_CALL + 1))
    with brownie.reverts(error("BatchTooLarge", MAX_ACCOUNTS_PER_CALL + 1, MAX_ACCOUNTS_PER_CALL)):
        escrow.closeLots(listed.data, 0, b"", b"", {"from": stranger})


# ---------------------------------------------------------------- bytes per stream


@pytest.fixture
def full_orders(bid, buyer):
    """An orders stream of exactly MAX_BYTES_PER_STREAM bytes: one signed bid 2,500 times (80 bytes each; the first
    is placed, the others are stale), and its account list."""
    listed = AccountList.of([str(buyer)], [])
    stream = order_records([bid(buyer)], listed.index) * (MAX_BYTES_PER_STREAM // 80)
    assert len(stream) == MAX_BYTES_PER_STREAM
    return listed, stream


def test_an_orders_stream_of_max_bytes_per_stream_is_accepted(escrow, matcher, full_orders):
    listed, stream = full_orders
    tx = escrow.matchOrders(listed.data, 1, stream, b"", {"from": matcher, "gas_limit": BLOCK_GAS})
    assert (len(tx.events["BidPlaced"]), len(tx.events["OrderSkipped"])) == (1, MAX_BYTES_PER_STREAM // 80 - 1)


def test_an_orders_stream_one_byte_past_max_bytes_per_stream_reverts_with_batch_too_large(escrow, matcher, full_orders):
    listed, stream = full_orders
    with brownie.reverts(too_large(MAX_BYTES_PER_STREAM + 1)):
        escrow.matchOrders(listed.data, 1, stream + stream[:1], b"", {"from": matcher})


@pytest.fixture
def full_matches(buyer, stranger):
    """A matches stream of exactly MAX_BYTES_PER_STREAM bytes: one slot header (6), a lot of a seller with no ask
    with one fill (9 + 5) by a buyer the call lists only by name, then 22,220 lots of no fills (9 each)."""
    first = Lot(SELLER_METER, 1, str(stranger), (trade(buyer, 1),))
    empty = UncheckedLot(SELLER_METER, 1, str(stranger), ())
    rest = (MAX_BYTES_PER_STREAM - 6 - 9 - 5) // 9
    call = ListedMatchCall((), (first, *(empty,) * rest), AccountList.of([], [str(buyer), str(stranger)]))
    accounts, _, orders, matches = match_streams(call)
    assert len(matches) == MAX_BYTES_PER_STREAM
    return accounts, orders, matches


def test_a_matches_stream_of_max_bytes_per_stream_passes_the_length_check(escrow, matcher, full_matches):
    accounts, orders, matches = full_matches
    # refused at its first fill, for the buyer it only names: its length was accepted
    with brownie.reverts(error("AccountNotLoaded", 0)):
        escrow.matchOrders(accounts, 0, orders, matches, {"from": matcher})


def test_a_matches_stream_one_byte_past_max_bytes_per_stream_reverts_with_batch_too_large(
    escrow, matcher, full_matches
):
    accounts, orders, matches = full_matches
    with brownie.reverts(too_large(MAX_BYTES_PER_STREAM + 1)):
        escrow.matchOrders(accounts, 0, orders, matches + matches[:1], {"from": matcher})


def closing_groups(size, seller, buyers):
    """Groups of slot 1 that were never matched (each is skipped, GroupSkipped) whose closes stream is exactly
    `size` bytes: 9 bytes a group header, lots of 50 trades with their own prices (565 bytes each), and two
    smaller lots, one priced (15 + 11a bytes) and one not (15 + 5b), that make up the rest."""
    priced = tuple(Trade(str(b), 1, 1_000 + i) for i, b in enumerate(buyers * 25))
    plain = tuple(Trade(str(buyers[0]), 1, 1_000) for _ in range(50))

    def lot(trades):
        return Lot(SELLER_METER, 1, str(seller), trades)

    full_groups, rest = divmod(size, 9 + 64 * PRICED_LOT)
    lots, rest = divmod(rest - 9, PRICED_LOT)
    a, b, spare = next(
        (a, b, spare)
        for spare in range(3)
        for a in range(2, 51)
        for b in range(1, 51)
        if 30 + 11 * a + 5 * b == rest + spare * PRICED_LOT
    )
    last = (*(lot(priced),) * (lots - spare), lot(priced[:a]), lot(plain[:b]))
    groups = [GroupClose(1, 100 + g, (lot(priced),) * 64) for g in range(full_groups)]
    return (*groups, GroupClose(1, 100 + full_groups, last))


@pytest.fixture
def full_closes(seller, buyer, buyer2):
    call = CloseCall(closing_groups(MAX_BYTES_PER_STREAM, seller, [buyer, buyer2]), (), {}, frozenset())
    accounts, _, _, closes = close_streams(call)
    assert len(closes) == MAX_BYTES_PER_STREAM
    return accounts, closes


def test_a_closes_stream_of_max_bytes_per_stream_is_accepted(escrow, stranger, full_closes):
    accounts, closes = full_closes
    tx = escrow.closeLots(accounts, 0, b"", closes, {"from": stranger, "gas_limit": BLOCK_GAS})
    assert len(tx.events["GroupSkipped"]) == 6


def test_a_closes_stream_one_byte_past_max_bytes_per_stream_reverts_with_batch_too_large(escrow, stranger, full_closes):
    accounts, closes = full_closes
    with brownie.reverts(too_large(MAX_BYTES_PER_STREAM + 1)):
        escrow.closeLots(accounts, 0, b"", closes + closes[:1], {"from": stranger})


@pytest.fixture
def full_readings(reading):
    """A readings stream of exactly MAX_BYTES_PER_STREAM bytes: 437 readings of 96 slots (457 bytes each) and the
    first 291 bytes of a 438th."""
    signed = reading(SELLER_METER, 1, *range(96))
    whole, cut = divmod(MAX_BYTES_PER_STREAM, len(signed.record))
    stream = reading_records([signed] * whole) + signed.record[:cut]
    assert len(stream) == MAX_BYTES_PER_STREAM
    return whole * len(signed.record), stream


def test_a_readings_stream_of_max_bytes_per_stream_passes_the_escrows_length_check(escrow, stranger, full_readings):
    cut_at, stream = full_readings
    # the registry refuses it for its cut last reading: the escrow accepted its length
    with brownie.reverts(error("MalformedReadings", cut_at)):
        escrow.closeLots(b"", 0, stream, b"", {"from": stranger})


def test_a_readings_stream_one_byte_past_max_bytes_per_stream_reverts_with_batch_too_large(
    escrow, stranger, full_readings
):
    _, stream = full_readings
    with brownie.reverts(too_large(MAX_BYTES_PER_STREAM + 1)):
        escrow.closeLots(b"", 0, stream + stream[:1], b"", {"from": stranger})


# ------------------------------------------------------------- deposits and payouts


def test_deposit_for_max_deposits_per_call_accounts_is_accepted(escrow, admin):
    tx = escrow.depositFor(addresses(MAX_DEPOSITS_PER_CALL), [1] * MAX_DEPOSITS_PER_CALL, {"from": admin})
    assert len(tx.events["Deposited"]) == MAX_DEPOSITS_PER_CALL


def test_deposit_for_one_account_more_reverts_with_batch_too_large(escrow, admin):
    n = MAX_DEPOSITS_PER_CALL + 1
    with brownie.reverts(error("BatchTooLarge", n, MAX_DEPOSITS_PER_CALL)):
        escrow.depositFor(addresses(n), [1] * n, {"from": admin})


def test_pay_out_to_max_deposits_per_call_accounts_is_accepted(escrow, token, admin, matcher):
    paid = addresses(MAX_DEPOSITS_PER_CALL)
    escrow.depositFor(paid, [3] * MAX_DEPOSITS_PER_CALL, {"from": admin})
    escrow.payOut(paid, {"from": matcher})
    assert (token.balanceOf(paid[0]), token.balanceOf(paid[-1])) == (3, 3)


def test_pay_out_to_one_account_more_reverts_with_batch_too_large(escrow, matcher):
    n = MAX_DEPOSITS_PER_CALL + 1
    with brownie.reverts(error("BatchTooLarge", n, MAX_DEPOSITS_PER_CALL)):
        escrow.payOut(addresses(n), {"from": matcher})


# --------------------------------------------------------------------- registry


def new_meters(n):
    ids = list(range(1_000, 1_000 + n))
    return ids, addresses(n), [meter_key(i).address for i in ids]


def test_register_meters_of_max_meters_per_call_meters_is_accepted(registry, escrow, admin):
    ids, owners, signers = new_meters(MAX_METERS_PER_CALL)
    tx = registry.registerMeters(ids, owners, signers, escrow, {"from": admin})
    assert len(tx.events["MeterRegistered"]) == MAX_METERS_PER_CALL


def test_register_meters_of_one_meter_more_reverts_with_batch_too_large(registry, escrow, admin):
    ids, owners, signers = new_meters(MAX_METERS_PER_CALL + 1)
    with brownie.reverts(error("BatchTooLarge", MAX_METERS_PER_CALL + 1, MAX_METERS_PER_CALL)):
        registry.registerMeters(ids, owners, signers, escrow, {"from": admin})


def test_proven_exports_of_max_readings_per_call_readings_proves_each(registry, escrow, reading):
    stream = reading(SELLER_METER, 1, 5).record * MAX_READINGS_PER_CALL
    proofs = registry.provenExports(stream, {"from": str(escrow)})
    assert (len(proofs), proofs[-1] & 0xFFFFFFFFFF) == (MAX_READINGS_PER_CALL, 2)


def test_proven_exports_of_one_reading_more_reverts_with_batch_too_large(registry, escrow, reading):
    stream = reading(SELLER_METER, 1, 5).record * (MAX_READINGS_PER_CALL + 1)
    with brownie.reverts(error("BatchTooLarge", MAX_READINGS_PER_CALL + 1, MAX_READINGS_PER_CALL)):
        registry.provenExports(stream, {"from": str(escrow)})


def test_a_close_call_with_one_reading_more_than_max_readings_per_call_reverts_with_batch_too_large(
    escrow, reading, stranger
):
    stream = reading(SELLER_METER, 1, 5).record * (MAX_READINGS_PER_CALL + 1)
    with brownie.reverts(error("BatchTooLarge", MAX_READINGS_PER_CALL + 1, MAX_READINGS_PER_CALL)):
        escrow.closeLots(b"", 0, stream, b"", {"from": stranger})


def test_the_wire_refuses_to_build_a_lot_past_max_trades_per_lot(seller, buyer):
    with pytest.raises(ValueError, match="1 to 50 trades"):
        Lot(SELLER_METER, 1, str(seller), (trade(buyer, 1),) * 51)
