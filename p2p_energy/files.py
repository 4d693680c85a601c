"""Files replaced whole or not at all: a node's saved state, a report's pages.

:func:`write_whole` writes a file's new content beside it, flushes it to
disk, then renames it over the old one, so that a kill at any moment leaves
either the old file or the new one. Ground floor: imports nothing of ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


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
