"""Helpers for tests on a local anvil of their own: its first account, a backend that mines, a deployed market."""

from web3 import Web3

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import LocalChain
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.solidity.compiler import CompilationResult


def mine_at(w3: Web3, timestamp: int) -> None:
    """Mine one empty block at `timestamp` on anvil (for a test that has only a Web3)."""
    w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def first_account(chain: LocalChain) -> Account:
    """The local chain's first funded account, with its key."""
    return Account.from_hex(chain.accounts[0].private_key)


def local_backend(chain: LocalChain, compiled: CompilationResult, **options) -> EvmBackend:
    """A backend that mines `chain`'s blocks itself (automine off until it is closed)."""
    return chain.backend(market_codec(compiled), **options)


def deploy_local_market(
    chain: LocalChain,
    compiled: CompilationResult,
    *,
    genesis: int | None = None,
    slot_length: int = 900,
    grace_period: int = 1_800,
    **options,
) -> Market:
    """The market deployed by `chain`'s first account through a new :func:`local_backend`;
    `genesis` defaults to the latest block's time."""
    backend = local_backend(chain, compiled, **options)
    start = backend.latest_block().timestamp if genesis is None else genesis
    deployed = deploy_market(
        backend, compiled, first_account(chain), genesis=start, slot_length=slot_length, grace_period=grace_period
    )
    addresses = MarketAddresses.of({name: d.address for name, d in deployed.items()})
    return Market(backend, backend.codec, addresses)
