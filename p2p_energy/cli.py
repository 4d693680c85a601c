"""The `p2p-energy` command line.

Exit codes: 0 success, 1 a failure while working (compile error, revert,
chain gone), 2 bad input (nothing was done), 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.table import Table

from p2p_energy import __version__
from p2p_energy.bench import DEFAULT_OUT, DEFAULT_RUNS, BenchOptions, bench_table, run_bench
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.gas import run_gas_report
from p2p_energy.output.report import load_report, render_summary, write_report
from p2p_energy.qtum import NETWORKS, chain_options, network_names
from p2p_energy.quickstart import run_quickstart
from p2p_energy.run.deployments import (
    ANVIL_CHAIN_ID,
    DEFAULT_DIRECTORY,
    DEFAULT_GRACE_PERIOD_S,
    DEFAULT_SLOT_LENGTH_S,
    PRIVATE_KEY_ENV,
    DeploymentRecord,
    check_timing,
    record_path,
)
from p2p_energy.run.loop import Progress as RunProgress
from p2p_energy.run.loop import RunFailed
from p2p_energy.run.resume import RUN_RECORD_FILE
from p2p_energy.run.simulate import SimulateOptions, TargetOptions, deploy_on, open_target, simulate_scenario
from p2p_energy.solidity.compiler import (
    DEFAULT_EVM_VERSION,
    EVM_VERSIONS,
    CompilationResult,
    Compiler,
    CompilerSettings,
)
from p2p_energy.solidity.evmcheck import check_all
from p2p_energy.solidity.toolchain import SOLC_VERSION, Toolchain, find_toolchain, install_solc_wrapper


def _add_evm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--evm",
        choices=EVM_VERSIONS,
        default=DEFAULT_EVM_VERSION,
        help=f"EVM target to compile for and run (default {DEFAULT_EVM_VERSION})",
    )


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line, like every other usage error, not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="p2p-energy",
        description="Meter-backed peer-to-peer energy trading on Qtum and any EVM chain.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--project", type=Path, default=None, help="project folder (default: this checkout)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compile_cmd = commands.add_parser("compile", help="compile the contracts (cached by source hash)")
    _add_evm(compile_cmd)
    compile_cmd.add_argument("--force", action="store_true", help="ignore the cache and compile anew")

    chain_cmd = commands.add_parser("chain", help="run a local anvil chain in the foreground (Ctrl-C stops it)")
    _add_evm(chain_cmd)
    chain_cmd.add_argument("--port", type=int, default=8545, help="loopback port (default 8545, 0 = any free)")
    chain_cmd.add_argument("--accounts", type=int, default=10, help="funded accounts (default 10)")
    chain_cmd.add_argument("--chain-id", type=int, default=None, help="chain id (default 31337, or the profile's)")
    chain_cmd.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="FILE",
        help="load the chain from FILE if it exists and save it there every second and on exit "
        "(so a stopped chain can be restarted and a run continued with simulate --resume)",
    )
    chain_cmd.add_argument(
        "--profile",
        choices=network_names(),
        default=None,
        help="imitate a network preset: its chain id, block gas limit and gas price (see `p2p-energy networks`)",
    )

    commands.add_parser("networks", help="list the network presets (chain ids, gas price floors, RPC URLs)")

    check_cmd = commands.add_parser(
        "check-qtum", help="check the compiled contracts against a Qtum node's EVM rules (exit 1 on any finding)"
    )
    _add_evm(check_cmd)
    check_cmd.add_argument(
        "--compiled-for",
        choices=EVM_VERSIONS,
        default=None,
        help="check contracts compiled for this target instead (default: the --evm target)",
    )

    demo_cmd = commands.add_parser(
        "demo", help="compile, start a local chain, deploy EnergyToken, mint to a few accounts, print balances"
    )
    _add_evm(demo_cmd)
    demo_cmd.add_argument("--holders", type=int, default=3, help="accounts to mint tokens to (default 3)")

    gas_cmd = commands.add_parser("gas", help="measure gas per operation and per settled trade on a fresh local chain")
    _add_evm(gas_cmd)
    gas_cmd.add_argument(
        "--trades-per-lot",
        type=int,
        default=4,
        help="trades in each (meter, slot) lot, 1-50 (default 4); settlement cost is shared by them",
    )
    gas_cmd.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")

    bench_cmd = commands.add_parser(
        "bench", help="gas, throughput (batched vs one tx per action), city-day, compile times; one table and a JSON"
    )
    _add_evm(bench_cmd)
    bench_cmd.add_argument(
        "--quick", action="store_true", help="one run of each, fewer transfers, no city-day (a smoke test)"
    )
    bench_cmd.add_argument(
        "--out", type=Path, default=None, metavar="PATH", help=f"results file (default {DEFAULT_OUT} in the project)"
    )
    bench_cmd.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        metavar="N",
        help=f"runs per timed figure, medians (default {DEFAULT_RUNS})",
    )

    deploy_cmd = commands.add_parser(
        "deploy", help="deploy the market (token, registry, escrow) or reuse the recorded one; record it"
    )
    deploy_cmd.add_argument(
        "--rpc-url", default=None, help="the chain to deploy to (default: a throwaway local anvil, as a smoke test)"
    )
    _add_evm(deploy_cmd)
    deploy_cmd.add_argument(
        "--network",
        choices=network_names(),
        default=None,
        help="the preset of the chain behind --rpc-url; its chain id is checked before anything is sent "
        "(default: the preset with the node's chain id, else 'custom')",
    )
    deploy_cmd.add_argument(
        "--profile",
        choices=network_names(),
        default=None,
        help="without --rpc-url: the local chain imitates this preset",
    )
    deploy_cmd.add_argument(
        "--private-key",
        default=None,
        metavar="HEX",
        help=f"the deployer's key (default ${PRIVATE_KEY_ENV}; anvil's dev key 0 on chain id {ANVIL_CHAIN_ID} only)",
    )
    deploy_cmd.add_argument(
        "--slot-length",
        type=int,
        default=DEFAULT_SLOT_LENGTH_S,
        metavar="S",
        help=f"delivery slot length in seconds (default {DEFAULT_SLOT_LENGTH_S})",
    )
    deploy_cmd.add_argument(
        "--grace-period",
        type=int,
        default=DEFAULT_GRACE_PERIOD_S,
        metavar="S",
        help=f"seconds after a slot's end to settle it (default {DEFAULT_GRACE_PERIOD_S})",
    )
    deploy_cmd.add_argument(
        "--deployments",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"folder of the deployment records (default: {DEFAULT_DIRECTORY}/ in the project)",
    )
    deploy_cmd.add_argument(
        "--node-accounts",
        action="store_true",
        help="without a key, deploy from the node's first account (eth_sendTransaction), as through Qtum's Janus",
    )

    sim_cmd = commands.add_parser(
        "simulate", help="run a scenario file: deploy or reuse, trade slot by slot, settle, write a report"
    )
    sim_cmd.add_argument("scenario", type=Path, metavar="SCENARIO", help="a scenario file, e.g. scenarios/demo.toml")
    sim_cmd.add_argument(
        "--rpc-url", default=None, help="the chain to run on (default: a local anvil started for the run)"
    )
    sim_cmd.add_argument(
        "--evm", choices=EVM_VERSIONS, default=None, help="EVM target (default: the scenario's [chain] evm)"
    )
    sim_cmd.add_argument("--network", choices=network_names(), default=None, help="with --rpc-url: the chain's preset")
    sim_cmd.add_argument(
        "--profile",
        choices=network_names(),
        default=None,
        help="local chain preset (default: the scenario's)",
    )
    sim_cmd.add_argument(
        "--private-key", default=None, metavar="HEX", help=f"the operator's key (default ${PRIVATE_KEY_ENV})"
    )
    sim_cmd.add_argument(
        "--node-accounts",
        action="store_true",
        help="households send through accounts the node holds (eth_sendTransaction), as through Qtum's Janus",
    )
    sim_cmd.add_argument(
        "--one-by-one",
        action="store_true",
        help="one transaction per action, each waited for (no batching; for comparison)",
    )
    sim_cmd.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="report folder (default reports/<scenario name>)"
    )
    sim_cmd.add_argument(
        "--resume",
        action="store_true",
        help=f"continue an interrupted run of SCENARIO from what the chain holds (its record: {RUN_RECORD_FILE} in "
        "the report folder); needs --rpc-url: a local chain that simulate starts ends with the run",
    )
    sim_cmd.add_argument(
        "--deployments",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"records (default {DEFAULT_DIRECTORY}/)",
    )

    report_cmd = commands.add_parser("report", help="print the summary of a report folder again (no chain needed)")
    report_cmd.add_argument("dir", type=Path, metavar="DIR", help="the report folder a simulation wrote")

    tool_cmd = commands.add_parser("toolchain", help="show the compiler and chain tools; install the solc wrapper")
    tool_cmd.add_argument(
        "--install-solc",
        action="store_true",
        help=f"write solc-v{SOLC_VERSION} into py-solc-x's folder (for brownie and slither)",
    )
    return parser


def _compile(toolchain: Toolchain, evm: str, console: Console, *, use_cache: bool = True) -> CompilationResult:
    compiler = Compiler(
        toolchain,
        contracts_dir=toolchain.root / "contracts",
        cache_dir=toolchain.root / "build" / "p2p-energy-cache",
        settings=CompilerSettings(evm_version=evm),
    )
    started = time.perf_counter()
    result = compiler.compile(use_cache=use_cache)
    elapsed = time.perf_counter() - started
    how = "from cache" if result.from_cache else f"solc-js {result.solc_version}"
    count = len(result.contracts)
    noun = "contract" if count == 1 else "contracts"
    console.print(f"compiled {count} {noun} for {evm} ({how}) in {elapsed:.2f} s")
    return result


def cmd_compile(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    result = _compile(toolchain, args.evm, console, use_cache=not args.force)
    table = Table("contract", "source", "runtime bytes", "init bytes")
    for name, artifact in sorted(result.contracts.items()):
        table.add_row(name, artifact.source, f"{artifact.runtime_size:,}", f"{len(artifact.bytecode) // 2:,}")
    console.print(table)
    return 0


def cmd_chain(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    if args.profile is None:
        chain_id = 31337 if args.chain_id is None else args.chain_id
        options = ChainOptions(evm_version=args.evm, port=args.port, chain_id=chain_id, accounts=args.accounts)
    else:
        options = chain_options(
            args.profile, port=args.port, accounts=args.accounts, evm_version=args.evm, chain_id=args.chain_id
        )
    if args.state is not None:
        options = dataclasses.replace(options, state_path=args.state)
    stop = threading.Event()
    # SIGTERM ends the chain as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalChain(toolchain.anvil, options) as chain:
        console.print(f"local chain (anvil, hardfork {options.hardfork}, chain id {options.chain_id}) at {chain.url}")
        if args.profile is not None:
            gas_limit = f"{options.block_gas_limit:,}" if options.block_gas_limit else "anvil's default"
            gas_price = f"{options.gas_price_wei:,} wei" if options.gas_price_wei else "anvil's default"
            console.print(f"profile {args.profile}: block gas limit {gas_limit}, gas price {gas_price}")
        # Plain lines, not a table: 66-character keys must survive a narrow
        # terminal or a pipe unwrapped, so they can be copied.
        for index, account in enumerate(chain.accounts):
            console.print(f"account {index}: {account.address} key {account.private_key}", soft_wrap=True)
        console.print("Ctrl-C stops the chain.")
        console.file.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    console.print("chain stopped")
    return 0


def cmd_demo(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    if args.holders < 1:
        raise UsageError(f"--holders must be 1 or more, got {args.holders}")
    compiled = _compile(toolchain, args.evm, console)
    with LocalChain(toolchain.anvil, ChainOptions(evm_version=args.evm, accounts=args.holders + 1)) as chain:
        result = run_quickstart(chain, compiled, holders=args.holders)
    console.print(f"chain {result.chain_url} (id {result.chain_id}), stopped after the run")
    console.print(
        f"EnergyToken at {result.token_address} (tx {result.deploy_tx}, {result.deploy_gas:,} gas)", soft_wrap=True
    )
    table = Table("holder", "NRG")
    for balance in result.balances:
        table.add_row(balance.address, balance.tokens)
    console.print(table)
    return 0


def cmd_gas(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    compiled = _compile(toolchain, args.evm, console)
    with console.status("measuring gas") as status:
        report = run_gas_report(
            toolchain.anvil, compiled, args.trades_per_lot, progress=lambda step: status.update(f"gas: {step}")
        )
    table = Table("operation (one transaction)", "gas", title=f"gas per operation, {report.evm_version}")
    for operation, gas in report.operations.items():
        table.add_row(operation, f"{gas:,}")
    console.print(table)
    batches = Table(
        "lots settled",
        "trades",
        "settle gas",
        "gas per settled trade",
        "with 1 reading per lot",
        title=f"amortized settlement, {report.trades_per_lot} trades per lot",
    )
    for batch in report.batches:
        batches.add_row(
            str(batch.lots),
            str(batch.trades),
            f"{batch.gas:,}",
            f"{batch.gas_per_trade:,}",
            f"{batch.gas_per_trade_with_readings:,}",
        )
    console.print(batches)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
        console.print(f"figures written to {args.json}")
    return 0


def cmd_bench(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    options = BenchOptions(quick=args.quick, runs=args.runs, evm_version=args.evm)
    out = args.out if args.out is not None else toolchain.root / DEFAULT_OUT
    with console.status("bench") as status:
        results = run_bench(toolchain, options, progress=lambda step: status.update(f"bench: {step}"))
    console.print(bench_table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results.to_json(), indent=2) + "\n")
    console.print(f"figures written to {out}", markup=False, soft_wrap=True)
    return 0


def _say(console: Console) -> Callable[[str], None]:
    def say(message: str) -> None:
        console.print(message, markup=False, soft_wrap=True)

    return say


def _target_options(args: argparse.Namespace, evm: str, **extra: Any) -> TargetOptions:
    return TargetOptions(
        rpc_url=args.rpc_url,
        network=args.network,
        profile=args.profile,
        evm_version=evm,
        private_key=args.private_key,
        **extra,
    )


def cmd_deploy(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    check_timing(args.slot_length, args.grace_period)
    directory = args.deployments if args.deployments is not None else toolchain.root / DEFAULT_DIRECTORY
    say = _say(console)
    options = _target_options(args, args.evm, node_accounts=args.node_accounts)
    compiled = _compile(toolchain, args.evm, console)
    with open_target(toolchain.anvil, options, say) as target:
        if target.local_chain is not None:
            say("a throwaway chain: a smoke test of the deployment, stopped afterwards")
        deployed = deploy_on(
            target,
            compiled,
            slot_length_s=args.slot_length,
            grace_period_s=args.grace_period,
            directory=directory,
            say=say,
        )
        _print_deployment(console, *deployed, record_path(directory, target.network, target.chain_id))
    if options.rpc_url is None:
        say("local chain stopped; its record is throwaway (git ignores deployments/local-*)")
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
    checks = check_all(_compile(toolchain, compiled_for, console), args.evm)
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


def cmd_simulate(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    scenario = load_scenario(args.scenario)  # a bad file stops here, before any chain is touched
    evm = args.evm or scenario.chain.evm
    profile = args.profile or (None if args.rpc_url else scenario.chain.profile)
    households = len(scenario.households)
    target = TargetOptions(
        rpc_url=args.rpc_url,
        network=args.network,
        profile=profile,
        evm_version=evm,
        private_key=args.private_key,
        accounts=households + 2 if args.node_accounts else 2,
        simulation=True,
        node_accounts=args.node_accounts,
    )
    out = args.out or toolchain.root / "reports" / scenario.name
    options = SimulateOptions(
        target=target,
        deployments=args.deployments or toolchain.root / DEFAULT_DIRECTORY,
        node_accounts=args.node_accounts,
        batched=not args.one_by_one,
        run_record=out / RUN_RECORD_FILE,
        resume=args.resume,
    )
    say = _say(console)
    say(f"scenario {scenario.name}: {households} households, {scenario.slots} slots of {scenario.slot_length_s} s")
    columns = (*Progress.get_default_columns(), TextColumn("{task.fields[trades]:,} trades"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None, trades=0)
        progress = RunProgress(
            phase=lambda text: bar.update(task, description=text),
            tick=lambda done, total, trades: bar.update(task, completed=done, total=total, trades=trades),
            note=say,
        )
        try:
            result = simulate_scenario(toolchain, scenario, options, progress, say)
        except RunFailed as failed:
            write_report(failed.result, out)
            render_summary(failed.result, console)
            raise P2PEnergyError(f"{failed}; the report is in {out}") from None
    files = write_report(result, out)
    render_summary(result, console)
    say(f"report: {out} ({len(files.paths)} files); `p2p-energy report {out}` shows this summary again")
    return 0


def cmd_report(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    render_summary(load_report(args.dir), console)
    return 0


def cmd_toolchain(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    table = Table("tool", "version / path")
    table.add_row("project", str(toolchain.root))
    table.add_row("solc-js", f"{SOLC_VERSION} via {toolchain.solc}")
    table.add_row("anvil", str(toolchain.anvil))
    table.add_row("OpenZeppelin Contracts", toolchain.openzeppelin_version)
    if args.install_solc:
        table.add_row("py-solc-x wrapper", str(install_solc_wrapper(toolchain)))
    console.print(table)
    return 0


COMMANDS = {
    "compile": cmd_compile,
    "chain": cmd_chain,
    "networks": cmd_networks,
    "check-qtum": cmd_check_qtum,
    "demo": cmd_demo,
    "deploy": cmd_deploy,
    "gas": cmd_gas,
    "bench": cmd_bench,
    "report": cmd_report,
    "simulate": cmd_simulate,
    "toolchain": cmd_toolchain,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    try:
        toolchain = find_toolchain(args.project)
        return COMMANDS[args.command](args, toolchain, console)
    except UsageError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 2
    except P2PEnergyError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
