"""report.html: one self-contained page per run (no script, font or stylesheet from the network).

The page is static HTML for what is read (summary, checks, attacks, the chain) and a JSON
blob of the run's figures that the inlined scripts draw into charts with plotly.js's basic
bundle (scatter and bar traces: all the pages draw; npm's plotly.js-basic-dist-min, pinned in
package-lock.json and copied into assets/ by `make setup`), inlined whole. Everything the page shows
comes from the RunResult; per-slot and per-household figures are aggregated in Python, and
at most MAX_PAGE_TRADES trades are embedded for the trades table and the household view
(city-day has about 32,000).
"""

from __future__ import annotations

import html
import importlib.resources
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from p2p_energy.errors import P2PEnergyError
from p2p_energy.limits import trade_id
from p2p_energy.output.chart_specs import slot_charts
from p2p_energy.output.page_bills import bills_data, bills_section
from p2p_energy.output.page_charts import chart_section, household_chart_divs, trade_matrix_section
from p2p_energy.output.page_grid import grid_data, grid_section
from p2p_energy.output.plots import GAS_TARGET_PER_SETTLED_TRADE, fault_notes, shown_per_settled_trade
from p2p_energy.output.slot_times import slot_minutes, slot_starts
from p2p_energy.output.timings import time_lines
from p2p_energy.records.fees import RunFees
from p2p_energy.records.run_records import (
    READINGS_OPERATION,
    SETTLE_OPERATION,
    SETUP_OPERATIONS,
    RunResult,
    RunTotals,
    nrg_value,
)

#: Trades embedded in the page; a larger run's table says that trades.csv holds the rest.
MAX_PAGE_TRADES = 40_000
_SHOWN_FAILURES = 50


# -- assets -----------------------------------------------------------------------------------------


#: plotly.js's basic bundle among the assets, where `make setup` copies it from node_modules.
PLOTLY_ASSET = "plotly-basic.min.js"
PLOTLY_SOURCE = "node_modules/plotly.js-basic-dist-min/plotly-basic.min.js"


class MissingAssetError(P2PEnergyError):
    """An asset the pages inline is not installed."""


def plotly_js() -> str:
    """plotly.js's basic bundle, as `make setup` copied it from npm (nothing is downloaded)."""
    try:
        return asset(PLOTLY_ASSET)
    except FileNotFoundError:
        raise MissingAssetError(
            f"plotly.js is not installed beside the pages' scripts (p2p_energy/output/assets/{PLOTLY_ASSET}): "
            f"run `make setup` in the checkout (it copies {PLOTLY_SOURCE} there)"
        ) from None


def plotly_js_version() -> str:
    found = re.search(r"plotly\.js[^\n]*? v([\d.]+)", plotly_js()[:300])
    return found.group(1) if found else "?"


def asset(name: str) -> str:
    return (importlib.resources.files("p2p_energy.output") / "assets" / name).read_text(encoding="utf-8")


def script(source: str) -> str:
    """An inline <script> whose text cannot end the element early."""
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def json_script(element_id: str, data: Any) -> str:
    """Data for the page's scripts, in a JSON <script> block that no string in it can break out of."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def document(title: str, body: str, data: Any, scripts: Sequence[str]) -> str:
    """A whole page: styles, the error catcher first, the body, its data, plotly.js and `scripts` inlined."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{asset('page.css')}</style>",
            script(asset("errors.js")),
            "</head>",
            "<body>",
            body,
            '<pre id="page-errors" hidden></pre>',
            json_script("report-data", data),
            script(plotly_js()),
            script(asset("common.js")),
            *(script(asset(name)) for name in scripts),
            "</body>",
            "</html>",
            "",
        ]
    )


# -- formatting -------------------------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def kwh(wh: int) -> str:
    return f"{wh / 1000:,.2f}"


def nrg(base_units: int | None, places: int = 4) -> str:
    if base_units is None:
        return "-"
    return f"{round(nrg_value(base_units), places):,.{places}f}"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def figure_cell(key: str, label: str, shown: str, value: object, note: str = "", group: str = "total") -> str:
    """One figure of the summary; data-<group> (total: RunTotals, fee: RunFees) and data-value let a test compare
    it with summary.json."""
    raw = "" if value is None else esc(json.dumps(value))
    extra = f'<span class="note">{esc(note)}</span>' if note else ""
    return (
        f'<div class="figure" data-{group}="{esc(key)}" data-value="{raw}">'
        f'<span class="label">{esc(label)}</span><span class="value">{esc(shown)}</span>{extra}</div>'
    )


