"""Bills and KPIs against a grid-only baseline (p2p_energy.domain.bills): by hand, and that they add up."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.domain.bills import (
    BillPrices,
    LocalTrade,
    MeterFlows,
    delivered_shares,
    energy_cost,
    neighbourhood_bills,
)
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.domain.settlement import settle_lot, trade_cost

NRG = 10**8
# Grid tariff 0.30, feed-in 0.08, grid fee 0.02 NRG per kWh.
PRICES = BillPrices(grid_tariff=30 * NRG // 100, feed_in_tariff=8 * NRG // 100, grid_fee_per_kwh=2 * NRG // 100)


def flows(generated, load, slot_hours=0.25, losses=None):
    """Meter flows from generation and load (households x slots): export and import are the difference."""
    generated, load = np.array(generated, dtype=np.int64), np.array(load, dtype=np.int64)
    return MeterFlows(
        generated_wh=generated,
        load_wh=load,
        import_wh=np.maximum(load - generated, 0),
        export_wh=np.maximum(generated - load, 0),
        battery_losses_wh=np.zeros_like(load) if losses is None else np.array(losses, dtype=np.int64),
        slot_hours=slot_hours,
    )


# Two households, two 15-minute slots. Household 0 has PV: 1000 Wh generated, 200 load in slot 0
# (exports 800); 600 and 300 in slot 1 (exports 300). Household 1 has none: loads 500 and 400
# (imports them). It buys 500 Wh in slot 0 at 0.20 NRG/kWh (cost 0.10 NRG, delivered in full) and
# 400 Wh in slot 1 at 0.20 (cost 0.08 NRG), of which the seller's meter proves only its 300 Wh of
# export: delivered 300, paid 0.08 x 300 / 400 = 0.06 NRG. Paid to the seller in all: 0.16 NRG.
HAND = flows(generated=[[1000, 600], [0, 0]], load=[[200, 300], [500, 400]])
HAND_TRADES = [
    LocalTrade(slot=0, buyer=1, seller=0, wh=500, delivered_wh=500, paid=10_000_000),
    LocalTrade(slot=1, buyer=1, seller=0, wh=400, delivered_wh=300, paid=6_000_000),
]


@pytest.fixture(scope="module")
def hand():
    return neighbourhood_bills(HAND, HAND_TRADES, PRICES)


def test_by_hand_the_grid_flows_with_the_market(hand):
    seller, buyer = (h.energy for h in hand.households)
    # The seller sent 500 + 300 Wh to its neighbour: of its 1100 Wh export, 300 went to the grid.
    assert (seller.local_out_wh, seller.grid_export_wh, seller.grid_import_wh) == (800, 300, 0)
    # The buyer got 800 of its 900 Wh locally: 100 Wh (slot 1) from the grid.
    assert (buyer.local_in_wh, buyer.grid_import_wh, buyer.grid_export_wh) == (800, 100, 0)


def test_by_hand_the_grid_flows_per_slot(hand):
    seller, buyer = hand.households
    assert (seller.grid_export_per_slot, seller.grid_import_per_slot) == ((300, 0), (0, 0))
    assert (buyer.grid_import_per_slot, buyer.grid_export_per_slot) == ((0, 100), (0, 0))


def test_by_hand_the_sellers_bill(hand):
    bill = hand.households[0].bill
    assert bill.grid_only == -8_800_000  # 1100 Wh x 0.08 credited
    # 300 Wh x 0.08 credited (0.024) and 0.16 received: -0.184 NRG.
    assert bill.with_market == -18_400_000
    assert bill.saving == 9_600_000


def test_by_hand_the_buyers_bill(hand):
    bill = hand.households[1].bill
    assert bill.grid_only == 27_000_000  # 900 Wh x 0.30
    # 100 Wh x 0.30 (0.03) + 0.16 paid + 800 Wh x 0.02 fee (0.016): 0.206 NRG.
    assert (bill.with_market, bill.grid_fees) == (20_600_000, 1_600_000)
    assert bill.saving == 6_400_000


def test_by_hand_the_neighbourhoods_bills_are_the_households_summed(hand):
    assert (hand.bill.grid_only, hand.bill.with_market, hand.bill.saving) == (18_200_000, 2_200_000, 16_000_000)
    assert (hand.bill.local_paid, hand.bill.local_received, hand.bill.grid_fees) == (16_000_000, 16_000_000, 1_600_000)


def test_by_hand_the_households_kpis(hand):
    seller, buyer = (h.kpis for h in hand.households)
    # Seller: no grid import of 500 Wh load; 300 of 1600 Wh generated went to the grid; bought nothing.
    assert (seller.self_sufficiency, seller.self_consumption, seller.local_trade_share) == (1.0, 0.8125, 0.0)
    assert seller.peak_grid_import_kw == 0.0
    # Buyer: 100 of 900 Wh from the grid, 800 of 900 locally; generated nothing: no self-consumption.
    assert (buyer.self_sufficiency, buyer.self_consumption, buyer.local_trade_share) == (0.888889, None, 0.888889)
    assert buyer.peak_grid_import_kw == 0.4  # 100 Wh in a quarter hour


def test_by_hand_the_neighbourhoods_kpis(hand):
    kpis = hand.kpis
    # 100 of 1400 Wh load from the grid; 300 of 1600 Wh generated to the grid; 800 of 1400 Wh local.
    assert (kpis.self_sufficiency, kpis.self_consumption, kpis.local_trade_share) == (0.928571, 0.8125, 0.571429)
    assert kpis.peak_grid_import_kw == 0.4
    assert kpis.battery_losses_kwh == 0.0


def test_energy_bought_beyond_need_counts_as_grid_export_of_the_buyer():
    # The buyer imports 300 Wh but its neighbour delivered 500: 200 flowed on, credited at feed-in.
    result = neighbourhood_bills(
        flows(generated=[[900], [0]], load=[[100], [300]]), [LocalTrade(0, 1, 0, 500, 500, 10_000_000)], PRICES
    )
    buyer = result.households[1]
    assert (buyer.energy.grid_import_wh, buyer.energy.grid_export_wh) == (0, 200)
    assert buyer.bill.grid_export_credit == 1_600_000  # 200 Wh x 0.08


def test_a_household_without_trades_saves_nothing():
    # Exports 600 Wh in slot 0 (0.048 NRG credited), imports 350 Wh in slot 1 (0.105 NRG).
    alone = neighbourhood_bills(flows(generated=[[700, 0]], load=[[100, 350]]), [], PRICES).households[0]
    assert alone.bill.with_market == alone.bill.grid_only == 10_500_000 - 4_800_000
    assert alone.bill.saving == 0


def test_a_neighbourhood_that_generates_nothing_has_no_self_consumption():
    kpis = neighbourhood_bills(flows(generated=[[0]], load=[[400]]), [], PRICES).kpis
    assert kpis.self_consumption is None and kpis.self_sufficiency == 0.0


def test_battery_losses_are_summed_in_kwh():
    kpis = neighbourhood_bills(flows([[0, 0]], [[100, 100]], losses=[[125, 250]]), [], PRICES).kpis
    assert kpis.battery_losses_kwh == 0.375


def test_a_days_battery_losses_come_from_the_plan():
    made = parse_scenario(
        {
            "seed": 11,
            "slots": 96,
            "start_hour": 0.0,
            "households": [
                {"name": "home", "pv_kwp": 6.0, "load_kwh_per_day": 8.0, "battery": {"efficiency": 0.8}},
            ],
        },
        Path("test.toml"),
    )
    plan = simulate_energy(made)
    assert plan.battery_losses_wh.sum() > 0
    kpis = neighbourhood_bills(MeterFlows.of(plan), [], BillPrices.of(made)).kpis
    assert kpis.battery_losses_kwh == round(int(plan.battery_losses_wh.sum()) / 1000, 3)


def test_a_seller_cannot_deliver_more_than_its_meter_exported():
    with pytest.raises(ValueError, match="delivered 900 Wh in slot 0 but exported 800"):
        neighbourhood_bills(HAND, [LocalTrade(0, 1, 0, 900, 900, 1)], PRICES)


def test_energy_cost_rounds_to_the_nearest_base_unit_halves_up():
    assert energy_cost(1, 1_500) == 2  # 1.5 base units
    assert energy_cost(1, 1_499) == 1
    assert energy_cost(3, 30_000_000) == 90_000


def test_delivered_energy_is_shared_pro_rata_in_whole_wh_that_add_up():
    assert delivered_shares(10, [10, 10, 10]) == (4, 3, 3)  # the leftover Wh to the first of equal remainders
    assert delivered_shares(2, [2, 1]) == (1, 1)  # 1.33 and 0.67: the larger remainder gets the Wh
    assert delivered_shares(0, [5, 7]) == (0, 0)  # a refunded lot delivered nothing


def test_a_lot_cannot_deliver_more_than_it_sold():
    with pytest.raises(ValueError, match="sold 3 Wh cannot deliver 4"):
        delivered_shares(4, [1, 2])


# -- any small neighbourhood ----------------------------------------------------------------------------


@st.composite
def neighbourhoods(draw):
    """Meter flows of 1-4 households over 1-4 slots and trades that settled by the settlement rule."""
    n, slots = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    wh = st.integers(0, 3_000)
    meter = flows(
        [[draw(wh) for _ in range(slots)] for _ in range(n)], [[draw(wh) for _ in range(slots)] for _ in range(n)]
    )
    trades = []
    for slot in range(slots):
        for seller in range(n):
            buyers = [b for b in range(n) if b != seller]
            lot = (
                draw(st.lists(st.tuples(st.sampled_from(buyers), wh.map(lambda w: w + 1)), max_size=3))
                if buyers
                else []
            )
            if not lot:
                continue
            prices = [draw(st.integers(1, PRICES.grid_tariff)) for _ in lot]
            costs = [trade_cost(w, p) for (_, w), p in zip(lot, prices, strict=True)]
            sold = sum(w for _, w in lot)
            refunded = draw(st.booleans())
            delivered = 0 if refunded else min(int(meter.export_wh[seller, slot]), sold)
            paid = (0,) * len(lot) if refunded else settle_lot(costs, sold, delivered).paid
            shares = delivered_shares(delivered, [w for _, w in lot])
            trades += [LocalTrade(slot, b, seller, w, d, p) for (b, w), d, p in zip(lot, shares, paid, strict=True)]
    fee = draw(st.integers(0, 5 * NRG // 100))
    return meter, trades, BillPrices(PRICES.grid_tariff, PRICES.feed_in_tariff, fee)


@settings(max_examples=150, deadline=None)
@given(neighbourhoods())
def test_buyers_payments_with_fees_equal_sellers_receipts_plus_fees(case):
    result = neighbourhood_bills(*case)
    bills = [h.bill for h in result.households]
    paid = sum(b.local_paid for b in bills)
    assert paid == sum(b.local_received for b in bills) == sum(t.paid for t in case[1])
    assert paid + sum(b.grid_fees for b in bills) == sum(b.local_received for b in bills) + result.bill.grid_fees


@settings(max_examples=150, deadline=None)
@given(neighbourhoods())
def test_every_share_is_in_0_1_or_none(case):
    result = neighbourhood_bills(*case)
    for kpis in [result.kpis, *(h.kpis for h in result.households)]:
        for value in (kpis.self_sufficiency, kpis.self_consumption, kpis.local_trade_share):
            assert value is None or 0 <= value <= 1


@settings(max_examples=150, deadline=None)
@given(neighbourhoods())
def test_saving_is_the_baseline_minus_the_bill_with_the_market(case):
    result = neighbourhood_bills(*case)
    for bill in [result.bill, *(h.bill for h in result.households)]:
        assert bill.saving == bill.grid_only - bill.with_market
    assert result.bill.with_market == sum(h.bill.with_market for h in result.households)
    assert result.bill.grid_only == sum(h.bill.grid_only for h in result.households)


@settings(max_examples=150, deadline=None)
@given(neighbourhoods())
def test_households_without_trades_save_nothing(case):
    meter, trades, prices = case
    traded = {t.buyer for t in trades} | {t.seller for t in trades}
    for household in neighbourhood_bills(meter, trades, prices).households:
        if household.row not in traded:
            assert household.bill.saving == 0


@settings(max_examples=150, deadline=None)
@given(neighbourhoods())
def test_grid_flows_per_slot_add_up_to_each_households_grid_flows(case):
    for household in neighbourhood_bills(*case).households:
        assert sum(household.grid_import_per_slot) == household.energy.grid_import_wh
        assert sum(household.grid_export_per_slot) == household.energy.grid_export_wh
        assert min((*household.grid_import_per_slot, *household.grid_export_per_slot)) >= 0
