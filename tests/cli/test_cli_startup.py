"""The command starts fast: `--help` and a bad argument load no chain code (web3, eth-account, the
backends, the runner), and `python -m p2p_energy` is the same command as `p2p-energy`.

The import check runs in a fresh interpreter, so modules other tests imported do not count.
"""

import json
import subprocess
import sys

import pytest

from p2p_energy.cli.app import COMMANDS, command

_HELP_THEN_MODULES = """
import contextlib, io, json, sys
from p2p_energy.cli.app import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["--help"])
with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
    main(["simulate", "--no-such-option"])
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def loaded_by_help() -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _HELP_THEN_MODULES], capture_output=True, text=True, check=True, timeout=60
    )
    modules: list[str] = json.loads(completed.stdout)
    return modules


@pytest.mark.parametrize("package", ["web3", "eth_account", "p2p_energy.chain", "p2p_energy.run", "p2p_energy.output"])
def test_help_and_a_bad_argument_do_not_load(loaded_by_help, package):
    loaded = [name for name in loaded_by_help if name == package or name.startswith(f"{package}.")]
    assert not loaded, f"`p2p-energy --help` loaded {package}: {', '.join(loaded[:5])}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_name_leads_to_its_function(name):
    assert callable(command(name))


def test_python_dash_m_p2p_energy_is_the_p2p_energy_command():
    completed = subprocess.run(
        [sys.executable, "-m", "p2p_energy", "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert (completed.returncode, completed.stdout.strip()) == (0, "p2p-energy 0.1.0")
