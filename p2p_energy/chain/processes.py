"""Node processes we start die with us, and their temporary folders do not outlive them.

Three guards, for anvil and qtumd alike:

* :func:`die_with_us` gives a child a parent-death signal (Linux
  `prctl(PR_SET_PDEATHSIG)`): when our process ends in any way, SIGKILL
  included, the kernel sends the node that signal (SIGKILL for anvil,
  SIGTERM for qtumd so it can flush its chain to disk).
* :func:`deferred_signals` holds SIGINT, SIGTERM and SIGHUP back while a node
  is started or stopped, so an interrupt cannot leave it half started or
  half stopped; they arrive as soon as that is done.
* :func:`scratch_folder` makes a node's temporary folder with a pid file in
  it (:func:`claim`) and first removes the folders of earlier runs whose
  owner and node are both dead (a run killed with SIGKILL cleans up nothing
  itself).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

#: The signals the CLI handles like Ctrl-C.
INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
#: Inside a node's temporary folder: "<our pid> <node pid>".
PID_FILE = "p2p-energy.pid"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_us(sig: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` that has the kernel send the child `sig` when we die (on Linux, through prctl).

    The child also starts with no signal held back (it is started inside
    :func:`deferred_signals`, whose mask it would inherit). The parent-death
    signal follows the thread that starts the child: start nodes from the
    main thread (every command here does).
    """
    libc, parent = _LIBC, os.getpid()

    def preexec() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        if libc is None:
            return
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # we died before the prctl: no signal would come
            os.kill(os.getpid(), sig)

    return preexec


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for the block (in the main thread); they arrive after it."""
    try:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    except (AttributeError, ValueError, OSError):  # no pthread_sigmask here: nothing to hold back
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def scratch_folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A new temporary folder `prefix*`, after removing those that dead runs left (see :func:`claim`)."""
    sweep_stale(prefix)
    return tempfile.TemporaryDirectory(prefix=prefix)


def claim(folder: Path, node_pid: int) -> None:
    """Mark `folder` as ours and `node_pid`'s, for :func:`sweep_stale` to tell a live folder from a dead one."""
    (folder / PID_FILE).write_text(f"{os.getpid()} {node_pid}\n")


def sweep_stale(prefix: str, root: Path | None = None) -> list[Path]:
    """Remove the `prefix*` folders under the temporary root whose pid file names only dead processes.

    A folder without a pid file (being made, or not ours) is left alone, and
    so is one whose owner or node still runs. Returns the folders removed.
    """
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            pids = [int(word) for word in (folder / PID_FILE).read_text().split()]
        except (OSError, ValueError):
            continue
        if pids and min(pids) > 0 and not any(_alive(pid) for pid in pids):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    with contextlib.suppress(OSError):  # a zombie is dead; only Linux says so cheaply
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group a node runs in (its own session), if it is still there."""
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, sig)


def wait_or_kill(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait `timeout_s` for a node asked to stop, then SIGKILL its group and wait for it."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        signal_group(process.pid, signal.SIGKILL)
        process.wait()
