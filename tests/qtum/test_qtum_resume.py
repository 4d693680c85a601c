"""A run on qtumd whose node stops mid-run resumes, after qtumd restarts on its data folder,
to the outcome of an uninterrupted run (anvil's, the same seed)."""

from pathlib import Path

import pytest

from p2p_energy.chain.qtumd import QtumNode, QtumNodeOptions
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.run.context import ChainStopped, Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import TargetOptions
from p2p_energy.solidity.toolchain import find_toolchain

SCENARIO = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "faults.toml")
STOP_AT_TICK = 6


def _options(node: QtumNode, folder: Path, *, resume: bool) -> SimulateOptions:
    target = TargetOptions(backend="qtum", rpc_url=node.url.with_credentials)
    return SimulateOptions(target, folder / "deployments", run_record=folder / "run.json", resume=resume)


@pytest.fixture(scope="module")
def resumed(qtumd, tmp_path_factory):
    """The run stopped at tick STOP_AT_TICK (qtumd stopped), then resumed on the restarted node."""
    folder = tmp_path_factory.mktemp("qtum-resume")
    options = QtumNodeOptions(datadir=folder / "qtumd")
    toolchain = find_toolchain()
    with QtumNode(qtumd, options) as node:

        def stop_the_node(done: int, total: int, trades: int) -> None:
            if done == STOP_AT_TICK:
                node.stop()

        with pytest.raises(ChainStopped) as stopped:
            simulate_scenario(toolchain, SCENARIO, _options(node, folder, resume=False), Progress(tick=stop_the_node),
                              lambda _: None)  # fmt: skip
    notes: list[str] = []
    with QtumNode(qtumd, options) as node:
        result = simulate_scenario(
            toolchain, SCENARIO, _options(node, folder, resume=True), Progress(note=notes.append), lambda _: None
        )
    return stopped.value, notes, result


def test_a_stopped_node_ends_the_run_with_the_advice_to_resume(resumed):
    stopped, _, _ = resumed
    assert "--resume" in str(stopped)


def test_the_resumed_run_found_its_transactions_on_chain(resumed):
    _, notes, _ = resumed
    assert any(note.startswith("resuming the run started") for note in notes), notes


def test_the_resumed_run_passes_every_check(resumed):
    _, _, result = resumed
    assert [name for name, ok in result.checks.items() if not ok] == []


def test_the_resumed_run_settles_what_an_uninterrupted_run_settles(resumed, tmp_path):
    _, _, result = resumed
    uninterrupted = simulate_scenario(
        find_toolchain(),
        SCENARIO,
        SimulateOptions(TargetOptions(simulation=True), tmp_path),
        Progress(),
        lambda _: None,
    )
    outcome = [(t.slot, t.seller, t.buyer, t.wh, t.cost, t.paid, t.refunded, t.outcome) for t in result.trades]
    expected = [(t.slot, t.seller, t.buyer, t.wh, t.cost, t.paid, t.refunded, t.outcome) for t in uninterrupted.trades]
    assert sorted(outcome) == sorted(expected)
