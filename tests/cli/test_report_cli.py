import json
import os
import subprocess

import pytest

from p2p_energy.cli import main
from p2p_energy.output.report import write_report
from tests.cli.conftest import CLI
from tests.output.fake_runs import write_summary
from tests.run_factory import make_run


def one_line(text):
    """The CLI's error console wraps long messages at 80 columns."""
    return " ".join(text.split())


def test_report_prints_the_totals_of_a_report_folder(cli, tmp_path):
    result = make_run()
    write_report(result, tmp_path)
    completed = cli("report", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    settled = sum(t.outcome == "settled" for t in result.trades)
    assert f"{len(result.trades):,} ({settled:,} settled" in completed.stdout
    assert "closeLots only" in completed.stdout
    assert completed.stdout.splitlines()[-1] == f"page: {tmp_path / 'report.html'}"


def test_report_of_a_missing_folder_exits_2(cli, tmp_path):
    completed = cli("report", str(tmp_path / "nowhere"))
    assert completed.returncode == 2
    assert "does not exist" in one_line(completed.stderr)


def test_report_of_a_folder_without_a_report_exits_2(cli, tmp_path):
    completed = cli("report", str(tmp_path))
    assert completed.returncode == 2
    assert "holds no summary.json" in one_line(completed.stderr)


def test_report_help_names_the_folder_argument(cli):
    completed = cli("report", "--help")
    assert completed.returncode == 0
    assert "usage: p2p-energy report" in completed.stdout and "DIR" in completed.stdout


def test_report_open_opens_the_page_in_a_browser(cli, tmp_path):
    write_summary(make_run(), tmp_path / "demo")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    completed = subprocess.run(
        [str(CLI), "report", str(tmp_path / "demo"), "--open"],
        env={**os.environ, "BROWSER": f"{browser} %s"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert opened.read_text().strip() == (tmp_path / "demo" / "report.html").as_uri()


def test_report_of_an_older_folder_writes_its_missing_page(cli, tmp_path):
    write_summary(make_run(), tmp_path)  # as written before report.html existed
    completed = cli("report", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == f"page: {tmp_path / 'report.html'} (written now from summary.json)"
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_report_of_a_summary_file_says_to_pass_its_folder(cli, tmp_path):
    summary = write_summary(make_run(), tmp_path) / "summary.json"
    completed = cli("report", str(summary))
    assert completed.returncode == 2
    assert (
        one_line(completed.stderr) == f"error: {summary} is a file: pass the report folder that holds it ({tmp_path})"
    )


def test_report_of_a_summary_missing_a_field_names_file_and_field(cli, tmp_path):
    summary = write_summary(make_run(), tmp_path) / "summary.json"
    data = json.loads(summary.read_text())
    del data["trades"]
    summary.write_text(json.dumps(data))
    completed = cli("report", str(tmp_path))
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert f"{summary}: the field 'trades' is missing" in completed.stderr


def test_compare_puts_runs_side_by_side_in_a_table_and_a_page(cli, tmp_path):
    write_summary(make_run(seed=1), tmp_path / "merit")
    write_summary(make_run(seed=2), tmp_path / "uniform")
    out = tmp_path / "side-by-side.html"
    completed = cli("compare", str(tmp_path / "merit"), str(tmp_path / "uniform"), "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert "merit" in completed.stdout and "uniform" in completed.stdout and "closeLots gas / trade" in completed.stdout
    assert completed.stdout.splitlines()[-1] == f"page: {out}"
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_compare_of_one_report_exits_2(cli, tmp_path):
    write_summary(make_run(), tmp_path / "one")
    completed = cli("compare", str(tmp_path / "one"))
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "two or more report folders" in completed.stderr


def test_compare_of_a_folder_that_is_no_report_exits_2(cli, tmp_path):
    write_summary(make_run(), tmp_path / "one")
    (tmp_path / "empty").mkdir()
    completed = cli("compare", str(tmp_path / "one"), str(tmp_path / "empty"))
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "holds no summary.json" in completed.stderr


def test_compare_into_a_place_that_cannot_be_written_exits_2_before_printing_anything(cli, tmp_path):
    write_summary(make_run(seed=1), tmp_path / "merit")
    write_summary(make_run(seed=2), tmp_path / "uniform")
    completed = cli("compare", str(tmp_path / "merit"), str(tmp_path / "uniform"), "--out", "/sys/compare.html")
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1 and "cannot write /sys/compare.html" in completed.stderr


def test_report_json_prints_the_tables_figures_as_json_and_nothing_else(tmp_path, capsys):
    result = make_run()
    write_summary(result, tmp_path / "run")
    assert main(["report", str(tmp_path / "run"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    totals = result.totals()
    assert (data["totals"]["trades"], data["totals"]["settled_trades"]) == (totals.trades, totals.settled_trades)
    assert data["checks"] == result.checks and "trades" not in data
    assert [h["name"] for h in data["households"]] == [h.name for h in result.households]
    assert data["page"] == str(tmp_path / "run" / "report.html")


@pytest.fixture
def compared(tmp_path, capsys):
    """(the runs by label, what `compare --json` printed) for two small runs of other seeds."""
    runs = {"merit": make_run(seed=1), "uniform": make_run(seed=2)}
    for label, run in runs.items():
        write_summary(run, tmp_path / label)
    assert (
        main(["compare", *(str(tmp_path / label) for label in runs), "--out", str(tmp_path / "c.html"), "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    return runs, data


def test_compare_json_gives_each_runs_figures_as_the_table_shows_them_and_as_numbers(compared):
    runs, data = compared
    assert [r["label"] for r in data["runs"]] == list(runs)
    for shown, run in zip(data["runs"], runs.values(), strict=True):
        totals = run.totals()
        figure = shown["figures"]["traded kWh"]
        assert (figure["value"], figure["shown"]) == (totals.traded_wh, f"{totals.traded_wh / 1000:,.2f}")
        assert shown["totals"]["gas"] == totals.gas


def test_compare_json_gives_each_later_runs_difference_and_ratio_to_the_first(compared):
    runs, data = compared
    first, second = (run.totals().traded_wh for run in runs.values())
    figure = data["runs"][1]["figures"]["traded kWh"]
    assert (figure["difference"], figure["ratio"]) == (second - first, pytest.approx(second / first))
    assert figure["difference_shown"] == f"{(second - first) / 1000:+,.2f}"
    assert data["versus"] == "merit" and data["warning"] is None


def test_compare_json_warns_when_the_runs_differ_in_households(tmp_path, capsys):
    write_summary(make_run(households=4), tmp_path / "four")
    write_summary(make_run(households=6), tmp_path / "six")
    assert (
        main(["compare", str(tmp_path / "four"), str(tmp_path / "six"), "--out", str(tmp_path / "c.html"), "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert "households (four 4, six 6)" in data["warning"]
    assert "traded kWh / household" in data["runs"][1]["figures"]
