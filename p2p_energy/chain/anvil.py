"""Local anvil chains: a real anvil process on a free loopback port.

A :class:`LocalChain` is a real anvil process on a free loopback port, with
the hardfork that matches the EVM target the contracts were compiled for
(a contract built for shanghai uses PUSH0, which a london chain rejects).
It is a context manager: leaving the block stops the process, and
:meth:`LocalChain.stop` waits until it is gone. If we die first, SIGKILL
included, the kernel kills anvil too, and a later chain removes the
temporary folder left behind (see :mod:`p2p_energy.chain.processes`).

A chain with a state file (`ChainOptions.state_path`, `chain --state`) is
loaded from it at start (anvil --load-state) and saved by us, whole, every
second and when it stops (see :mod:`p2p_energy.chain.anvil_state`).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.anvil_state import StateKeeper, check_state_folder, unloadable
from p2p_energy.chain.backend import ChainError
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.processes import claim, deferred_signals, die_with_us, scratch_folder, signal_group, wait_or_kill
from p2p_energy.chain.rpc import connect
from p2p_energy.defaults import ANVIL_CHAIN_ID as ANVIL_CHAIN_ID
from p2p_energy.errors import UsageError
from p2p_energy.networks import DEFAULT_EVM_VERSION, EVM_VERSIONS, NetworkPreset, network

#: anvil's --hardfork value for each EVM target; the names coincide, and the
#: table is here so that a new target must be added on purpose.
HARDFORK_FOR_EVM = {evm: evm for evm in EVM_VERSIONS}
_START_TIMEOUT_S = 20.0
#: Account 0 of anvil's (and hardhat's) public default mnemonic "test test ... junk".
#: Everybody knows it, so it may sign only on a chain with anvil's chain id.
ANVIL_FIRST_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
_STOP_TIMEOUT_S = 10.0
#: Block gas limit of the chains `simulate` starts for itself (and `chain --simulation`).
SIMULATION_BLOCK_GAS_LIMIT = 1_000_000_000
#: States of its last blocks the chain `simulate` starts for itself keeps (anvil --prune-history N): its peak
#: memory on a city-scale day halves (1,053 -> 532 MiB). The runner reads at `latest` and from blocks and
#: receipts (never pruned); a revert is replayed in the send that mined it (city-day mines at most 6 blocks
#: in one send), and older ones are explained from the traces anvil stores. Nothing else ever asks that chain.
SIMULATION_PRUNE_HISTORY = 8
#: The temporary folders of local chains (a killed run's are removed by a later run: see chain.processes).
WORKDIR_PREFIX = "p2p-energy-anvil-"


@dataclass(frozen=True)
class ChainAccount:
    """A funded account of a local chain, with its private key."""

    address: str
    private_key: str


@dataclass(frozen=True)
class ChainOptions:
    """How to start anvil. `port=0` picks a free loopback port."""

    evm_version: str = DEFAULT_EVM_VERSION
    port: int = 0
    chain_id: int = ANVIL_CHAIN_ID
    accounts: int = 10
    balance_ether: int = 10_000
    block_gas_limit: int | None = None
    gas_price_wei: int | None = None
    #: Starting base fee, with anvil's suggested priority fee off: eth_gasPrice
    #: then starts at exactly this value and cheaper transactions are refused
    #: (from london on anvil ignores --gas-price in both). Blocks under half
    #: full lower the base fee, as on Ethereum: anvil has no fixed price floor.
    base_fee_wei: int | None = None
    #: Keep only the states of the last N blocks (anvil --prune-history N); None or 0: keep them all.
    #: anvil's memory about halves over a city-scale day, but calls and replays against older blocks
    #: fail (EvmBackend.explain_revert then reads an old revert's reason from the trace anvil stored).
    prune_history: int | None = None
    #: Keep the chain in this file: loaded at start if it exists, saved whole every second and when the
    #: chain stops (see the module's doc); a chain started again with the same file continues from its last save.
    state_path: Path | None = None

    def __post_init__(self) -> None:
        if self.evm_version not in HARDFORK_FOR_EVM:
            raise UsageError(f"unknown EVM target {self.evm_version!r}: choose one of {', '.join(HARDFORK_FOR_EVM)}")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"port must be between 1 and 65535 (or 0 for any free port), got {self.port}")
        if self.accounts < 1:
            raise UsageError(f"a local chain needs at least one account, got {self.accounts}")
        if self.chain_id < 1:
            raise UsageError(f"chain id must be positive, got {self.chain_id}")
        if self.base_fee_wei is not None and self.base_fee_wei < 0:
            raise UsageError(f"base fee must not be negative, got {self.base_fee_wei}")
        if isinstance(self.prune_history, bool) or (self.prune_history or 0) < 0:
            raise UsageError(f"--prune-history takes a number of states to keep (0: all), got {self.prune_history!r}")
        if self.state_path is not None and self.prune_history:
            raise UsageError("a chain kept in a state file keeps its history: drop one of --state, --prune-history")

    @property
    def hardfork(self) -> str:
        return HARDFORK_FOR_EVM[self.evm_version]


def chain_options(
    preset: str | NetworkPreset,
    *,
    port: int = 0,
    accounts: int = 10,
    evm_version: str | None = None,
    chain_id: int | None = None,
) -> ChainOptions:
    """Options for a local anvil chain that imitates `preset` (a p2p_energy.networks preset or its name).

    Chain id, block gas limit and gas price follow the preset. The gas price
    floor becomes anvil's starting base fee (see ChainOptions.base_fee_wei):
    anvil has no legacy-only mode and no fixed minimum gas price, so it takes
    typed transactions too; our client sends type-0 transactions anyway.
    """
    chosen = network(preset)
    floor = chosen.min_gas_price_wei or None
    return ChainOptions(
        evm_version=evm_version or chosen.evm_version,
        port=port,
        chain_id=chain_id if chain_id is not None else chosen.chain_id,
        accounts=accounts,
        block_gas_limit=chosen.block_gas_limit,
        gas_price_wei=floor,
        base_fee_wei=floor,
    )


def simulation_options(
    evm_version: str = DEFAULT_EVM_VERSION,
    *,
    port: int = 0,
    accounts: int = 10,
    chain_id: int = ANVIL_CHAIN_ID,
    prune_history: int | None = None,
) -> ChainOptions:
    """The chain `simulate` starts for itself: a roomy block gas limit (a whole phase of a city-scale day fits
    one block) and no base fee (gas costs nothing, so simulated households need no coin); `simulate` also
    keeps only the last SIMULATION_PRUNE_HISTORY states, `chain --simulation` keeps them all."""
    return ChainOptions(
        evm_version, port=port, chain_id=chain_id, accounts=accounts,
        block_gas_limit=SIMULATION_BLOCK_GAS_LIMIT, base_fee_wei=0, prune_history=prune_history,
    )  # fmt: skip


def check_port_free(port: int) -> None:
    """UsageError if something listens on loopback `port` (a chosen port; 0 picks a free one later)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only a listener makes the port taken
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise UsageError(f"port {port} is in use; choose another --port") from None


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalChain:
    """A real anvil process; use as `with LocalChain(anvil_path) as chain:`."""

    def __init__(self, anvil: Path, options: ChainOptions | None = None):
        self.anvil = anvil
        self.options = options or ChainOptions()
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._port = 0
        self._keeper: StateKeeper | None = None
        self.accounts: list[ChainAccount] = []

    @property
    def url(self) -> str:
        if self._process is None:
            raise ChainError("the local chain is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self, port: int, config_out: Path) -> list[str]:
        opts = self.options
        cmd = [
            str(self.anvil),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--hardfork", opts.hardfork,
            "--chain-id", str(opts.chain_id),
            "--accounts", str(opts.accounts),
            "--balance", str(opts.balance_ether),
            "--config-out", str(config_out),
        ]  # fmt: skip
        if opts.block_gas_limit is not None:
            cmd += ["--gas-limit", str(opts.block_gas_limit)]
        if opts.gas_price_wei is not None:
            cmd += ["--gas-price", str(opts.gas_price_wei)]
        if opts.base_fee_wei is not None:
            cmd += ["--base-fee", str(opts.base_fee_wei), "--no-priority-fee"]
        if opts.prune_history:
            cmd += ["--prune-history", str(opts.prune_history)]
        if opts.state_path is not None and opts.state_path.exists():
            cmd += ["--load-state", str(opts.state_path)]
        return cmd

    def start(self) -> LocalChain:
        """Start anvil and wait until it answers RPC calls."""
        if self._process is not None:
            raise ChainError("the local chain is already running")
        check_port_free(self.options.port)
        if self.options.state_path is not None:
            check_state_folder(self.options.state_path)
        self._workdir = scratch_folder(WORKDIR_PREFIX)
        config_out = self.workdir / "config.json"
        log_path = self.workdir / "anvil.log"
        self._port = self.options.port or free_port()
        try:
            with deferred_signals(), log_path.open("wb") as log:
                # A session of its own, so that stop() can signal anvil and anything it spawned without
                # touching our own process group; SIGKILLed by the kernel if we die first.
                self._process = subprocess.Popen(
                    self.command(self._port, config_out),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=die_with_us(signal.SIGKILL),
                )
                claim(self.workdir, self._process.pid)
            self._wait_ready(config_out, log_path)
            if self.options.state_path is not None:
                self._keeper = StateKeeper(self.url, self.options.state_path)
                self._keeper.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, config_out: Path, log_path: Path) -> None:
        assert self._process is not None
        state = self.options.state_path
        # Loading a state file takes anvil about 1 s per 100 MB here: a quarter of that speed is allowed for.
        timeout = _START_TIMEOUT_S + (state.stat().st_size / 25e6 if state is not None and state.exists() else 0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = log_path.read_text(errors="replace").strip()
                if self.options.port and "Address already in use" in log:
                    raise UsageError(f"port {self.options.port} is in use; choose another --port")
                if self.options.state_path is not None and "--load-state" in log:
                    raise unloadable(self.options.state_path, log)
                raise ChainError(f"anvil exited with code {self._process.returncode}: {log[-500:]}")
            config = _written_config(config_out) if _answers(self._port) else None
            if config is not None:
                self.accounts = [
                    ChainAccount(str(to_checksum_address(a)), k)
                    for a, k in zip(config["available_accounts"], config["private_keys"], strict=True)
                ]
                return
            time.sleep(0.05)
        raise ChainError(f"anvil did not answer on port {self._port} within {timeout:.0f} s")

    @property
    def workdir(self) -> Path:
        """This chain's temporary folder (anvil's config and log), removed when it stops."""
        if self._workdir is None:
            raise ChainError("the local chain is not running")
        return Path(self._workdir.name)

    def exit_code(self) -> int | None:
        """anvil's exit code if it has ended by itself, None while it runs."""
        return self._process.poll() if self._process is not None else None

    @property
    def state_error(self) -> str | None:
        """Why the state file could not be saved (one line), if it could not."""
        return self._keeper.error if self._keeper is not None else None

    def stop(self) -> None:
        """Stop anvil and wait for it to exit, its folder removed; safe to call twice, never cut short by a signal.

        A chain with a state file is saved first (while anvil still runs); see :attr:`state_error`.
        """
        with deferred_signals():
            process, self._process = self._process, None
            if self._keeper is not None:
                self._keeper.stop(final_save=process is not None and process.poll() is None)
            if process is not None and process.poll() is None:
                signal_group(process.pid, signal.SIGTERM)
                wait_or_kill(process, _STOP_TIMEOUT_S)
            if self._workdir is not None:
                self._workdir.cleanup()
                self._workdir = None

    def web3(self) -> Web3:
        return connect(self.url)

    def backend(self, codec: AbiCodec, **options: Any) -> EvmBackend:
        """The chain backend for this anvil: it mines the blocks itself (automine off until it is closed);
        `options` as for EvmBackend (gas_price, batched)."""
        return EvmBackend(self.web3(), codec, can_mine=True, **options)

    def __enter__(self) -> LocalChain:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _written_config(config_out: Path) -> dict[str, Any] | None:
    """anvil's --config-out file once it is whole: anvil may answer on its port a moment before it has
    written the file (seen empty under load), so an empty or partly written file means "not yet"."""
    try:
        config = json.loads(config_out.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return config if isinstance(config, dict) and "private_keys" in config else None
