"""Sweep files: axes expand to runs, each run's scenario checked by the scenario loader; no chain, no Dask."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.errors import UsageError
from p2p_energy.sweep.sweep_file import load_sweep
from tests.cli.conftest import TINY

CODE = "code-version-1"


def write_sweep(folder: Path, body: str) -> Path:
    (folder / "tiny.toml").write_text(TINY)
    path = folder / "study.toml"
    path.write_text('scenario = "tiny.toml"\n' + body)
    return path


def expand(folder: Path, body: str, code: str = CODE):
    return load_sweep(write_sweep(folder, body), folder / "out", "evm", code)


def test_crossed_axes_give_every_combination(tmp_path):
    sweep = expand(tmp_path, '[axes]\n"market.mode" = ["merit", "pay_as_bid", "pay_as_clear"]\nseed = [1, 2]\n')
    assert [dict(run.values) for run in sweep.runs][:2] == [
        {"market.mode": "merit", "seed": 1},
        {"market.mode": "merit", "seed": 2},
    ]
    assert len(sweep.runs) == 6


def test_zipped_axes_go_together(tmp_path):
    sweep = expand(tmp_path, 'combine = "zip"\n[axes]\n"market.mode" = ["merit", "pay_as_bid"]\nseed = [1, 2]\n')
    assert [tuple(dict(run.values).values()) for run in sweep.runs] == [("merit", 1), ("pay_as_bid", 2)]


def test_each_run_scenario_carries_its_axis_values(tmp_path):
    sweep = expand(tmp_path, '[axes]\n"grid.feeder_limit_kw" = [5.0, 10.0]\n"households[1].count" = [3]\n')
    scenario = parse_scenario(sweep.runs[1].scenario, sweep.runs[1].source)
    assert scenario.grid.feeder_limit_kw == 10.0
    assert len(scenario.households) == 2 + 3


def test_a_wildcard_sets_the_key_only_in_groups_that_have_its_table(tmp_path):
    body = '[set]\n"households[0].battery" = { capacity_kwh = 5.0, power_kw = 3.0 }\n'
    sweep = expand(tmp_path, body + '[axes]\n"households[*].battery.share" = [0.0, 1.0]\n')
    full = parse_scenario(sweep.runs[1].scenario, sweep.runs[1].source)
    assert [h.battery is not None for h in full.households] == [True, True, False]
    assert "battery" not in sweep.runs[1].scenario["households"][1]


def test_a_run_key_follows_the_resolved_scenario_and_the_code_version(tmp_path):
    body = "[axes]\nseed = [1, 2]\n"
    first, again, other_code = expand(tmp_path, body), expand(tmp_path, body), expand(tmp_path, body, code="code-2")
    assert [r.key for r in first.runs] == [r.key for r in again.runs]
    assert len({r.key for r in first.runs}) == 2
    assert not {r.key for r in first.runs} & {r.key for r in other_code.runs}
    assert first.runs[0].out == tmp_path / "out" / "runs" / first.runs[0].key


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[axes]\n"market.moode" = ["merit"]\n', "market.moode"),
        ("[axes]\nseed = []\n", "axes.seed: is []; allowed: a non-empty list"),
        ('[axes]\n"market.mode" = ["merit", "auction"]\n', "run market.mode=auction"),
        ('combine = "zip"\n[axes]\nseed = [1, 2]\n"market.mode" = ["merit"]\n', "axes of one length"),
        ('[axes]\n"households[5].count" = [2]\n', "households[5] is past the end"),
        ("[axes]\nseed = [1, 1]\n", "are the same run"),
        ('[axes]\nbackend = ["evm", "geth"]\n', "evm or qtum"),
        ("frobnicate = 1\n[axes]\nseed = [1]\n", "frobnicate: is not a key of a sweep file"),
    ],
)
def test_a_bad_sweep_file_is_one_line_naming_what_to_fix(tmp_path, body, says):
    with pytest.raises(UsageError) as refused:
        expand(tmp_path, body)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seeds=st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True),
    modes=st.lists(st.sampled_from(["merit", "pay_as_bid", "pay_as_clear"]), min_size=1, max_size=3, unique=True),
)
def test_crossed_axes_give_one_distinct_run_per_combination(tmp_path, seeds, modes):
    sweep = expand(tmp_path, f'[axes]\nseed = {seeds}\n"market.mode" = {json.dumps(modes)}\n')
    assert len(sweep.runs) == len(seeds) * len(modes)
    assert len({run.key for run in sweep.runs}) == len(sweep.runs)
    assert {(r.scenario["seed"], r.scenario["market"]["mode"]) for r in sweep.runs} == {
        (s, m) for s in seeds for m in modes
    }
