"""The escrow's views: what they say of accounts, asks, slots and groups before and after trading."""

from p2p_energy.wire.records import group_commitment
from tests.contracts.conftest import (
    ASK_PRICE,
    ASK_WH,
    BID_PRICE,
    BID_WH,
    FUNDS,
    OTHER_METER,
    PRICE,
    SELLER_METER,
    UNTIL,
    plain,
    trade,
)


def test_an_account_that_never_traded_has_an_empty_word(escrow, stranger):
    assert plain(escrow.accountOf(stranger)) == (0, 0, 0, 0, 0, 0)


def test_account_of_gives_balance_bid_and_the_wh_bought_in_the_last_slot(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000), slot=4))
    assert plain(escrow.accountOf(buyer)) == (FUNDS - PRICE, BID_PRICE, BID_WH, UNTIL, 4, 1_000)


def test_balance_of_is_account_ofs_balance(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 1_000)))
    assert escrow.balanceOf(buyer) == escrow.accountOf(buyer)["balance"] == FUNDS - PRICE


def test_an_account_with_no_ask_has_an_all_zero_ask(escrow, buyer):
    assert plain(escrow.askOf(buyer)) == (0, 0, 0, 0, 0)


def test_ask_of_gives_the_standing_asks_fields(escrow, standing, seller2):
    assert plain(escrow.askOf(seller2)) == (OTHER_METER, ASK_PRICE, ASK_WH, 1, UNTIL)


def test_a_slot_never_matched_has_no_meter_and_no_group(escrow):
    assert plain(escrow.slotOf(5)) == (0, 0)


def test_a_group_never_matched_is_all_zero(escrow):
    assert plain(escrow.groupOf(5, 0)) == (bytes(24), 0)


def test_group_of_gives_the_commitment_and_open_lots_of_a_matched_group(escrow, standing, match, lot, buyer):
    lots = (lot(trade(buyer, 100), slot=5), lot(trade(buyer, 200), slot=5, meter=OTHER_METER))
    match(*lots)
    assert plain(escrow.groupOf(5, 0)) == (group_commitment(lots), 0b11)


def test_slot_of_gives_the_highest_meter_and_the_groups_of_a_matched_slot(escrow, standing, match, lot, buyer):
    match(lot(trade(buyer, 100), slot=5))
    assert plain(escrow.slotOf(5)) == (SELLER_METER, 1)


def test_the_totals_start_with_the_fixtures_deposits(escrow):
    assert (escrow.totalBalances(), escrow.totalLocked()) == (2 * FUNDS, 0)
