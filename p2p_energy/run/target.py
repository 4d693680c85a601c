"""Where a command runs: a local anvil it starts, or any node at an RPC URL, as a chain backend.

`deploy` and `simulate` share this: start (or connect to) the chain, check
its chain id against the named network preset before anything is sent, find
the deployer's key, pick the gas price, and hand back a
:class:`~p2p_energy.chain.backend.ChainBackend` for everything else.
Whether chain time can be moved (anvil: yes, through mining; any other node:
the run waits for it) is the backend's `can_mine`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import (
    ANVIL_CHAIN_ID,
    ANVIL_FIRST_DEV_KEY,
    SIMULATION_BLOCK_GAS_LIMIT,
    SIMULATION_PRUNE_HISTORY,
    ChainOptions,
    LocalChain,
    chain_options,
    simulation_options,
)
from p2p_energy.chain.backend import ChainBackend, ChainError
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.qtum import QtumBackend
from p2p_energy.chain.qtum_rpc import NodeUrl, QtumRpc, QtumRpcError
from p2p_energy.chain.qtumd import QtumNode, find_qtumd
from p2p_energy.chain.rpc import connect, redacted_url
from p2p_energy.defaults import BACKENDS as BACKENDS
from p2p_energy.defaults import DEFAULT_BACKEND
from p2p_energy.defaults import PRIVATE_KEY_ENV as PRIVATE_KEY_ENV
from p2p_energy.errors import UsageError
from p2p_energy.networks import DEFAULT_EVM_VERSION, network, network_names
from p2p_energy.run.deployment_record import network_for_chain_id

#: Block gas limit of the local chains `simulate` starts with the `local`
#: profile: a whole phase of a city-scale day fits one block.
LOCAL_BLOCK_GAS_LIMIT = SIMULATION_BLOCK_GAS_LIMIT


@dataclass(frozen=True)
class TargetOptions:
    """How to reach the chain; see the CLI's --rpc-url, --network, --profile, --private-key."""

    rpc_url: str | None = None
    network: str | None = None
    profile: str | None = None
    evm_version: str = DEFAULT_EVM_VERSION
    private_key: str | None = None
    accounts: int = 10
    #: For `simulate`: a roomy block gas limit and no base fee on a `local` chain.
    simulation: bool = False
    #: Without a key, send as the node's first account (eth_sendTransaction), as through Qtum's Janus.
    node_accounts: bool = False
    #: False: one transaction per action, each waited for (the benchmark's baseline).
    batched: bool = True
    #: "evm" (any Ethereum JSON-RPC node) or "qtum" (qtumd's own RPC).
    backend: str = DEFAULT_BACKEND
    #: Where qtumd is (--qtumd); None: $QTUMD, then PATH.
    qtumd: str | None = None
    #: With --backend qtum: a block only every this many seconds of chain time (mainnet: 32); on a node we
    #: do not mine, the spacing its blocks are expected at. None: a block whenever a phase needs one.
    block_time: int | None = None
    #: False (--no-mine): never mine, wait for the node's own blocks, even on a regtest node.
    mine: bool = True

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise UsageError(f"unknown backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if self.backend == "qtum":
            evm_only = [
                name
                for name, given in (
                    ("--profile", self.profile is not None),
                    ("--private-key", self.private_key is not None),
                    ("--node-accounts", self.node_accounts),
                )
                if given
            ]
            if evm_only:
                raise UsageError(
                    f"{', '.join(evm_only)} shape an EVM chain and do not go with --backend qtum "
                    "(on Qtum the operator is the node wallet's funded address)"
                )
        elif self.qtumd is not None:
            raise UsageError("--qtumd goes with --backend qtum")
        elif self.block_time is not None:
            raise UsageError("--block-time goes with --backend qtum (anvil mines a block whenever a phase needs one)")
        if self.block_time is not None and self.block_time <= 0:
            raise UsageError(f"--block-time {self.block_time}: give a positive number of seconds (mainnet: 32)")
        if not self.mine and self.rpc_url is None:
            raise UsageError("--no-mine goes with --rpc-url: a chain started here has nobody else to mine it")
        if self.rpc_url is None and (self.network is not None or self.private_key is not None):
            raise UsageError("--network and --private-key go with --rpc-url; a local chain takes --profile")
        if self.rpc_url is not None and self.profile is not None:
            raise UsageError("--profile shapes a local chain; with --rpc-url, name the chain's preset with --network")


@dataclass(frozen=True)
class Target:
    """A chain ready for transactions."""

    chain: ChainBackend
    url: str
    network: str
    admin: Account
    #: accounts the node holds and unlocks (anvil's dev accounts, a Qtum wallet behind Janus).
    node_accounts: tuple[str, ...]
    #: A chain this command started, which ends with it.
    local_chain: LocalChain | None = None
    started_here: bool = False
    #: Where the deployment record of a chain started here goes: a temporary folder that ends with the chain,
    #: so that it never overwrites, in deployments/, the record of a chain that outlives the command
    #: (one `p2p-energy chain` runs, with the same network name and chain id). None: the --deployments folder.
    record_folder: Path | None = None

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id


@contextmanager
def open_target(anvil: Path, options: TargetOptions, codec: AbiCodec, say: Callable[[str], None]) -> Iterator[Target]:
    """The chain of `options`, started (and stopped afterwards) if no RPC URL is given."""
    if options.backend == "qtum":
        with open_qtum_target(options, codec, say) as target:
            yield target
        return
    if options.rpc_url is None:
        with _local_target(anvil, options, codec, say) as target:
            yield target
        return
    try:
        w3 = connect(options.rpc_url)
    except ChainError as exc:  # nothing could be sent: the user's URL or node to fix
        raise UsageError(f"{exc}; check the URL and that the node is running") from None
    chain_id = int(w3.eth.chain_id)
    if options.network is not None and network(options.network).chain_id != chain_id:
        raise UsageError(
            f"the node at {redacted_url(options.rpc_url)} has chain id {chain_id}, "
            f"not {network(options.network).chain_id} ({options.network}); nothing was sent"
        )
    name = options.network or network_for_chain_id(chain_id)
    admin = _admin(w3, chain_id, options, say)
    can_mine = None if options.mine else False  # None: mine where the node is anvil
    chain = EvmBackend(w3, codec, gas_price=_gas_price(w3, name), batched=options.batched, can_mine=can_mine)
    try:
        yield Target(
            chain=chain,
            url=redacted_url(options.rpc_url),
            network=name,
            admin=admin,
            node_accounts=tuple(a for a in w3.eth.accounts if a.lower() != admin.address.lower()),
        )
    finally:
        chain.close()


@contextmanager
def _local_target(anvil: Path, options: TargetOptions, codec: AbiCodec, say: Callable[[str], None]) -> Iterator[Target]:
    chain_opts = _local_options(options)
    with LocalChain(anvil, chain_opts) as local:
        say(f"local anvil chain (id {chain_opts.chain_id}, hardfork {chain_opts.hardfork}) at {local.url}")
        first = local.accounts[0]
        yield Target(
            chain=local.backend(codec, gas_price=_gas_price(local.web3(), options.profile), batched=options.batched),
            url=local.url,
            network=options.profile or "local",
            admin=(
                Account.held_by_node(first.address) if options.node_accounts else Account.from_hex(first.private_key)
            ),
            node_accounts=tuple(a.address for a in local.accounts[1:]),
            local_chain=local,
            started_here=True,
            record_folder=local.workdir,
        )


def _admin(w3: Web3, chain_id: int, options: TargetOptions, say: Callable[[str], None]) -> Account:
    """The deployer / operator: the given key, else a node-held account (--node-accounts), else anvil's dev key."""
    key = options.private_key or os.environ.get(PRIVATE_KEY_ENV)
    held = list(w3.eth.accounts) if options.node_accounts else []
    if not key and held:
        admin = Account.held_by_node(held[0])
        say(f"sending as {admin.address}, an account the node holds (eth_sendTransaction)")
        return admin
    if not key:
        if chain_id != ANVIL_CHAIN_ID:
            raise UsageError(f"give the deployer's key with --private-key or ${PRIVATE_KEY_ENV}")
        key = ANVIL_FIRST_DEV_KEY
        say(f"no key given: using anvil's first dev account (a public key, allowed only on chain id {ANVIL_CHAIN_ID})")
    return Account.from_hex(key)


def _local_options(options: TargetOptions) -> ChainOptions:
    if options.profile not in (None, "local"):
        return chain_options(options.profile, evm_version=options.evm_version, accounts=options.accounts)
    if options.simulation:  # a throwaway chain: only its recent states are ever needed (see the constant)
        return simulation_options(
            options.evm_version, accounts=options.accounts, prune_history=SIMULATION_PRUNE_HISTORY
        )
    return ChainOptions(options.evm_version, accounts=options.accounts)


def _gas_price(w3: Web3, network_name: str | None) -> int:
    """The node's price, never below the network's floor (Qtum: 40 sat/gas)."""
    floor = network(network_name).min_gas_price_wei if network_name in network_names() else 0
    return max(int(w3.eth.gas_price), floor)


#: qtumd's `getblockchaininfo` chain name -> our network preset.
_QTUM_CHAINS = {"main": "qtum-mainnet", "test": "qtum-testnet", "regtest": "qtum-regtest"}


@contextmanager
def open_qtum_target(options: TargetOptions, codec: AbiCodec, say: Callable[[str], None]) -> Iterator[Target]:
    """A Qtum node: a regtest qtumd started here (and stopped afterwards), or the node at `options.rpc_url`."""
    rpc_url, network_name = options.rpc_url, options.network
    if rpc_url is None:
        if network_name not in (None, "qtum-regtest"):
            raise UsageError(f"--network {network_name}: a qtumd started here is a regtest node; give --rpc-url")
        with QtumNode(find_qtumd(options.qtumd)) as node:
            say(f"local qtumd regtest node (chain id 8890) at {node.url.public}, coins mature at height 2,100")
            chain = node.backend(codec, options.block_time)
            yield Target(
                chain, node.url.public, "qtum-regtest", chain.wallet_account(node.miner), (), started_here=True,
                record_folder=node.datadir,
            )  # fmt: skip
        return
    url = NodeUrl.parse(rpc_url)
    node_rpc = QtumRpc(url)
    try:
        chain_name = str(node_rpc.call("getblockchaininfo")["chain"])
    except ChainError as exc:
        raise UsageError(f"no qtumd answers at {url.public}: {exc}; check the URL and that the node runs") from None
    except OSError as exc:
        raise UsageError(f"no qtumd answers at {url.public} ({exc.__class__.__name__}); check the URL") from None
    preset = _QTUM_CHAINS.get(chain_name)
    if preset is None:
        raise UsageError(f"the qtumd at {url.public} runs chain {chain_name!r}, which no preset describes")
    if network_name is not None and network_name != preset:
        raise UsageError(f"the qtumd at {url.public} runs {chain_name}, not {network_name}; nothing was sent")
    _require_logevents(node_rpc, url.public)
    wallets = node_rpc.call("listwallets")
    if not wallets:
        raise UsageError(
            f"the qtumd at {url.public} has no wallet loaded: `qtum-cli createwallet NAME` (or loadwallet)"
        )
    wallet = node_rpc.for_wallet(str(wallets[0]))
    operator = _funded_address(wallet)
    miner = operator if chain_name == "regtest" and options.mine else None
    chain = QtumBackend(wallet, codec, network(preset), miner=miner, block_time=options.block_time)
    mining = "the run mines its blocks" if miner else "waiting for the network's blocks"
    say(f"qtumd {chain_name} node at {url.public}, wallet {wallets[0]}, operator {operator}; {mining}")
    try:
        yield Target(chain, url.public, preset, chain.wallet_account(operator), ())
    finally:
        chain.close()


def _require_logevents(node: QtumRpc, where: str) -> None:
    """UsageError (nothing sent) if the node keeps no event index: without it there are no receipts, and a run
    could not tell a mined transaction from a lost one."""
    try:
        node.call("gettransactionreceipt", "00" * 32)
    except QtumRpcError as exc:
        if "indexing disabled" in exc.message.lower():
            raise UsageError(
                f"the qtumd at {where} keeps no event index (receipts and logs): restart it with -logevents "
                "(on a node with a chain already, also -reindex once); nothing was sent"
            ) from None
        raise


def _funded_address(wallet: QtumRpc) -> str:
    """The wallet's address with the most spendable QTUM (the operator pays every fee of the market's set-up)."""
    totals: dict[str, float] = {}
    for coin in wallet.call("listunspent", 1):
        if coin.get("spendable"):
            totals[coin["address"]] = totals.get(coin["address"], 0.0) + float(coin["amount"])
    if not totals:
        raise UsageError(
            "the node's wallet has no spendable QTUM: fund it (on regtest: generatetoaddress 2100 ADDRESS)"
        )
    return max(totals, key=lambda a: totals[a])
