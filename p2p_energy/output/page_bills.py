"""report.html's "Bills and KPIs" section: the neighbourhood's KPIs as figures and the bills' data for its chart.

Each figure carries its summary.json key and raw value (`data-kpi`, `data-value`: the "kpis" object's
own numbers, money in base units) so a test can compare the page with the file. The definitions are
p2p_energy.domain.bills'.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.run_records import RunResult, nrg_value


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nrg(base_units: int) -> str:
    return f"{round(nrg_value(base_units), 4):,.4f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def kpi_cell(key: str, label: str, shown: str, value: object, note: str = "") -> str:
    """One KPI figure; data-kpi and data-value let a test compare it with summary.json's "kpis"."""
    extra = f'<span class="note">{_esc(note)}</span>' if note else ""
    return (
        f'<div class="figure" data-kpi="{_esc(key)}" data-value="{_esc(json.dumps(value))}">'
        f'<span class="label">{_esc(label)}</span><span class="value">{_esc(shown)}</span>{extra}</div>'
    )


def kpi_cells(kpis: KpiRecord) -> list[str]:
    saved = kpis.bill_savings_vs_grid
    return [
        kpi_cell("self_sufficiency", "self-sufficiency", _share(kpis.self_sufficiency), kpis.self_sufficiency),
        kpi_cell("self_consumption", "self-consumption", _share(kpis.self_consumption), kpis.self_consumption),
        kpi_cell("local_trade_share", "local trade share", _share(kpis.local_trade_share), kpis.local_trade_share),
        kpi_cell(
            "peak_grid_import_kw", "peak grid import kW", f"{kpis.peak_grid_import_kw:,.3f}", kpis.peak_grid_import_kw
        ),
        kpi_cell("bills_grid_only", "bills grid-only NRG", _nrg(kpis.bills_grid_only), kpis.bills_grid_only),
        kpi_cell(
            "bills_with_market", "bills with the market NRG", _nrg(kpis.bills_with_market), kpis.bills_with_market
        ),
        kpi_cell("bill_savings_vs_grid", "saving vs grid NRG", _nrg(saved), saved),
        kpi_cell("grid_fees", "grid fees NRG", _nrg(kpis.grid_fees), kpis.grid_fees, "paid by buyers, off chain"),
        kpi_cell(
            "battery_losses_kwh", "battery losses kWh", f"{kpis.battery_losses_kwh:,.3f}", kpis.battery_losses_kwh
        ),
        kpi_cell(
            "feeder_limit_bound_slots",
            "slots at the feeder limit",
            f"{kpis.feeder_limit_bound_slots:,}",
            kpis.feeder_limit_bound_slots,
        ),
    ]


def bills_section(result: RunResult) -> str:
    kpis, facts = result.kpis, result.scenario_facts
    head = '<section id="bills"><h2>Bills and KPIs</h2>'
    if kpis is None:
        return head + "<p>This report was written before bills and KPIs were kept.</p></section>"
    prices = ""
    if facts is not None:
        prices = (
            f" Prices: grid tariff {_nrg(facts.grid_tariff)}, feed-in tariff {_nrg(facts.feed_in_tariff)}, "
            f"grid fee {_nrg(facts.grid_fee_per_kwh)} NRG per kWh."
        )
    return (
        head + "<p>Each household's bill over the run with the local market (grid import at the grid tariff, "
        "less grid export at the feed-in tariff, plus local energy bought and its grid fee, less local energy sold) "
        "against a grid-only baseline (the same meter flows, no market). Self-sufficiency = 1 - grid import / load; "
        "self-consumption = 1 - grid export / generation; local trade share = energy delivered locally / load; "
        f"energy bought beyond need counts as grid export.{_esc(prices)} Click a bar to see that household's day.</p>"
        f'<div class="figures">{"".join(kpi_cells(kpis))}</div>'
        '<div class="chart" id="chart-bills" role="img" aria-label="bills per household"></div>'
        "<h3>The bill in parts, by household type</h3><p>Each part of the bill with the market, averaged over the "
        "households of a type (their scenario group): grid import at the grid tariff, local energy bought and its "
        "grid fee above 0; grid export at the feed-in tariff and local energy sold below 0; the diamond is the "
        "bill. The chain fee is paid by the operator and is not in the bills (see the summary).</p>"
        '<div class="chart" id="chart-bill-parts" role="img" aria-label="the bill in parts by household type"></div>'
        "</section>"
    )


def bills_data(result: RunResult) -> dict[str, Any] | None:
    """Each household's bills and KPIs as columns (money in base units), in the households' order; None without."""
    if result.kpis is None:
        return None
    hs = result.households
    columns = [
        *("bill_grid_only", "bill_with_market", "saving", "local_paid", "local_received", "grid_fees"),
        *("grid_import_cost", "grid_export_credit"),
        *("self_sufficiency", "self_consumption", "local_trade_share", "peak_grid_import_kw", "local_in_wh"),
    ]
    return {
        **{name: [getattr(h, name) for h in hs] for name in columns},
        "type": [household_type(h.name) for h in hs],
    }


def household_type(name: str) -> str:
    """A household's type: its scenario group, the name without its number ("solar-battery-003": "solar-battery")."""
    return re.sub(r"-\d+$", "", name) or name
