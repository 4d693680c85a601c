"""The `p2p-energy` command line.

Exit codes: 0 success, 1 a failure while working (compile error, revert,
chain gone), 2 bad input (nothing was done), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from p2p_energy import __version__
from p2p_energy.chain import ChainOptions, LocalChain
from p2p_energy.compiler import DEFAULT_EVM_VERSION, EVM_VERSIONS, CompilationResult, Compiler, CompilerSettings
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.gas import run_gas_report
from p2p_energy.quickstart import run_quickstart
from p2p_energy.toolchain import SOLC_VERSION, Toolchain, find_toolchain, install_solc_wrapper


def _add_evm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--evm",
        choices=EVM_VERSIONS,
        default=DEFAULT_EVM_VERSION,
        help=f"EVM target to compile for and run (default {DEFAULT_EVM_VERSION})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    chain_cmd.add_argument("--chain-id", type=int, default=31337, help="chain id (default 31337)")

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
    options = ChainOptions(evm_version=args.evm, port=args.port, chain_id=args.chain_id, accounts=args.accounts)
    stop = threading.Event()
    # SIGTERM ends the chain as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalChain(toolchain.anvil, options) as chain:
        console.print(f"local chain (anvil, hardfork {options.hardfork}, chain id {options.chain_id}) at {chain.url}")
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
    "demo": cmd_demo,
    "gas": cmd_gas,
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
        errors.print(f"error: {exc}", markup=False)
        return 2
    except P2PEnergyError as exc:
        errors.print(f"error: {exc}", markup=False)
        return 1
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
