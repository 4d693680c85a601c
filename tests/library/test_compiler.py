from dataclasses import replace

import pytest

from p2p_energy.errors import UsageError
from p2p_energy.solidity.compiler import CompilationError, Compiler, CompilerSettings
from p2p_energy.solidity.toolchain import Toolchain

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

GOOD = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
import {Lib} from "./lib/Lib.sol";
contract Good { function f() external pure returns (uint256) { return Lib.x(); } }
"""
LIB = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
library Lib { function x() internal pure returns (uint256) { return 1; } }
"""
BROKEN = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

contract Broken {
    function f() external pure returns (uint256) {
        return undefinedName;
    }
}
"""


def write(compiler: Compiler, name: str, text: str) -> None:
    path = compiler.contracts_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("evm_version", ["london", "shanghai", "cancun"])
def test_energy_token_compiles_for_each_evm_target(compile_for, evm_version):
    artifact = compile_for(evm_version)["EnergyToken"]
    assert {"mint", "burn", "decimals", "transferFrom"} <= {i.get("name") for i in artifact.abi}
    assert artifact.source == "contracts/EnergyToken.sol"
    assert 0 < artifact.runtime_size < 24_576


def test_unknown_evm_target_is_rejected():
    with pytest.raises(UsageError, match="choose one of london, shanghai, cancun"):
        CompilerSettings(evm_version="osaka")


def test_second_compile_comes_from_the_cache(scratch_compiler):
    write(scratch_compiler, "Good.sol", GOOD)
    write(scratch_compiler, "lib/Lib.sol", LIB)
    first = scratch_compiler.compile()
    second = scratch_compiler.compile()
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second["Good"] == first["Good"]


def test_cached_compile_starts_no_compiler(scratch_compiler, tmp_path):
    write(scratch_compiler, "Good.sol", GOOD)
    write(scratch_compiler, "lib/Lib.sol", LIB)
    scratch_compiler.compile()
    # A toolchain whose root has no solc at all: only a cache hit can succeed.
    without_solc = replace(scratch_compiler, toolchain=Toolchain(tmp_path / "no-toolchain"))
    assert without_solc.compile().from_cache


def test_edited_source_is_compiled_again(scratch_compiler):
    write(scratch_compiler, "Good.sol", GOOD)
    write(scratch_compiler, "lib/Lib.sol", LIB)
    scratch_compiler.compile()
    write(scratch_compiler, "Good.sol", GOOD + "\n// edited\n")
    assert not scratch_compiler.compile().from_cache


def test_edited_import_is_compiled_again(scratch_compiler):
    write(scratch_compiler, "Good.sol", GOOD)
    write(scratch_compiler, "lib/Lib.sol", LIB)
    scratch_compiler.compile()
    write(scratch_compiler, "lib/Lib.sol", LIB.replace("return 1", "return 2"))
    assert not scratch_compiler.compile().from_cache


def test_other_settings_do_not_share_a_cache_entry(scratch_compiler):
    write(scratch_compiler, "Good.sol", GOOD)
    write(scratch_compiler, "lib/Lib.sol", LIB)
    scratch_compiler.compile()
    london = replace(scratch_compiler, settings=CompilerSettings(evm_version="london"))
    assert not london.compile().from_cache


def test_compile_error_names_file_line_and_column(scratch_compiler):
    write(scratch_compiler, "Broken.sol", BROKEN)
    with pytest.raises(CompilationError) as caught:
        scratch_compiler.compile()
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == ("contracts/Broken.sol", 6, 16)
    assert "Undeclared identifier" in diagnostic.message
    assert "contracts/Broken.sol:6:16" in str(caught.value)


def test_compile_error_in_an_import_names_that_file(scratch_compiler):
    write(scratch_compiler, "Good.sol", GOOD)
    write(scratch_compiler, "lib/Lib.sol", LIB.replace("return 1;", "return 1"))
    with pytest.raises(CompilationError, match=r"contracts/lib/Lib\.sol:3:"):
        scratch_compiler.compile()


def test_empty_contracts_folder_is_reported(scratch_compiler):
    with pytest.raises(UsageError, match=r"no \.sol files"):
        scratch_compiler.compile()


def test_missing_contracts_folder_is_reported(scratch_compiler, tmp_path):
    missing = replace(scratch_compiler, contracts_dir=tmp_path / "nowhere")
    with pytest.raises(UsageError, match="does not exist"):
        missing.compile()
