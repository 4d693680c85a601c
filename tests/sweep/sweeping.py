"""Helpers of the sweep tests: the CLI run as a subprocess, and the processes a command leaves behind."""

import contextlib
import subprocess
import time

import psutil

from tests.cli.conftest import CLI


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, check=False)


def alive(processes: list[psutil.Process], grace: float = 10.0) -> list[psutil.Process]:
    """Those of `processes` still running after `grace` seconds (zombies count as ended): a child may take a
    moment to end after its parent, e.g. multiprocessing's resource tracker once its pipe closes."""
    deadline = time.monotonic() + grace
    while True:
        running = []
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    running.append(process)
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)
