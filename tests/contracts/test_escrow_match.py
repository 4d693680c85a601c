"""matchOrders: fills that are made (Traded, costs locked, the group committed) and the calls it refuses.

Costs at PRICE (23,456,789 per kWh): cost = ceil(wh x 23,456,789 / 1,000), worked out beside each test.
"""

import brownie

from p2p_energy.wire.orders import order_records
from p2p_energy.wire.records import AccountList, MatchCall, group_commitment, lot_key
from tests.contracts.conftest import (
    BID_WH,
    FUNDS,
    OTHER_METER,
    PRICE,
    SELLER_METER,
    UNTIL,
    ListedMatchCall,
    error,
    fill_skips,
    match_streams,
    plain,
    trade,
    trades_of,
)

COST_1234 = 28_945_678  # ceil(1,234 x 23,456.789) = ceil(28,945,677.626)
COST_1 = 23_457  # ceil(23,456.789)


def test_a_fill_within_both_orders_emits_traded(standing, match, lot, buyer):
    assert trades_of(match(lot(trade(buyer, 1_234)))) == [(lot_key(SELLER_METER, 1), buyer, 1_234, PRICE)]


def test_a_fill_moves_its_rounded_up_cost_from_the_buyers_balance_into_escrow(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_234)))
    assert (escrow.balanceOf(buyer), escrow.totalLocked(), escrow.totalBalances()) == (
        FUNDS - COST_1234,
        COST_1234,
        2 * FUNDS - COST_1234,
    )


def test_a_fill_of_one_wh_at_a_price_under_1000_per_kwh_costs_one_unit(escrow, match, lot, ask, bid, buyer):
    # ceil(1 x 999 / 1,000) = 1: splitting a purchase into tiny fills never makes energy free
    match(lot(trade(buyer, 1, 999)), orders=[ask(price=1), bid(buyer)])
    assert escrow.totalLocked() == 1


def test_a_fill_leaves_the_escrows_tokens_equal_to_balances_plus_locked(escrow, token, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_234)))
    assert token.balanceOf(escrow) == escrow.totalBalances() + escrow.totalLocked() == 2 * FUNDS


def test_a_fill_counts_its_wh_in_the_buyers_slot(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_234), slot=3))
    view = escrow.accountOf(buyer)
    assert (view["lastSlot"], view["lastWh"]) == (3, 1_234)


def test_fills_of_one_buyer_in_one_slot_add_up_in_its_slot(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000), slot=3), lot(trade(buyer, 234), slot=3, meter=OTHER_METER))
    assert escrow.accountOf(buyer)["lastWh"] == 1_234


def test_a_fill_in_a_later_slot_starts_the_buyers_count_again(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000), slot=3))
    match(lot(trade(buyer, 234), slot=4))
    view = escrow.accountOf(buyer)
    assert (view["lastSlot"], view["lastWh"]) == (4, 234)


def test_a_fill_keeps_the_buyers_standing_bid(escrow, standing, match, lot, buyer):
    before = plain(escrow.accountOf(buyer))[1:4]
    match(lot(trade(buyer, 1_000)))
    assert plain(escrow.accountOf(buyer))[1:4] == before


def test_a_lot_with_one_price_commits_the_wires_group_commitment(escrow, standing, match, lot, buyer, buyer2):
    made = lot(trade(buyer, 1_234), trade(buyer2, 7), trade(buyer, 5))
    match(made)
    assert plain(escrow.groupOf(1, 0)) == (group_commitment([made]), 1)


def test_a_lot_whose_fills_have_their_own_prices_is_matched_at_each_price(standing, match, lot, buyer, buyer2):
    tx = match(lot(trade(buyer, 1_000, PRICE), trade(buyer2, 1_000, PRICE + 1)))
    assert [t[3] for t in trades_of(tx)] == [PRICE, PRICE + 1]


def test_a_lot_whose_fills_have_their_own_prices_commits_the_wires_group_commitment(
    escrow, standing, match, lot, buyer, buyer2
):
    made = lot(trade(buyer, 1_000, PRICE), trade(buyer2, 1_000, PRICE + 1))
    match(made)
    assert bytes(escrow.groupOf(1, 0)["commitment"]) == group_commitment([made])


