"""Running a scenario from a test: the whole `simulate` path, with no progress shown and nothing said."""

from pathlib import Path

from p2p_energy.domain.scenario import Scenario, load_scenario
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import TargetOptions
from p2p_energy.solidity.toolchain import find_toolchain


def simulate_quietly(scenario: Scenario | Path, target: TargetOptions, records: Path) -> RunResult:
    """`scenario` (loaded from its file if a path) on `target`, deployment records in `records`."""
    if isinstance(scenario, Path):
        scenario = load_scenario(scenario)
    return simulate_scenario(find_toolchain(), scenario, SimulateOptions(target, records), Progress(), lambda _: None)
