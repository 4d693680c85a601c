"""Helpers the commands share: compiling with a timing line, `say`, target options."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from p2p_energy.run.target import TargetOptions
from p2p_energy.solidity.compiler import CompilationResult, Compiler
from p2p_energy.solidity.toolchain import Toolchain


def compile_contracts(toolchain: Toolchain, evm: str, console: Console, *, use_cache: bool = True) -> CompilationResult:
    compiler = Compiler.for_project(toolchain, evm)
    started = time.perf_counter()
    result = compiler.compile(use_cache=use_cache)
    elapsed = time.perf_counter() - started
    how = "from cache" if result.from_cache else f"solc-js {result.solc_version}"
    count = len(result.contracts)
    noun = "contract" if count == 1 else "contracts"
    console.print(f"compiled {count} {noun} for {evm} ({how}) in {elapsed:.2f} s")
    return result


def print_json(data: Any, console: Console) -> None:
    """`--json` output: `data` as indented JSON on the console's file, untouched by rich (no wrapping, no markup)."""
    print(json.dumps(data, indent=2, allow_nan=False), file=console.file)


def say_to(console: Console) -> Callable[[str], None]:
    """A `say` that prints one plain line: no markup, never wrapped."""

    def say(message: str) -> None:
        console.print(message, markup=False, soft_wrap=True)

    return say


def target_options(args: argparse.Namespace, evm: str, **extra: Any) -> TargetOptions:
    return TargetOptions(
        rpc_url=args.rpc_url,
        network=args.network,
        profile=args.profile,
        evm_version=evm,
        private_key=args.private_key,
        backend=args.backend,
        qtumd=args.qtumd,
        **extra,
    )
