"""report.html's sections for the charts defined once in `chart_specs`: a heading, what the chart shows, its div.

common.js's `slotChart` draws each from the page data's `charts`; a chart with a household view is drawn
a second time in "A household's day" (`chart-<key>-household`) for the household picked there.
"""

from __future__ import annotations

import html

from p2p_energy.output.chart_specs import SlotChart
from p2p_energy.output.page_bills import household_type
from p2p_energy.records.run_records import RunResult

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


def trade_matrix_section(result: RunResult) -> str:
    """Who traded with whom, by household type: kWh traded from each sellers' type (rows) to each buyers' type
    (columns), every trade counted, so it stays one small table at 1,000 households."""
    kind = {h.name: household_type(h.name) for h in result.households}
    types = list(dict.fromkeys(kind.values()))
    wh: dict[tuple[str, str], int] = {}
    for t in result.trades:
        key = (kind.get(t.seller, t.seller), kind.get(t.buyer, t.buyer))
        wh[key] = wh.get(key, 0) + t.wh
    sellers = [s for s in types if any(k[0] == s for k in wh)]
    buyers = [b for b in types if any(k[1] == b for k in wh)]
    head = "".join(f"<th>{_esc(b)}</th>" for b in buyers)
    rows = "".join(
        f"<tr><th>{_esc(s)}</th>"
        + "".join(
            f'<td data-seller="{_esc(s)}" data-buyer="{_esc(b)}" data-wh="{wh.get((s, b), 0)}">'
            f"{wh.get((s, b), 0) / 1000:,.2f}</td>"
            for b in buyers
        )
        + "</tr>"
        for s in sellers
    )
    table = (
        f'<div class="scroll"><table id="trade-matrix" class="numbers"><thead><tr><th>sellers \\ buyers</th>{head}'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        if sellers
        else "<p>No trades in this run.</p>"
    )
    return (
        '<section id="trade-matrix-section"><h2>Who traded with whom</h2><p>kWh traded (as matched, before '
        "settlement) from the households of each type (their scenario group; rows: sellers) to each type "
        f"(columns: buyers), over every trade of the run.</p>{table}</section>"
    )
