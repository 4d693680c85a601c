"""`compare` puts the runs' KPIs and bills side by side, and a run from before bills shows "-"."""

import dataclasses
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from p2p_energy.output.compare import Comparison, load_runs, render_compare_page, render_comparison
from p2p_energy.output.compare_versus import RunShape, Versus
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


def side_by_side(tmp_path, *runs):
    for i, run in enumerate(runs):
        write_summary(run, tmp_path / f"run{i}")
    return load_runs([tmp_path / f"run{i}" for i in range(len(runs))])


def test_each_run_after_the_first_has_its_difference_and_ratio_to_the_first(tmp_path):
    first, second = full_run(seed=3), full_run(seed=4)
    comparison = Comparison.of(side_by_side(tmp_path, first, second))
    trades = next(m for m in comparison.metrics if m.name == "trades")
    figure = comparison.figure(trades, 1)
    assert figure["difference"] == len(second.trades) - len(first.trades)
    assert figure["ratio"] == pytest.approx(len(second.trades) / len(first.trades))
    assert figure["difference_shown"] == f"{len(second.trades) - len(first.trades):+,}"
    assert "difference" not in comparison.figure(trades, 0)


def test_a_shares_difference_is_shown_in_percentage_points(tmp_path):
    first, second = full_run(seed=3), full_run(seed=4)
    comparison = Comparison.of(side_by_side(tmp_path, first, second))
    row = next(m for m in comparison.metrics if m.name == "self-sufficiency")
    points = (second.kpis.self_sufficiency - first.kpis.self_sufficiency) * 100
    assert comparison.figure(row, 1)["difference_shown"] == f"{points:+.1f} pt"


@given(
    value=st.one_of(st.none(), st.integers(-(10**18), 10**18)),
    first=st.one_of(st.none(), st.integers(-(10**18), 10**18)),
)
def test_a_difference_added_to_the_first_gives_the_value_and_a_ratio_is_missing_only_where_it_cannot_be(value, first):
    versus = Versus.of(value, first)
    if value is None or first is None:
        assert versus == Versus(None, None)
    else:
        assert first + versus.difference == value
        assert (versus.ratio is None) == (first == 0)


def test_runs_of_the_same_size_get_no_warning_and_no_rows_per_household(tmp_path):
    comparison = Comparison.of(side_by_side(tmp_path, full_run(seed=3), full_run(seed=4)))
    assert comparison.warning is None
    assert not any(m.name.endswith("/ household") for m in comparison.metrics)


def test_runs_of_different_households_get_a_warning_naming_each_runs_count(tmp_path):
    comparison = Comparison.of(side_by_side(tmp_path, full_run(households=8), full_run(households=6)))
    assert comparison.warning is not None
    assert "households (run0 8, run1 6)" in comparison.warning and "slots" not in comparison.warning


def test_runs_of_different_households_get_rows_per_household_and_per_kwh(tmp_path):
    small = full_run(households=6)
    comparison = Comparison.of(side_by_side(tmp_path, full_run(households=8), small))
    row = next(m for m in comparison.metrics if m.name == "saving vs grid NRG / household")
    assert comparison.figure(row, 1)["value"] == pytest.approx(small.kpis.bill_savings_vs_grid / 6)
    assert any(m.name == "gas / kWh traded" for m in comparison.metrics)


def test_runs_over_different_slots_and_hours_get_a_warning_naming_both(tmp_path):
    later = full_run(slots=8)
    later = dataclasses.replace(
        later,
        slots=[dataclasses.replace(s, start_time=f"{13 + i // 4}:{i % 4 * 15:02d}") for i, s in enumerate(later.slots)],
    )
    comparison = Comparison.of(side_by_side(tmp_path, full_run(slots=12), later))
    assert "slots (run0 12, run1 8)" in comparison.warning
    assert "time window (run0 09:00\N{EN DASH}12:00, run1 13:00\N{EN DASH}15:00)" in comparison.warning


def test_the_terminal_table_has_a_difference_and_ratio_column_per_later_run(tmp_path):
    first, second = full_run(seed=3), full_run(seed=4)
    console = Console(file=io.StringIO(), width=240, color_system=None)
    render_comparison(side_by_side(tmp_path, first, second), console)
    text = console.file.getvalue()
    assert "Δ \N{MULTIPLICATION SIGN} run1" in text
    line = next(line for line in text.splitlines() if [cell.strip() for cell in line.split("│")][1:2] == ["trades"])
    ratio = len(second.trades) / len(first.trades)
    assert f"{len(second.trades) - len(first.trades):+,} \N{MULTIPLICATION SIGN}{ratio:,.3f}" in line


def test_the_terminal_table_warns_first_when_the_runs_differ_in_size(tmp_path):
    console = Console(file=io.StringIO(), width=240, color_system=None)
    render_comparison(side_by_side(tmp_path, full_run(households=8), full_run(households=6)), console)
    assert console.file.getvalue().startswith("warning: these runs differ in households")


def test_the_comparison_page_shows_the_warning_and_keeps_the_table_out_of_a_height_limited_box(tmp_path):
    html = render_compare_page(side_by_side(tmp_path, full_run(households=8), full_run(households=6)))
    assert 'id="compare-warning">these runs differ in households' in html
    assert '<div class="scroll-x"><table id="compare-table">' in html


def test_a_whole_day_from_midnight_spans_00_00_to_24_00():
    day = full_run(slots=96)
    day = dataclasses.replace(
        day,
        slots=[dataclasses.replace(s, start_time=f"{i // 4:02d}:{i % 4 * 15:02d}") for i, s in enumerate(day.slots)],
    )
    assert RunShape.of(day).window == "00:00\N{EN DASH}24:00"
