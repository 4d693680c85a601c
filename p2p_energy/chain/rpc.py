"""Reaching an EVM JSON-RPC node: a checked connection, and what kind of node answers."""

from __future__ import annotations

from urllib.parse import urlparse

from web3 import HTTPProvider, Web3

from p2p_energy.chain.backend import ChainError
from p2p_energy.errors import UsageError


def is_anvil(w3: Web3) -> bool:
    """True when the node is anvil (its client version says so)."""
    return str(w3.client_version).lower().startswith("anvil")


def connect(rpc_url: str, timeout_s: float = 10.0) -> Web3:
    """Connect to an EVM JSON-RPC endpoint and check that it answers.

    Raises:
        UsageError: the URL is not an http(s) URL.
        ChainError: nothing answers there.
    """
    parsed = urlparse(rpc_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"RPC URL {rpc_url!r} is not valid: give one like http://127.0.0.1:8545")
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    try:
        _ = w3.eth.chain_id
    except Exception as exc:  # requests and web3 raise many kinds here
        raise ChainError(f"no EVM node answers at {rpc_url}: {exc.__class__.__name__}") from None
    return w3
