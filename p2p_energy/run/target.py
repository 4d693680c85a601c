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
from p2p_energy.chain.anvil import ANVIL_CHAIN_ID, ANVIL_FIRST_DEV_KEY, ChainOptions, LocalChain, chain_options
from p2p_energy.chain.backend import ChainError
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.rpc import connect
from p2p_energy.errors import UsageError
from p2p_energy.networks import DEFAULT_EVM_VERSION, network, network_names
from p2p_energy.run.deployment_record import network_for_chain_id

#: Where the CLI and `brownie run deploy` read the deployer's key when no option gives it.
PRIVATE_KEY_ENV = "P2P_ENERGY_PRIVATE_KEY"
#: Block gas limit of the local chains `simulate` starts with the `local`
#: profile: a whole phase of a city-scale day fits one block.
LOCAL_BLOCK_GAS_LIMIT = 1_000_000_000


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

    def __post_init__(self) -> None:
        if self.rpc_url is None and (self.network is not None or self.private_key is not None):
            raise UsageError("--network and --private-key go with --rpc-url; a local chain takes --profile")
        if self.rpc_url is not None and self.profile is not None:
            raise UsageError("--profile shapes a local chain; with --rpc-url, name the chain's preset with --network")


@dataclass(frozen=True)
class Target:
    """A chain ready for transactions."""

    chain: EvmBackend
    url: str
    network: str
    admin: Account
    #: accounts the node holds and unlocks (anvil's dev accounts, a Qtum wallet behind Janus).
    node_accounts: tuple[str, ...]
    local_chain: LocalChain | None = None

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id


@contextmanager
def open_target(anvil: Path, options: TargetOptions, codec: AbiCodec, say: Callable[[str], None]) -> Iterator[Target]:
    """The chain of `options`, started (and stopped afterwards) if no RPC URL is given."""
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
            f"the node at {options.rpc_url} has chain id {chain_id}, not {network(options.network).chain_id} "
            f"({options.network}); nothing was sent"
        )
    name = options.network or network_for_chain_id(chain_id)
    admin = _admin(w3, chain_id, options, say)
    chain = EvmBackend(w3, codec, gas_price=_gas_price(w3, name), batched=options.batched)
    try:
        yield Target(
            chain=chain,
            url=options.rpc_url,
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
        w3 = local.web3()
        first = local.accounts[0]
        yield Target(
            chain=EvmBackend(
                w3, codec, gas_price=_gas_price(w3, options.profile), can_mine=True, batched=options.batched
            ),
            url=local.url,
            network=options.profile or "local",
            admin=(
                Account.held_by_node(first.address) if options.node_accounts else Account.from_hex(first.private_key)
            ),
            node_accounts=tuple(a.address for a in local.accounts[1:]),
            local_chain=local,
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
    if options.simulation:
        # No base fee: gas costs nothing, so simulated households need no coin.
        return ChainOptions(
            options.evm_version, accounts=options.accounts, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0
        )
    return ChainOptions(options.evm_version, accounts=options.accounts)


def _gas_price(w3: Web3, network_name: str | None) -> int:
    """The node's price, never below the network's floor (Qtum: 40 sat/gas)."""
    floor = network(network_name).min_gas_price_wei if network_name in network_names() else 0
    return max(int(w3.eth.gas_price), floor)
