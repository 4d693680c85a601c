"""The engine's edges that need no run: a scheduler that does not answer is bad input, said in one line."""

import pytest

from p2p_energy.errors import UsageError
from p2p_energy.sweep.engine import Engine, dask_client


def test_a_scheduler_that_does_not_answer_is_a_usage_error_naming_it():
    with pytest.raises(UsageError) as refused, dask_client(Engine("tcp://127.0.0.1:9", connect_timeout_s=1)):
        pass
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_local_engine_has_a_worker_per_core_unless_told():
    assert Engine(workers=3).local_workers == 3
    assert "local Dask cluster of 3 worker processes" in Engine(workers=3).describe()
