"""The network's charts of report.html in a real headless Chromium: drawn, with the band, the ratings and the lines."""

import json

import pytest

from p2p_energy.output.report import write_report
from tests.output.grid_runs import grid_run
from tests.output.test_page_browser import DRAWN

GRID_CHARTS = ("chart-grid-voltage", "chart-grid-loading", "chart-grid-network")


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory):
    files = write_report(grid_run(), tmp_path_factory.mktemp("grid-page") / "report")
    browser.open(files.page)
    return files


def test_the_page_with_a_network_draws_without_script_errors(browser, report):
    assert browser.errors() == []
    assert browser.evaluate("document.documentElement.dataset.ready") == "yes"


@pytest.mark.parametrize("chart", GRID_CHARTS)
def test_every_network_chart_is_drawn_with_data(browser, report, chart):
    assert browser.evaluate(f"{DRAWN}('{chart}')") > 0


def test_the_voltage_chart_draws_both_edges_of_the_band(browser, report):
    levels = browser.evaluate(
        "document.getElementById('chart-grid-voltage').layout.shapes.filter(s => s.xref === 'paper').map(s => s.y0)"
    )
    assert sorted(levels) == [pytest.approx(0.9), pytest.approx(1.1)]


def test_the_loading_chart_draws_the_rating(browser, report):
    levels = browser.evaluate(
        "document.getElementById('chart-grid-loading').layout.shapes.filter(s => s.xref === 'paper').map(s => s.y0)"
    )
    assert levels == [100]


def test_the_network_chart_draws_every_line_once(browser, report):
    segments = browser.evaluate(
        "document.getElementById('chart-grid-network').data.filter(t => t.mode === 'lines')"
        ".reduce((n, t) => n + t.x.filter(x => x === null).length, 0)"
    )
    assert segments == len(json.loads(report.summary.read_text())["grid"]["elements"])