def test_a_matched_slot_emits_group_matched(standing, match, lot, buyer):
    event = match(lot(trade(buyer, 1_000), slot=3)).events["GroupMatched"]
    assert (event["slot"], event["group"], event["lots"]) == (3, 0, 1)


def test_a_matched_slot_records_its_highest_meter_and_one_group(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000), slot=3), lot(trade(buyer, 1_000), slot=3, meter=OTHER_METER))
    assert plain(escrow.slotOf(3)) == (OTHER_METER, 1)


def test_lots_of_several_slots_in_one_call_commit_a_group_per_slot(escrow, standing, match, lot, buyer):
    tx = match(lot(trade(buyer, 1_000), slot=3), lot(trade(buyer, 1_000), slot=4))
    assert [(e["slot"], e["group"]) for e in tx.events["GroupMatched"]] == [(3, 0), (4, 0)]


def test_fills_of_two_buyers_in_one_lot_are_both_made(escrow, standing, match, lot, buyer, buyer2):
    tx = match(lot(trade(buyer, 1_234), trade(buyer2, 1)))
    assert (len(trades_of(tx)), escrow.balanceOf(buyer2), escrow.totalLocked()) == (
        2,
        FUNDS - COST_1,
        COST_1234 + COST_1,
    )


def test_a_skipped_fill_does_not_stop_the_next_fill(escrow, standing, match, lot, buyer, buyer2):
    tx = match(lot(trade(buyer, BID_WH + 1), trade(buyer2, 1_234)))
    assert (fill_skips(tx), trades_of(tx)) == (
        [(lot_key(SELLER_METER, 1), buyer, "BidFull")],
        [(lot_key(SELLER_METER, 1), buyer2, 1_234, PRICE)],
    )


def test_a_skipped_fill_is_not_in_the_groups_commitment(escrow, standing, match, lot, buyer, buyer2):
    match(lot(trade(buyer, BID_WH + 1), trade(buyer2, 1_234)))
    assert bytes(escrow.groupOf(1, 0)["commitment"]) == group_commitment([lot(trade(buyer2, 1_234))])


def test_a_lot_whose_fills_are_all_skipped_commits_no_group(escrow, standing, match, lot, buyer):
    tx = match(lot(trade(buyer, BID_WH + 1)))
    assert ("GroupMatched" in tx.events, plain(escrow.slotOf(1)), escrow.totalLocked()) == (
        False,
        (SELLER_METER, 0),
        0,
    )


def test_orders_placed_in_a_call_are_used_by_its_fills(escrow, match, lot, ask, bid, buyer):
    tx = match(lot(trade(buyer, 1_234)), orders=[ask(), bid(buyer)])
    assert len(trades_of(tx)) == 1


def test_the_calldata_of_a_match_call_sent_raw_by_the_matcher_is_the_same_call(escrow, standing, lot, matcher, buyer):
    matcher.transfer(escrow, 0, data=MatchCall((), (lot(trade(buyer, 1_234)),)).calldata)
    assert escrow.totalLocked() == COST_1234


# ------------------------------------------------------------------ refusals


def test_match_orders_by_anyone_but_the_matcher_reverts(standing, match, lot, buyer, stranger, matcher):
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        match(lot(trade(buyer, 1_000)), sender=stranger)


def test_match_orders_by_a_buyer_of_its_own_fills_reverts(standing, match, lot, buyer, matcher):
    with brownie.reverts(error("NotMatcher", buyer, matcher)):
        match(lot(trade(buyer, 1_000)), sender=buyer)


def test_a_buyer_that_is_only_named_reverts_with_account_not_loaded(escrow, standing, lot, matcher, buyer, seller):
    accounts = AccountList.of([], [str(buyer), str(seller)])
    call = ListedMatchCall((), (lot(trade(buyer, 1_000)),), accounts)
    with brownie.reverts(error("AccountNotLoaded", accounts.index[str(buyer).lower()])):
        escrow.matchOrders(*match_streams(call), {"from": matcher})


