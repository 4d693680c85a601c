"""The chain commands: chain, deploy, networks, check-qtum."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from p2p_energy.chain.anvil import ANVIL_CHAIN_ID, ChainOptions, LocalChain, chain_options, simulation_options
from p2p_energy.chain.market import market_codec
from p2p_energy.chain.processes import deferred_signals
from p2p_energy.chain.qtumd import WALLET, QtumNode, QtumNodeOptions, find_qtumd
from p2p_energy.cli.common import compile_contracts, say_to, target_options
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.networks import NETWORKS
from p2p_energy.run.deployment_record import DEFAULT_DIRECTORY, DeploymentRecord, check_timing, record_path
from p2p_energy.run.simulate import deploy_on
from p2p_energy.run.target import open_target
from p2p_energy.solidity.evmcheck import check_all
from p2p_energy.solidity.toolchain import Toolchain

#: `chain`'s default RPC ports: anvil's usual one, and the one Qtum's own docs give a regtest qtumd.
ANVIL_RPC_PORT = 8545
QTUM_REGTEST_RPC_PORT = 13889


def _wait_for_stop(console: Console, node: str, exit_code: Callable[[], int | None]) -> None:
    """Until Ctrl-C, SIGTERM or SIGHUP (which end the chain as cleanly); a node that dies is an error."""
    # The signals are held back while the line is written and while the node is polled: one that came
    # the moment the line is out (a script waits for it) stops the chain as cleanly, and none lands inside
    # subprocess's poll, which would leave its lock taken and the stop waiting for the node for ever.
    try:
        with deferred_signals():
            console.print("Ctrl-C stops the chain.")
            console.file.flush()
        while True:
            with deferred_signals():
                code = exit_code()
            if code is not None:
                break
            time.sleep(0.2)
    except KeyboardInterrupt:  # Ctrl-C, and SIGTERM or SIGHUP (see cli.app)
        return
    how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"code {code}"
    raise P2PEnergyError(f"{node} exited ({how}); the chain is gone")


def _qtum_chain(args: argparse.Namespace, console: Console) -> int:
    """`chain --backend qtum`: a regtest qtumd with a funded wallet, in the foreground."""
    if args.profile is not None or args.state is not None or args.chain_id is not None or args.simulation:
        raise UsageError(
            "--profile, --simulation, --state and --chain-id shape an anvil chain; with --backend qtum use --datadir"
        )
    if args.prune_history:
        raise UsageError("--prune-history shapes an anvil chain; qtumd keeps its chain in --datadir")
    port = QTUM_REGTEST_RPC_PORT if args.port is None else args.port
    options = QtumNodeOptions(rpc_port=port, datadir=args.datadir)
    with QtumNode(find_qtumd(args.qtumd), options) as node:
        console.print(f"local qtumd regtest node (chain id 8890) at {node.url.public}", soft_wrap=True)
        console.print(f"RPC URL with credentials: {node.url.with_credentials}", soft_wrap=True)
        console.print(f"wallet {WALLET}, funded address {node.miner}", soft_wrap=True)
        if args.datadir is not None:
            console.print(f"chain kept in {args.datadir}: start again with the same --datadir to continue it")
        _wait_for_stop(console, f"qtumd at {node.url.public}", node.exit_code)
    console.print("chain stopped")
    return 0


def cmd_chain(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    if args.backend == "qtum":
        return _qtum_chain(args, console)
    options = _anvil_options(args)
    loaded = options.state_path is not None and options.state_path.exists()
    with LocalChain(toolchain.anvil, options) as chain:
        console.print(f"local chain (anvil, hardfork {options.hardfork}, chain id {options.chain_id}) at {chain.url}")
        if args.profile is not None:
            gas_limit = f"{options.block_gas_limit:,}" if options.block_gas_limit else "anvil's default"
            gas_price = f"{options.gas_price_wei:,} wei" if options.gas_price_wei else "anvil's default"
            console.print(f"profile {args.profile}: block gas limit {gas_limit}, gas price {gas_price}")
        if args.simulation:
            console.print(f"as simulate's own chain: block gas limit {options.block_gas_limit:,}, base fee 0")
        # Plain lines, not a table: 66-character keys must survive a narrow
        # terminal or a pipe unwrapped, so they can be copied.
        for index, account in enumerate(chain.accounts):
            console.print(f"account {index}: {account.address} key {account.private_key}", soft_wrap=True)
        if options.state_path is not None:
            how = f"loaded from {options.state_path}" if loaded else f"kept in {options.state_path}"
            console.print(
                f"chain {how} (at block {chain.web3().eth.block_number}): saved there whole every second "
                "and when it stops; start again with the same --state to continue it",
                markup=False,
                soft_wrap=True,
            )
        _wait_for_stop(console, f"anvil at {chain.url}", lambda: _anvil_status(chain))
    if chain.state_error is not None:  # the save when it stopped
        raise P2PEnergyError(chain.state_error)
    console.print("chain stopped")
    return 0


def _anvil_status(chain: LocalChain) -> int | None:
    """anvil's exit code once it has ended; an error if its state file can no longer be saved."""
    if chain.state_error is not None:
        raise P2PEnergyError(chain.state_error)
    return chain.exit_code()


