"""`simulate scenarios/neighbourhood.toml`: batteries, bids, pay as clear, feeder limit and grid fee on anvil."""

import csv
import json
import subprocess

import pytest

from p2p_energy.domain.scenario import load_scenario
from p2p_energy.solidity.toolchain import find_toolchain
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


@pytest.fixture(scope="module")
def scenario_path():
    return find_toolchain().root / "scenarios" / "neighbourhood.toml"


@pytest.fixture(scope="module")
def run(scenario_path, tmp_path_factory):
    """The scenario simulated once for this module: (completed process, summary.json, households.csv rows)."""
    out = tmp_path_factory.mktemp("run") / "report"
    deployments = tmp_path_factory.mktemp("deployments")
    command = [str(CLI), "simulate", str(scenario_path), "--out", str(out), "--deployments", str(deployments)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    with (out / "households.csv").open(newline="") as file:
        households = list(csv.DictReader(file))
    return completed, summary, households


def test_the_scenario_has_what_it_promises(scenario_path):
    scenario = load_scenario(scenario_path)
    strategies = {h.battery.strategy for h in scenario.households if h.battery is not None}
    assert len(scenario.households) == 100
    assert strategies == {"self_consumption", "price_aware"}
    assert any(h.ev is not None for h in scenario.households)
    assert scenario.prices.has_bids and scenario.market.mode == "pay_as_clear"
    assert scenario.grid.feeder_limit_kw is not None and scenario.grid.fee_per_kwh > 0


def test_every_check_of_the_chain_against_the_books_passes(run):
    _, summary, _ = run
    assert summary["checks"] and all(summary["checks"].values()), [k for k, v in summary["checks"].items() if not v]


def test_the_feeder_limit_binds_at_noon(run):
    _, summary, _ = run
    noon = [s for s in summary["slots"] if 12 <= s["slot"] * 0.25 < 13]  # the scenario starts at 00:00
    limit_wh = 40 * 1_000 * 0.25
    assert summary["kpis"]["feeder_limit_bound_slots"] > 0
    assert max(s["traded_wh"] for s in noon) == limit_wh


def test_the_kpis_are_ratios_and_the_market_saves_money(run):
    kpis = run[1]["kpis"]
    for name in ("self_sufficiency", "self_consumption", "local_trade_share"):
        assert 0 < kpis[name] < 1, name
    assert kpis["grid_fees"] > 0 and kpis["battery_losses_kwh"] > 0
    assert kpis["bill_savings_vs_grid"] == kpis["bills_grid_only"] - kpis["bills_with_market"] > 0


def test_households_csv_gives_every_household_its_bills(run):
    _, _, households = run
    assert len(households) == 100
    for row in households:
        assert int(row["bill_grid_only"]) - int(row["bill_with_market"]) == int(row["saving"])
