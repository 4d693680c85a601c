"""Every kind of bad data file through `p2p-energy simulate`: one `error:` line, exit code 2, nothing sent.

"Nothing sent" is checked on a real anvil, as in test_bad_input_cli.py: its block number does not
move and no run record is written. What each message says in full is tested in
tests/library/test_meter_data_errors.py; here, that it reaches the user before the chain does.
"""

import subprocess

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.run.resume import RUN_RECORD_FILE
from p2p_energy.solidity.toolchain import find_toolchain

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SCENARIO = """
name = "metered"
seed = 7
slots = 4
start_hour = 11.0

[site]
latitude = 30.27
longitude = 120.16
timezone = "Asia/Shanghai"
date = 2026-06-17

[loads]
file = "meters.csv"
unit = "kWh"

[[households]]
name = "solar"
pv_kwp = 6.0
load_kwh_per_day = 4.0

[[households]]
name = "home"
count = 2
load_profile = "measured"
"""
STAMPS = [f"2026-06-17T{11 + k // 4}:{15 * (k % 4):02d}:00" for k in range(4)]
GOOD = "time,home-001,home-002\n" + "".join(f"{stamp},0.2,0.3\n" for stamp in STAMPS)
CASES = {
    "missing step": GOOD.replace(f"{STAMPS[1]},0.2,0.3\n", ""),
    "duplicated step": GOOD + f"{STAMPS[2]},0.2,0.3\n",
    "negative energy": GOOD.replace(f"{STAMPS[2]},0.2,", f"{STAMPS[2]},-0.2,"),
    "wrong units": GOOD.replace(",0.2,0.3", ",200,300"),
    "wrong resolution": GOOD.replace("11:15:00", "11:10:00").replace("11:30:00", "11:20:00").replace("11:45", "11:30"),
    "time zone mismatch": GOOD.replace(":00,", ":00+02:00,"),
    "fewer series than households": "time,home-001\n" + "".join(f"{stamp},0.2\n" for stamp in STAMPS),
}


@pytest.fixture(scope="module")
def chain():
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(find_toolchain().anvil, options) as chain:
        yield chain


def simulate(cli, tmp_path, chain, meters: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "metered.toml").write_text(SCENARIO)
    (tmp_path / "meters.csv").write_text(meters)
    out = ["--out", str(tmp_path / "out"), "--deployments", str(tmp_path / "deployments")]
    return cli("simulate", str(tmp_path / "metered.toml"), "--rpc-url", chain.url, *out)


def test_the_good_file_runs(cli, tmp_path, chain):
    completed = simulate(cli, tmp_path, chain, GOOD)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_data_file_exits_2_with_one_line_and_sends_nothing(cli, tmp_path, chain, case):
    before = chain.web3().eth.block_number
    completed = simulate(cli, tmp_path, chain, CASES[case])
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == 2 and len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: ") and "loads.file" in lines[0] and case in lines[0]
    assert chain.web3().eth.block_number == before
    assert not (tmp_path / "out" / RUN_RECORD_FILE).exists()
