"""The Hangzhou scenarios: one neighbourhood in June and December, and their labelled sample meter files."""

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def june():
    return load_scenario(SCENARIOS / "hangzhou-june.toml")


@pytest.fixture(scope="module")
def december():
    return load_scenario(SCENARIOS / "hangzhou-december.toml")


@pytest.fixture(scope="module")
def maker():
    """scenarios/data/make_sample_meters.py, the script that wrote the sample meter files."""
    spec = importlib.util.spec_from_file_location("make_sample_meters", SCENARIOS / "data" / "make_sample_meters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_june_and_december_are_the_same_neighbourhood(june, december):
    def without_load(household):  # measured homes' daily kWh come from their month's meter file
        return dataclasses.replace(household, load_kwh_per_day=0.0 if household.load_profile == "measured" else 1.0)

    assert [without_load(h) for h in june.households] == [without_load(h) for h in december.households]
    assert (june.site.date.month, december.site.date.month) == (6, 12)


def test_december_generates_less_and_uses_more_than_june(june, december):
    summer, winter = simulate_energy(june), simulate_energy(december)
    assert winter.generated_wh.sum() < 0.85 * summer.generated_wh.sum()
    assert winter.load_wh.sum() > 1.1 * summer.load_wh.sum()


@pytest.mark.parametrize("date", ["2026-06-17", "2026-12-16"])
def test_each_sample_meter_file_is_what_its_script_makes_and_says_it_is_synthetic(maker, date):
    path = SCENARIOS / "data" / f"hangzhou-sample-meters-{date}.csv"
    text = path.read_text()
    assert text.startswith("# SYNTHETIC sample data, not measured")
    assert text == maker.sample(maker.dt.date.fromisoformat(date))
