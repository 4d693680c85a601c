"""Where a command runs: a local anvil it starts, or any node at an RPC URL.

`deploy` and `simulate` share this: start (or connect to) the chain, check
its chain id against the named network preset before anything is sent, find
the deployer's key, pick the gas price, and say whether chain time can be
moved (anvil: yes, through mining; any other node: the run waits for it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from p2p_energy.chain.anvil import ChainError, ChainOptions, LocalChain, connect
from p2p_energy.chain.contracts import ContractClient, MarketContracts, Signer
from p2p_energy.chain.evm import AbiCodec, KeyAccount, NodeAccount, Sender, TxSender
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import UsageError
from p2p_energy.output.records import RunResult
from p2p_energy.qtum import chain_options, network, network_names
from p2p_energy.run.deployments import (
    ANVIL_CHAIN_ID,
    ANVIL_FIRST_DEV_KEY,
    PRIVATE_KEY_ENV,
    DeploymentRecord,
    deploy_or_reuse,
    network_for_chain_id,
)
from p2p_energy.run.loop import (
    ChainStopped,
    MarketAddresses,
    Progress,
    Stage,
    reporting_chain_stops,
    run_simulation,
)
from p2p_energy.run.resume import RunRecord
from p2p_energy.solidity.compiler import DEFAULT_EVM_VERSION, CompilationResult, Compiler, CompilerSettings
from p2p_energy.solidity.toolchain import Toolchain

#: Block gas limit of the local chains `simulate` starts with the `local`
#: profile: a whole phase of a city-scale day fits one block.
LOCAL_BLOCK_GAS_LIMIT = 1_000_000_000


@dataclass(frozen=True)
class TargetOptions:
    """How to reach the chain; see the CLI's --rpc-url, --network, --profile, --private-key."""

    rpc_url: str | None = None
    network: str | None = None
    profile: str | None = None
    evm_version: str = DEFAULT_EVM_VERSION
    private_key: str | None = None
    accounts: int = 10
    #: For `simulate`: a roomy block gas limit and no base fee on a `local` chain.
    simulation: bool = False
    #: Without a key, send as the node's first account (eth_sendTransaction), as through Qtum's Janus.
    node_accounts: bool = False

    def __post_init__(self) -> None:
        if self.rpc_url is None and (self.network is not None or self.private_key is not None):
            raise UsageError("--network and --private-key go with --rpc-url; a local chain takes --profile")
        if self.rpc_url is not None and self.profile is not None:
            raise UsageError("--profile shapes a local chain; with --rpc-url, name the chain's preset with --network")


@dataclass(frozen=True)
class Target:
    """A chain ready for transactions."""

    w3: Web3
    url: str
    chain_id: int
    network: str
    admin: Signer
    gas_price: int
    #: anvil: time moves by mining blocks at chosen timestamps.
    local_mining: bool
    #: accounts the node holds and unlocks (anvil's dev accounts, a Qtum wallet behind Janus).
    node_accounts: tuple[str, ...]
    local_chain: LocalChain | None = None


@contextmanager
def open_target(anvil: Path, options: TargetOptions, say: Callable[[str], None]) -> Iterator[Target]:
    """The chain of `options`, started (and stopped afterwards) if no RPC URL is given."""
    if options.rpc_url is None:
        chain_opts = _local_options(options)
        with LocalChain(anvil, chain_opts) as chain:
            say(f"local anvil chain (id {chain_opts.chain_id}, hardfork {chain_opts.hardfork}) at {chain.url}")
            w3 = chain.web3()
            yield Target(
                w3=w3,
                url=chain.url,
                chain_id=chain_opts.chain_id,
                network=options.profile or "local",
                admin=(
                    Signer.held_by_node(chain.accounts[0].address)
                    if options.node_accounts
                    else Signer.from_key(chain.accounts[0].private_key)
                ),
                gas_price=_gas_price(w3, options.profile),
                local_mining=True,
                node_accounts=tuple(a.address for a in chain.accounts[1:]),
                local_chain=chain,
            )
        return
    try:
        w3 = connect(options.rpc_url)
    except ChainError as exc:  # nothing could be sent: the user's URL or node to fix
        raise UsageError(f"{exc}; check the URL and that the node is running") from None
    chain_id = int(w3.eth.chain_id)
    if options.network is not None and network(options.network).chain_id != chain_id:
        raise UsageError(
            f"the node at {options.rpc_url} has chain id {chain_id}, not {network(options.network).chain_id} "
            f"({options.network}); nothing was sent"
        )
    name = options.network or network_for_chain_id(chain_id)
    key = options.private_key or os.environ.get(PRIVATE_KEY_ENV)
    held = list(w3.eth.accounts) if options.node_accounts else []
    if not key and held:
        admin = Signer.held_by_node(held[0])
        say(f"sending as {admin.address}, an account the node holds (eth_sendTransaction)")
    elif not key:
        if chain_id != ANVIL_CHAIN_ID:
            raise UsageError(f"give the deployer's key with --private-key or ${PRIVATE_KEY_ENV}")
        key = ANVIL_FIRST_DEV_KEY
        say(f"no key given: using anvil's first dev account (a public key, allowed only on chain id {ANVIL_CHAIN_ID})")
    if key:
        admin = Signer.from_key(key)
    client_version = str(w3.client_version)
    yield Target(
        w3=w3,
        url=options.rpc_url,
        chain_id=chain_id,
        network=name,
        admin=admin,
        gas_price=_gas_price(w3, name),
        local_mining=client_version.lower().startswith("anvil"),
        node_accounts=tuple(a for a in (held or w3.eth.accounts) if a.lower() != admin.address.lower()),
    )


