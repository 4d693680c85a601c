"""brownie finds the exported market: in a project whose build has the exported deployment map, connected to
the market's chain, `EnergyEscrow[-1]` is the deployed escrow (brownie in a child process, as `brownie console`)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from p2p_energy.export.export import export
from p2p_energy.solidity.compiler import Compiler

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

ROOT = Path(__file__).resolve().parents[2]
LOAD = """
import sys
from brownie import network, project
from brownie._config import CONFIG
CONFIG.networks["exported"] = {"id": "exported", "host": sys.argv[1], "chainid": "31337", "name": "exported"}
market = project.load(".", name="Exported")
network.connect("exported")
print(market.EnergyEscrow[-1].address, market.EnergyEscrow[-1].currentSlot(), market.EnergyToken[-1].symbol())
"""


def brownie_project(folder):
    """A brownie project over this checkout's contracts and brownie build (`toolchain/brownie-build` made it)."""
    if not (ROOT / "build" / "contracts" / "EnergyEscrow.json").is_file():
        pytest.fail("brownie's build/contracts is missing: run `toolchain/brownie-build cancun` once", pytrace=False)
    (folder / "build").mkdir(parents=True)
    shutil.copy(ROOT / "brownie-config.yaml", folder)
    for linked in ("contracts", "node_modules"):
        (folder / linked).symlink_to(ROOT / linked)
    for built in ("contracts", "interfaces"):
        shutil.copytree(ROOT / "build" / built, folder / "build" / built)
    return folder


def test_brownie_on_the_chain_finds_the_exported_escrow_last(exported_market, toolchain, compile_for, tmp_path):
    project = brownie_project(tmp_path / "project")
    compiler = Compiler.for_project(toolchain, "cancun")
    export(compiler, compile_for("cancun"), tmp_path / "out", exported_market.records, project / "build")
    done = subprocess.run([sys.executable, "-c", LOAD, exported_market.chain.url], cwd=project, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [exported_market.record.addresses["EnergyEscrow"], "0", "NRG"]
