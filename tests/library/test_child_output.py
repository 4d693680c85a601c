"""tests/child_output.py: reading a child's lines never waits past a deadline."""

import subprocess
import sys
import time

import pytest

from tests.child_output import ChildOutput


def child(code):
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


@pytest.fixture
def started():
    """started(code) -> ChildOutput of a Python child running `code`; the child is killed after the test."""
    processes = []

    def start(code):
        processes.append(child(code))
        return ChildOutput(processes[-1])

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_lines_are_read_up_to_the_one_waited_for(started):
    output = started("print('a'); print('b'); print('Ctrl-C stops it', flush=True); print('c')")
    assert output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=30) == ["a", "b", "Ctrl-C stops it"]


def test_a_child_that_dies_before_the_line_fails_the_wait_at_once(started):
    output = started("print('starting', flush=True); raise SystemExit(3)")
    began = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"the child ended \(exit code 3\); its last lines: starting"):
        output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=60)
    assert time.monotonic() - began < 30


def test_a_child_that_goes_quiet_fails_the_wait_at_its_deadline(started):
    output = started("print('starting', flush=True); import time; time.sleep(600)")
    began = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"wrote no line within 1 s \(still running\)"):
        output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=1)
    assert time.monotonic() - began < 10


def test_a_grandchild_holding_the_pipe_open_does_not_stall_the_wait(started):
    # The child starts a process that inherits its stdout and outlives it, as anvil outlives a killed CLI.
    output = started(
        "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)']); "
        "print('started a grandchild', flush=True)"
    )
    began = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"wrote no line within 1 s \(exit code 0\)"):
        output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=1)
    assert time.monotonic() - began < 10


def test_the_rest_of_the_output_is_read_to_its_end(started):
    output = started("print('Ctrl-C stops it', flush=True); import time; time.sleep(0.2); print('chain stopped')")
    output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=30)
    assert output.rest(timeout=30) == ["chain stopped"]


def test_output_that_never_ends_fails_the_wait_for_the_rest(started):
    output = started("print('Ctrl-C stops it', flush=True); import time; time.sleep(600)")
    output.lines_until(lambda line: line.startswith("Ctrl-C"), timeout=30)
    with pytest.raises(pytest.fail.Exception, match=r"did not close its output within 1 s \(still running\)"):
        output.rest(timeout=1)
