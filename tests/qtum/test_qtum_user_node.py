"""A user's own qtumd, started as Qtum Core's docs start one (default mempool limits, no mock clock): a node
without -logevents is refused before anything is sent, our run gives its clock back, and households funded
on a node we do not mine spend confirmed coins (a default node refuses a 26th unconfirmed descendant)."""

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.anvil import free_port
from p2p_energy.chain.backend import Call
from p2p_energy.chain.market import market_codec
from p2p_energy.chain.qtum import QtumBackend
from p2p_energy.chain.qtum_rpc import NodeUrl, QtumRpc
from p2p_energy.networks import network
from p2p_energy.units import SATOSHI_PER_QTUM

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "p2p-energy"
DEMO = PROJECT / "scenarios" / "demo.toml"
#: A contract whose every call returns block.timestamp as the node sees it (TIMESTAMP, MSTORE, RETURN 32 bytes).
CLOCK_CONTRACT = "684260005260206000f360005260096017f3"
#: More households than a default node lets spend one unconfirmed transaction's outputs (25 descendants).
HOUSEHOLDS = 30


@contextmanager
def users_qtumd(qtumd: Path, datadir: Path, *, logevents: bool) -> Iterator[NodeUrl]:
    """qtumd -regtest as a user starts it by hand (no raised mempool limits, no mock clock), stopped after."""
    url = NodeUrl("http", "127.0.0.1", free_port(), "u", "p")
    datadir.mkdir(parents=True, exist_ok=True)
    args = [str(qtumd), "-regtest", f"-datadir={datadir}", f"-rpcport={url.port}", f"-port={free_port()}",
            "-rpcuser=u", "-rpcpassword=p", "-server", "-listen=0", "-fallbackfee=0.001", "-staking=0",
            "-printtoconsole=0", *(["-logevents"] if logevents else [])]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rpc = QtumRpc(url)
        deadline = time.monotonic() + 60
        while True:
            try:
                rpc.call("getblockchaininfo")
                break
            except Exception:
                assert time.monotonic() < deadline and process.poll() is None, "qtumd did not start"
                time.sleep(0.2)
        yield url
    finally:
        try:
            QtumRpc(url).call("stop")
            process.wait(timeout=30)
        except Exception:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def user_node(qtumd, tmp_path_factory) -> Iterator[tuple[NodeUrl, QtumRpc, str]]:
    """The user's node with a wallet `w` and mature coins: its URL, its wallet RPC, the funded address."""
    with users_qtumd(qtumd, tmp_path_factory.mktemp("users-qtumd"), logevents=True) as url:
        QtumRpc(url).call("createwallet", "w")
        wallet = QtumRpc(url, "w")
        address = str(wallet.call("getnewaddress"))
        wallet.call("generatetoaddress", 2_100, address)
        yield url, wallet, address


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=300, check=False, cwd=PROJECT)


def node_clock(wallet: QtumRpc, address: str) -> int:
    """block.timestamp as a call on the node sees it: the node's clock (mock or wall)."""
    created = wallet.call("createcontract", CLOCK_CONTRACT, 100_000, "0.0000004", address)
    wallet.call("generatetoaddress", 1, address)
    return int(wallet.call("callcontract", created["address"], "00")["executionResult"]["output"], 16)


def test_a_node_without_logevents_is_refused_in_one_line_naming_the_option(qtumd, tmp_path):
    with users_qtumd(qtumd, tmp_path / "node", logevents=False) as url:
        completed = cli("simulate", str(DEMO), "--backend", "qtum", "--rpc-url", url.with_credentials,
                        "--out", str(tmp_path / "out"))  # fmt: skip
        height = QtumRpc(url).call("getblockcount")
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "-logevents" in lines[0], completed.stderr
    assert height == 0  # nothing deployed, nothing mined


def test_a_deployment_on_a_users_node_gives_its_clock_back_to_the_wall_clock(user_node, tmp_path):
    url, wallet, address = user_node
    tip = int(wallet.call("getblockheader", wallet.call("getbestblockhash"))["time"])
    completed = cli("deploy", "--backend", "qtum", "--rpc-url", url.with_credentials,
                    "--deployments", str(tmp_path / "deployments"))  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    # The deployment mined at the tip's time, which 2,100 quick blocks put ahead of the wall clock.
    assert tip > time.time() + 60
    assert abs(node_clock(wallet, address) - time.time()) < 30


def test_households_funded_on_a_node_we_do_not_mine_can_all_send_at_once(user_node, compiled):
    _, wallet, address = user_node
    backend = QtumBackend(wallet, market_codec(compiled), network("qtum-regtest"), miner=None, receipt_timeout_s=120)
    operator = backend.wallet_account(address)
    households = [backend.account(keccak(text=f"user-node household {i}")) for i in range(HOUSEHOLDS)]
    stop = threading.Event()

    def mine() -> None:  # the network's blocks, one a second
        while not stop.is_set():
            wallet.call("generatetoaddress", 1, address)
            stop.wait(1.0)

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        token = backend.deploy("Clock", CLOCK_CONTRACT, b"", operator)
        funded = backend.fund(operator, {h.address: SATOSHI_PER_QTUM for h in households})
        assert [o.error for o in funded if not o.ok] == []
        sent = backend.send([Call("tick", h, token.address, b"\x00", 50_000) for h in households])
    finally:
        stop.set()
        miner.join()
    assert [o.error for o in sent if not o.ok] == []
