"""A module's anvil with the market deployed, and RunSetups of the project's scenarios on it."""

from dataclasses import replace

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.domain.scenario import load_scenario
from tests.local_chain import deploy_local_market, first_account
from tests.run.setups import run_setup


@pytest.fixture(scope="module")
def make_setup(toolchain, compile_for):
    """make_setup(name, **chain keys): the scenario's RunSetup on one anvil of the module (nothing is sent)."""
    with LocalChain(toolchain.anvil, ChainOptions(accounts=1)) as chain:
        market = deploy_local_market(chain, compile_for("cancun"))

        def make(name: str, **chain_spec):
            scenario = load_scenario(toolchain.root / "scenarios" / f"{name}.toml")
            scenario = replace(scenario, chain=replace(scenario.chain, **chain_spec))
            return run_setup(market, first_account(chain), scenario)

        yield make
