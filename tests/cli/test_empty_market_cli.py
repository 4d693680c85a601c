"""A run whose market makes no trade passes every check (nothing to disagree about), so it says so."""

import json

import pytest

from tests.cli.conftest import TINY

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


def test_a_run_that_trades_nothing_ends_with_a_warning_saying_so(cli, tmp_path):
    scenario = tmp_path / "broke.toml"
    scenario.write_text(TINY + '\n[prices]\nfunding = "0.00000001"\n')  # one base unit buys nothing
    completed = cli("simulate", str(scenario), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    said = " ".join(completed.stdout.split())
    assert "warning: this run made no trade" in said


def test_a_run_that_trades_says_no_such_warning(cli, tiny_scenario, tmp_path):
    completed = cli("simulate", str(tiny_scenario), "--out", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    assert "made no trade" not in completed.stdout
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["totals"]["trades"] > 0
