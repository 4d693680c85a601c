"""Charts defined once (chart_specs): the grid chart's data is the run's, its feeder limit drawn where it binds."""

import dataclasses
import re

import pytest

from p2p_energy.output.chart_specs import battery_chart, grid_chart, slot_charts
from p2p_energy.output.page import render_page
from p2p_energy.records.run_records import HouseholdRecord
from tests.output.fake_runs import battery_plan, full_run, with_battery

RUN = full_run(households=8, slots=12)


def test_the_neighbourhoods_grid_flows_per_slot_are_the_households_summed():
    chart = grid_chart(RUN)
    for column, name in (("grid_import_wh", "grid_import_wh_per_slot"), ("grid_export_wh", "grid_export_wh_per_slot")):
        assert chart.columns[column] == [sum(getattr(h, name)[s] for h in RUN.households) for s in range(12)]


def test_the_grid_flows_per_slot_add_up_to_the_runs_kpis():
    chart = grid_chart(RUN)
    assert sum(chart.columns["grid_import_wh"]) == RUN.kpis.grid_import_wh > 0
    assert sum(chart.columns["grid_export_wh"]) == RUN.kpis.grid_export_wh > 0


def test_a_households_grid_columns_are_its_own_series():
    chart = grid_chart(RUN)
    house = RUN.households[2]
    assert chart.household(2)["grid_import_wh"] == list(house.grid_import_wh_per_slot)
    assert sum(chart.household(2)["local_wh"]) == house.bought_wh


def test_the_tariffs_name_the_grid_series():
    names = [s.name for s in grid_chart(RUN).series]
    assert "grid import (at the grid tariff, 0.3 NRG/kWh)" in names
    assert "grid export, below 0 (at the feed-in tariff, 0.08 NRG/kWh)" in names


def test_the_feeder_limit_is_drawn_and_the_slots_that_reach_it_marked():
    limit_wh = max(s.traded_wh for s in RUN.slots)
    facts = dataclasses.replace(RUN.scenario_facts, feeder_limit_kw=limit_wh * 4 / 1000)  # 15-minute slots
    chart = grid_chart(dataclasses.replace(RUN, scenario_facts=facts))
    assert [level.kwh for level in chart.levels] == [limit_wh / 1000]
    assert chart.marked == tuple(i for i, s in enumerate(RUN.slots) if s.traded_wh == limit_wh)


def test_without_a_feeder_limit_no_level_is_drawn():
    assert grid_chart(RUN).levels == () and grid_chart(RUN).marked == ()


def test_a_report_without_grid_flows_per_slot_has_no_grid_chart():
    homes = [dataclasses.replace(h, grid_import_wh_per_slot=(), grid_export_wh_per_slot=()) for h in RUN.households]
    assert slot_charts(dataclasses.replace(RUN, households=homes)) == []


def test_a_grid_series_that_does_not_add_up_is_refused():
    house = RUN.households[0]
    wrong = (house.grid_import_wh + 1, *(0,) * 11)
    with pytest.raises(ValueError, match="grid_import_wh per slot must be >= 0 and add up to"):
        HouseholdRecord(**{**dataclasses.asdict(house), "grid_import_wh_per_slot": wrong})


def test_a_run_without_batteries_has_no_battery_chart():
    assert battery_chart(RUN) is None and [c.key for c in slot_charts(RUN)] == ["grid-flows"]


def test_the_battery_chart_sums_the_households_batteries_from_the_plan():
    plan = battery_plan(12)
    run = with_battery(with_battery(RUN, plan, row=0), plan, row=3)
    chart = battery_chart(run)
    assert chart.columns["soc_wh"] == [2 * wh for wh in plan.battery_soc_wh[0, 1:]]
    assert chart.columns["charge_wh"] == [2 * wh for wh in plan.battery_charge_wh[0]]
    assert chart.household(1)["soc_wh"] == [0] * 12
    assert chart.notes == ("2 of 8 households have a battery",)


def test_the_trade_matrix_gives_the_kwh_traded_between_household_types():
    homes = {h.name for h in RUN.households[:4]}  # renamed solar-001 ... solar-004: of the type "solar"
    homes_renamed = [
        dataclasses.replace(h, name="solar-00" + h.name[-1]) if h.name in homes else h for h in RUN.households
    ]
    trades = [
        dataclasses.replace(
            t,
            seller="solar-00" + t.seller[-1] if t.seller in homes else t.seller,
            buyer="solar-00" + t.buyer[-1] if t.buyer in homes else t.buyer,
        )
        for t in RUN.trades
    ]
    run = dataclasses.replace(RUN, households=homes_renamed, trades=trades)
    cells = dict(
        ((seller, buyer), int(wh))
        for seller, buyer, wh in re.findall(
            r'data-seller="([^"]+)" data-buyer="([^"]+)" data-wh="(\d+)"', render_page(run)
        )
    )
    kind = lambda name: "solar" if name.startswith("solar") else "house"  # noqa: E731
    expected: dict[tuple[str, str], int] = {}
    for t in trades:
        expected[(kind(t.seller), kind(t.buyer))] = expected.get((kind(t.seller), kind(t.buyer)), 0) + t.wh
    assert {k: v for k, v in cells.items() if v} == expected
    assert sum(cells.values()) == sum(t.wh for t in RUN.trades)
