import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "p2p-energy"


@pytest.fixture
def cli():
    """Run the installed `p2p-energy` console script; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, check=False)

    return run
