"""The toolchain commands: compile, export, demo, gas, bench, toolchain."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from p2p_energy.bench import BenchOptions, run_bench
from p2p_energy.bench_table import bench_table
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backends import NodePrograms, backend_kind
from p2p_energy.cli.common import compile_contracts, say_to
from p2p_energy.defaults import BENCH_OUT
from p2p_energy.errors import UsageError
from p2p_energy.export.export import DEFAULT_OUT as EXPORT_OUT
from p2p_energy.export.export import export
from p2p_energy.gas import GasModelError, gas_tables, run_gas_report
from p2p_energy.quickstart import run_quickstart
from p2p_energy.run.deployment_record import DEFAULT_DIRECTORY
from p2p_energy.solidity.compiler import Compiler
from p2p_energy.solidity.toolchain import SOLC_VERSION, Toolchain, install_solc_wrapper


def cmd_compile(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    result = compile_contracts(toolchain, args.evm, console, use_cache=not args.force)
    table = Table("contract", "source", "runtime bytes", "init bytes")
    for name, artifact in sorted(result.contracts.items()):
        table.add_row(name, artifact.source, f"{artifact.runtime_size:,}", f"{len(artifact.bytecode) // 2:,}")
    console.print(table)
    return 0


def cmd_export(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    root = toolchain.root
    out = args.out if args.out is not None else root / EXPORT_OUT
    deployments = args.deployments if args.deployments is not None else root / DEFAULT_DIRECTORY
    if args.deployments is not None and not deployments.is_dir():
        raise UsageError(f"--deployments {deployments} is not a folder")
    compiled = compile_contracts(toolchain, args.evm, console)
    brownie_build = args.brownie_build if args.brownie_build is not None else root / "build"
    done = export(Compiler.for_project(toolchain, args.evm), compiled, out, deployments, brownie_build)
    say = say_to(console)
    say(f"artifacts: {', '.join(p.name for p in done.artifacts)} and sources/ in {out}")
    for path in done.deployments:
        say(f"deployment: {path}")
    if done.brownie:
        say(f"brownie: {len(done.brownie) - 1} deployments in {done.brownie[0]}")
    for reason in done.skipped:
        say(f"skipped {reason}")
    if not done.deployments and not done.skipped:
        say(f"no deployment records in {deployments}: `p2p-energy deploy` writes one")
    return 0


#: anvil derives every account's key before it answers (12.8 s for 1,000 accounts here, 2026-12-08), and a
#: local chain gets 20 s to start: more holders would fail on a timeout that does not name them.
MAX_HOLDERS = 1_000


def cmd_demo(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    if not 1 <= args.holders <= MAX_HOLDERS:
        raise UsageError(
            f"--holders must be from 1 to {MAX_HOLDERS:,}, got {args.holders:,} (anvil makes one account per holder "
            "before it starts, and more would not start in time)"
        )
    compiled = compile_contracts(toolchain, args.evm, console)
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
    backend_kind(args.backend).check_options(args.qtumd)  # a wrong option stops here, before the compile
    compiled = compile_contracts(toolchain, args.evm, console)
    programs = NodePrograms(toolchain.anvil, compiled.settings.evm_version, args.qtumd)
    with console.status("measuring gas") as status:

        def step(text: str) -> None:
            status.update(f"gas: {text}")

        failed: GasModelError | None = None
        try:
            report = run_gas_report(args.backend, programs, compiled, args.trades_per_lot, progress=step)
        except GasModelError as below:
            # The figures are still what the chain measured: show and keep them, then fail.
            report, failed = below.report, below
    for table in gas_tables(report):
        console.print(table)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
        console.print(f"figures written to {args.json}")
    if failed is not None:
        raise failed  # `error: ...` on stderr and exit 1, after the figures
    return 0


def cmd_bench(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    options = BenchOptions(quick=args.quick, runs=args.runs, evm_version=args.evm)
    out = args.out if args.out is not None else toolchain.root / BENCH_OUT
    with console.status("bench") as status:
        results = run_bench(toolchain, options, progress=lambda step: status.update(f"bench: {step}"))
    console.print(bench_table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results.to_json(), indent=2) + "\n")
    console.print(f"figures written to {out}", markup=False, soft_wrap=True)
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
