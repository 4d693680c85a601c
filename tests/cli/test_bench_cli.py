"""`p2p-energy bench --quick`: the results file is produced and well formed (its timings are not checked)."""

import json
from datetime import datetime

import pytest

from p2p_energy.cli import main
from p2p_energy.gas import ERC20_TRANSFER_REFERENCE

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SECTIONS = {"format", "date", "quick", "runs", "evm_version", "machine", "gas", "throughput"}
SECTIONS |= {"anvil_transfers", "compile", "city_day", "planning", "cli_startup", "targets"}


def _no_nan(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """(exit code, results) of one quick bench run."""
    out = tmp_path_factory.mktemp("bench") / "tmp" / "results.json"
    code = main(["bench", "--quick", "--out", str(out)])
    return code, json.loads(out.read_text(), parse_constant=_no_nan)


@pytest.fixture
def results(bench):
    return bench[1]


def test_quick_bench_exits_0(bench):
    assert bench[0] == 0


def test_results_have_every_section(results):
    assert set(results) >= SECTIONS


def test_results_name_the_date_and_the_machine(results):
    assert datetime.fromisoformat(results["date"]).tzinfo is not None
    machine = results["machine"]
    assert machine["cpus"] >= 1 and machine["memory_bytes"] > 0
    assert all(isinstance(machine[k], str) and machine[k] for k in ("cpu_model", "python", "anvil", "solc"))


def test_a_quick_run_measures_once_and_skips_the_city_day(results):
    assert (results["quick"], results["runs"], results["city_day"]) == (True, 1, None)


def test_even_a_quick_run_plans_city_day_with_todays_curves_and_at_a_site(results):
    planning = results["planning"]
    assert planning["scenario"] == "city-day" and len(planning["today_s"]) == len(planning["site_s"]) == 5
    assert planning["ratio"] == planning["site_median_s"] / planning["today_median_s"]


def test_even_a_quick_run_times_help_in_five_fresh_processes_against_its_target(results):
    startup = results["cli_startup"]
    assert len(startup["help_s"]) == 5 and all(seconds > 0 for seconds in startup["help_s"])
    assert [t["target"] for t in results["targets"] if "--help" in t["name"]] == ["<= 0.5 s"]


def test_gas_per_operation_is_given_for_4_and_1_trades_per_lot(results):
    assert set(results["gas"]) == {"trades_per_lot_4", "trades_per_lot_1"}
    for report in results["gas"].values():
        assert isinstance(report["operations"][ERC20_TRANSFER_REFERENCE], int)
        assert all(isinstance(gas, int) and gas > 0 for gas in report["operations"].values())


def test_settlement_is_given_for_1_10_and_100_lots_per_call(results):
    for key, report in results["gas"].items():
        tpl = int(key.removeprefix("trades_per_lot_"))
        trades = f"{tpl} trade{'s' if tpl > 1 else ''}"
        full = {s["name"]: s for s in report["settlement"] if s["name"].endswith(", delivered in full")}
        for lots in (1, 10, 100):
            figure = full[f"{lots} lot{'s' if lots > 1 else ''} of {trades}, delivered in full"]
            assert figure["settled_trades"] == lots * tpl and isinstance(figure["close_gas_per_trade"], int)


def test_every_batch_call_of_the_gas_report_is_checked_against_the_model(results):
    for report in results["gas"].values():
        assert report["model_check"]["calls"] == len(report["calls"]) > 30
        assert all(c["model_over_used"] > 0 for c in report["calls"])


def test_both_sending_paths_settle_the_same_trades_of_the_same_scenario(results):
    throughput = results["throughput"]
    batched, one_by_one = throughput["batched"], throughput["one_by_one"]
    assert throughput["scenario"] == "street"
    assert batched["settled_trades"] == one_by_one["settled_trades"] > 0


def test_one_transaction_per_action_sends_more_transactions(results):
    throughput = results["throughput"]
    assert throughput["one_by_one"]["transactions"] > throughput["batched"]["transactions"]


def test_throughput_figures_are_positive_numbers(results):
    throughput, transfers = results["throughput"], results["anvil_transfers"]
    figures = [throughput["speedup"], transfers["web3_per_s"], transfers["batched_per_s"]]
    figures += [throughput[path]["settled_trades_per_s"] for path in ("batched", "one_by_one")]
    assert all(isinstance(f, float) and f > 0 for f in figures)


def test_raw_transfers_record_one_time_per_run_and_the_gas_of_a_transfer(results):
    transfers = results["anvil_transfers"]
    assert len(transfers["web3_s"]) == len(transfers["batched_s"]) == results["runs"]
    # a transfer to a holder (the bench's) costs less than the gas report's first one to a new holder
    first_to_new_holder = results["gas"]["trades_per_lot_4"]["operations"][ERC20_TRANSFER_REFERENCE]
    assert 21_000 < transfers["gas_per_transfer"] < first_to_new_holder


def test_compile_times_are_given_cold_and_cached(results):
    compile_times = results["compile"]
    assert len(compile_times["cold_s"]) == len(compile_times["cached_s"]) == results["runs"]
    assert compile_times["cached_median_s"] < compile_times["cold_median_s"]


def test_targets_say_whether_each_was_met(results):
    targets = results["targets"]
    assert {"gas per settled trade", "gas model", "batched"} <= {
        t["name"].split(",")[0].split(" /")[0] for t in targets
    }
    assert all(isinstance(t["met"], bool) and t["measured"] for t in targets)


def test_fewer_than_one_run_is_a_usage_error(cli):
    result = cli("bench", "--runs", "0")
    assert result.returncode == 2
    assert "--runs must be 1 or more" in result.stderr
