"""The network in the report: summary.json's "grid", the page's section and the terminal lines."""

import dataclasses
import json
import re

import pytest

from p2p_energy.output.page import render_page
from p2p_energy.output.report import load_report, write_report
from p2p_energy.records.grid_records import grid_lines
from tests.output.fake_runs import full_run
from tests.output.grid_runs import grid_plan, grid_run

RUN = grid_run()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_report(RUN, tmp_path_factory.mktemp("grid") / "report").out_dir


def test_summary_json_reads_back_the_same_grid_record(folder):
    assert load_report(folder).grid == RUN.grid


def test_summary_json_gives_each_kpi_with_and_without_the_market(folder):
    grid = json.loads((folder / "summary.json").read_text())["grid"]
    keys = {"voltage_violation_slots", "overload_slots", "peak_line_loading_pct", "losses_kwh"}
    assert keys <= set(grid["with_market"]) and keys <= set(grid["without_market"])


def test_summary_json_has_a_record_per_slot_and_per_line_of_the_network(folder):
    grid = json.loads((folder / "summary.json").read_text())["grid"]
    assert [s["slot"] for s in grid["slots"]] == list(range(12))
    assert sum(1 for e in grid["elements"] if e["kind"] == "line") == 8  # Kerber Landnetz Freileitung 2


def test_the_pages_figures_are_summary_jsons(folder):
    html = (folder / "report.html").read_text()
    grid = json.loads((folder / "summary.json").read_text())["grid"]
    cells = re.findall(r'data-grid="(with_market|without_market)\.(\w+)" data-value="([^"]*)"', html)
    assert len(cells) == 18
    for world, key, value in cells:
        assert json.loads(value.replace("&quot;", '"')) == grid[world][key]


def test_a_run_without_a_network_has_no_network_section():
    assert 'id="grid"' not in render_page(full_run())


def test_the_terminal_lines_give_both_worlds():
    lines = grid_lines(RUN.grid)
    assert lines[1].startswith("  with the market:") and lines[2].startswith("  without it:")


def test_the_terminal_lines_say_what_the_network_limits_refused():
    limited = grid_run(limits="network").grid
    assert "network limits refused" in grid_lines(limited)[-1]


def test_the_page_says_when_the_market_moved_no_power():
    still = dataclasses.replace(RUN, grid=dataclasses.replace(RUN.grid, market_moves_power=False))
    assert "The market moved no power in this run" in render_page(still)
    assert "The market moved no power in this run" not in render_page(RUN)


def test_the_price_aware_batteries_of_the_fake_run_move_power():
    assert grid_plan(12).grid.market_moves_power
