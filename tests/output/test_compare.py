"""`compare` puts the runs' KPIs and bills side by side, and a run from before bills shows "-"."""

import dataclasses
import io
import re

from rich.console import Console

from p2p_energy.output.compare import load_runs, render_compare_page, render_comparison
from tests.output.fake_runs import full_run, write_summary

KPI_ROWS = ("self-sufficiency", "self-consumption", "local trade share", "peak grid import kW", "saving vs grid NRG")


def compared(tmp_path):
    new, old = full_run(seed=3), dataclasses.replace(full_run(seed=4), kpis=None)
    write_summary(new, tmp_path / "new")
    write_summary(old, tmp_path / "old")
    return new, load_runs([tmp_path / "new", tmp_path / "old"])


def test_the_comparison_page_has_a_row_per_kpi_with_each_runs_value(tmp_path):
    new, runs = compared(tmp_path)
    html = render_compare_page(runs)
    for name in KPI_ROWS:
        assert f'data-metric="{name}"' in html
    row = re.search(r'<tr data-metric="saving vs grid NRG">(.*?)</tr>', html).group(1)
    values = re.findall(r'data-value="([^"]*)"', row)
    assert values == [str(new.kpis.bill_savings_vs_grid), ""]  # the older run has none


def test_the_comparison_table_shows_the_kpis_and_a_dash_for_a_run_without(tmp_path):
    new, runs = compared(tmp_path)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    render_comparison(runs, console)
    line = next(line for line in console.file.getvalue().splitlines() if "self-sufficiency" in line)
    assert f"{new.kpis.self_sufficiency:.1%}" in line and line.rstrip("│ ").endswith("-")
