"""A password in an RPC URL is never echoed: not in what `simulate` prints, nor in any file it writes."""

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain, free_port
from p2p_energy.solidity.toolchain import find_toolchain

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

PASSWORD = "pw-7f3a9c-never-shown"


@pytest.fixture(scope="module")
def chain():
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(find_toolchain().anvil, options) as chain:
        yield chain


def with_password(url: str) -> str:
    return url.replace("http://", f"http://operator:{PASSWORD}@")


def everything_written(completed, tmp_path) -> str:
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"]
    return "\n".join([completed.stdout, completed.stderr, *files])


def test_a_run_through_a_url_with_a_password_writes_the_password_nowhere(cli, chain, tiny_scenario, tmp_path):
    out, records = tmp_path / "out", tmp_path / "deployments"
    completed = cli("simulate", str(tiny_scenario), "--rpc-url", with_password(chain.url), "--out", str(out),
                    "--deployments", str(records))  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert (out / "summary.json").exists() and list(records.iterdir())
    assert PASSWORD not in everything_written(completed, tmp_path)
    assert "operator:***@" in (out / "summary.json").read_text()


def test_a_url_with_a_password_where_no_node_answers_is_named_without_it(cli, tiny_scenario, tmp_path):
    url = with_password(f"http://127.0.0.1:{free_port()}")
    completed = cli("simulate", str(tiny_scenario), "--rpc-url", url, "--out", str(tmp_path / "out"))
    assert completed.returncode == 2
    assert PASSWORD not in completed.stderr + completed.stdout
    assert "operator:***@127.0.0.1" in completed.stderr
