"""The charts defined once (chart_specs), drawn by report.html in a real Chromium, show the run's numbers."""

import dataclasses
import json

import pytest

from p2p_energy.output.report import write_report
from tests.output.fake_runs import battery_plan, full_run, with_battery

PLAN = battery_plan(12)
TRACE = "(id, column) => document.getElementById(id).data.find(t => t.meta === column)"


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory):
    """A fake run with a feeder limit that its busiest slot reaches and house-02 with a real plan's battery."""
    run = with_battery(full_run(households=8, slots=12), PLAN, row=1)
    limit_wh = max(s.traded_wh for s in run.slots)
    facts = dataclasses.replace(run.scenario_facts, feeder_limit_kw=limit_wh * 4 / 1000)
    files = write_report(dataclasses.replace(run, scenario_facts=facts), tmp_path_factory.mktemp("report") / "grid")
    browser.open(files.page)
    return files, json.loads(files.summary.read_text())


def trace_y(browser, chart, column):
    return browser.evaluate(f"({TRACE})('{chart}', '{column}').y")


def test_the_grid_chart_draws_without_script_errors(browser, report):
    assert browser.errors() == []
    assert browser.evaluate("document.documentElement.dataset.ready") == "yes"


def test_the_grid_import_bars_equal_the_households_grid_import_summed(browser, report):
    _, summary = report
    slots = len(summary["slots"])
    summed = [sum(h["grid_import_wh_per_slot"][s] for h in summary["households"]) for s in range(slots)]
    assert trace_y(browser, "chart-grid-flows", "grid_import_wh") == pytest.approx([wh / 1000 for wh in summed])
    assert sum(summed) == summary["kpis"]["grid_import_wh"]


def test_the_grid_export_bars_stand_below_zero(browser, report):
    _, summary = report
    exported = trace_y(browser, "chart-grid-flows", "grid_export_wh")
    assert max(exported) <= 0 and sum(exported) == pytest.approx(-summary["kpis"]["grid_export_wh"] / 1000)


def test_the_feeder_limit_is_drawn_and_the_slots_at_it_marked(browser, report):
    _, summary = report
    limit = max(s["traded_wh"] for s in summary["slots"]) / 1000
    layout = browser.evaluate("document.getElementById('chart-grid-flows').layout")
    assert [s["y0"] for s in layout["shapes"]] == [pytest.approx(limit)]
    assert any(a["text"].startswith("feeder limit") for a in layout["annotations"])
    marked = browser.evaluate(f"({TRACE})('chart-grid-flows', 'marked').x.length")
    assert marked == sum(1 for s in summary["slots"] if s["traded_wh"] / 1000 == limit) >= 1


def test_picking_a_household_draws_its_own_grid_flows(browser, report):
    _, summary = report
    house = next(h for h in summary["households"] if h["name"] == "house-02")
    browser.pick_household("house-02")
    imported = trace_y(browser, "chart-grid-flows-household", "grid_import_wh")
    assert imported == pytest.approx([wh / 1000 for wh in house["grid_import_wh_per_slot"]])
    title = browser.evaluate("document.getElementById('chart-grid-flows-household').layout.title.text")
    assert title.endswith("house-02")


def test_a_households_grid_chart_has_no_feeder_limit(browser, report):
    assert browser.evaluate("document.getElementById('chart-grid-flows-household').layout.shapes.length") == 0


def test_the_battery_chart_draws_the_plans_state_of_charge(browser, report):
    soc = trace_y(browser, "chart-battery", "soc_wh")
    # A step line: one point per slot's start, the last repeated at the end.
    assert soc[:-1] == pytest.approx([wh / 1000 for wh in PLAN.battery_soc_wh[0, 1:]])


def test_the_battery_chart_draws_the_plans_charge_and_discharge(browser, report):
    assert trace_y(browser, "chart-battery", "charge_wh") == pytest.approx(list(PLAN.battery_charge_wh[0] / 1000))
    assert trace_y(browser, "chart-battery", "discharge_wh") == pytest.approx(
        list(-PLAN.battery_discharge_wh[0] / 1000)
    )


def test_picking_a_battery_household_draws_its_state_of_charge(browser, report):
    browser.pick_household("house-02")
    soc = trace_y(browser, "chart-battery-household", "soc_wh")
    assert soc[:-1] == pytest.approx([wh / 1000 for wh in PLAN.battery_soc_wh[0, 1:]])


def test_the_bill_parts_are_the_households_means_by_type(browser, report):
    _, summary = report
    homes = summary["households"]  # the fake run's households are all of the type "house"
    drawn = browser.evaluate(f"({TRACE})('chart-bill-parts', 'grid_import_cost')")
    assert drawn["x"] == [f"house ({len(homes)})"]
    assert drawn["y"] == [pytest.approx(sum(h["grid_import_cost"] for h in homes) / len(homes) / 1e8)]
    credit = browser.evaluate(f"({TRACE})('chart-bill-parts', 'grid_export_credit').y")
    assert credit == [pytest.approx(-sum(h["grid_export_credit"] for h in homes) / len(homes) / 1e8)]
    assert sum(h["grid_import_cost"] for h in homes) > 0


def test_a_households_facts_give_its_bill_in_parts(browser, report):
    _, summary = report
    house = next(h for h in summary["households"] if h["name"] == "house-02")
    browser.pick_household("house-02")
    facts = browser.evaluate("document.getElementById('household-facts').textContent")
    assert f"grid import +{house['grid_import_cost'] / 1e8:,.4f}" in facts
    assert f"grid export \u2212{house['grid_export_credit'] / 1e8:,.4f}" in facts