def test_accounts_out_of_order_revert_with_accounts_not_sorted(escrow, matcher, buyer, buyer2):
    first, second = sorted([str(buyer), str(buyer2)], key=lambda a: int(a, 16))
    data = AccountList((second, first), ()).data
    with brownie.reverts(error("AccountsNotSorted", 1)):
        escrow.matchOrders(data, 2, b"", b"", {"from": matcher})


def test_an_account_listed_twice_reverts_with_accounts_not_sorted(escrow, matcher, buyer):
    data = AccountList((str(buyer), str(buyer)), ()).data
    with brownie.reverts(error("AccountsNotSorted", 1)):
        escrow.matchOrders(data, 2, b"", b"", {"from": matcher})


def test_the_named_part_of_the_account_list_starts_its_own_order(escrow, matcher, buyer, buyer2):
    # an account may come lower than the last loaded one once the named part begins
    high, low = sorted([str(buyer), str(buyer2)], key=lambda a: int(a, 16), reverse=True)
    data = AccountList((high,), (low,)).data
    assert escrow.matchOrders(data, 1, b"", b"", {"from": matcher}).status == 1


def test_more_loaded_accounts_than_listed_revert_with_accounts_not_sorted(escrow, matcher, buyer):
    with brownie.reverts(error("AccountsNotSorted", 1)):
        escrow.matchOrders(AccountList((str(buyer),), ()).data, 2, b"", b"", {"from": matcher})


def test_an_account_list_of_broken_addresses_reverts_with_accounts_not_sorted(escrow, matcher, buyer):
    data = AccountList((str(buyer),), ()).data
    with brownie.reverts(error("AccountsNotSorted", 0)):
        escrow.matchOrders(data[:-1], 0, b"", b"", {"from": matcher})


def test_a_lot_naming_a_seller_past_the_account_list_reverts_with_unknown_account(
    escrow, standing, lot, matcher, buyer, seller
):
    # the seller is left out of the list, so its index (after the buyer's) names no account
    call = ListedMatchCall((), (lot(trade(buyer, 1_000)),), AccountList.of([str(buyer)], [str(seller)]))
    accounts, _, orders, matches = match_streams(call)
    with brownie.reverts(error("UnknownAccount", 1, 1)):
        escrow.matchOrders(accounts[:20], 1, orders, matches, {"from": matcher})


def test_a_matches_stream_cut_inside_a_fill_reverts_with_malformed_records(escrow, standing, lot, matcher, buyer):
    accounts, loaded, orders, matches = match_streams(MatchCall((), (lot(trade(buyer, 1_000)),)))
    with brownie.reverts(error("MalformedRecords", 6)):  # the lot's header starts after the 6-byte slot header
        escrow.matchOrders(accounts, loaded, orders, matches[:-1], {"from": matcher})


def test_a_matches_stream_cut_inside_a_slot_header_reverts_with_malformed_records(escrow, matcher):
    with brownie.reverts(error("MalformedRecords", 0)):
        escrow.matchOrders(b"", 0, b"", bytes(5), {"from": matcher})


def test_an_orders_stream_cut_inside_a_bid_reverts_with_malformed_records(escrow, bid, matcher, buyer):
    accounts = AccountList.of([str(buyer)], [])
    orders = order_records([bid(buyer)], accounts.index)
    with brownie.reverts(error("MalformedRecords", 0)):
        escrow.matchOrders(accounts.data, 1, orders[:-1], b"", {"from": matcher})


def test_an_order_of_an_unknown_kind_reverts_with_malformed_records(escrow, bid, matcher, buyer):
    accounts = AccountList.of([str(buyer)], [])
    orders = order_records([bid(buyer)], accounts.index)
    with brownie.reverts(error("MalformedRecords", 0)):
        escrow.matchOrders(accounts.data, 1, b"\x03" + orders[1:], b"", {"from": matcher})


def test_a_refused_call_places_no_order_and_moves_no_token(
    escrow, standing, match, lot, ask, seller, buyer, stranger, matcher
):
    with brownie.reverts(error("NotMatcher", stranger, matcher)):
        match(lot(trade(buyer, 1_000)), orders=[ask(until=200)], sender=stranger)
    assert (escrow.askOf(seller)["until"], escrow.totalLocked()) == (UNTIL, 0)