def _anvil_options(args: argparse.Namespace) -> ChainOptions:
    """`chain`'s anvil: plain, imitating a --profile, or shaped like simulate's own chain (--simulation)."""
    if args.qtumd is not None or args.datadir is not None:
        raise UsageError("--qtumd and --datadir go with --backend qtum")
    port = ANVIL_RPC_PORT if args.port is None else args.port
    chain_id = ANVIL_CHAIN_ID if args.chain_id is None else args.chain_id
    if args.simulation and args.profile is not None:
        raise UsageError("--simulation shapes the chain as simulate's own, --profile as a network's: choose one")
    if args.simulation:
        options = simulation_options(args.evm, port=port, chain_id=chain_id, accounts=args.accounts)
    elif args.profile is None:
        options = ChainOptions(evm_version=args.evm, port=port, chain_id=chain_id, accounts=args.accounts)
    else:
        options = chain_options(
            args.profile, port=port, accounts=args.accounts, evm_version=args.evm, chain_id=args.chain_id
        )
    if args.state is not None or args.prune_history:
        options = dataclasses.replace(options, state_path=args.state, prune_history=args.prune_history or None)
    return options


def cmd_deploy(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    check_timing(args.slot_length, args.grace_period)
    directory = args.deployments if args.deployments is not None else toolchain.root / DEFAULT_DIRECTORY
    say = say_to(console)
    options = target_options(args, args.evm, node_accounts=args.node_accounts)
    compiled = compile_contracts(toolchain, args.evm, console)
    with open_target(toolchain.anvil, options, market_codec(compiled), say) as target:
        if target.started_here:
            say("a throwaway chain: a smoke test of the deployment, stopped afterwards")
        deployed = deploy_on(
            target,
            compiled,
            slot_length_s=args.slot_length,
            grace_period_s=args.grace_period,
            directory=directory,
            say=say,
        )
        folder = target.record_folder or directory
        _print_deployment(console, *deployed, record_path(folder, target.network, target.chain_id))
    if target.started_here:
        say(f"local chain stopped, and its record with it ({directory} keeps records of chains that outlive us)")
    return 0


def _print_deployment(console: Console, record: DeploymentRecord, _: object, reused: bool, path: Path) -> None:
    how = "reused the recorded market" if reused else "deployed a new market"
    console.print(
        f"{how} on {record.network} (chain id {record.chain_id}); record {path}", markup=False, soft_wrap=True
    )
    # Plain aligned lines, not a table: 42-character addresses and 66-character
    # hashes must survive a narrow terminal or a pipe unwrapped, to be copied.
    for name, address in record.addresses.items():
        console.print(f"{name:<14} {address}  tx {record.tx_hashes[name]}", soft_wrap=True)
    console.print(
        f"genesis {record.genesis}, slot length {record.slot_length_s} s, grace period {record.grace_period_s} s, "
        f"deployed by {record.deployer} up to block {record.block}",
        soft_wrap=True,
    )


def cmd_networks(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    # Two narrow tables rather than one wide one: they must fit 80 columns.
    gas = Table("network", "chain id", "min gas price", "in wei per gas", "block gas limit")
    talk = Table("network", "EVM", "tx types", "base58 / WIF", "RPC URL (default)")
    for preset in NETWORKS:
        floor = f"{preset.min_gas_price_satoshi} sat/gas" if preset.is_qtum else "none"
        gas_limit = f"{preset.block_gas_limit:,}" if preset.block_gas_limit else "node's own"
        gas.add_row(preset.name, str(preset.chain_id), floor, f"{preset.min_gas_price_wei:,}", gas_limit)
        txs = "legacy" if preset.legacy_transactions_only else "any"
        versions = f"{preset.address_version} / {preset.wif_version}" if preset.is_qtum else "keccak hex"
        talk.add_row(preset.name, preset.evm_version, txs, versions, preset.rpc_url)
    console.print(gas)
    console.print(talk)
    return 0


def cmd_check_qtum(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    compiled_for = args.compiled_for or args.evm
    checks = check_all(compile_contracts(toolchain, compiled_for, console), args.evm)
    title = f"built for {compiled_for}, checked for {args.evm}"
    table = Table("contract", "runtime bytes", "opcodes of note", "findings", title=title)
    for check in checks:
        opcodes = ", ".join(f"{name} x{count}" for name, count in check.notable_opcodes.items()) or "-"
        table.add_row(check.contract, f"{check.runtime_size:,}", opcodes, str(len(check.findings)))
    console.print(table)
    findings = [finding for check in checks for finding in check.findings]
    shown: dict[tuple[str, str], int] = {}
    for finding in findings:
        key = (finding.contract, finding.what)
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= 3:  # the first few places of each kind; the count tells the rest
            console.print(str(finding), markup=False, soft_wrap=True)
    for (contract, what), count in shown.items():
        if count > 3:
            console.print(f"{contract}: {count - 3} more {what} not shown", markup=False)
    if findings:
        console.print(f"{len(findings)} findings: not ready for a Qtum node with {args.evm} rules")
        return 1
    console.print(f"no findings: every contract fits a Qtum node with {args.evm} rules")
    return 0
