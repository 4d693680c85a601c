"""`--resume` of a run that has finished sends nothing, keeps its report, says so and exits 0."""

import subprocess
import sys
from pathlib import Path

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.run.target import LOCAL_BLOCK_GAS_LIMIT
from p2p_energy.solidity.toolchain import find_toolchain

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "p2p-energy"
DEMO = PROJECT / "scenarios" / "demo.toml"


@pytest.fixture(scope="module")
def chain():
    options = ChainOptions(accounts=2, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0)
    with LocalChain(find_toolchain().anvil, options) as chain:
        yield chain


def simulate(chain, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [str(CLI), "simulate", str(DEMO), "--rpc-url", chain.url, "--out", str(out),
            "--deployments", str(out.parent / "deployments"), *extra]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, cwd=PROJECT)


@pytest.fixture(scope="module")
def finished(chain, tmp_path_factory):
    """A run to its end, then `--resume` of it: (the resume, the report before, after, blocks mined by it)."""
    out = tmp_path_factory.mktemp("finished") / "report"
    first = simulate(chain, out)
    assert first.returncode == 0, first.stderr
    before = (out / "summary.json").read_bytes()
    height = chain.web3().eth.block_number
    resumed = simulate(chain, out, "--resume")
    return resumed, before, (out / "summary.json").read_bytes(), chain.web3().eth.block_number - height


def test_resuming_a_finished_run_exits_0_saying_there_is_nothing_to_resume(finished):
    resumed, *_ = finished
    assert resumed.returncode == 0, resumed.stderr
    assert "nothing to resume" in " ".join(resumed.stdout.split())


def test_resuming_a_finished_run_keeps_its_report(finished):
    _, before, after, _ = finished
    assert after == before


def test_resuming_a_finished_run_sends_nothing(finished):
    *_, mined = finished
    assert mined == 0
