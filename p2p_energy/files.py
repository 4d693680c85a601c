"""Files replaced whole or not at all: a node's saved state, a report's pages, the run and deployment records.

:func:`write_whole` writes a file's new content beside it, flushes it to
disk, then renames it over the old one, so that a kill at any moment leaves
either the old file or the new one. Ground floor: imports nothing of ours.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from p2p_energy.errors import UsageError


def write_whole(path: Path, write: Callable[[BinaryIO], bool]) -> bool:
    """Replace `path` with what `write` writes, whole or not at all; False (and `path` untouched) if `write` says so.

    `write` fills a temporary file in the same folder (`.NAME.saving`); if it
    returns True the file is flushed to disk and renamed over `path` (atomic
    on POSIX), and the folder is flushed too, so that after a crash or a
    SIGKILL at any moment `path` is either the old whole file or the new one.
    If `write` returns False or raises, the temporary file is removed.
    """
    temporary = path.with_name(f".{path.name}.saving")
    try:
        with temporary.open("wb") as out:
            if not write(out):
                temporary.unlink()
                return False
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return True


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder` for this process while the block runs: a second process asking for it gets a UsageError at
    once (naming `what` it is for) instead of writing into it too. The lock is a hidden file beside the folder
    (`.NAME.lock`; the folder itself may be replaced whole), held with flock, so it is let go when the process
    ends, even by SIGKILL."""
    lock = folder.parent / f".{folder.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another run is writing {folder} ({what}); wait for it to end, or pass another --out"
            ) from None
        yield
