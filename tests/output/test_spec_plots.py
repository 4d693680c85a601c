"""The PNG twin of a chart defined once: the same numbers as the spec the page draws."""

import dataclasses

from p2p_energy.output.chart_specs import battery_chart, grid_chart
from p2p_energy.output.spec_plots import battery_png, grid_png, spec_figure
from tests.output.fake_runs import battery_plan, full_run, with_battery

RUN = full_run(households=8, slots=12)
PNG = b"\x89PNG\r\n\x1a\n"


def bar_heights(ax, label):
    container = next(c for c in ax.containers if c.get_label() == label)
    return [round(bar.get_height(), 6) for bar in container]


def test_the_grid_plots_bars_are_the_specs_columns_in_kwh():
    chart = grid_chart(RUN)
    ax = spec_figure(RUN, chart).axes[0]
    imports, exports = chart.series[0], chart.series[1]
    assert bar_heights(ax, imports.name) == [round(wh / 1000, 6) for wh in chart.columns["grid_import_wh"]]
    assert bar_heights(ax, exports.name) == [round(-wh / 1000, 6) for wh in chart.columns["grid_export_wh"]]


def test_the_grid_plot_draws_the_feeder_limit():
    facts = dataclasses.replace(RUN.scenario_facts, feeder_limit_kw=4.0)
    run = dataclasses.replace(RUN, scenario_facts=facts)
    ax = spec_figure(run, grid_chart(run)).axes[0]
    assert "feeder limit: at most 1 kWh traded locally per slot" in ax.get_legend_handles_labels()[1]


def test_a_report_without_grid_flows_per_slot_gets_a_plot_that_says_so():
    homes = [dataclasses.replace(h, grid_import_wh_per_slot=(), grid_export_wh_per_slot=()) for h in RUN.households]
    assert grid_png(dataclasses.replace(RUN, households=homes)).startswith(PNG)


def test_the_battery_plot_draws_the_plans_state_of_charge():
    plan = battery_plan(12)
    run = with_battery(RUN, plan)
    ax = spec_figure(run, battery_chart(run)).axes[0]
    soc = next(p for p in ax.patches if type(p).__name__ == "StepPatch" and p.get_label().startswith("state"))
    assert list(soc.get_data().values) == [wh / 1000 for wh in plan.battery_soc_wh[0, 1:]]


def test_a_run_without_batteries_gets_a_battery_plot_that_says_so():
    assert battery_png(RUN).startswith(PNG)
