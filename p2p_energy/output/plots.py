"""The report's five older PNG plots (for papers and READMEs; report.html is the interactive view; the sixth,
grid_per_slot.png, is drawn from a chart spec by spec_plots).

matplotlib's object API with the Agg canvas (no pyplot, no global state, no display needed);
matplotlib is imported only when plots are drawn, so the CLI starts fast.

Slot s spans [s, s + 1) along x, so step lines and the PV fill cover every slot whole and bars
stand at the slots' centres.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.run_records import (
    READINGS_OPERATION,
    SETTLE_OPERATION,
    RunResult,
    RunTotals,
    ScenarioFacts,
    SlotRecord,
    nrg_value,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The design's target for amortized settleLots gas per settled trade in batch mode.
GAS_TARGET_PER_SETTLED_TRADE = 25_000
#: Households drawn as one labelled bar each; more are drawn as a ranked curve.
LABELLED_HOUSEHOLDS = 40
_DPI = 110
_CLOUD = "#7f8c8d"
_OFFLINE = "#c62828"


def figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _nrg(base_units: int) -> float:
    return float(nrg_value(base_units))


def titled(fig: Figure, ax: Axes, title: str, result: RunResult, subtitle: str) -> None:
    fig.suptitle(f"{title} — scenario {result.scenario!r}, seed {result.seed}", fontweight="bold")
    ax.set_title(subtitle, fontsize="medium", color="#444444")


def no_data(ax: Axes, message: str) -> None:
    """A message in place of the plot: no empty 0-1 axes."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="#888888", fontsize="large")


def slot_axes(ax: Axes, slots: Sequence[SlotRecord], ylabel: str) -> None:
    """Delivery slots along x, each from its start time to the next (at most 12 labels)."""
    step = max(1, math.ceil(len(slots) / 12))
    ticks = list(range(0, len(slots), step))
    ax.set_xticks(ticks, [slots[i].start_time for i in ticks])
    ax.set_xlim(0, len(slots))
    ax.set_xlabel("delivery slot (start time)")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def fault_notes(facts: ScenarioFacts | None, slots: Sequence[SlotRecord]) -> list[str]:
    """The scenario's faults in words, e.g. "solar-002's meter offline 12:00-12:30"."""
    if facts is None:
        return []

    def span(first: int, last: int) -> str:
        if not 0 <= first < len(slots):
            return f"slots {first}-{last}"
        end = slots[last + 1].start_time if last + 1 < len(slots) else "end"
        return f"{slots[first].start_time}-{end}"

    notes = [f"unforecast cloud {span(s, s)} (PV x{facts.cloud_factor:g})" for s in facts.cloudy_slots]
    notes += [f"{o.household}'s meter offline {span(o.first_slot, o.last_slot)}" for o in facts.offline_meters]
    notes += [f"{u.household} exports at most {u.factor:.0%} of its offer" for u in facts.under_delivery]
    return notes


