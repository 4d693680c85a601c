"""`simulate` and `deploy` end to end: compile, reach the chain, deploy or reuse the market, run.

The chain is reached through :mod:`p2p_energy.run.target` (a local anvil or
any node, as a chain backend); the market comes from
:mod:`p2p_energy.run.deployments`; the day itself is :mod:`p2p_energy.run.loop`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from p2p_energy.chain.market import Market, market_codec
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import UsageError
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.context import ChainStopped, MarketTiming, Progress, RunContext, Stage, reporting_chain_stops
from p2p_energy.run.deployment_record import DeploymentRecord
from p2p_energy.run.deployments import DeploymentRequest, deploy_or_reuse
from p2p_energy.run.loop import run_simulation
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.target import Target, TargetOptions, open_target
from p2p_energy.solidity.compiler import CompilationResult, Compiler
from p2p_energy.solidity.toolchain import Toolchain


def deploy_on(
    target: Target,
    compiled: CompilationResult,
    *,
    slot_length_s: int,
    grace_period_s: int,
    directory: Path,
    say: Callable[[str], None],
) -> tuple[DeploymentRecord, Market, bool]:
    """The market on `target`: the recorded one if it fits, else a new one (see deployments.deploy_or_reuse).

    The record goes to `directory`, except for a chain started here, whose record ends with it
    (`Target.record_folder`): it must not overwrite the record of a chain with the same name and id.
    """
    request = DeploymentRequest(
        network=target.network,
        slot_length_s=slot_length_s,
        grace_period_s=grace_period_s,
        directory=target.record_folder or directory,
    )
    return deploy_or_reuse(target.chain, compiled, target.admin, request, say)


@dataclass(frozen=True)
class SimulateOptions:
    """`p2p-energy simulate`: where and how; `None` fields come from the scenario file."""

    target: TargetOptions
    deployments: Path
    #: Households (and the attacker) send through accounts the node holds.
    node_accounts: bool = False
    #: The run record (see p2p_energy.run.resume), written when the run starts.
    run_record: Path | None = None
    #: Continue the run recorded in `run_record` from what the chain holds.
    resume: bool = False

    def __post_init__(self) -> None:
        if self.resume and self.target.rpc_url is None:
            raise UsageError(
                "--resume continues a run on a chain of your own (--rpc-url): a local chain that `simulate` "
                "starts ends with the run, so there is nothing to resume on it"
            )


def simulate_scenario(
    toolchain: Toolchain, scenario: Scenario, options: SimulateOptions, progress: Progress, say: Callable[[str], None]
) -> RunResult:
    """Compile, start or reach the chain, deploy or reuse the market, run `scenario` on it.

    Raises ChainStopped when the node stops answering (one line: where, and what to do).
    """
    compiled = Compiler.for_project(toolchain, options.target.evm_version).compile()
    with open_target(toolchain.anvil, options.target, market_codec(compiled), say) as target:
        try:
            with reporting_chain_stops(target.url, Stage("the deployment")):
                return _deploy_and_run(compiled, target, scenario, options, progress, say)
        except ChainStopped as stopped:
            raise _stopped(target, stopped) from None


def _stopped(target: Target, stopped: ChainStopped) -> ChainStopped:
    """`stopped`, with the advice fitted to the chain: a local chain of this run cannot be resumed."""
    if not target.started_here:
        return stopped
    return stopped.with_advice(
        "a local chain ends with the run that started it, so run again; to be able to resume, run on a chain "
        "of your own (`p2p-energy chain`, then --rpc-url)",
    )


def _deploy_and_run(
    compiled: CompilationResult,
    target: Target,
    scenario: Scenario,
    options: SimulateOptions,
    progress: Progress,
    say: Callable[[str], None],
) -> RunResult:
    node_accounts = target.node_accounts[: len(scenario.households) + 1] if options.node_accounts else ()
    if options.resume and options.run_record is not None:  # a run that cannot be resumed stops before a deployment
        RunRecord.load(options.run_record).check_fits(
            options.run_record, scenario, target.chain_id, list(node_accounts)
        )
    record, market, _ = deploy_on(
        target,
        compiled,
        slot_length_s=scenario.slot_length_s,
        grace_period_s=scenario.chain.grace_period_s,
        directory=options.deployments,
        say=say,
    )
    context = RunContext(
        scenario=scenario,
        market=market,
        admin=target.admin,
        timing=MarketTiming(record.genesis, record.slot_length_s, record.grace_period_s),
        node_accounts=tuple(node_accounts),
        evm_version=options.target.evm_version,
        progress=progress,
        record_path=options.run_record,
        resume=options.resume,
    )
    return run_simulation(context)
