"""The machine a benchmark ran on, and the peak memory of a process (`p2p-energy bench`)."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from p2p_energy.errors import P2PEnergyError
from p2p_energy.solidity.toolchain import SOLC_VERSION, Toolchain


class BenchError(P2PEnergyError):
    """A measurement could not be taken."""


@dataclass(frozen=True)
class Machine:
    cpus: int
    memory_bytes: int | None
    cpu_model: str
    platform: str
    python: str
    anvil: str
    solc: str


def machine(toolchain: Toolchain) -> Machine:
    return Machine(
        cpus=os.cpu_count() or 0,
        memory_bytes=_meminfo_total(),
        cpu_model=_cpu_model(),
        platform=platform.platform(),
        python=platform.python_version(),
        anvil=_anvil_version(toolchain.anvil),
        solc=SOLC_VERSION,
    )


def _proc_field(path: Path, name: str) -> str | None:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        return None
    return None


def _meminfo_total() -> int | None:
    value = _proc_field(Path("/proc/meminfo"), "MemTotal")  # "24604012 kB"
    return int(value.split()[0]) * 1024 if value else None


def _cpu_model() -> str:
    return _proc_field(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown"


def peak_rss(pid: int | None) -> int | None:
    """A running process's peak resident memory in bytes (Linux VmHWM), None where /proc has none."""
    value = _proc_field(Path(f"/proc/{pid}/status"), "VmHWM") if pid else None
    return int(value.split()[0]) * 1024 if value else None


def _anvil_version(anvil: Path) -> str:
    try:
        out = subprocess.run([str(anvil), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = out.stdout.strip().splitlines()[:1]
    return first[0].removeprefix("anvil Version: ").strip() if first else "unknown"
