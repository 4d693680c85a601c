"""report.html's sections for the charts defined once in `chart_specs`: a heading, what the chart shows, its div.

common.js's `slotChart` draws each from the page data's `charts`; a chart with a household view is drawn
a second time in "A household's day" (`chart-<key>-household`) for the household picked there.
"""

from __future__ import annotations

import html

from p2p_energy.output.chart_specs import SlotChart

#: What each spec-defined chart shows, in words (its section's paragraph).
_ABOUT = {
    "grid-flows": (
        "Energy from and to the grid per slot, after the local market: a household's grid import is its meter's "
        "import less what it received locally, its grid export its meter's export less what it delivered locally "
        "(plus energy bought beyond its need). The line is the energy traded locally in the slot; where the "
        "scenario has a feeder limit, it is drawn and the slots where local trade reached it are marked. "
        'The household picked under "A household\'s day" is drawn there too.'
    ),
    "battery": (
        "What the home batteries stored (bars above 0) and gave out (below 0) per slot, and the energy they held at "
        "the end of each slot (the line), summed over the households with one, as the plan dispatched them on the "
        "actual energy (the meter sees only the result). A battery that sells in the evening (price_arbitrage) "
        "discharges there: its sales beyond its PV come from here. The household picked under \"A household's "
        'day" is drawn there too (zeros without a battery).'
    ),
}


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def chart_div(element_id: str, caption: str) -> str:
    return f'<div class="chart" id="{_esc(element_id)}" role="img" aria-label="{_esc(caption)}"></div>'


def chart_section(chart: SlotChart) -> str:
    """The section of a spec-defined chart (id `<key>`, chart `chart-<key>`)."""
    notes = "".join(f"<p class='note'>{_esc(note[0].upper() + note[1:])}.</p>" for note in chart.notes)
    return (
        f'<section id="{_esc(chart.key)}"><h2>{_esc(chart.title)}</h2><p>{_esc(_ABOUT.get(chart.key, ""))}</p>'
        f"{notes}{chart_div('chart-' + chart.key, chart.title.lower())}</section>"
    )


def household_chart_divs(charts: list[SlotChart]) -> str:
    """The household views of the charts that have one, for "A household's day"."""
    return "".join(
        chart_div(f"chart-{c.key}-household", f"{c.title.lower()} of the household")
        for c in charts
        if c.household_columns
    )
