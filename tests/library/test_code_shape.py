"""The package stays in small pieces: no function over 80 lines, no module over 600.

ruff keeps arguments, branches and statements per function in bounds
(pyproject.toml, PLR09xx); length is checked here.
"""

import ast
from pathlib import Path

import pytest

import p2p_energy

PACKAGE = Path(p2p_energy.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    return [
        (f"{node.name} (line {node.lineno})", node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
    ]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_longer_than_600_lines(module):
    lines = len(module.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module.name} has {lines} lines"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_longer_than_80_lines(module):
    long = [(name, lines) for name, lines in _functions(module) if lines > MAX_FUNCTION_LINES]
    assert long == []


def test_the_length_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n")
    assert _functions(tmp_path / "long.py") == [("long (line 1)", MAX_FUNCTION_LINES + 1)]
