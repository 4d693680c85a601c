"""The bench's planning row: city-day with today's curves against the same city at a site (issue 28).

The figures are times, so only their shape is tested here; `make bench` measures them.
"""

from pathlib import Path

import pytest

from p2p_energy.bench import planning_check
from p2p_energy.bench_planning import CITY_SITE, PlanningTimes, measure_planning
from p2p_energy.bench_table import _planning_rows

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml"


def times(today, site):
    return PlanningTimes("city-day", "Asia/Shanghai 2026-06-17, H0 loads", today, site)


def test_the_ratio_is_the_site_median_over_todays_median():
    assert times([0.2, 0.3, 0.4], [0.45, 0.5, 0.9]).ratio == 0.5 / 0.3


def test_the_row_prints_the_ratio_and_both_medians():
    (row,) = _planning_rows(times([0.3, 0.3, 0.3], [0.42, 0.42, 0.42]))
    assert row[1] == "1.40x" and "0.420 s (Asia/Shanghai 2026-06-17, H0 loads) against 0.300 s" in row[2]


def test_the_target_is_met_within_one_and_a_half_times_and_not_beyond():
    assert (planning_check(times([0.3], [0.45])).met, planning_check(times([0.3], [0.46])).met) == (True, False)


def test_the_site_copy_places_the_scenario_in_hangzhou_with_h0_loads():
    assert CITY_SITE["site"]["timezone"] == "Asia/Shanghai" and CITY_SITE["loads"]["profile"] == "H0"


@pytest.mark.slow  # plans every scenario several times
def test_measuring_plans_each_scenario_the_number_of_runs_asked_for():
    measured = measure_planning(DEMO, runs=2)
    assert (measured.scenario, len(measured.today_s), len(measured.site_s)) == ("demo", 2, 2)
    assert min(measured.today_s + measured.site_s) > 0
