import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "p2p-energy"
#: The smallest scenario that trades: two sellers and a buyer for two slots.
TINY = """
name = "tiny"
seed = 7
slots = 2
start_hour = 12.0

[[households]]
name = "solar"
count = 2
pv_kwp = 6.0
load_kwh_per_day = 4.0

[[households]]
name = "home"
load_kwh_per_day = 10.0
"""


@pytest.fixture
def cli():
    """Run the installed `p2p-energy` console script; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, check=False)

    return run


FAULTS = Path(__file__).resolve().parents[2] / "scenarios" / "faults.toml"


@pytest.fixture(scope="module")
def long_faults(tmp_path_factory) -> Path:
    """faults.toml over 16 slots instead of 8, so a run lasts long enough to be interrupted."""
    text = (
        FAULTS.read_text().replace("\nslots = 8\n", "\nslots = 16\n").replace("start_hour = 11.0", "start_hour = 9.0")
    )
    assert "slots = 16" in text
    path = tmp_path_factory.mktemp("scenario") / "faults.toml"
    path.write_text(text)
    return path


@pytest.fixture
def tiny_scenario(tmp_path):
    """TINY written to the test's folder."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path
