"""The README's client example, taken from README.md and run against a deployed, exported market."""

import contextlib
import io
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- client example: tests/export/test_readme_client.py runs it -->"


def readme_example() -> str:
    text = README.read_text()
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", text, re.S)
    assert found, f"README.md has no ```python block after {MARKER}"
    return found.group(1)


def test_the_readme_client_example_is_at_most_ten_lines():
    assert len(readme_example().strip().splitlines()) <= 10


def test_the_readme_client_example_runs_and_prints_the_deposit(exported_market, monkeypatch):
    code = readme_example().replace("http://127.0.0.1:8545", exported_market.chain.url)
    monkeypatch.chdir(exported_market.out.parents[1])  # where build/export/ is
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})
    me, escrow = exported_market.record.deployer, exported_market.record.addresses["EnergyEscrow"]
    assert printed.getvalue().splitlines()[-2:] == [
        f"(Deposited(account='{me}', amount=100000000), Transfer(from_='{me}', to='{escrow}', value=100000000))",
        "100000000 0",
    ]
