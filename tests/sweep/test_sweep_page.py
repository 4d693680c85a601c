"""sweep.html from a table of runs (no chain): the KPI charts' means and spreads, the failed runs, and the page
drawn by a real headless Chromium with nothing fetched from the network."""

import pytest

from p2p_energy.sweep.bench import write_study_chart
from p2p_energy.sweep.page import chart_data, render_sweep_page, write_sweep_page
from p2p_energy.sweep.results import sweep_table
from p2p_energy.sweep.run_one import RunRow
from tests.output.chromium import LOCAL_SCHEMES

AXES = ("market.mode", "seed")


def row(mode: str, seed: int, savings: float, status: str = "done", error: str = "") -> RunRow:
    figures = (("bill_savings_nrg", savings), ("local_trade_share", savings / 100), ("trades", 10))
    return RunRow(f"{mode}-{seed}", (("market.mode", mode), ("seed", seed)), status, error, 1.5, figures)


@pytest.fixture
def table():
    rows = [row("merit", 1, 10.0), row("merit", 2, 14.0), row("pay_as_clear", 1, 20.0)]
    rows.append(row("pay_as_clear", 2, 0.0, status="failed", error="ChainStopped: the node stopped answering"))
    return sweep_table("study", AXES, rows, [r.key for r in rows])


def test_a_kpi_chart_has_the_mean_and_spread_across_seeds_of_the_runs_that_did_not_fail(table):
    savings = next(c for c in chart_data(table) if c["kpi"] == "bill_savings_nrg" and c["axis"] == "market.mode")
    (line,) = savings["lines"]
    assert line["x"] == ["merit", "pay_as_clear"]
    assert line["y"] == [12.0, 20.0]
    assert line["spread"] == [pytest.approx(2.828, abs=1e-3), 0.0]
    assert line["runs"] == [2, 1]


def test_the_seed_axis_is_spread_and_never_a_chart_of_its_own(table):
    assert {chart["axis"] for chart in chart_data(table)} == {"market.mode"}


def test_the_page_lists_the_failed_run_with_its_error_and_links_every_run(table):
    page = render_sweep_page(table)
    assert 'data-run="pay_as_clear-2">market.mode=pay_as_clear, seed=2: ChainStopped: the node stopped' in page
    assert page.count('href="runs/') == 4


def test_the_sweep_page_draws_every_chart_offline_without_script_errors(table, browser, tmp_path):
    browser.open(write_sweep_page(table, tmp_path))
    assert browser.errors() == []
    assert browser.evaluate("document.documentElement.dataset.ready") == "yes"
    assert int(browser.evaluate("document.documentElement.dataset.charts")) == len(chart_data(table))
    assert [url for url in browser.requests() if not url.startswith(LOCAL_SCHEMES)] == []


def test_the_study_chart_is_a_png_of_savings_and_local_share_against_an_axis(table, tmp_path):
    chart = write_study_chart(table, "market.mode", tmp_path / "study.png")
    assert chart.read_bytes().startswith(b"\x89PNG")