def deploy_on(
    target: Target,
    compiled: CompilationResult,
    *,
    slot_length_s: int,
    grace_period_s: int,
    directory: Path,
    say: Callable[[str], None],
) -> tuple[DeploymentRecord, MarketContracts, bool]:
    """The market on `target`: the recorded one if it fits, else a new one (see deployments.deploy_or_reuse)."""
    return deploy_or_reuse(
        ContractClient(target.w3, gas_price_wei=target.gas_price),
        compiled,
        target.admin,
        network=target.network,
        rpc_url=target.url,
        slot_length_s=slot_length_s,
        grace_period_s=grace_period_s,
        directory=directory,
        progress=say,
    )


def _local_options(options: TargetOptions) -> ChainOptions:
    if options.profile not in (None, "local"):
        return chain_options(options.profile, evm_version=options.evm_version, accounts=options.accounts)
    if options.simulation:
        # No base fee: gas costs nothing, so simulated households need no coin.
        return ChainOptions(
            options.evm_version, accounts=options.accounts, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0
        )
    return ChainOptions(options.evm_version, accounts=options.accounts)


def _gas_price(w3: Web3, network_name: str | None) -> int:
    """The node's price, never below the network's floor (Qtum: 40 sat/gas)."""
    floor = network(network_name).min_gas_price_wei if network_name in network_names() else 0
    return max(int(w3.eth.gas_price), floor)


@dataclass(frozen=True)
class SimulateOptions:
    """`p2p-energy simulate`: where and how; `None` fields come from the scenario file."""

    target: TargetOptions
    deployments: Path
    #: Households (and the attacker) send through accounts the node holds.
    node_accounts: bool = False
    #: False: one transaction per action, each waited for (the benchmark's baseline).
    batched: bool = True
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
    compiled = Compiler(
        toolchain,
        contracts_dir=toolchain.root / "contracts",
        cache_dir=toolchain.root / "build" / "p2p-energy-cache",
        settings=CompilerSettings(evm_version=options.target.evm_version),
    ).compile()
    with open_target(toolchain.anvil, options.target, say) as target:
        try:
            with reporting_chain_stops(target.url, Stage("the deployment")):
                return _deploy_and_run(compiled, target, scenario, options, progress, say)
        except ChainStopped as stopped:
            raise _stopped(target, stopped) from None


def _stopped(target: Target, stopped: ChainStopped) -> ChainStopped:
    """`stopped`, with the advice fitted to the chain: a local chain of this run cannot be resumed."""
    if target.local_chain is None:
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
    codec = AbiCodec(*(compiled[name].abi for name in ("EnergyToken", "MeterRegistry", "EnergyEscrow")))
    sender = TxSender(
        target.w3, codec, gas_price=target.gas_price, local_mining=target.local_mining, batched=options.batched
    )
    addresses = MarketAddresses(market.token.address, market.registry.address, market.escrow.address)
    account = target.admin.account
    admin: Sender = NodeAccount(target.admin.address) if account is None else KeyAccount(bytes(account.key))
    return run_simulation(
        scenario,
        sender=sender,
        codec=codec,
        addresses=addresses,
        admin=admin,
        genesis=record.genesis,
        slot_length=record.slot_length_s,
        grace_period=record.grace_period_s,
        node_accounts=node_accounts,
        rpc_url=target.url,
        evm_version=options.target.evm_version,
        progress=progress,
        record_path=options.run_record,
        resume=options.resume,
    )
