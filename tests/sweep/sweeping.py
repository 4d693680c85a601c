"""Helpers of the sweep tests: the CLI run as a subprocess, and the processes a command leaves behind."""

import subprocess

import psutil

from tests.cli.conftest import CLI


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, check=False)


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running (zombies count as ended)."""
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
