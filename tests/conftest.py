"""Run the contract suite for one EVM target: P2P_EVM=london|shanghai|cancun (default cancun).

brownie-config.yaml compiles for ${P2P_EVM:-cancun}; here the development
network's anvil gets the matching --hardfork, so a london build runs on a
london chain. (brownie 1.22.2 crashes on a `networks:` section in the
project config, hence this hook on its loaded settings.)
"""

import importlib
import json
import os
from pathlib import Path

import pytest

from p2p_energy.chain.anvil import free_port
from p2p_energy.solidity.compiler import Compiler
from p2p_energy.solidity.toolchain import Toolchain, find_toolchain

# Looked up, not imported: brownie hashes the source of every module a
# conftest imports, and brownie._config is a compiled extension it cannot read.
CONFIG = importlib.import_module("brownie._config").CONFIG

EVM_TARGET = os.environ.get("P2P_EVM", "cancun")
if EVM_TARGET not in ("london", "shanghai", "cancun"):
    raise SystemExit(f"P2P_EVM must be london, shanghai or cancun, got {EVM_TARGET!r}")

# brownie starts its anvil on the development network's port, or attaches to whatever answers there already
# (a `p2p-energy chain` on 8545, another test session): the tests would then share that chain and fail at
# random. Each session takes a port nobody listens on; brownie's xdist runner adds the worker's number to it
# afterwards (gw1: +1), hence the subtraction.
_worker = int("".join(c for c in os.environ.get("PYTEST_XDIST_WORKER", "") if c.isdigit()) or 0)
_development = CONFIG.networks["development"]
_development["cmd_settings"] = {
    **(_development.get("cmd_settings") or {}),
    "evm_version": EVM_TARGET,
    "port": free_port() - _worker,
}

# brownie does not recompile when only the EVM target changes, so artifacts
# built for another target would be deployed to this chain. Stop early.
_artifact = Path(__file__).resolve().parents[1] / "build" / "contracts" / "EnergyEscrow.json"
if _artifact.is_file():
    _built_for = json.loads(_artifact.read_text()).get("compiler", {}).get("evm_version")
    if _built_for != EVM_TARGET:
        raise SystemExit(
            f"brownie's build/ holds contracts compiled for {_built_for}, not {EVM_TARGET}: "
            f"run `toolchain/brownie-build {EVM_TARGET}` first (make test does)"
        )


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return find_toolchain()


@pytest.fixture(scope="session")
def compile_for(toolchain):
    """Compile the project's contracts for an EVM target (shared, content-addressed cache)."""

    def compile_for(evm_version: str):
        return Compiler.for_project(toolchain, evm_version).compile()

    return compile_for


@pytest.fixture
def scratch_compiler(toolchain, tmp_path: Path):
    """A compiler over an empty contracts folder of the test's own."""
    (tmp_path / "contracts").mkdir()
    return Compiler(toolchain, contracts_dir=tmp_path / "contracts", cache_dir=tmp_path / "cache")


TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by where it lives and what it needs, so `-m` can select (pyproject's markers):
    `contracts` and `qtum` by folder, `browser` for every test that takes the `browser` fixture."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder in ("contracts", "qtum"):
            item.add_marker(folder)
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker("browser")
