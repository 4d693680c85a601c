"""The ledger: trades booked from the escrow's events, and `Ledger.mismatches` naming every trade whose close
differs from the settlement rule or that did not close exactly once (pure Python, no chain)."""

from hypothesis import given
from hypothesis import strategies as st

from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.limits import trade_id
from p2p_energy.run.ledger import Ledger

METER, CHAIN_SLOT, SLOT, SELLER = 1001, 7, 2, 0
KEY = (METER, SLOT)
fills = st.lists(st.tuples(st.integers(1, 9), st.integers(1, 5_000), st.integers(0, 10**8)), min_size=1, max_size=8)


def lot_of(trades: list[tuple[int, int, int]]) -> Ledger:
    ledger = Ledger()
    for fill in trades:
        ledger.traded(METER, CHAIN_SLOT, SLOT, SELLER, fill)
    return ledger


def settle_by_rule(ledger: Ledger, exported: int) -> None:
    trades = [ledger.trades[t] for t in ledger.lots[KEY].trades]
    sold = sum(t.wh for t in trades)
    ledger.settled(METER, SLOT, sold, exported, sum(settle_lot([t.cost for t in trades], sold, exported).paid))


def refund(ledger: Ledger) -> None:
    ledger.refunded(METER, SLOT, sum(t.cost for t in ledger.trades.values()))


def test_a_trade_is_numbered_by_its_lot_key_and_its_place_in_the_lot():
    ledger = lot_of([(1, 100, 10**7), (2, 50, 10**7)])
    assert list(ledger.trades) == [trade_id(METER, CHAIN_SLOT, 0), trade_id(METER, CHAIN_SLOT, 1)]


def test_a_trade_locks_the_rounded_up_cost_of_its_fill():
    ledger = lot_of([(1, 333, 7)])
    assert next(iter(ledger.trades.values())).cost == trade_cost(333, 7) == 3


@given(fills, st.integers(0, 50_000))
def test_a_lot_settled_by_the_rule_has_no_mismatch(trades, exported):
    ledger = lot_of(trades)
    settle_by_rule(ledger, exported)
    assert (ledger.mismatches({KEY: exported}), ledger.disagreements) == ([], [])


@given(fills)
def test_a_lot_refunded_without_a_reading_has_no_mismatch(trades):
    ledger = lot_of(trades)
    refund(ledger)
    assert ledger.mismatches({KEY: None}) == []


@given(fills)
def test_every_trade_of_a_lot_never_closed_is_a_mismatch(trades):
    ledger = lot_of(trades)
    assert ledger.mismatches({KEY: 100}) == sorted(ledger.trades)


@given(fills, st.integers(0, 50_000))
def test_every_trade_of_a_lot_closed_twice_is_a_mismatch_and_the_second_close_a_disagreement(trades, exported):
    ledger = lot_of(trades)
    settle_by_rule(ledger, exported)
    refund(ledger)
    assert ledger.mismatches({KEY: exported}) == sorted(ledger.trades)
    assert ledger.disagreements[-1] == "lot (1001, 2) closed again (refunded after settled)"


@given(fills, st.integers(0, 50_000))
def test_a_lot_settled_on_another_export_than_the_meters_is_a_mismatch_where_a_payment_differs(trades, exported):
    ledger = lot_of(trades)
    settle_by_rule(ledger, exported + 1)
    sold = sum(wh for _, wh, _ in trades)
    costs = [trade_cost(wh, price) for _, wh, price in trades]
    differs = settle_lot(costs, sold, exported).paid != settle_lot(costs, sold, exported + 1).paid
    assert bool(ledger.mismatches({KEY: exported})) == differs


@given(fills.filter(lambda t: sum(trade_cost(wh, p) for _, wh, p in t) > 0))
def test_a_lot_refunded_that_its_reading_would_settle_is_a_mismatch(trades):
    ledger = lot_of(trades)
    refund(ledger)
    sold = sum(wh for _, wh, _ in trades)
    assert ledger.mismatches({KEY: sold}) == sorted(t.trade_id for t in ledger.trades.values() if t.cost)


def test_a_settled_event_paying_other_than_the_rule_is_a_disagreement():
    ledger = lot_of([(1, 100, 10**8)])
    ledger.settled(METER, SLOT, 100, 100, 10**7 + 1)
    assert ledger.disagreements == ["lot (1001, 2) settled paying 10000001; the rule on its trades pays 10000000"]


def test_a_settled_event_selling_other_than_the_books_trades_is_a_disagreement():
    ledger = lot_of([(1, 100, 10**8)])
    ledger.settled(METER, SLOT, 99, 99, 9_900_000)
    assert ledger.disagreements[0] == "lot (1001, 2) settled as 99 Wh sold, the books' trades differ"


def test_a_refund_of_other_than_the_trades_cost_is_a_disagreement():
    ledger = lot_of([(1, 100, 10**8)])
    ledger.refunded(METER, SLOT, 10**7 - 1)
    assert ledger.disagreements == ["lot (1001, 2) refunded 9999999, its trades cost a different sum"]


def test_open_lots_are_those_not_yet_closed_in_the_slot_asked():
    ledger = lot_of([(1, 100, 10**8)])
    ledger.traded(METER + 1, CHAIN_SLOT, SLOT, 1, (2, 10, 10**8))
    ledger.refunded(METER + 1, SLOT, trade_cost(10, 10**8))
    assert ([lot.key for lot in ledger.open_lots(SLOT)], ledger.open_lots(SLOT + 1)) == ([KEY], [])
