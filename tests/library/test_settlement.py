import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2p_energy.domain.settlement import settle_lot, trade_cost

costs = st.lists(st.integers(min_value=0, max_value=2**96 - 1), min_size=1, max_size=50)
energy = st.integers(min_value=1, max_value=2**64 - 1)


def test_trade_cost_is_price_per_kwh_times_kwh():
    assert trade_cost(2_000, 25_000_000) == 50_000_000


def test_trade_cost_rounds_up_so_no_take_is_free():
    assert trade_cost(1, 999) == 1


def test_trade_cost_rejects_negative_energy():
    with pytest.raises(ValueError, match="must not be negative"):
        trade_cost(-1, 10)


def test_settle_lot_needs_sold_energy():
    with pytest.raises(ValueError, match="has sold energy"):
        settle_lot([10], 0, 5)


def test_half_delivery_pays_half_rounded_down():
    outcome = settle_lot([101], 1_000, 500)
    assert (outcome.paid, outcome.refunded) == ((50,), (51,))


@given(costs=costs, sold=energy, exported=st.integers(min_value=0, max_value=2**64 - 1))
def test_seller_is_never_paid_more_than_the_price(costs, sold, exported):
    outcome = settle_lot(costs, sold, exported)
    assert all(0 <= p <= c for p, c in zip(outcome.paid, costs, strict=True))


@given(costs=costs, sold=energy)
def test_delivering_what_was_sold_pays_everything(costs, sold):
    assert settle_lot(costs, sold, sold).paid == tuple(costs)


@given(costs=costs, sold=energy, a=st.integers(min_value=0), b=st.integers(min_value=0))
def test_more_export_never_pays_less(costs, sold, a, b):
    low, high = sorted((a, b))
    assert settle_lot(costs, sold, low).seller_payout <= settle_lot(costs, sold, high).seller_payout
