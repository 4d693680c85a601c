"""How fast the command answers: `p2p-energy --help` in a fresh process, wall time (`p2p-energy bench`).

Each run starts a new interpreter (`python -m p2p_energy --help`, what the `p2p-energy` script runs),
so nothing imported before counts. The parser loads no chain code (tests/cli/test_cli_startup.py),
so this is Python's start, argparse and the ground floor.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from p2p_energy.bench_machine import BenchError

#: Issue 27: `p2p-energy --help` within half a second.
TARGET_HELP_S = 0.5
HELP_COMMAND = (sys.executable, "-m", "p2p_energy", "--help")


@dataclass(frozen=True)
class CliStartup:
    """Wall times of `p2p-energy --help`, one per fresh process."""

    help_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.help_s)

    def to_json(self) -> dict[str, object]:
        return {"help_s": list(self.help_s), "help_median_s": self.median_s}


def measure_cli_help(runs: int) -> CliStartup:
    """`p2p-energy --help` `runs` times, each in a new process."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(HELP_COMMAND, capture_output=True, text=True, check=False, timeout=60)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise BenchError(f"`p2p-energy --help` exited {done.returncode}: {done.stderr.strip()[-200:]}")
    return CliStartup(tuple(times))
