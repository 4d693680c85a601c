"""`brownie run simulate`: run a scenario on brownie's network and write its report.

Thin over p2p_energy: the same library call as `p2p-energy simulate
--rpc-url <brownie's node>`, so the run, its deployment record (under
`deployments/`) and its report (under `reports/<scenario name>/`) are the
ones the CLI makes. The scenario is $P2P_SCENARIO (default
scenarios/demo.toml); the operator is $P2P_ENERGY_PRIVATE_KEY, else anvil's
first dev account, whose key is public (used only on chain id 31337). The
runner takes over block production on anvil (automine off, blocks mined at
the slot times it needs); automine is switched back on at the end (by the chain backend), so
brownie can go on using the chain. P2P_EVM picks the EVM target as in
brownie-config.yaml (default: the scenario's).
"""

import os
from pathlib import Path

from brownie.network.web3 import web3
from rich.console import Console
from web3 import HTTPProvider

from p2p_energy.chain.anvil import ANVIL_CHAIN_ID, ANVIL_FIRST_DEV_KEY
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.errors import UsageError
from p2p_energy.output.report import render_summary, write_report
from p2p_energy.run.context import Progress, RunFailed
from p2p_energy.run.deployment_record import DEFAULT_DIRECTORY
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import PRIVATE_KEY_ENV, TargetOptions
from p2p_energy.solidity.toolchain import find_toolchain

SCENARIO_ENV = "P2P_SCENARIO"
DEFAULT_SCENARIO = "scenarios/demo.toml"


def operator_key(chain_id: int) -> str:
    """The operator's key: see the module docstring for the order."""
    key = os.environ.get(PRIVATE_KEY_ENV)
    if key:
        return key
    if chain_id == ANVIL_CHAIN_ID:
        return ANVIL_FIRST_DEV_KEY
    raise UsageError(f"no key for the operator: set ${PRIVATE_KEY_ENV}")


def main() -> None:
    toolchain = find_toolchain(Path.cwd())
    scenario = load_scenario(toolchain.root / os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO))
    provider = web3.provider
    if not isinstance(provider, HTTPProvider):
        raise UsageError(f"brownie's network must be an HTTP RPC endpoint, not {type(provider).__name__}")
    target = TargetOptions(
        rpc_url=str(provider.endpoint_uri),
        evm_version=os.environ.get("P2P_EVM", scenario.chain.evm),
        private_key=operator_key(int(web3.eth.chain_id)),
    )
    options = SimulateOptions(target=target, deployments=toolchain.root / DEFAULT_DIRECTORY)
    out = toolchain.root / "reports" / scenario.name
    print(f"scenario {scenario.name}: {len(scenario.households)} households, {scenario.slots} slots")
    try:
        result = simulate_scenario(toolchain, scenario, options, Progress(phase=print), print)
    except RunFailed as failed:  # the report shows which check failed
        write_report(failed.result, out)
        raise
    write_report(result, out)
    render_summary(result, Console(highlight=False))
    print(f"report: {out}")
