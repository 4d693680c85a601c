"""A child process's output, line by line, with a deadline on every wait.

`process.stdout.readline()` blocks until the child writes a line or every
writer of the pipe has closed it: a child that hangs, or that dies while a
process it started (anvil, qtumd) still holds the pipe, blocks the test for
ever, and a loop that waits for one particular line spins on "" once the child
is gone. Here a thread reads the pipe and the test waits on a queue with a
deadline: a child that ends or goes quiet fails the test in one line, with
what it said so far.

    output = ChildOutput(process)
    lines = output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
    ...
    rest = output.rest(timeout=20)  # after the child was told to stop
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

_END = None


class ChildOutput:
    """Lines of `process.stdout` (opened with text=True), stripped, read by a thread of their own."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        if process.stdout is None:
            raise ValueError("the child's stdout is not a pipe: start it with stdout=subprocess.PIPE")
        self.process = process
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(_END)

    def read_line(self, timeout: float) -> str:
        """The next line; fails the test if the child ends first or writes none within `timeout` seconds."""
        return self._next(time.monotonic() + timeout, timeout)

    def lines_until(self, done: Callable[[str], bool], timeout: float) -> list[str]:
        """Every line up to and including the first for which `done` is true, all within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        lines = [self._next(deadline, timeout)]
        while not done(lines[-1]):
            lines.append(self._next(deadline, timeout))
        return lines

    def _next(self, deadline: float, timeout: float) -> str:
        if self._ended:
            self._fail("ended")
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self._fail(f"wrote no line within {timeout:g} s")
        if line is _END:
            self._ended = True
            self._fail("ended")
        self.seen.append(line)
        return line

    def rest(self, timeout: float) -> list[str]:
        """Every line still to come, up to the end of the output, which must come within `timeout` seconds."""
        deadline, lines = time.monotonic() + timeout, []
        while not self._ended:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._fail(f"did not close its output within {timeout:g} s")
            if line is _END:
                self._ended = True
            else:
                self.seen.append(line)
                lines.append(line)
        return lines

    def _fail(self, what: str) -> None:
        code = self.process.poll()
        if code is None and self._ended:
            # The pipe closes a moment before the process is reaped: give its exit code time to arrive.
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        state = "still running" if code is None else f"exit code {code}"
        said = " | ".join(self.seen[-5:]) or "nothing"
        pytest.fail(f"the child {what} ({state}); its last lines: {said}", pytrace=False)
