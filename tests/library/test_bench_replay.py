"""`make bench-replay` (p2p_energy.bench_replay): a run's blocks, replayed on a fresh anvil, make the same chain."""

import pytest

from p2p_energy.bench import CITY_SCENARIO, simulation_chain
from p2p_energy.bench_replay import capture, measure, replay
from p2p_energy.bench_scale import city_of
from p2p_energy.chain.anvil import LocalChain
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import TargetOptions

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


def test_a_replayed_run_ends_in_the_same_state_as_the_run(toolchain, tmp_path):
    scenario = city_of(10, toolchain.root / CITY_SCENARIO, slots=8)
    options = simulation_chain("cancun")
    with LocalChain(toolchain.anvil, options) as chain:
        target = TargetOptions(rpc_url=chain.url, evm_version="cancun", simulation=True)
        simulate_scenario(toolchain, scenario, SimulateOptions(target, tmp_path), Progress(), lambda _: None)
        blocks = capture(chain.web3())
        run_state = chain.web3().eth.get_block("latest")["stateRoot"]
    with LocalChain(toolchain.anvil, options) as fresh:
        _, failed = replay(fresh.web3(), blocks)
        assert (failed, fresh.web3().eth.get_block("latest")["stateRoot"]) == (0, run_state)


def test_the_replay_row_counts_every_transaction_of_the_run(toolchain):
    row = measure(toolchain, city_of(10, toolchain.root / CITY_SCENARIO, slots=8))
    assert row.checks_passed and row.replay_failed == 0
    assert row.transactions > row.blocks > 0
