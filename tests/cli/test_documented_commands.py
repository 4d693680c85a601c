"""Every command the README and docs/ show is one the code has: each `p2p-energy ...` parses with the
real parser (options, choices and all), each `make TARGET` is a target of the Makefile, and each
`python -m MODULE` is a module of the package. The commands themselves run in their own tests
(`make test` in CI, `simulate` and `report` in tests/cli, the README's client example in tests/export)."""

import contextlib
import importlib.util
import io
import re
import shlex
from pathlib import Path

import pytest

from p2p_energy.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The placeholders the docs write in capitals, each with a value the parser accepts in its place.
PLACEHOLDERS = {
    "DIR": "reports/demo",
    "SCENARIO": "scenarios/demo.toml",
    "FILE": "chain.json",
    "TARGET": "london",
    "N": "1",
    "PATH": "out.html",
}


def shown(prefix: str) -> list[tuple[str, str]]:
    """(page, command) for every inline `prefix ...` span of the README and docs/."""
    found = []
    for page in PAGES:
        for command in re.findall(rf"`({re.escape(prefix)}[^`]*)`", page.read_text()):
            found.append((page.name, command))
    return sorted(set(found))


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def exit_code(argv: list[str]) -> int:
    """What the real parser makes of argv: 0 when it parses (or prints help), else its exit code."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            build_parser().parse_args(argv)
        except SystemExit as stop:
            return int(stop.code or 0)
    return 0


@pytest.mark.parametrize(("page", "command"), shown("p2p-energy "))
def test_each_documented_p2p_energy_command_parses(page, command):
    # a synopsis's [optional] parts are given, a placeholder gets a value, `DIR...` is one more DIR
    words = [word.strip("[]").removesuffix("...") for word in shlex.split(command)[1:]]
    words = [PLACEHOLDERS.get(word, word) for word in words]
    if words and words[0] == "COMMAND":  # `p2p-energy COMMAND --help`: every command's help
        words = ["--help"]
    elif len(words) == 1 and not words[0].startswith("-"):  # a command named in prose: it exists
        words.append("--help")
    assert exit_code(words) == 0, f"{page}: `{command}` does not parse"


@pytest.mark.parametrize(("page", "command"), shown("make "))
def test_each_documented_make_command_is_a_target(page, command):
    assert shlex.split(command)[1] in makefile_targets(), f"{page}: `{command}` is not a Makefile target"


@pytest.mark.parametrize(("page", "command"), shown("python -m "))
def test_each_documented_python_module_exists(page, command):
    module = shlex.split(command)[2]
    assert importlib.util.find_spec(module) is not None, f"{page}: `{command}` names no module"


def test_the_docs_show_commands_of_each_kind():
    assert len(shown("p2p-energy ")) > 20 and len(shown("make ")) > 10
