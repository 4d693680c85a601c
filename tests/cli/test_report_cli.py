from p2p_energy.output.report import write_report
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
    assert "settleLots only" in completed.stdout


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
