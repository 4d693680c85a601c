"""`p2p-energy sweep` end to end: real Dask (a LocalCluster of 2 workers), a real anvil per run, real reports.

One sweep of six tiny runs serves most tests: one run's report folder is
taken by a file first, so that run fails while the others go on; run again
with the folder freed, the five done runs are reused and only that one runs.
"""

from pathlib import Path

import pandas as pd
import pytest

from p2p_energy.solidity.toolchain import find_toolchain
from p2p_energy.sweep.sweep_file import code_version, load_sweep
from tests.cli.conftest import TINY
from tests.sweep.sweeping import run_cli

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SIX_RUNS = '[axes]\n"market.mode" = ["merit", "pay_as_bid", "pay_as_clear"]\nseed = [1, 2]\n'


def sweep_file(folder: Path, axes: str = SIX_RUNS) -> Path:
    (folder / "tiny.toml").write_text(TINY)
    path = folder / "small.toml"
    path.write_text('name = "small"\nscenario = "tiny.toml"\n' + axes)
    return path


@pytest.fixture(scope="module")
def six_runs(tmp_path_factory):
    """The six-run sweep, once with its fourth run's folder taken by a file, then again with it freed."""
    folder = tmp_path_factory.mktemp("sweep")
    path, out = sweep_file(folder), folder / "out"
    blocked = load_sweep(path, out, "evm", code_version(find_toolchain().root)).runs[3]
    blocked.out.parent.mkdir(parents=True)
    blocked.out.write_text("not a report folder")
    first = run_cli("sweep", str(path), "--workers", "2", "--out", str(out))
    first_table = pd.read_parquet(out / "sweep.parquet")
    blocked.out.unlink()
    again = run_cli("sweep", str(path), "--workers", "2", "--out", str(out))
    return {"first": first, "first_table": first_table, "again": again, "out": out, "blocked": blocked}


def test_a_sweep_writes_one_row_per_run_with_axes_figures_and_status(six_runs):
    table = six_runs["first_table"]
    assert len(table) == 6
    assert sorted(table["market.mode"].unique()) == ["merit", "pay_as_bid", "pay_as_clear"]
    done = table[table["status"] == "done"]
    assert len(done) == 5
    assert (done["trades"] > 0).all() and done["gas_per_kwh"].notna().all() and done["fee_per_kwh"].notna().all()
    assert len(pd.read_csv(six_runs["out"] / "sweep.csv")) == 6


def test_a_failed_run_is_recorded_with_its_error_and_the_sweep_exits_1(six_runs):
    first, table = six_runs["first"], six_runs["first_table"]
    failed = table[table["status"] == "failed"]
    assert first.returncode == 1, first.stderr
    assert list(failed["run"]) == [six_runs["blocked"].key]
    assert "is a file" in failed["error"].iloc[0] or "not a folder" in failed["error"].iloc[0]
    assert "1 of 6 runs failed" in first.stderr


def test_running_a_sweep_again_reuses_the_runs_done_and_finishes_the_rest(six_runs):
    again, table = six_runs["again"], pd.read_parquet(six_runs["out"] / "sweep.parquet")
    assert again.returncode == 0, again.stderr
    assert sorted(table["status"]) == ["done"] + ["reused"] * 5
    assert table.set_index("run").loc[six_runs["blocked"].key, "status"] == "done"
    assert "(5 already done before)" in again.stdout


def test_each_run_has_its_own_report_page_linked_from_the_sweep_page(six_runs):
    out = six_runs["out"]
    page = (out / "sweep.html").read_text()
    for key in pd.read_parquet(out / "sweep.parquet")["run"]:
        assert (out / "runs" / key / "report.html").is_file()
        assert f'href="runs/{key}/report.html"' in page


def test_report_on_a_sweep_folder_prints_its_table_again(six_runs):
    shown = run_cli("report", str(six_runs["out"]))
    assert shown.returncode == 0, shown.stderr
    assert "sweep small: 6 runs" in shown.stdout and "sweep.html" in shown.stdout


def test_a_bad_sweep_file_exits_2_in_one_line_before_any_run(tmp_path):
    path = sweep_file(tmp_path, '[axes]\n"market.mode" = ["merit", "auction"]\n')
    refused = run_cli("sweep", str(path), "--out", str(tmp_path / "out"))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "run market.mode=auction" in refused.stderr
    assert not (tmp_path / "out").exists()
