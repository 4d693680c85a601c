"""A local Qtum regtest node, like our local anvil: started on free ports, stopped with nothing left behind.

:class:`QtumNode` runs `qtumd -regtest` in a temporary data folder (or one
you name, to keep the chain) with `-logevents` (receipts and logs), a wallet,
and mature coins: regtest coinbase coins need 2,000 confirmations, so a new
chain is mined to height 2,100 (about 7 s), which leaves 2,000,000 QTUM to
spend. Mass mining pushes the tip's time ahead of the wall clock, so the
node's clock is pinned to the tip with `setmocktime`; from then on the chain
backend moves it (see :mod:`p2p_energy.chain.qtum`).

The node runs in a session of its own (so a Ctrl-C to our process group
does not reach it mid-write) and is stopped, when the `with` block ends, by
the `stop` RPC, then SIGKILL if it does not exit. If we die first (even by
SIGKILL) the kernel sends it SIGTERM, on which qtumd flushes and exits; a
temporary data folder left so is removed by a later run (see
:mod:`p2p_energy.chain.processes`).

Staking is off (`-staking=0`): a Qtum wallet with mature coins otherwise
mints proof-of-stake blocks by itself, at whatever time its clock says, and
takes the run's pending transactions into them.

The mempool limits of unconfirmed transactions per sender (25 ancestors and
descendants by default) are raised on this node, so a phase of a run (the
operator alone sends hundreds of transactions per phase in a city-scale
day) goes out in one round and is mined in one go; on nodes we do not start
the backend sends in rounds of 25 per sender instead.

qtumd is found via `--qtumd PATH`, then `$QTUMD`, then `PATH`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.anvil import check_port_free, free_port
from p2p_energy.chain.backend import ChainError, NodeGone
from p2p_energy.chain.processes import claim, deferred_signals, die_with_us, scratch_folder, wait_or_kill
from p2p_energy.chain.qtum import QtumBackend
from p2p_energy.chain.qtum_rpc import NodeUrl, QtumRpc, QtumRpcError
from p2p_energy.defaults import QTUMD_ENV as QTUMD_ENV
from p2p_energy.errors import UsageError
from p2p_energy.networks import network

GET_QTUM = (
    "no qtumd found: pass --qtumd PATH, set $QTUMD, or put Qtum Core's bin/ on PATH "
    "(release binaries: github.com/qtumproject/qtum/releases)"
)
WALLET = "p2p-energy"
#: Regtest coinbase coins mature after 2,000 blocks: 2,100 leave 100 mature coinbases (2,000,000 QTUM).
MATURE_HEIGHT = 2_100
#: Unconfirmed transactions one sender may have in the mempool on our node (Qtum's default: 25).
RAISED_MEMPOOL_LIMIT = 100_000
#: Size limit (kvB) of one sender's chain of unconfirmed transactions; qtumd wants -maxmempool >= 40x it (MB).
_CHAIN_KVB = 10_000
#: How far ahead of the wall clock a restarted node's clock starts (ten years).
_FAR_AHEAD_S = 10 * 365 * 86_400
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0
_USER = "p2p-energy"
#: The temporary data folders of regtest nodes (a killed run's are removed by a later run: see chain.processes).
DATADIR_PREFIX = "p2p-energy-qtumd-"


def find_qtumd(explicit: str | Path | None = None) -> Path:
    """qtumd from `explicit`, else $QTUMD, else PATH; UsageError (how to get Qtum Core) if none."""
    named = os.environ.get(QTUMD_ENV)
    for candidate, given_as in ((explicit, "--qtumd"), (named, f"${QTUMD_ENV}"), (shutil.which("qtumd"), "")):
        if candidate:
            path = Path(candidate)
            if path.is_file() and os.access(path, os.X_OK):
                return path
            if given_as:  # what the user named is wrong: say so, not "none found"
                what = "not executable (chmod +x it)" if path.is_file() else "no file there"
                raise UsageError(f"{given_as} {candidate}: {what}; or name Qtum Core's qtumd")
    raise UsageError(GET_QTUM)


@dataclass(frozen=True)
class QtumNodeOptions:
    """How to start qtumd. `port=0` picks free loopback ports; `datadir` None: a temporary one, removed at stop."""

    rpc_port: int = 0
    datadir: Path | None = None


class QtumNode:
    """A real `qtumd -regtest`; use as `with QtumNode(qtumd) as node:`."""

    def __init__(self, qtumd: Path, options: QtumNodeOptions | None = None):
        self.qtumd = qtumd
        self.options = options or QtumNodeOptions()
        self._process: subprocess.Popen[bytes] | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._datadir: Path | None = None
        self._password = os.urandom(12).hex()
        self._rpc_port = 0
        self._restarted = False
        self.miner = ""

    @property
    def url(self) -> NodeUrl:
        if self._process is None:
            raise ChainError("the Qtum node is not running")
        return NodeUrl("http", "127.0.0.1", self._rpc_port, _USER, self._password)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def rpc(self) -> QtumRpc:
        """RPC to the node's wallet."""
        return QtumRpc(self.url, WALLET)

    def backend(self, codec: AbiCodec, block_time: int | None = None) -> QtumBackend:
        """The chain backend for this node: it mines (to the wallet's funded address), one round per phase
        (and per 500 calls), a block every `block_time` seconds of chain time if given."""
        return QtumBackend(
            self.rpc(), codec, network("qtum-regtest"), miner=self.miner, max_unconfirmed=RAISED_MEMPOOL_LIMIT,
            block_time=block_time,
        )  # fmt: skip

    def command(self, datadir: Path) -> list[str]:
        limit = str(RAISED_MEMPOOL_LIMIT)
        # A chain whose time a run moved ahead of the wall clock holds blocks "from the future", which qtumd
        # refuses at start; a mock clock far ahead lets it load them, and _prepare_wallet pins it to the tip.
        self._restarted = (datadir / "regtest" / "blocks").is_dir()
        restart = [f"-mocktime={int(time.time()) + _FAR_AHEAD_S}"] if self._restarted else []
        return [
            str(self.qtumd), "-regtest", f"-datadir={datadir}", *restart,
            f"-rpcport={self._rpc_port}", f"-port={free_port()}", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
            f"-rpcuser={_USER}", f"-rpcpassword={self._password}",
            "-server", "-listen=0", "-logevents", "-fallbackfee=0.001", "-printtoconsole=0", "-staking=0",
            f"-limitancestorcount={limit}", f"-limitdescendantcount={limit}",
            f"-limitancestorsize={_CHAIN_KVB}", f"-limitdescendantsize={_CHAIN_KVB}", "-maxmempool=1000",
            "-rpcworkqueue=64", "-rpcthreads=8",
        ]  # fmt: skip

    def start(self) -> QtumNode:
        """Start qtumd, wait for RPC, then make sure a wallet with mature coins exists."""
        if self._process is not None:
            raise ChainError("the Qtum node is already running")
        check_port_free(self.options.rpc_port)
        if self.options.datadir is None:
            self._tempdir = scratch_folder(DATADIR_PREFIX)
            self._datadir = Path(self._tempdir.name)
        else:
            self._datadir = self.options.datadir
            self._datadir.mkdir(parents=True, exist_ok=True)
        self._rpc_port = self.options.rpc_port or free_port()
        try:
            with deferred_signals(), (self._datadir / "p2p-energy-qtumd.log").open("wb") as log:
                # SIGTERM from the kernel if we die first: qtumd then shuts down as on `stop`, flushing its chain.
                self._process = subprocess.Popen(
                    self.command(self._datadir), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, preexec_fn=die_with_us(signal.SIGTERM),
                )  # fmt: skip
                if self._tempdir is not None:
                    claim(self._datadir, self._process.pid)
            self._wait_ready()
            self._prepare_wallet()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None and self._datadir is not None
        node = QtumRpc(self.url)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = (self._datadir / "p2p-energy-qtumd.log").read_text(errors="replace").strip()
                raise ChainError(f"qtumd exited with code {self._process.returncode}: {log[-500:]}")
            with contextlib.suppress(NodeGone, QtumRpcError):
                info = node.call("getblockchaininfo")
                # A restarted node answers before it has connected every stored block: wait for them.
                if info["blocks"] == info["headers"]:
                    return
            time.sleep(0.1)
        raise ChainError(f"qtumd did not answer on port {self._rpc_port} within {_START_TIMEOUT_S:.0f} s")

    def _prepare_wallet(self) -> None:
        """Load or create the wallet, mine to coin maturity if needed, and pin the clock to the tip."""
        node = QtumRpc(self.url)
        if WALLET not in node.call("listwallets"):
            try:
                node.call("loadwallet", WALLET)
            except QtumRpcError:
                node.call("createwallet", WALLET)
        wallet = self.rpc()
        labelled = wallet.call("getaddressesbylabel", "miner") if _has_label(wallet, "miner") else {}
        self.miner = next(iter(labelled), None) or str(wallet.call("getnewaddress", "miner"))
        if self._restarted:
            # The clock first: a restarted node's clock starts far ahead (see command), and a block mined
            # before it is pinned to the tip would be stamped ten years on.
            node.call("setmocktime", int(node.call("getblockheader", node.call("getbestblockhash"))["time"]))
        height = int(node.call("getblockcount"))
        if height < MATURE_HEIGHT:
            wallet.call("generatetoaddress", MATURE_HEIGHT - height, self.miner)
        node.call("setmocktime", int(node.call("getblockheader", node.call("getbestblockhash"))["time"]))

    @property
    def datadir(self) -> Path:
        """The node's data folder: --datadir, or a temporary one removed when it stops."""
        if self._datadir is None:
            raise ChainError("the Qtum node is not running")
        return self._datadir

    def exit_code(self) -> int | None:
        """qtumd's exit code if it has ended by itself, None while it runs."""
        return self._process.poll() if self._process is not None else None

    def stop(self) -> None:
        """Stop qtumd and wait for it to exit; the temporary data folder goes too.

        Safe to call twice; SIGINT, SIGTERM and SIGHUP wait until it is done.
        """
        with deferred_signals():
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                with contextlib.suppress(Exception):  # the RPC may be gone already; signals follow
                    url = NodeUrl("http", "127.0.0.1", self._rpc_port, _USER, self._password)
                    QtumRpc(url, timeout_s=5).call("stop")
                wait_or_kill(process, _STOP_TIMEOUT_S)
            if self._tempdir is not None:
                self._tempdir.cleanup()
                self._tempdir = None

    def __enter__(self) -> QtumNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _has_label(wallet: QtumRpc, label: str) -> bool:
    return label in wallet.call("listlabels")
