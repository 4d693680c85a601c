"""Cutting lots and groups into calls within a Qtum transaction's size and a gas bound."""

from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.wire.cutting import CallBounds, LotAction, MatchCutter, call_gas, close_call, cut_closes
from p2p_energy.wire.orders import Ask, Bid, order_domain, sign_order
from p2p_energy.wire.records import GroupClose, Lot, Trade

ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DOMAIN = order_domain(1, ESCROW)


def account(n: int) -> str:
    return "0x" + n.to_bytes(20, "big").hex()


lot_specs = st.lists(
    st.tuples(
        st.integers(1, 30), st.lists(st.tuples(st.integers(100, 400), st.integers(1, 300)), min_size=1, max_size=8)
    ),
    min_size=1,
    max_size=60,
)


def lots_of(specs, slot=50):
    """Lots by increasing meter id (sellers 1..), buyers 1000.."""
    lots = []
    for meter, (seller, trades) in enumerate(specs, start=1):
        lots.append(Lot(meter, slot, account(seller), tuple(Trade(account(1000 + b), wh, 7) for b, wh in trades)))
    return lots


def orders_for(lots):
    """One standing ask per seller and one standing bid per buyer."""
    asks = {lot.seller.lower(): Ask(lot.seller, lot.meter_id, 1, 2**20, 1, 99) for lot in lots}
    bids = {t.buyer.lower(): Bid(t.buyer, 9, 2**20, 99) for lot in lots for t in lot.trades}
    orders = {a: [sign_order(b"\x01" * 32, DOMAIN, o)] for a, o in asks.items()}
    for a, o in bids.items():
        orders.setdefault(a, []).append(sign_order(b"\x02" * 32, DOMAIN, o))
    return orders


@settings(max_examples=30, deadline=None)
@given(lot_specs, st.integers(3_000, 40_000), st.integers(300_000, 4_000_000))
def test_every_match_call_keeps_to_the_bounds_unless_one_lot_alone_exceeds_them(specs, size, gas):
    lots = lots_of(specs)
    bounds = CallBounds(calldata=size, gas=gas)
    calls = MatchCutter(orders_for(lots), bounds).cut(lots)
    for call in calls:
        alone = len(call.lots) == 1
        assert alone or (len(call.calldata) <= size and call_gas(call) <= gas)


@settings(max_examples=30, deadline=None)
@given(lot_specs)
def test_the_calls_carry_every_lot_once_in_order(specs):
    lots = lots_of(specs)
    calls = MatchCutter(orders_for(lots), CallBounds(calldata=5_000)).cut(lots)
    assert [lot for call in calls for lot in call.lots] == lots


@settings(max_examples=30, deadline=None)
@given(lot_specs)
def test_each_order_is_placed_once_in_the_first_call_that_needs_it(specs):
    lots = lots_of(specs)
    calls = MatchCutter(orders_for(lots), CallBounds(calldata=5_000)).cut(lots)
    placed = [(o.account.lower(), type(o.order)) for call in calls for o in call.orders]
    assert len(placed) == len(set(placed))
    seen: set[str] = set()
    for call in calls:
        seen |= {o.account.lower() for o in call.orders if isinstance(o.order, Bid)}
        assert all(t.buyer.lower() in seen for lot in call.lots for t in lot.trades)


def test_a_close_cut_credits_sellers_of_settled_lots_and_buyers_of_short_ones():
    full = Lot(1, 9, account(1), (Trade(account(1001), 100, 7),))
    short = Lot(2, 9, account(2), (Trade(account(1002), 100, 7),))
    actions = {1: LotAction(True, 100), 2: LotAction(True, 40)}
    (cut,) = cut_closes([GroupClose(9, 0, (full, short))], lambda lot: actions[lot.meter_id])
    assert cut.credited == {account(1), account(2), account(1002)}


def test_a_lot_left_open_credits_nobody():
    left = Lot(1, 9, account(1), (Trade(account(1001), 100, 7),))
    (cut,) = cut_closes([GroupClose(9, 0, (left,))], lambda _: None)
    assert cut.credited == frozenset()
    assert close_call(cut, []).accounts.loaded == ()


@settings(max_examples=30, deadline=None)
@given(st.lists(lot_specs, min_size=1, max_size=6), st.integers(2_000, 30_000))
def test_every_close_call_keeps_to_the_bytes_unless_one_group_alone_exceeds_them(groups, size):
    closes = [GroupClose(50, n, tuple(lots_of(specs))) for n, specs in enumerate(groups)]
    cuts = cut_closes(closes, lambda lot: LotAction(False), CallBounds(calldata=size))
    assert [g for cut in cuts for g in cut.groups] == closes
    for cut in cuts:
        assert len(cut.groups) == 1 or len(close_call(cut, []).calldata) <= size
