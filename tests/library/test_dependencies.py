"""pyproject.toml's runtime dependencies are what the package imports: every library it imports is
declared, and every declared one is imported (but pyarrow, which pandas loads to read Parquet).
brownie is the extra `brownie` (scripts/ and the tests import it, the package never does)."""

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Declared though never imported by name: pandas' Parquet engine (domain/meter_data.py reads Parquet).
LOADED_BY_OTHERS = {"pyarrow"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def imported() -> set[str]:
    """The distributions of every third-party module the package imports, anywhere in a module."""
    modules: set[str] = set()
    for path in (ROOT / "p2p_energy").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"p2p_energy", "__future__"}
    providers = importlib.metadata.packages_distributions()
    return {_name(providers[module][0]) for module in third_party}


def test_every_library_the_package_imports_is_a_declared_dependency(project, imported):
    declared = {_name(r) for r in project["dependencies"]}
    assert sorted(imported - declared) == []


def test_every_declared_dependency_is_imported_by_the_package(project, imported):
    declared = {_name(r) for r in project["dependencies"]}
    assert sorted(declared - imported - LOADED_BY_OTHERS) == []


def test_brownie_is_an_extra_not_a_runtime_dependency(project):
    assert "eth-brownie" not in {_name(r) for r in project["dependencies"]}
    assert [_name(r) for r in project["optional-dependencies"]["brownie"]] == ["eth-brownie"]
