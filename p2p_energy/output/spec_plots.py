"""The PNG twin of each chart defined once in `chart_specs`: the same spec, drawn with matplotlib.

Slot s spans [s, s + 1) along x, as in `plots`; bars stand at the slots' centres and lines are
steps over whole slots. The neighbourhood's columns are drawn (a PNG has no household picker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from p2p_energy.output import plots
from p2p_energy.output.chart_specs import SlotChart, battery_chart, grid_chart
from p2p_energy.records.run_records import RunResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def spec_figure(result: RunResult, chart: SlotChart) -> Figure:
    """`chart` over the run's slots: its series, levels and marked slots, in kWh per slot."""
    fig = plots.figure(11, 5)
    ax = fig.add_subplot()
    plots.titled(fig, ax, chart.title, result, "; ".join(chart.notes))
    n = len(result.slots)
    if not n:
        plots.no_data(ax, "no slots in this run")
        return fig
    centres = [i + 0.5 for i in range(n)]
    for s in chart.series:
        sign = -1 if s.below else 1
        values = [sign * wh / 1000 for wh in chart.columns[s.column]]
        if s.kind == "bar":
            ax.bar(centres, values, width=0.8, color=s.color, label=s.name)
        else:
            ax.stairs(values, range(n + 1), baseline=None, color=s.color, lw=2, label=s.name)
    for level in chart.levels:
        ax.axhline(level.kwh, color=level.color, ls="--", lw=1.5, label=level.label)
    if chart.marked and chart.levels:
        top = chart.levels[0].kwh
        ax.scatter(
            [i + 0.5 for i in chart.marked],
            [top] * len(chart.marked),
            marker="D",
            s=30,
            color=chart.levels[0].color,
            zorder=5,
            label=chart.marked_label,
        )
    ax.axhline(0, color="#888888", lw=0.8)
    plots.slot_axes(ax, result.slots, chart.y_title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2, fontsize="small", frameon=False)
    return fig


def spec_png(result: RunResult, chart: SlotChart | None, title: str, missing: str) -> bytes:
    """`chart` as a PNG, or a plot titled `title` that says `missing` where the run has no data for it."""
    if chart is not None:
        return plots.png(spec_figure(result, chart))
    fig = plots.figure(11, 5)
    ax = fig.add_subplot()
    plots.titled(fig, ax, title, result, "")
    plots.no_data(ax, missing)
    return plots.png(fig)


def grid_png(result: RunResult) -> bytes:
    """grid_per_slot.png: the grid chart, or a note that the run recorded no grid flows per slot."""
    missing = "this report was written before grid import and export were recorded per slot"
    return spec_png(result, grid_chart(result), "Grid import and export per slot", missing)


def battery_png(result: RunResult) -> bytes:
    """battery_per_slot.png: the batteries chart, or a note that the run has no battery."""
    missing = "no household has a battery in this run (or the report is older than battery records)"
    return spec_png(result, battery_chart(result), "Home batteries per slot", missing)
