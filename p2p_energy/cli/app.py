"""`main`: parse, find the toolchain, run the command, turn errors and signals into exit codes.

SIGTERM and SIGHUP end a command the way Ctrl-C does: they raise
:class:`Terminated` (a KeyboardInterrupt) in the main thread, so every
`with` block unwinds, a chain the command started is stopped and its
temporary folder removed; the command then says so in one line and exits
128 + the signal's number (143, 129; Ctrl-C: 130).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

from rich.console import Console

from p2p_energy.cli.chain_commands import cmd_chain, cmd_check_qtum, cmd_deploy, cmd_networks
from p2p_energy.cli.parser import build_parser
from p2p_energy.cli.run_commands import cmd_compare, cmd_report, cmd_simulate
from p2p_energy.cli.sweep_commands import cmd_sweep
from p2p_energy.cli.tool_commands import cmd_bench, cmd_compile, cmd_demo, cmd_gas, cmd_toolchain
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.solidity.toolchain import Toolchain, find_toolchain, project_root

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
    "sweep": cmd_sweep,
    "toolchain": cmd_toolchain,
}


#: The signals that end a command like Ctrl-C, with their exit codes.
TERMINATING = {signal.SIGTERM: 143, signal.SIGHUP: 129}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, _: FrameType | None) -> None:
    for sig in TERMINATING:  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def _terminating_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Terminated for the block; the handlers before it come back after."""
    try:
        before = {sig: signal.signal(sig, _raise_terminated) for sig in TERMINATING}
    except ValueError:  # not the main thread: signals stay as they are
        yield
        return
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _project(folder: Path | None) -> Path | None:
    """--project, checked: a folder in a p2p-energy checkout (its root or inside it), never silently another."""
    if folder is None:
        return None
    if not folder.is_dir():
        raise UsageError(f"--project {folder}: no such folder; name the folder of a p2p-energy checkout")
    given, root = folder.resolve(), project_root(folder)
    if root != given and root not in given.parents:
        raise UsageError(
            f"--project {folder}: no p2p-energy project there (no package.json with toolchain/solc-cli.js in it "
            "or above it); name the folder of a p2p-energy checkout"
        )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    try:
        with _terminating_signals_interrupt():
            toolchain = find_toolchain(_project(args.project))
            return COMMANDS[args.command](args, toolchain, console)
    except UsageError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 2
    except P2PEnergyError as exc:
        errors.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 1
    except Terminated as exc:
        errors.print(f"interrupted by {signal.Signals(exc.signum).name}", markup=False, soft_wrap=True)
        return TERMINATING[signal.Signals(exc.signum)]
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130
