"""report.html and compare.html in a real headless Chromium: drawn, without script errors, interactive."""

import dataclasses
import json
from collections import Counter

import pytest

from p2p_energy.output.compare import load_runs, write_comparison
from p2p_energy.output.report import write_report
from tests.output.chromium import LOCAL_SCHEMES
from tests.output.fake_runs import full_run, with_escrow_ids, write_page_only, write_summary

CHARTS = (
    "chart-energy",
    "chart-price",
    "chart-balance",
    "chart-bills",
    "chart-gas-trade",
    "chart-gas-ops",
    "chart-household",
)
DRAWN = """(id => {
  const el = document.getElementById(id);
  if (!el.classList.contains('js-plotly-plot')) return 0;
  const points = el.querySelectorAll('.barlayer .point path, .scatterlayer .trace path.js-line, .scatterlayer .point');
  return el.data.length > 0 && el.querySelector('svg.main-svg') ? points.length : 0;
})"""


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory):
    """The report of a fake run with faults, opened in the browser once for the module."""
    files = write_report(full_run(households=8, slots=12), tmp_path_factory.mktemp("report") / "faults")
    browser.open(files.page)
    return files, json.loads(files.summary.read_text())


def set_filter(browser, element, value):
    event = "input" if element == "trade-filter" else "change"
    browser.evaluate(
        f"(() => {{ const el = document.getElementById('{element}'); el.value = {json.dumps(value)};"
        f" el.dispatchEvent(new Event('{event}')); }})()"
    )
    return browser.evaluate("Number(document.getElementById('trade-count').dataset.matching)")


def shown_rows(browser):
    return browser.evaluate(
        "[...document.querySelectorAll('#trade-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
    )


def test_the_page_draws_without_script_errors(browser, report):
    assert browser.errors() == []
    assert browser.evaluate("document.documentElement.dataset.ready") == "yes"
    assert browser.evaluate("document.getElementById('page-errors').hidden") is True


def test_the_page_fetches_nothing_from_the_network(browser, report):
    assert [url for url in browser.requests() if not url.startswith(LOCAL_SCHEMES)] == []


@pytest.mark.parametrize("chart", CHARTS)
def test_every_chart_is_drawn_with_data(browser, report, chart):
    assert browser.evaluate(f"{DRAWN}('{chart}')") > 0


def test_the_energy_chart_marks_the_cloud_and_the_offline_meter(browser, report):
    shapes = browser.evaluate("document.getElementById('chart-energy').layout.shapes.length")
    names = browser.evaluate("document.getElementById('chart-energy').data.map(t => t.name)")
    assert shapes == 2  # one cloudy slot, one offline meter
    assert "trades refunded in full" in names and "meter offline (no readings)" in names


def test_the_price_chart_has_the_grid_tariff_and_the_volume(browser, report):
    layout = browser.evaluate(
        "(l => [l.yaxis.range, l.yaxis2.overlaying, l.annotations.map(a => a.text)])"
        "(document.getElementById('chart-price').layout)"
    )
    (low, high), overlaying, notes = layout
    assert 0.05 < low < 0.08 and high < 0.5 and overlaying == "y"
    assert "grid tariff 0.3000 NRG/kWh" in notes


def test_the_volume_axis_is_ticked_at_a_round_step(browser, report):
    axis = browser.evaluate("document.getElementById('chart-price').layout.yaxis2")
    step = axis["dtick"]
    assert axis["tickmode"] == "linear" and axis["tick0"] == 0
    assert any(step == pytest.approx(m * 10**k) for m in (1, 2, 5) for k in range(-4, 6))
    assert axis["range"][1] / step == pytest.approx(round(axis["range"][1] / step))


def test_settlement_with_readings_inside_the_closing_call_is_one_gas_bar(browser, report):
    labels = browser.evaluate("document.getElementById('chart-gas-trade').data[0].y")
    assert labels[0] == "closeLots (readings inside)" and "settlement with its readings" not in labels


def test_the_offers_are_labelled_as_made_on_the_forecast(browser, report):
    names = browser.evaluate("document.getElementById('chart-energy').data.map(t => t.name)")
    assert "offered (on the forecast)" in names
    note = browser.evaluate("document.querySelector('[data-total=offered_wh] .note').textContent")
    assert note == "on the forecast"


