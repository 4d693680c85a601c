"""A run's sending-path times are its own: the backend's earlier work (the deployment) is not counted.

A real anvil and the real run loop on a market deployed through the same
backend just before, as `simulate` does.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.run.context import MarketTiming, RunContext
from p2p_energy.run.loop import run_simulation
from tests.local_chain import deploy_local_market, first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

HOUSEHOLDS = [
    {"name": "solar", "count": 2, "pv_kwp": 6.0, "load_kwh_per_day": 4.0},
    {"name": "home", "count": 2, "load_kwh_per_day": 10.0},
]


@pytest.fixture(scope="module")
def timed(toolchain, compile_for, tmp_path_factory):
    """(the run's result, the backend's stats before the run, after it)."""
    scenario = parse_scenario({"seed": 5, "slots": 2, "start_hour": 11.0, "households": HOUSEHOLDS}, Path("t.toml"))
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(toolchain.anvil, options) as chain:
        market = deploy_local_market(chain, compile_for("cancun"), gas_price=0)
        before = replace(market.chain.stats)
        result = run_simulation(
            RunContext(
                scenario,
                market=market,
                admin=first_account(chain),
                timing=MarketTiming(market.view("MeterRegistry", "genesis"), 900, 1_800),
                record_path=tmp_path_factory.mktemp("run") / "run.json",
            )
        )
        after = replace(market.chain.stats)
        market.chain.close()
    return result, before, after


STATS = {"signing": "signing_s", "sending": "sending_s", "mining and waiting": "mining_s", "receipts": "receipts_s"}


@pytest.mark.parametrize(("timing", "stat"), STATS.items())
def test_a_runs_sending_path_times_leave_out_the_deployment_before_it(timed, timing, stat):
    result, before, after = timed
    assert getattr(before, stat) > 0  # the deployment went through the same backend
    assert result.timings[timing] == pytest.approx(getattr(after, stat) - getattr(before, stat))
