"""`p2p-energy export` on the command line."""

import json
import subprocess

import pytest

from tests.cli.conftest import CLI

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


def export(*args):
    return subprocess.run([str(CLI), "export", *args], capture_output=True, text=True, timeout=120, check=False)


def test_export_writes_the_artifacts_the_deployment_and_brownie_map(exported_market, tmp_path):
    done = export("--out", str(tmp_path / "out"), "--deployments", str(exported_market.records), "--brownie-build",
                  str(tmp_path / "build"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"deployment: {tmp_path / 'out' / 'deployment-31337.json'}" in done.stdout
    assert json.loads((tmp_path / "out" / "deployment-31337.json").read_text())["chain_id"] == 31337
    assert (tmp_path / "build" / "deployments" / "map.json").is_file()


def test_export_of_a_deployments_folder_that_is_not_there_exits_2(tmp_path):
    done = export("--out", str(tmp_path / "out"), "--deployments", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: --deployments {tmp_path / 'nowhere'} is not a folder"]
    assert not (tmp_path / "out").exists()