def test_the_price_chart_draws_the_feed_in_tariff(browser, report):
    layout = browser.evaluate("document.getElementById('chart-price').layout")
    assert "feed-in tariff 0.0800 NRG/kWh" in [a["text"] for a in layout["annotations"]]
    assert 0.08 in [s["y0"] for s in layout["shapes"]] and layout["yaxis"]["range"][0] < 0.08


def test_the_figures_on_the_page_equal_summary_json(browser, report):
    _, summary = report
    shown = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-total]')]"
        ".map(e => [e.dataset.total, [e.dataset.value, e.querySelector('.value').textContent]]))"
    )
    totals = summary["totals"]
    for key, (value, _text) in shown.items():
        if value:
            assert json.loads(value) == totals[key], key
    assert shown["trades"][1] == f"{totals['trades']:,}"
    assert shown["traded_wh"][1] == f"{totals['traded_wh'] / 1000:,.2f}"
    assert shown["tokens_paid"][1] == totals["tokens_paid_nrg"][: totals["tokens_paid_nrg"].index(".") + 5]


def test_the_kpis_on_the_page_equal_summary_json(browser, report):
    _, summary = report
    shown = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-kpi]')]"
        ".map(e => [e.dataset.kpi, [e.dataset.value, e.querySelector('.value').textContent]]))"
    )
    kpis = summary["kpis"]
    assert len(shown) >= 10
    for key, (value, _text) in shown.items():
        assert json.loads(value) == kpis[key], key
    assert shown["self_sufficiency"][1] == f"{kpis['self_sufficiency']:.1%}"
    assert shown["peak_grid_import_kw"][1] == f"{kpis['peak_grid_import_kw']:,.3f}"
    saved = kpis["bill_savings_vs_grid_nrg"]
    assert shown["bill_savings_vs_grid"][1] == f"{round(float(saved), 4):,.4f}"


def test_the_bills_chart_ranks_the_households_by_saving(browser, report):
    _, summary = report
    names = browser.evaluate("document.getElementById('chart-bills').data[0].y")
    with_market = browser.evaluate("document.getElementById('chart-bills').data[1].x")
    homes = {h["name"]: h for h in summary["households"]}
    savings = [homes[name]["saving"] for name in names]
    assert savings == sorted(savings, reverse=True) and len(names) == len(homes)
    assert with_market == pytest.approx([homes[name]["bill_with_market"] / 1e8 for name in names])


def test_a_households_facts_show_its_saving(browser, report):
    _, summary = report
    household = next(h for h in summary["households"] if h["name"] == "house-02")
    browser.pick_household("house-02")
    facts = browser.evaluate("document.getElementById('household-facts').textContent")
    nrg = round(household["saving"] / 1e8, 4)
    assert f"saving vs grid{'+' if nrg > 0 else ''}{nrg:,.4f} NRG" in facts


def test_the_trades_table_filters_by_household(browser, report):
    _, summary = report
    name = "house-04"
    expected = sum(1 for t in summary["trades"] if name in (t["seller"], t["buyer"]))
    assert set_filter(browser, "trade-filter", name) == expected > 0
    assert all(name in (row[2], row[3]) for row in shown_rows(browser))
    assert set_filter(browser, "trade-filter", "") == len(summary["trades"])


def test_the_trades_table_filters_by_outcome_and_slot(browser, report):
    _, summary = report
    refunded = sum(1 for t in summary["trades"] if t["outcome"] == "refunded")
    assert set_filter(browser, "trade-outcome", "refunded") == refunded > 0
    assert {row[9] for row in shown_rows(browser)} == {"refunded in full"}
    in_slot = Counter(t["slot"] for t in summary["trades"] if t["outcome"] == "refunded")
    slot, count = in_slot.most_common(1)[0]
    assert set_filter(browser, "trade-slot", str(slot)) == count
    set_filter(browser, "trade-slot", "")
    assert set_filter(browser, "trade-outcome", "") == len(summary["trades"])


