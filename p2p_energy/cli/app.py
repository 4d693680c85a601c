"""`main`: parse, find the toolchain, run the command, turn errors into exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from rich.console import Console

from p2p_energy.cli.chain_commands import cmd_chain, cmd_check_qtum, cmd_deploy, cmd_networks
from p2p_energy.cli.parser import build_parser
from p2p_energy.cli.run_commands import cmd_compare, cmd_report, cmd_simulate
from p2p_energy.cli.tool_commands import cmd_bench, cmd_compile, cmd_demo, cmd_gas, cmd_toolchain
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.solidity.toolchain import Toolchain, find_toolchain

Command = Callable[[argparse.Namespace, Toolchain, Console], int]

COMMANDS: dict[str, Command] = {
    "compile": cmd_compile,
    "chain": cmd_chain,
    "networks": cmd_networks,
    "check-qtum": cmd_check_qtum,
    "demo": cmd_demo,
    "deploy": cmd_deploy,
    "gas": cmd_gas,
    "bench": cmd_bench,
    "report": cmd_report,
    "compare": cmd_compare,
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
