from pathlib import Path

import pytest

from p2p_energy.solidity.compiler import Compiler, CompilerSettings
from p2p_energy.solidity.toolchain import Toolchain, find_toolchain


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return find_toolchain()


@pytest.fixture(scope="session")
def compile_for(toolchain):
    """Compile the project's contracts for an EVM target (shared, content-addressed cache)."""

    def compile_for(evm_version: str):
        compiler = Compiler(
            toolchain,
            contracts_dir=toolchain.root / "contracts",
            cache_dir=toolchain.root / "build" / "p2p-energy-cache",
            settings=CompilerSettings(evm_version=evm_version),
        )
        return compiler.compile()

    return compile_for


@pytest.fixture
def scratch_compiler(toolchain, tmp_path: Path):
    """A compiler over an empty contracts folder of the test's own."""
    (tmp_path / "contracts").mkdir()
    return Compiler(toolchain, contracts_dir=tmp_path / "contracts", cache_dir=tmp_path / "cache")
