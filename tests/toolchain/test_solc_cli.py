import json
import subprocess

import pytest
import solcx
from packaging.version import Version
from solcx.wrapper import get_solc_version

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

ENERGY_TOKEN = "contracts/EnergyToken.sol"
REMAPPING = "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"


def run(toolchain, *args, stdin=""):
    return subprocess.run(
        [str(toolchain.solc), *args], input=stdin, capture_output=True, text=True, cwd=toolchain.root, check=False
    )


def test_version_is_solc_0_8_28(toolchain):
    assert get_solc_version(toolchain.solc) == Version("0.8.28")


def test_version_output_has_the_native_solc_form(toolchain):
    lines = run(toolchain, "--version").stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith("Version: 0.8.28+commit.")


def test_py_solc_x_finds_the_installed_wrapper(solcx_home):
    assert Version("0.8.28") in solcx.get_installed_solc_versions()


def test_installing_twice_leaves_one_identical_wrapper(toolchain, solcx_home):
    from p2p_energy.solidity.toolchain import install_solc_wrapper

    before = (solcx_home / "solc-v0.8.28").read_text()
    install_solc_wrapper(toolchain, solcx_home)
    assert (solcx_home / "solc-v0.8.28").read_text() == before
    assert [p.name for p in solcx_home.iterdir()] == ["solc-v0.8.28"]


def test_standard_json_output_over_64_kib_arrives_whole(toolchain, solcx_home):
    source = (toolchain.root / ENERGY_TOKEN).read_text()
    request = {
        "language": "Solidity",
        "sources": {ENERGY_TOKEN: {"content": source}},
        "settings": {
            "remappings": [REMAPPING],
            "outputSelection": {"*": {"*": ["abi", "evm.legacyAssembly", "evm.bytecode"], "": ["ast"]}},
        },
    }
    completed = run(toolchain, "--standard-json", "--base-path", ".", stdin=json.dumps(request))
    assert len(completed.stdout.encode()) > 4 * 65_536
    output = json.loads(completed.stdout)
    assert output["contracts"][ENERGY_TOKEN]["EnergyToken"]["evm"]["bytecode"]["object"]


def test_standard_json_works_through_py_solc_x(toolchain, solcx_home):
    request = {
        "language": "Solidity",
        "sources": {"A.sol": {"content": "pragma solidity ^0.8.0; contract A { uint256 public x = 1; }"}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    output = solcx.compile_standard(request, solc_version="0.8.28")
    assert output["contracts"]["A.sol"]["A"]["abi"][0]["name"] == "x"


def test_combined_json_compiles_files_with_remappings(toolchain, solcx_home, monkeypatch):
    monkeypatch.chdir(toolchain.root)
    output = solcx.compile_files(
        [ENERGY_TOKEN],
        output_values=["abi", "bin", "bin-runtime", "srcmap", "hashes"],
        import_remappings=[REMAPPING],
        solc_version="0.8.28",
        optimize=True,
    )
    token = output[f"{ENERGY_TOKEN}:EnergyToken"]
    assert token["hashes"]["mint(address,uint256)"] == "40c10f19"
    assert token["bin-runtime"] and token["srcmap"]


def test_combined_json_reads_source_from_stdin(solcx_home):
    output = solcx.compile_source(
        "pragma solidity ^0.8.0; contract B { function f() external {} }",
        output_values=["abi", "bin"],
        solc_version="0.8.28",
    )
    assert output["<stdin>:B"]["abi"][0]["name"] == "f"


def test_combined_json_reports_a_compile_error_on_stderr(toolchain, tmp_path):
    broken = tmp_path / "Broken.sol"
    broken.write_text("pragma solidity ^0.8.0; contract C { function f() { } }")
    completed = run(toolchain, "--combined-json", "abi", str(broken))
    assert completed.returncode == 1
    assert "Broken.sol:1:" in completed.stderr


def test_help_lists_combined_json_outputs_for_py_solc_x(toolchain):
    line = next(i for i in run(toolchain, "--help").stdout.splitlines() if i.startswith("  --combined-json"))
    assert {"abi", "bin", "bin-runtime", "srcmap-runtime", "hashes"} <= set(line.split(" ")[-1].split(","))


def test_allow_paths_is_accepted(toolchain):
    completed = run(toolchain, "--combined-json", "abi", "--allow-paths", ".", "-", stdin="contract D {}")
    assert completed.returncode == 0, completed.stderr


def test_unknown_option_fails_with_a_message(toolchain):
    completed = run(toolchain, "--no-such-flag")
    assert completed.returncode == 1
    assert "unrecognised option '--no-such-flag'" in completed.stderr


def test_unknown_combined_output_is_rejected(toolchain):
    completed = run(toolchain, "--combined-json", "abi,nonsense", "-", stdin="contract D {}")
    assert completed.returncode == 1
    assert "nonsense" in completed.stderr
