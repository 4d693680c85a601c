"""`p2p-energy simulate`: a whole run to a report folder, and every bad input refused before anything is sent."""

import csv
import json
import subprocess

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.run.target import PRIVATE_KEY_ENV
from p2p_energy.solidity.toolchain import find_toolchain
from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT_CSVS = ("trades.csv", "households.csv", "slots.csv")
REPORT_PNGS = ("energy_per_slot.png", "price_per_slot.png", "household_balance.png", "gas_per_trade.png")


def one_line(text):
    """The output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def scenarios():
    return find_toolchain().root / "scenarios"


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(PRIVATE_KEY_ENV, raising=False)


# ------------------------------------------------------------ a good run


@pytest.fixture(scope="module")
def faults_run(scenarios, tmp_path_factory):
    """`simulate scenarios/faults.toml` once for this module: (completed process, report folder)."""
    out = tmp_path_factory.mktemp("run") / "report"
    deployments = tmp_path_factory.mktemp("deployments")
    command = [
        str(CLI),
        "simulate",
        str(scenarios / "faults.toml"),
        "--out",
        str(out),
        "--deployments",
        str(deployments),
        "--png",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return completed, out


def test_simulate_help_names_the_scenario_and_the_options(cli):
    completed = cli("simulate", "--help")
    assert completed.returncode == 0
    assert "usage: p2p-energy simulate" in completed.stdout
    for option in ("SCENARIO", "--rpc-url", "--out", "--deployments", "--node-accounts", "--one-by-one", "--png"):
        assert option in completed.stdout


def test_simulate_faults_exits_0_and_says_where_the_report_is(faults_run):
    completed, out = faults_run
    assert completed.returncode == 0, completed.stderr
    assert f"report: {out}" in one_line(completed.stdout)


def test_simulate_counts_every_file_it_left_in_the_report_folder(faults_run):
    completed, out = faults_run
    files = sum(1 for path in out.iterdir() if path.is_file())
    assert f"report: {out} ({files} files)" in completed.stdout


def test_simulate_writes_a_summary_that_loads(faults_run):
    _, out = faults_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "faults"
    assert summary["totals"]["checks_failed"] == []


@pytest.mark.parametrize("name", REPORT_CSVS)
def test_simulate_writes_csv_files_with_a_header_and_rows(faults_run, name):
    _, out = faults_run
    with (out / name).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) >= 2
    assert all(len(row) == len(rows[0]) for row in rows)


def test_the_trades_csv_has_a_row_per_trade_of_the_summary(faults_run):
    _, out = faults_run
    with (out / "trades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == json.loads((out / "summary.json").read_text())["totals"]["trades"]


@pytest.mark.parametrize("name", REPORT_PNGS)
def test_simulate_with_png_writes_png_plots(faults_run, name):
    _, out = faults_run
    assert (out / name).read_bytes().startswith(PNG_SIGNATURE)


def test_report_prints_the_totals_of_the_run(cli, faults_run):
    _, out = faults_run
    totals = json.loads((out / "summary.json").read_text())["totals"]
    completed = cli("report", str(out))
    assert completed.returncode == 0, completed.stderr
    assert f"{totals['trades']} ({totals['settled_trades']} settled, {totals['refunded_trades']} refunded)" in (
        completed.stdout
    )
    assert f"{totals['attacks_rejected']} of {totals['attacks_submitted']}" in completed.stdout


# ------------------------------------------------------------- bad input

BAD_SCENARIOS = {
    "unknown key": (('name = "faults"', 'name = "faults"\ncolour = "green"'), "colour: unknown key"),
    "wrong type": (("slots = 8", 'slots = "eight"'), 'slots: "eight" is a string, not an integer'),
    "negative kWp": (("pv_kwp = [4.0, 8.0]", "pv_kwp = -2.0"), "households[0].pv_kwp: -2.0 is negative"),
    "no sellers": (("pv_kwp = [4.0, 8.0]", "pv_kwp = 0"), "households: no household has PV"),
}


@pytest.fixture
def bad_scenario(scenarios, tmp_path):
    """faults.toml with one edit, written to the test's folder."""

    def write(old, new):
        text = (scenarios / "faults.toml").read_text()
        assert old in text
        path = tmp_path / "bad.toml"
        path.write_text(text.replace(old, new, 1))
        return path

    return write


@pytest.mark.parametrize("kind", BAD_SCENARIOS)
def test_a_bad_scenario_exits_2_naming_file_and_field_and_deploys_nothing(cli, bad_scenario, tmp_path, kind):
    (old, new), message = BAD_SCENARIOS[kind]
    path = bad_scenario(old, new)
    deployments, out = tmp_path / "deployments", tmp_path / "report"
    completed = cli("simulate", str(path), "--out", str(out), "--deployments", str(deployments))
    assert completed.returncode == 2
    assert one_line(completed.stderr).startswith(f"error: {path}: {message}")
    assert completed.stderr.count("error:") == 1
    assert completed.stdout == ""
    assert not deployments.exists() and not out.exists()


def test_a_missing_scenario_file_exits_2(cli, tmp_path):
    missing = tmp_path / "nowhere.toml"
    completed = cli("simulate", str(missing), "--out", str(tmp_path / "report"))
    assert completed.returncode == 2
    assert f"{missing}: no such file" in one_line(completed.stderr)
    assert not (tmp_path / "report").exists()


def test_an_rpc_url_where_no_node_answers_exits_2_with_a_clear_message(cli, scenarios, tmp_path):
    deployments, out = tmp_path / "deployments", tmp_path / "report"
    completed = cli(
        "simulate", str(scenarios / "faults.toml"), "--rpc-url", "http://127.0.0.1:1",
        "--out", str(out), "--deployments", str(deployments),
    )  # fmt: skip
    assert completed.returncode == 2
    assert "no EVM node answers at http://127.0.0.1:1" in one_line(completed.stderr)
    assert "check the URL and that the node is running" in one_line(completed.stderr)
    assert not deployments.exists() and not out.exists()


@pytest.fixture
def chain():
    with LocalChain(find_toolchain().anvil, ChainOptions(accounts=2)) as chain:
        yield chain


def test_a_slot_length_other_than_the_deployments_exits_2_and_sends_nothing(cli, chain, bad_scenario, tmp_path):
    deployments, out = tmp_path / "deployments", tmp_path / "report"
    deployed = cli("deploy", "--rpc-url", chain.url, "--deployments", str(deployments))
    assert deployed.returncode == 0, deployed.stderr
    w3 = chain.web3()
    block = w3.eth.block_number
    path = bad_scenario("slot_length_s = 900", "slot_length_s = 600")
    completed = cli("simulate", str(path), "--rpc-url", chain.url, "--out", str(out), "--deployments", str(deployments))
    assert completed.returncode == 2
    assert "slot length 900 s (asked for 600 s)" in one_line(completed.stderr)
    assert w3.eth.block_number == block
    assert not out.exists()