def table(head: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    """An HTML table from already escaped cells."""
    header = "".join(f"<th>{cell}</th>" for cell in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    # In a box of its own that scrolls sideways where the table is wider than the screen.
    return (
        f'<div class="scroll-x"><table class="{cls}"><thead><tr>{header}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


# -- the data the scripts draw ----------------------------------------------------------------------


def slot_data(result: RunResult) -> dict[str, Any]:
    slots = result.slots
    position = {s.slot: i for i, s in enumerate(slots)}
    low: list[int | None] = [None] * len(slots)
    high: list[int | None] = [None] * len(slots)
    for t in result.trades:
        i = position.get(t.slot)
        if i is not None:
            low[i] = t.price_per_kwh if low[i] is None else min(low[i] or 0, t.price_per_kwh)
            high[i] = t.price_per_kwh if high[i] is None else max(high[i] or 0, t.price_per_kwh)
    columns = ("generated_wh", "load_wh", "offered_wh", "traded_wh", "delivered_wh", "trades", "refunded_trades")
    return {
        "label": [s.start_time for s in slots],
        "start": slot_starts(slots),
        "minutes": slot_minutes(result),
        "chain_slot": [s.chain_slot for s in slots],
        **{name: [getattr(s, name) for s in slots] for name in columns},
        "clearing": [s.clearing_price for s in slots],
        "mean": [s.mean_price for s in slots],
        "low": low,
        "high": high,
    }


def facts_data(result: RunResult) -> dict[str, Any] | None:
    facts = result.scenario_facts
    if facts is None:
        return None
    position = {s.slot: i for i, s in enumerate(result.slots)}
    return {
        "mode": facts.market_mode,
        "grid_tariff": facts.grid_tariff,
        "feed_in_tariff": facts.feed_in_tariff,
        "ask": [facts.ask_min, facts.ask_max],
        "cloudy": [position[s] for s in facts.cloudy_slots if s in position],
        "cloud_factor": facts.cloud_factor,
        "offline": [
            [o.household, position[o.first_slot], position.get(o.last_slot, len(position) - 1)]
            for o in facts.offline_meters
            if o.first_slot in position
        ],
        "under": [[u.household, u.factor] for u in facts.under_delivery],
    }


def _per_slot(result: RunResult, role: str) -> list[list[int]]:
    """Energy each household sold (role "seller") or bought per slot, from every trade: [slot, Wh, slot, Wh, ...]."""
    row = {h.name: i for i, h in enumerate(result.households)}
    position = {s.slot: i for i, s in enumerate(result.slots)}
    tally: list[dict[int, int]] = [{} for _ in result.households]
    for t in result.trades:
        i, slot = row.get(getattr(t, role)), position.get(t.slot)
        if i is not None and slot is not None:
            tally[i][slot] = tally[i].get(slot, 0) + t.wh
    return [[n for item in sorted(slots.items()) for n in item] for slots in tally]


def household_data(result: RunResult) -> dict[str, Any]:
    hs = result.households
    numbers = ("generated_wh", "load_wh", "offered_wh", "sold_wh", "bought_wh", "delivered_wh")
    with_series = bool(hs) and all(h.generated_wh_per_slot and h.load_wh_per_slot for h in hs)
    return {
        "name": [h.name for h in hs],
        "address": [h.address for h in hs],
        "meter": [h.meter_id for h in hs],
        "pv": [h.pv_kwp for h in hs],
        **{name: [getattr(h, name) for h in hs] for name in numbers},
        "start": [h.tokens_start for h in hs],
        "end": [h.tokens_end for h in hs],
        "sold_by_slot": _per_slot(result, "seller"),
        "bought_by_slot": _per_slot(result, "buyer"),
        "generated_series": [list(h.generated_wh_per_slot) for h in hs] if with_series else None,
        "load_series": [list(h.load_wh_per_slot) for h in hs] if with_series else None,
    }


def trade_data(result: RunResult) -> dict[str, Any]:
    """The first MAX_PAGE_TRADES trades as columns; households by index, ids as their lot index where possible."""
    trades = result.trades[:MAX_PAGE_TRADES]
    row = {h.name: i for i, h in enumerate(result.households)}
    meter = {h.name: h.meter_id for h in result.households}
    chain_slot = {s.slot: s.chain_slot for s in result.slots}
    position = {s.slot: i for i, s in enumerate(result.slots)}
    trades = [t for t in trades if t.seller in row and t.buyer in row and t.slot in position]
    # Trade ids are (meter << 96 | slot << 32 | index): too big for JavaScript numbers, so the page
    # rebuilds them from the seller's meter, the slot and the index, or gets them as strings.
    by_layout = all(
        meter[t.seller] == t.meter_id
        and chain_slot[t.slot] == t.chain_slot
        and t.trade_id == trade_id(t.meter_id, t.chain_slot, t.lot_index)
        for t in trades
    )
    return {
        "total": len(result.trades),
        "id_by_layout": by_layout,
        "id": [t.lot_index if by_layout else str(t.trade_id) for t in trades],
        "slot": [position[t.slot] for t in trades],
        "seller": [row[t.seller] for t in trades],
        "buyer": [row[t.buyer] for t in trades],
        "wh": [t.wh for t in trades],
        "price": [t.price_per_kwh for t in trades],
        "paid": [t.paid for t in trades],
        "refunded": [t.refunded for t in trades],
        "settled": [1 if t.outcome == "settled" else 0 for t in trades],
    }


def gas_data(totals: RunTotals) -> dict[str, Any]:
    operations = sorted(totals.gas_per_operation, key=lambda op: totals.gas_per_operation[op])
    kinds = {SETTLE_OPERATION: "settlement", READINGS_OPERATION: "settlement"}
    return {
        "op": operations,
        "gas": [totals.gas_per_operation[op] for op in operations],
        "tx": [totals.transactions_per_operation[op] for op in operations],
        "kind": [kinds.get(op, "set-up" if op in SETUP_OPERATIONS else "trading") for op in operations],
        "per_settled": [[label, value] for label, value in shown_per_settled_trade(totals)],
        "settled": totals.settled_trades,
        "target": GAS_TARGET_PER_SETTLED_TRADE,
    }


def page_data(result: RunResult) -> dict[str, Any]:
    totals = result.totals()
    return {
        "scenario": result.scenario,
        "seed": result.seed,
        "slots": slot_data(result),
        "facts": facts_data(result),
        "households": household_data(result),
        "trades": trade_data(result),
        "gas": gas_data(totals),
        "bills": bills_data(result),
        "grid": grid_data(result),
        "charts": [chart.to_json() for chart in slot_charts(result)],
    }


# -- the page ---------------------------------------------------------------------------------------


def render_page(result: RunResult) -> str:
    """The whole report.html of `result`."""
    title = f"{result.scenario} (seed {result.seed}) — p2p-energy report"
    return document(title, _body(result), page_data(result), ["grid.js", "report.js"])


def _body(result: RunResult) -> str:
    totals, charts = result.totals(), slot_charts(result)
    failed = len(totals.checks_failed)
    badge = (
        f'<span class="badge bad">{failed} of {len(result.checks)} checks failed</span>'
        if failed
        else f'<span class="badge good">all {len(result.checks)} checks passed</span>'
        if result.checks
        else '<span class="badge">no checks recorded</span>'
    )
    facts = result.scenario_facts
    mode = f", {facts.market_mode} market" if facts else ""
    subtitle = f"chain {result.chain_id}, EVM {result.evm_version or '?'}{mode}; started {result.started_at}"
    description = f'<p class="description">{esc(facts.description)}</p>' if facts and facts.description else ""
    return "\n".join(
        [
            '<header><div class="wrap">',
            f"<h1>{esc(result.scenario)} <small>seed {result.seed}</small> {badge}</h1>",
            f'<p class="subtitle">{esc(subtitle)}</p>{description}',
            _nav(result.grid is not None, [(c.key, c.title.split(" per ")[0]) for c in charts]),
            "</div></header>",
            '<main class="wrap">',
            _summary_section(result, totals),
            _energy_section(result),
            *(chart_section(chart) for chart in charts),
            _price_section(result, totals),
            _household_section(result, household_chart_divs(charts)),
            _balance_section(result),
            bills_section(result),
            trade_matrix_section(result),
            grid_section(result),
            _gas_section(totals),
            _trades_section(result),
            _attacks_section(result),
            _checks_section(result),
            _chain_section(result),
            "</main>",
            f'<footer class="wrap">p2p-energy report; charts by plotly.js {esc(plotly_js_version())}, '
            "inlined: this page needs no network.</footer>",
        ]
    )


def _nav(network: bool = False, charts: Sequence[tuple[str, str]] = ()) -> str:
    links = [
        ("summary", "Summary"),
        ("energy", "Energy"),
        *charts,
        ("price", "Price"),
        ("household", "A household's day"),
        ("balances", "Balances"),
        ("bills", "Bills and KPIs"),
        *([("grid", "The network")] if network else []),
        ("gas", "Gas"),
        ("trades", "Trades"),
        ("attacks", "Attacks"),
        ("checks", "Checks"),
        ("chain", "Chain"),
    ]
    return "<nav>" + "".join(f'<a href="#{key}">{label}</a>' for key, label in links) + "</nav>"


def _summary_section(result: RunResult, totals: RunTotals) -> str:
    delivered = f"{totals.delivered_wh / totals.traded_wh:.1%} of traded" if totals.traded_wh else ""
    cells = [
        figure_cell("households", "households", count(totals.households), totals.households),
        figure_cell("slots", "delivery slots", count(totals.slots), totals.slots),
        figure_cell(
            "trades",
            "trades",
            count(totals.trades),
            totals.trades,
            f"{totals.settled_trades:,} settled, {totals.refunded_trades:,} refunded in full",
        ),
        figure_cell("settled_trades", "settled trades", count(totals.settled_trades), totals.settled_trades),
        figure_cell("refunded_trades", "refunded in full", count(totals.refunded_trades), totals.refunded_trades),
        figure_cell("generated_wh", "generated kWh", kwh(totals.generated_wh), totals.generated_wh),
        figure_cell("load_wh", "load kWh", kwh(totals.load_wh), totals.load_wh),
        figure_cell("offered_wh", "offered kWh", kwh(totals.offered_wh), totals.offered_wh, "on the forecast"),
        figure_cell("traded_wh", "traded kWh", kwh(totals.traded_wh), totals.traded_wh),
        figure_cell("delivered_wh", "delivered kWh", kwh(totals.delivered_wh), totals.delivered_wh, delivered),
        figure_cell("tokens_escrowed", "escrowed NRG", nrg(totals.tokens_escrowed), totals.tokens_escrowed),
        figure_cell("tokens_paid", "paid to sellers NRG", nrg(totals.tokens_paid), totals.tokens_paid),
        figure_cell("tokens_refunded", "refunded to buyers NRG", nrg(totals.tokens_refunded), totals.tokens_refunded),
        figure_cell(
            "mean_price_per_kwh", "mean price NRG/kWh", nrg(totals.mean_price_per_kwh), totals.mean_price_per_kwh
        ),
        figure_cell(
            "settle_gas_per_settled_trade",
            f"{SETTLE_OPERATION} gas / settled trade",
            count(totals.settle_gas_per_settled_trade),
            totals.settle_gas_per_settled_trade,
            f"target {GAS_TARGET_PER_SETTLED_TRADE:,}",
        ),
        figure_cell(
            "all_gas_per_settled_trade",
            "all gas / settled trade",
            count(totals.all_gas_per_settled_trade),
            totals.all_gas_per_settled_trade,
        ),
        figure_cell("transactions", "transactions", count(totals.transactions), totals.transactions),
        *_fee_cells(result.fees(totals)),
        figure_cell(
            "attacks_rejected",
            "attacks rejected",
            f"{totals.attacks_rejected:,} of {totals.attacks_submitted:,}",
            totals.attacks_rejected,
        ),
        figure_cell("checks_passed", "checks passed", f"{totals.checks_passed} of {len(result.checks)}", None),
    ]
    failures = ""
    if result.failures:
        shown = "".join(f"<li>{esc(line)}</li>" for line in result.failures[:_SHOWN_FAILURES])
        more = len(result.failures) - _SHOWN_FAILURES
        rest = f"<li>… {more:,} more in summary.json</li>" if more > 0 else ""
        failures = f'<div class="failures"><h3>{len(result.failures):,} failures</h3><ul>{shown}{rest}</ul></div>'
    return f'<section id="summary"><h2>Summary</h2><div class="figures">{"".join(cells)}</div>{failures}</section>'


def _fee_cells(fees: RunFees) -> list[str]:
    """The chain fee per kWh traded (in the chain's coin, or at Qtum's 40 sat/gas where gas was free) and as a share
    of the value traded (where the scenario gives the coin's price in NRG)."""
    at = f"at {fees.gas_price} per gas" + (" (Qtum's minimum; this run's gas was free)" if fees.reference else "")
    cells = []
    if fees.per_kwh_traded is not None:
        shown = f"{fees.per_kwh_traded:.6f}"
        label = f"chain fee {fees.currency} / kWh traded"
        cells.append(figure_cell("per_kwh_traded", label, shown, str(fees.per_kwh_traded), at, group="fee"))
    if fees.share_of_value is not None:
        shown = f"{fees.share_of_value:.1%}"
        value = str(fees.share_of_value)
        cells.append(figure_cell("share_of_value", "chain fee / value traded", shown, value, at, group="fee"))
    return cells


def _chart(chart_id: str, caption: str) -> str:
    return f'<div class="chart" id="{chart_id}" role="img" aria-label="{esc(caption)}"></div>'


def _energy_section(result: RunResult) -> str:
    notes = fault_notes(result.scenario_facts, result.slots)
    faults = "<p class='faults'>Faults: " + "; ".join(esc(n) for n in notes) + ".</p>" if notes else ""
    return (
        '<section id="energy"><h2>Energy per delivery slot</h2>'
        "<p>Generation, load and offers per slot (offers are made on the forecast, before the slot: they can exceed "
        "what was generated); bars are the energy traded and what the sellers' meters proved delivered. Shaded: "
        "slots of an unforecast cloud; red strips: a meter sent no readings; red triangles: trades refunded in full."
        f"</p>{faults}{_chart('chart-energy', 'energy per slot')}</section>"
    )


def _price_section(result: RunResult, totals: RunTotals) -> str:
    facts = result.scenario_facts
    tariff = f" against the grid tariff of {nrg(facts.grid_tariff)} NRG/kWh" if facts else ""
    return (
        '<section id="price"><h2>Price per delivery slot</h2>'
        f"<p>The range of trade prices and their volume-weighted mean per slot{esc(tariff)}; grey bars (right "
        f"axis): the energy traded. Mean over the run: {nrg(totals.mean_price_per_kwh)} NRG/kWh.</p>"
        f"{_chart('chart-price', 'price per slot')}</section>"
    )


def _household_section(result: RunResult, more_charts: str = "") -> str:
    names = sorted(h.name for h in result.households)
    options = "".join(f'<option value="{esc(n)}">{esc(n)}</option>' for n in names)
    return (
        '<section id="household"><h2>A household\'s day</h2>'
        '<p><label>Household <select id="household-select">'
        f"{options}</select></label> (or click its bar under Balances) "
        '<button type="button" id="household-trades">show its trades</button></p>'
        '<div class="household-view"><dl id="household-facts"></dl>'
        f"{_chart('chart-household', 'the household per slot')}</div>{more_charts}</section>"
    )


def _balance_section(result: RunResult) -> str:
    gained = sum(1 for h in result.households if h.net_tokens > 0)
    paid = sum(1 for h in result.households if h.net_tokens < 0)
    return (
        '<section id="balances"><h2>Net token balance per household</h2>'
        f"<p>Tokens at the end minus at the start: {gained:,} households gained, {paid:,} paid. "
        "Click a bar to see that household's day.</p>"
        f"{_chart('chart-balance', 'net balance per household')}</section>"
    )


def _gas_section(totals: RunTotals) -> str:
    return (
        '<section id="gas"><h2>Gas</h2>'
        f"<p>{totals.transactions:,} transactions used {totals.gas:,} gas. Left: gas per settled trade, counted "
        f"four ways; the design's target ({GAS_TARGET_PER_SETTLED_TRADE:,}) is for {SETTLE_OPERATION} in batches "
        "only. Right: where the gas went, by operation.</p>"
        f'<div class="pair">{_chart("chart-gas-trade", "gas per settled trade")}'
        f"{_chart('chart-gas-ops', 'gas by operation')}</div></section>"
    )


def _trades_section(result: RunResult) -> str:
    embedded = min(len(result.trades), MAX_PAGE_TRADES)
    cap = (
        f'<p class="note">This page holds the first {embedded:,} of {len(result.trades):,} trades; '
        "trades.csv in this folder has all of them.</p>"
        if embedded < len(result.trades)
        else ""
    )
    slots = "".join(f'<option value="{i}">{esc(s.start_time)}</option>' for i, s in enumerate(result.slots))
    return (
        '<section id="trades"><h2>Trades</h2>'
        f"{cap}"
        '<div class="filters">'
        '<label>Household or trade id <input type="search" id="trade-filter" placeholder="e.g. solar-002"></label>'
        '<label>Outcome <select id="trade-outcome"><option value="">any</option>'
        '<option value="settled">settled</option><option value="partial">settled, part refunded</option>'
        '<option value="refunded">refunded in full</option></select></label>'
        f'<label>Slot <select id="trade-slot"><option value="">any</option>{slots}</select></label>'
        "</div>"
        '<p id="trade-count" aria-live="polite"></p>'
        '<div class="scroll"><table id="trade-table" class="numbers"><thead><tr>'
        '<th data-key="id">trade id</th><th data-key="slot">slot</th><th data-key="seller">seller</th>'
        '<th data-key="buyer">buyer</th><th data-key="wh">kWh</th><th data-key="price">NRG/kWh</th>'
        '<th data-key="cost">cost NRG</th><th data-key="paid">paid NRG</th><th data-key="refunded">refunded NRG</th>'
        '<th data-key="outcome">outcome</th></tr></thead><tbody></tbody></table></div></section>'
    )


def _attacks_section(result: RunResult) -> str:
    if not result.attacks:
        return '<section id="attacks"><h2>Attacks</h2><p>No attacks were submitted in this run.</p></section>'
    rows = [
        [
            esc(a.kind),
            f"{a.submitted:,}",
            f'<span class="{"good" if a.rejected == a.submitted else "bad"}">{a.rejected:,}</span>',
            "<br>".join(f"<code>{esc(reason)}</code>" for reason in a.reasons) or "-",
        ]
        for a in result.attacks
    ]
    return (
        '<section id="attacks"><h2>Attacks</h2><p>Every attack must be rejected by the chain; the reasons are the '
        "contracts' decoded errors.</p>"
        + table(["attack", "submitted", "rejected", "decoded reasons"], rows, "attacks")
        + "</section>"
    )


def _checks_section(result: RunResult) -> str:
    rows = [
        [esc(name), '<span class="good">passed</span>' if passed else '<span class="bad">FAILED</span>']
        for name, passed in result.checks.items()
    ]
    body = table(["check of the chain against the books", "result"], rows, "checks") if rows else "<p>None.</p>"
    return f'<section id="checks"><h2>Checks</h2>{body}</section>'


def _chain_section(result: RunResult) -> str:
    rows = [
        ["chain id", esc(result.chain_id)],
        ["EVM target", esc(result.evm_version or "?")],
        ["RPC URL", f"<code>{esc(result.rpc_url)}</code>"],
        *([esc(contract), f"<code>{esc(address)}</code>"] for contract, address in result.deployment.items()),
        ["started", esc(result.started_at)],
        *(
            ["&nbsp;&nbsp;" * line.depth + esc(line.label), f"{line.seconds:,.2f} s"]
            for line in time_lines(result.wall_time_s, result.timings)
        ),
    ]
    facts = result.scenario_facts
    if facts is not None:
        rows += [
            ["market", esc(facts.market_mode)],
            ["slot length", f"{facts.slot_length_s:,} s"],
            ["asks", f"{nrg(facts.ask_min)} to {nrg(facts.ask_max)} NRG/kWh"],
            ["grid tariff", f"{nrg(facts.grid_tariff)} NRG/kWh"],
            ["funding", f"{nrg(facts.funding, 2)} NRG per household"],
        ]
    return (
        '<section id="chain"><h2>Chain, contracts and deployment</h2>' + table(["", ""], rows, "chain") + "</section>"
    )
