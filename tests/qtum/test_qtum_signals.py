"""A qtumd we start dies with us: SIGKILL to `chain --backend qtum` and the kernel sends qtumd SIGTERM."""

import os
import signal
import subprocess
import time

import psutil

from tests.child_output import ChildOutput
from tests.qtum.test_qtum_cli import CLI


def wait_for_line(process: subprocess.Popen[str], start: str, timeout: float = 120.0) -> None:
    ChildOutput(process).lines_until(lambda line: line.startswith(start), timeout=timeout)


def gone(node: psutil.Process) -> bool:
    try:
        return node.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sigkill_to_chain_backend_qtum_has_its_qtumd_shut_down_within_seconds(qtumd, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = [str(CLI), "chain", "--backend", "qtum", "--qtumd", str(qtumd), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    node = None
    try:
        wait_for_line(process, "Ctrl-C stops the chain")
        (node,) = [child for child in psutil.Process(process.pid).children(recursive=True) if child.name() == "qtumd"]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 30  # qtumd flushes its chain before it exits
        while not gone(node) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(node)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if node is not None and not gone(node):
            node.kill()


def test_chain_backend_qtum_listens_on_qtums_regtest_port_by_default_not_anvils(qtumd, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [str(CLI), "chain", "--backend", "qtum", "--qtumd", str(qtumd)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        lines = ChildOutput(process).lines_until(lambda line: line.startswith("local qtumd regtest node"), 120.0)
        assert "127.0.0.1:13889" in lines[-1]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
