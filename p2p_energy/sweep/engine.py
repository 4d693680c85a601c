"""The runs of a sweep on Dask distributed: a LocalCluster here, or an existing cluster's scheduler.

Each run is one task (`run_one.run_sweep_run`); a LocalCluster has a worker
process per core with one thread each, so each run has a process of its own
and its own chain. Results come back as the tasks end, in any order. An
interrupt (Ctrl-C, SIGTERM) cancels what is left and closes the client and
the cluster: the local workers end, and with them every anvil or qtumd they
started (their parent-death signal). Dask is imported here only, when a sweep runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from p2p_energy.errors import UsageError
from p2p_energy.sweep.run_one import FAILED, RunRow, run_sweep_run
from p2p_energy.sweep.sweep_file import RunSpec

#: Seconds to wait for a scheduler named with --scheduler.
CONNECT_TIMEOUT_S = 10
_POLL_S = 0.5


@dataclass(frozen=True)
class Tally:
    """Where a sweep is: runs done (and of those failed), running, and left to start; seconds since it began."""

    total: int
    done: int
    failed: int
    running: int
    elapsed_s: float


@dataclass(frozen=True)
class Engine:
    """Where the runs go: `scheduler` (tcp://HOST:8786) or, if None, a LocalCluster of `workers` processes."""

    scheduler: str | None = None
    workers: int | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S

    @property
    def local_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def describe(self) -> str:
        if self.scheduler:
            return f"the Dask cluster at {self.scheduler}"
        return f"a local Dask cluster of {self.local_workers} worker processes"


@contextlib.contextmanager
def dask_client(engine: Engine) -> Iterator[Any]:
    """A distributed.Client on `engine`, closed (and a LocalCluster with its workers ended) when the block ends."""
    from distributed import Client, LocalCluster

    if engine.scheduler:
        try:
            client = Client(engine.scheduler, timeout=engine.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"no Dask scheduler answers at {engine.scheduler} ({exc}); start one (`dask scheduler`) and its "
                "workers (`dask worker ADDRESS`), or leave out --scheduler to run here"
            ) from None
        with contextlib.closing(client):
            yield client
        return
    cluster = LocalCluster(
        n_workers=engine.local_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def run_all(
    client: Any, runs: Sequence[RunSpec], on_row: Callable[[RunRow], None], on_tally: Callable[[Tally], None]
) -> list[RunRow]:
    """Every run as a task on `client`; `on_row` for each row as it arrives, `on_tally` as the sweep moves.

    On any exception (KeyboardInterrupt included) the tasks not yet finished are cancelled before it goes on.
    """
    from distributed import wait

    started = time.perf_counter()
    slots = max(1, sum(info.get("nthreads", 1) for info in client.scheduler_info()["workers"].values()))
    specs = {f"sweep-run-{spec.key}": spec for spec in runs}
    futures = [client.submit(run_sweep_run, spec, key=key, pure=False) for key, spec in specs.items()]
    pending, rows = set(futures), []
    try:
        while pending:
            try:
                done, pending = wait(list(pending), timeout=_POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:  # none ended within the poll: the tally (elapsed, ETA) moves on all the same
                done = set()
            for future in done:
                rows.append(_row_of(future, specs[future.key]))
                on_row(rows[-1])
            failed = sum(1 for row in rows if row.status == FAILED)
            on_tally(Tally(len(runs), len(rows), failed, min(slots, len(pending)), time.perf_counter() - started))
    finally:
        if pending:
            client.cancel(list(pending), force=True)
    return rows


def _row_of(future: Any, spec: RunSpec) -> RunRow:
    """A finished task's row; a task that died (its worker lost, say) is a failed row with Dask's reason."""
    if future.status == "finished":
        row: RunRow = future.result()
        return row
    try:
        error = future.exception()
        message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    except Exception as exc:  # cancelled by someone else: its reason is the exception itself
        message = f"{type(exc).__name__}: the task did not finish"
    return RunRow(spec.key, spec.values, FAILED, message, 0.0)
