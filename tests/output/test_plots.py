"""The PNG plots: whole slots, the faults marked, prices on their own scale, gas without misleading marks."""

import dataclasses

import matplotlib.colors

from p2p_energy.output.plots import (
    GAS_TARGET_PER_SETTLED_TRADE,
    SETTLE_OPERATION,
    balance_figure,
    bills_figure,
    energy_figure,
    gas_figure,
    price_figure,
)
from tests.output.fake_runs import full_run

RUN = full_run(households=8, slots=12)


def labels(ax):
    return ax.get_legend_handles_labels()[1]


def test_energy_steps_and_the_pv_fill_cover_the_first_and_last_slot_whole():
    ax = energy_figure(RUN).axes[0]
    assert ax.get_xlim() == (0, len(RUN.slots))
    for patch in ax.patches:
        if type(patch).__name__ == "StepPatch":
            assert (patch.get_data().edges[0], patch.get_data().edges[-1]) == (0, len(RUN.slots))


def test_energy_plot_marks_the_cloud_the_offline_meter_and_the_refunds():
    fig = energy_figure(RUN)
    ax = fig.axes[0]
    assert "unforecast cloud (PV x0.2)" in labels(ax)
    assert "trades refunded in full (no reading)" in labels(ax)
    texts = [t.get_text() for t in ax.texts]
    assert "house-01 offline" in texts
    refunded = [s.refunded_trades for s in RUN.slots if s.refunded_trades]
    assert refunded and [str(n) for n in refunded] == [t for t in texts if t.isdigit()]
    assert "house-03 exports at most 70% of its offer" in ax.get_title()


def test_the_price_axis_fits_the_prices_and_draws_the_grid_tariff():
    ax = price_figure(RUN).axes[0]
    prices = [t.price_per_kwh / 1e8 for t in RUN.trades]
    low, high = ax.get_ylim()
    assert 0 < low < min(prices) and max(prices) < high
    assert "grid tariff 0.3000 NRG/kWh" in labels(ax)


def test_a_grid_tariff_far_above_the_prices_is_named_rather_than_squeezing_them():
    facts = dataclasses.replace(RUN.scenario_facts, grid_tariff=3 * 10**8)
    ax = price_figure(dataclasses.replace(RUN, scenario_facts=facts)).axes[0]
    assert ax.get_ylim()[1] < 1
    assert any("above this range" in t.get_text() for t in ax.texts)


def test_the_price_plot_draws_the_feed_in_tariff_where_it_is_near_the_prices():
    ax = price_figure(RUN).axes[0]
    assert "feed-in tariff 0.0800 NRG/kWh" in labels(ax)
    assert ax.get_ylim()[0] < 0.08


def test_a_feed_in_tariff_far_below_the_prices_is_named_rather_than_squeezing_them():
    narrow = [dataclasses.replace(t, price_per_kwh=25 * 10**6 + k % 2 * 10**5) for k, t in enumerate(RUN.trades)]
    ax = price_figure(dataclasses.replace(RUN, trades=narrow)).axes[0]
    assert ax.get_ylim()[0] > 0.2
    assert any("feed-in tariff 0.0800 NRG/kWh: below this range" in t.get_text() for t in ax.texts)


def test_the_price_plot_shows_the_traded_volume_on_a_second_axis():
    fig = price_figure(RUN)
    volume = fig.axes[1]
    assert "traded kWh" in volume.get_ylabel()
    assert len(volume.patches) == len(RUN.slots)


def test_plots_of_a_run_without_trades_show_a_message_not_empty_axes():
    empty = dataclasses.replace(RUN, trades=[])
    ax = price_figure(empty).axes[0]
    assert not ax.axison
    assert "no trades" in ax.texts[0].get_text()
    none = dataclasses.replace(RUN, households=[])
    assert not balance_figure(none).axes[0].axison


def test_the_gas_target_spans_only_the_settle_lots_bar():
    left, right = gas_figure(RUN).axes
    (target,) = [line for line in left.lines if set(line.get_xdata()) == {GAS_TARGET_PER_SETTLED_TRADE}]
    low, high = sorted(target.get_ydata())
    settle_bar = left.patches[0]
    assert settle_bar.get_y() <= low + 0.1 and high - 0.1 <= settle_bar.get_y() + settle_bar.get_height()
    assert right.get_xscale() == "linear"
    assert matplotlib.colors.to_hex(settle_bar.get_facecolor()) == "#08519c"


def test_gas_figures_stand_in_a_column_clear_of_the_bars():
    left = gas_figure(RUN).axes[0]
    figures = [t for t in left.texts if t.get_text().replace(",", "").isdigit()]
    assert len(figures) == 3  # closeLots and settlement with its readings are one bar here
    assert {t.xy[0] for t in figures} == {1.02}  # axes fraction: right of the plot


def test_the_bills_plot_ranks_households_by_saving_with_both_bills():
    left, right = bills_figure(RUN).axes
    ranked = sorted(RUN.households, key=lambda h: (-h.saving, h.name))
    assert [t.get_text().split(" ")[0] for t in left.get_yticklabels()] == [h.name for h in ranked]
    assert labels(left) == ["grid-only", "with the market"]
    assert [t.get_text() for t in right.get_yticklabels()] == [
        "self-sufficiency",
        "self-consumption",
        "local trade share",
    ]


def test_the_bills_plot_names_the_neighbourhoods_saving_and_peak():
    fig = bills_figure(RUN)
    left, right = fig.axes
    assert f"saved {RUN.kpis.bill_savings_vs_grid / 1e8:,.4f} NRG" in left.get_title()
    assert f"peak grid import {RUN.kpis.peak_grid_import_kw:,.3f} kW" in right.get_title()
    assert "slots at the feeder limit: 1" in right.get_title()


def test_a_bills_plot_of_a_report_without_bills_says_so():
    left, right = bills_figure(dataclasses.replace(RUN, kpis=None)).axes
    assert not left.axison and not right.axison
    assert "holds no bills" in left.texts[0].get_text()


def test_settlement_with_readings_inside_the_closing_call_is_one_bar_with_it():
    ax = gas_figure(RUN).axes[0]
    shown = [t.get_text() for t in ax.get_yticklabels()]
    assert shown[0] == f"{SETTLE_OPERATION} (readings inside)" and "settlement with its readings" not in shown


def test_the_energy_plot_labels_the_offers_as_made_on_the_forecast():
    assert "offered (on the forecast)" in labels(energy_figure(RUN).axes[0])