def _mark_faults(ax: Axes, result: RunResult) -> None:
    """Shade cloudy slots, put a strip under slots whose meter was offline, mark refunded trades."""
    slots, facts = result.slots, result.scenario_facts
    if facts is not None:
        for i, s in enumerate(sorted(set(facts.cloudy_slots))):
            label = f"unforecast cloud (PV x{facts.cloud_factor:g})" if i == 0 else None
            ax.axvspan(s, s + 1, color=_CLOUD, alpha=0.18, lw=0, label=label)
        for row, meter in enumerate(facts.offline_meters):
            low = 0.005 + 0.045 * row
            ax.axvspan(meter.first_slot, meter.last_slot + 1, ymin=low, ymax=low + 0.035, color=_OFFLINE, alpha=0.55)
            ax.annotate(
                f"{meter.household} offline",
                (meter.last_slot + 1, low + 0.0175),
                xycoords=("data", "axes fraction"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
                color=_OFFLINE,
            )
    refunded = [(i, s) for i, s in enumerate(slots) if s.refunded_trades]
    if refunded:
        ax.scatter(
            [i + 0.5 for i, _ in refunded],
            [s.traded_wh / 1000 for _, s in refunded],
            marker="v",
            s=46,
            color=_OFFLINE,
            zorder=5,
            label="trades refunded in full (no reading)",
        )
        for i, slot in refunded:
            ax.annotate(
                f"{slot.refunded_trades}",
                (i + 0.5, slot.traded_wh / 1000),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize="small",
                color=_OFFLINE,
            )


def energy_figure(result: RunResult) -> Figure:
    slots, totals = result.slots, result.totals()
    fig = figure(11, 5.5)
    ax = fig.add_subplot()
    delivered_share = f"{totals.delivered_wh / totals.traded_wh:.1%}" if totals.traded_wh else "n/a"
    notes = fault_notes(result.scenario_facts, slots)
    titled(
        fig,
        ax,
        "Energy per delivery slot",
        result,
        f"traded {totals.traded_wh / 1000:,.1f} kWh of {totals.offered_wh / 1000:,.1f} kWh offered; "
        f"meters proved {totals.delivered_wh / 1000:,.1f} kWh delivered ({delivered_share} of traded)"
        + ("\nfaults: " + "; ".join(notes) if notes else ""),
    )
    if not slots:
        no_data(ax, "no slots in this run")
        return fig
    edges = list(range(len(slots) + 1))
    centres = [i + 0.5 for i in range(len(slots))]
    kwh = {name: [getattr(s, name) / 1000 for s in slots] for name in ("generated_wh", "load_wh", "offered_wh")}
    ax.stairs(kwh["generated_wh"], edges, fill=True, color="#f2c94c", alpha=0.45, label="generated (PV)")
    ax.stairs(kwh["load_wh"], edges, baseline=None, color="#555555", ls="--", lw=1.2, label="load")
    ax.stairs(kwh["offered_wh"], edges, baseline=None, color="#e67e22", lw=1.6, label="offered (on the forecast)")
    ax.bar(centres, [s.traded_wh / 1000 for s in slots], width=0.8, color="#9ecae1", label="traded (taken by buyers)")
    ax.bar(
        centres, [s.delivered_wh / 1000 for s in slots], width=0.45, color="#08519c", label="delivered (meter-proven)"
    )
    _mark_faults(ax, result)
    slot_axes(ax, slots, "energy per slot (kWh)")
    top = max(max(kwh["generated_wh"]), max(kwh["load_wh"]), max(kwh["offered_wh"]), 0.001)
    ax.set_ylim(0, top * 1.3)
    ax.legend(loc="upper left", fontsize="small", ncols=2)
    return fig


def _price_range(prices: Sequence[float], tariff: float | None) -> tuple[float, float, bool]:
    """y limits that fit the prices (not from 0), and whether the grid tariff fits in too: only if the prices
    keep about half the height (else the tariff is named at the top, as out of range)."""
    low, high = min(prices), max(prices)
    pad = max((high - low) * 0.15, high * 0.03, 1e-8)
    if tariff is not None and tariff - high <= high - low + 2 * pad:
        return min(low, tariff) - pad, max(high, tariff) + pad, True
    return low - pad, high + pad, False


def _feed_in_tariff(ax: Axes, facts: ScenarioFacts | None, bottom: float, top: float) -> float:
    """Draw the feed-in tariff where it is no further below the prices' range than its height (and return the
    range's new bottom), else name it at the bottom as out of range."""
    if facts is None or not facts.feed_in_tariff:
        return bottom
    feed_in = _nrg(facts.feed_in_tariff)
    if bottom - feed_in > top - bottom:
        ax.annotate(
            f"feed-in tariff {feed_in:.4f} NRG/kWh: below this range",
            (0.99, 0.03),
            xycoords="axes fraction",
            ha="right",
            va="bottom",
            color="#2e7d32",
            fontsize="small",
        )
        return bottom
    ax.axhline(feed_in, color="#2e7d32", ls=":", lw=1.5, label=f"feed-in tariff {feed_in:.4f} NRG/kWh")
    return min(bottom, feed_in - (top - bottom) * 0.05)


def price_figure(result: RunResult) -> Figure:
    slots, totals = result.slots, result.totals()
    fig = figure(11, 5)
    ax = fig.add_subplot()
    mean = "n/a" if totals.mean_price_per_kwh is None else f"{_nrg(totals.mean_price_per_kwh):.4f} NRG/kWh"
    titled(fig, ax, "Price per delivery slot", result, f"volume-weighted mean over the run: {mean}")
    if not result.trades or not slots:
        no_data(ax, "no trades in this run: no prices to show")
        return fig
    position = {s.slot: i for i, s in enumerate(slots)}
    prices: dict[int, list[int]] = defaultdict(list)
    for trade in result.trades:
        if trade.slot in position:
            prices[position[trade.slot]].append(trade.price_per_kwh)
    volume = ax.twinx()  # traded kWh behind the prices, in the lower third
    centres = [i + 0.5 for i in range(len(slots))]
    volume.bar(centres, [s.traded_wh / 1000 for s in slots], width=0.9, color="#bbbbbb", alpha=0.45)
    volume.set_ylim(0, max(s.traded_wh for s in slots) / 1000 * 3 or 1)
    volume.set_ylabel("traded kWh (grey bars)", color="#777777")
    ax.set_zorder(volume.get_zorder() + 1)
    ax.patch.set_visible(False)
    ranged = sorted(prices)
    low = [_nrg(min(prices[i])) for i in ranged]
    high = [_nrg(max(prices[i])) for i in ranged]
    ax.bar(
        [i + 0.5 for i in ranged],
        [hi - lo for lo, hi in zip(low, high, strict=True)],
        bottom=low,
        width=0.6,
        color="#9ecae1",
        alpha=0.8,
        label="range of trade prices (lowest to highest)",
    )
    nan = float("nan")
    if any(s.clearing_price is not None for s in slots):  # uniform-price mode only
        clearing = [nan if s.clearing_price is None else _nrg(s.clearing_price) for s in slots]
        ax.stairs(
            clearing, range(len(slots) + 1), baseline=None, color="#e67e22", ls="--", lw=1.5, label="clearing price"
        )
    mean_prices = [nan if s.mean_price is None else _nrg(s.mean_price) for s in slots]
    marker = "o" if len(slots) <= 48 else None
    ax.plot(centres, mean_prices, color="#08519c", marker=marker, ms=4, lw=1.5, label="mean price (volume-weighted)")
    facts = result.scenario_facts
    tariff = None if facts is None else _nrg(facts.grid_tariff)
    bottom, top, tariff_fits = _price_range([*low, *high], tariff)
    if tariff is not None and tariff_fits:
        ax.axhline(tariff, color="#c62828", ls=":", lw=1.5, label=f"grid tariff {tariff:.4f} NRG/kWh")
    elif tariff is not None:
        ax.annotate(
            f"grid tariff {tariff:.4f} NRG/kWh: above this range",
            (0.99, 0.97),
            xycoords="axes fraction",
            ha="right",
            va="top",
            color="#c62828",
            fontsize="small",
        )
    ax.set_ylim(_feed_in_tariff(ax, facts, bottom, top), top)
    slot_axes(ax, slots, "price (NRG per kWh)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=4, fontsize="small", frameon=False)
    return fig


def balance_figure(result: RunResult) -> Figure:
    ranked = sorted(result.households, key=lambda h: (-h.net_tokens, h.name))
    labelled = len(ranked) <= LABELLED_HOUSEHOLDS
    fig = figure(10, max(4.0, 1.8 + 0.26 * len(ranked)) if labelled else 5.5)
    ax = fig.add_subplot()
    gained = sum(1 for h in ranked if h.net_tokens > 0)
    spent = sum(1 for h in ranked if h.net_tokens < 0)
    titled(
        fig,
        ax,
        "Net token balance per household",
        result,
        f"tokens at the end minus at the start: {gained} households gained, {spent} paid, "
        f"{len(ranked) - gained - spent} unchanged",
    )
    if not ranked:
        no_data(ax, "no households in this run")
        return fig
    values = [_nrg(h.net_tokens) for h in ranked]
    colors = ["#2e7d32" if v > 0 else "#c62828" for v in values]
    if labelled:
        y = list(range(len(ranked)))
        ax.barh(y, values, color=colors)
        ax.set_yticks(y, [h.name for h in ranked], fontsize="small")
        ax.invert_yaxis()
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel("net balance change over the run (NRG)")
        ax.grid(axis="x", alpha=0.3)
        return fig
    x = list(range(1, len(ranked) + 1))
    ax.fill_between(x, values, where=[v > 0 for v in values], color="#2e7d32", alpha=0.8, label="gained (sellers)")
    ax.fill_between(x, values, where=[v < 0 for v in values], color="#c62828", alpha=0.8, label="paid (buyers)")
    ax.axhline(0, color="#333333", lw=0.8)
    for household, at, align in ((ranked[0], 1, "left"), (ranked[-1], len(ranked), "right")):
        ax.annotate(
            f"{household.name}: {_nrg(household.net_tokens):+,.2f}",
            (at, _nrg(household.net_tokens)),
            textcoords="offset points",
            xytext=(6 if align == "left" else -6, 0),
            ha=align,
            va="center",
            fontsize="small",
        )
    ax.set_xlim(1, len(ranked))
    ax.set_xlabel(f"households ranked by net balance (1 = largest gain, {len(ranked):,} households)")
    ax.set_ylabel("net balance change over the run (NRG)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    return fig


PER_SETTLED_TRADE_LABELS = (
    f"{SETTLE_OPERATION} only",
    # Readings travel inside settleLots since the gas redesign; in older runs they were submitReadings calls.
    "settlement with its readings",
    "trading (all but set-up)",
    "every transaction",
)


def per_settled_trade(totals: RunTotals) -> list[tuple[str, int | None]]:
    """The four gas-per-settled-trade figures, labelled, settleLots first."""
    values = (
        totals.settle_gas_per_settled_trade,
        totals.settlement_gas_per_settled_trade,
        totals.trading_gas_per_settled_trade,
        totals.all_gas_per_settled_trade,
    )
    return list(zip(PER_SETTLED_TRADE_LABELS, values, strict=True))


def shown_per_settled_trade(totals: RunTotals) -> list[tuple[str, int | None]]:
    """per_settled_trade as the gas charts draw it: where the readings travelled inside the closing call (no
    calls of their own), settlement with its readings is that call alone, so the two are one bar, so labelled."""
    rows = per_settled_trade(totals)
    if rows[0][1] == rows[1][1]:
        return [(f"{SETTLE_OPERATION} (readings inside)", rows[0][1]), *rows[2:]]
    return rows


def gas_figure(result: RunResult) -> Figure:
    totals = result.totals()
    operations = sorted(totals.gas_per_operation, key=lambda op: totals.gas_per_operation[op])
    fig = figure(12, max(4.0, 2.2 + 0.4 * len(operations)))
    left, right = fig.subplots(1, 2)
    fig.suptitle(f"Gas — scenario {result.scenario!r}, seed {result.seed}", fontweight="bold")
    if not operations:
        no_data(left, "no gas recorded")
        right.set_axis_off()
        return fig
    _gas_per_trade_panel(left, totals)
    y = list(range(len(operations)))
    gas = [totals.gas_per_operation[op] for op in operations]
    colors = ["#08519c" if op in (SETTLE_OPERATION, READINGS_OPERATION) else "#9ecae1" for op in operations]
    right.barh(y, [g / 1e6 for g in gas], color=colors)
    for i, op in enumerate(operations):
        count = totals.transactions_per_operation[op]
        right.annotate(
            f"{gas[i] / totals.gas:.1%} · {count:,} tx · {gas[i] // max(1, count):,}/tx",
            (gas[i] / 1e6, i),
            textcoords="offset points",
            xytext=(4, 0),
            va="center",
            fontsize="small",
        )
    right.set_yticks(y, operations)
    right.set_xlim(0, max(gas) / 1e6 * 1.9)
    right.set_xlabel("gas in the run (millions)")
    right.set_title(f"by operation: {totals.transactions:,} transactions, {totals.gas:,} gas", fontsize="medium")
    right.grid(axis="x", alpha=0.3)
    return fig


def _gas_per_trade_panel(ax: Axes, totals: RunTotals) -> None:
    """Gas per settled trade three or four ways; the target is drawn across the settleLots bar only."""
    from matplotlib.ticker import MaxNLocator

    if not totals.settled_trades:
        no_data(ax, "no settled trades")
        return
    shown = shown_per_settled_trade(totals)
    settlement = len(shown) - 2  # the last two rows are trading and every transaction
    rows = [(label, value, i < settlement) for i, (label, value) in enumerate(shown) if value is not None]
    y = list(range(len(rows)))
    values = [value or 0 for _, value, _ in rows]
    ax.barh(y, values, color=["#08519c" if settles else "#9ecae1" for _, _, settles in rows])
    ax.invert_yaxis()
    for i, value in enumerate(values):  # a column right of the axes: clear of the bars and the target mark
        ax.annotate(f"{value:,}", (1.02, i), xycoords=("axes fraction", "data"), va="center", fontweight="bold")
    ax.plot([GAS_TARGET_PER_SETTLED_TRADE] * 2, [-0.42, 0.42], color="#c62828", ls="--", lw=1.5)
    ax.annotate(
        f"target for {SETTLE_OPERATION}: {GAS_TARGET_PER_SETTLED_TRADE:,}",
        (GAS_TARGET_PER_SETTLED_TRADE, -0.42),
        textcoords="offset points",
        xytext=(-4, 3),
        ha="left",
        va="bottom",
        color="#c62828",
        fontsize="small",
    )
    ax.set_yticks(y, [label for label, _, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.9)
    ax.set_xlim(0, max(*values, GAS_TARGET_PER_SETTLED_TRADE) * 1.08)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.set_xlabel("gas per settled trade")
    ax.set_title(f"per settled trade ({totals.settled_trades:,} settled)", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)


#: The neighbourhood's shares, as the bills plot and the page label them.
KPI_LABELS = (
    ("self_sufficiency", "self-sufficiency"),
    ("self_consumption", "self-consumption"),
    ("local_trade_share", "local trade share"),
)


def bills_figure(result: RunResult) -> Figure:
    """Each household's bill grid-only and with the market (ranked by saving), and the neighbourhood's KPIs."""
    kpis, households = result.kpis, sorted(result.households, key=lambda h: (-h.saving, h.name))
    labelled = len(households) <= LABELLED_HOUSEHOLDS
    fig = figure(12, max(4.5, 1.8 + 0.26 * len(households)) if labelled else 5.5)
    left, right = fig.subplots(1, 2, width_ratios=[3, 1.2])
    subtitle = "no bills recorded"
    if kpis is not None:
        subtitle = (
            f"neighbourhood: grid-only {_nrg(kpis.bills_grid_only):,.4f} NRG, with the market "
            f"{_nrg(kpis.bills_with_market):,.4f} NRG (grid fees {_nrg(kpis.grid_fees):,.4f}): "
            f"saved {_nrg(kpis.bill_savings_vs_grid):,.4f} NRG"
        )
    titled(fig, left, "Bills against a grid-only baseline", result, subtitle)
    if kpis is None or not households:
        no_data(left, "this report holds no bills (written before they were kept)" if kpis is None else "no households")
        right.set_axis_off()
        return fig
    if labelled:
        y = list(range(len(households)))
        grid_only, with_market = (
            [_nrg(h.bill_grid_only) for h in households],
            [_nrg(h.bill_with_market) for h in households],
        )
        left.barh([i - 0.2 for i in y], grid_only, 0.4, color="#bbbbbb", label="grid-only")
        left.barh([i + 0.2 for i in y], with_market, 0.4, color="#08519c", label="with the market")
        left.set_yticks(y, [f"{h.name} ({_nrg(h.saving):+,.2f})" for h in households], fontsize="small")
        left.invert_yaxis()
        left.axvline(0, color="#333333", lw=0.8)
        left.set_xlabel("bill over the run (NRG; below 0: the household earned); in brackets: its saving")
        left.grid(axis="x", alpha=0.3)
        left.legend(loc="lower right", fontsize="small")
    else:
        # Too many households to label: each one's saving, ranked, reads as one falling curve
        # (two bills per household would zigzag, since bills and savings do not rank alike).
        x = list(range(1, len(households) + 1))
        savings = [_nrg(h.saving) for h in households]
        left.bar(x, savings, 1.0, color=["#08519c" if v >= 0 else "#cb181d" for v in savings], lw=0)
        left.axhline(0, color="#333333", lw=0.8)
        left.set_xlim(0.5, len(households) + 0.5)
        left.set_xlabel(f"households ranked by saving (1 = largest, {len(households):,} households)")
        left.set_ylabel("saving vs grid-only bill over the run (NRG)")
        left.grid(axis="y", alpha=0.3)
    _kpi_panel(right, kpis)
    return fig


def _kpi_panel(ax: Axes, kpis: KpiRecord) -> None:
    """The neighbourhood's shares as bars in %, and its peak grid import, battery losses and feeder slots above."""
    values = [getattr(kpis, name) for name, _ in KPI_LABELS]
    y = list(range(len(values)))
    ax.barh(y, [100 * (v or 0) for v in values], 0.6, color="#2e7d32")
    for i, value in enumerate(values):
        shown = "n/a" if value is None else f"{value:.1%}"
        ax.annotate(shown, (100 * (value or 0), i), xytext=(4, 0), textcoords="offset points", va="center")
    ax.set_yticks(y, [label for _, label in KPI_LABELS])
    ax.invert_yaxis()
    ax.set_xlim(0, 130)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("% (neighbourhood)")
    notes = [f"peak grid import {kpis.peak_grid_import_kw:,.3f} kW"]
    if kpis.battery_losses_kwh:
        notes.append(f"battery losses {kpis.battery_losses_kwh:,.3f} kWh")
    if kpis.feeder_limit_bound_slots:
        notes.append(f"slots at the feeder limit: {kpis.feeder_limit_bound_slots:,}")
    ax.set_title("\n".join(notes), fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
