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
import importlib
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, cast

from p2p_energy.cli.parser import build_parser
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.solidity.toolchain import Toolchain, find_toolchain, project_root

if TYPE_CHECKING:
    from rich.console import Console

Command = Callable[[argparse.Namespace, Toolchain, "Console"], int]

#: Each command's module and function, imported only when the command runs: `--help` and a bad
#: argument load none of them (and so neither web3 nor the chain).
COMMANDS: dict[str, tuple[str, str]] = {
    "compile": ("tool_commands", "cmd_compile"),
    "export": ("tool_commands", "cmd_export"),
    "chain": ("chain_commands", "cmd_chain"),
    "networks": ("chain_commands", "cmd_networks"),
    "check-qtum": ("chain_commands", "cmd_check_qtum"),
    "demo": ("tool_commands", "cmd_demo"),
    "deploy": ("chain_commands", "cmd_deploy"),
    "gas": ("tool_commands", "cmd_gas"),
    "bench": ("tool_commands", "cmd_bench"),
    "report": ("run_commands", "cmd_report"),
    "compare": ("run_commands", "cmd_compare"),
    "simulate": ("run_commands", "cmd_simulate"),
    "sweep": ("sweep_commands", "cmd_sweep"),
    "toolchain": ("tool_commands", "cmd_toolchain"),
}


def command(name: str) -> Command:
    """The function that runs command `name`, its module imported now."""
    module, function = COMMANDS[name]
    return cast(Command, getattr(importlib.import_module(f"p2p_energy.cli.{module}"), function))


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
    from rich.console import Console  # after parsing: --help needs no rich

    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False)
    try:
        with _terminating_signals_interrupt():
            toolchain = find_toolchain(_project(args.project))
            return command(args.command)(args, toolchain, console)
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