def test_the_trades_table_sorts_by_a_clicked_column(browser, report):
    browser.evaluate("document.querySelector('#trade-table th[data-key=price]').click()")
    prices = [float(row[5]) for row in shown_rows(browser)]
    assert prices == sorted(prices) and prices[0] < prices[-1]
    browser.evaluate("document.querySelector('#trade-table th[data-key=price]').click()")
    assert [float(row[5]) for row in shown_rows(browser)] == sorted(prices, reverse=True)
    assert browser.evaluate("document.querySelector('#trade-table th[data-key=price]').getAttribute('aria-sort')") == (
        "descending"
    )


def test_picking_a_household_shows_its_day(browser, report):
    _, summary = report
    household = next(h for h in summary["households"] if h["name"] == "house-01")
    browser.pick_household("house-01")
    facts = browser.evaluate("document.getElementById('household-facts').textContent")
    assert "house-01" in facts and "meter offline" in facts
    sold = browser.evaluate(
        "document.getElementById('chart-household').data.find(t => t.name === 'sold').y.reduce((a, b) => a + b, 0)"
    )
    assert sold == pytest.approx(household["sold_wh"] / 1000)
    generated = browser.evaluate(
        "document.getElementById('chart-household').data.find(t => t.name === 'generated (PV)').y"
    )
    assert sum(generated) == pytest.approx(household["generated_wh"] / 1000)


def test_a_screenshot_of_the_page(browser, report, tmp_path):
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_a_run_without_trades_shows_messages_instead_of_empty_charts(browser, tmp_path):
    run = full_run(households=4, slots=4)
    empty = dataclasses.replace(run, trades=[], gas=[], attacks=[])
    browser.open(write_page_only(empty, tmp_path))
    assert browser.errors() == []
    assert browser.evaluate("document.getElementById('chart-price').classList.contains('chart-empty')")
    assert "No trades" in browser.evaluate("document.getElementById('chart-price').textContent")
    assert browser.evaluate(f"{DRAWN}('chart-energy')") > 0


def test_a_report_from_before_the_page_existed_draws_too(browser, tmp_path):
    run = full_run(households=4, slots=4)
    households = [dataclasses.replace(h, generated_wh_per_slot=(), load_wh_per_slot=()) for h in run.households]
    old = dataclasses.replace(run, scenario_facts=None, households=households, kpis=None)
    browser.open(write_page_only(old, tmp_path))
    assert browser.errors() == []
    assert all(browser.evaluate(f"{DRAWN}('{chart}')") > 0 for chart in CHARTS if chart != "chart-bills")
    bills = browser.evaluate("document.getElementById('bills').textContent")
    assert "written before bills and KPIs were kept" in bills


def test_the_comparison_page_draws_the_runs_side_by_side(browser, tmp_path):
    merit = full_run(seed=3)
    uniform = dataclasses.replace(
        full_run(seed=4), scenario_facts=dataclasses.replace(merit.scenario_facts, market_mode="uniform")
    )
    write_summary(merit, tmp_path / "merit")
    write_summary(uniform, tmp_path / "uniform")
    page = write_comparison(load_runs([tmp_path / "merit", tmp_path / "uniform"]), tmp_path / "compare.html")
    browser.open(page)
    assert browser.errors() == []
    for chart in ("chart-traded", "chart-price", "chart-gas-trade", "chart-gas-ops"):
        assert browser.evaluate(f"{DRAWN}('{chart}')") > 0
        assert browser.evaluate(f"document.getElementById('{chart}').data.length") >= 2
    trades = browser.evaluate(
        "[...document.querySelectorAll('tr[data-metric=trades] td[data-value]')].map(td => Number(td.dataset.value))"
    )
    assert trades == [len(merit.trades), len(uniform.trades)]


def test_the_trades_table_shows_meter_slot_and_index_with_the_full_id_on_hover(browser, tmp_path):
    run = with_escrow_ids(full_run(households=8, slots=12))
    browser.open(write_page_only(run, tmp_path))
    k, shown, title = browser.evaluate(
        "(r => [Number(r.dataset.trade), r.cells[0].textContent, r.cells[0].title])"
        "(document.querySelector('#trade-table tbody tr'))"
    )
    trade = run.trades[k]
    assert shown == f"m{trade.meter_id} · s{trade.chain_slot} · #{trade.lot_index}"
    assert title == f"trade id {trade.trade_id}"
