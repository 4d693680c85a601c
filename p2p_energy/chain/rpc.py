"""Reaching an EVM JSON-RPC node: a checked connection, and what kind of node answers."""

from __future__ import annotations

from urllib.parse import urlparse

import requests
from web3 import HTTPProvider, Web3

from p2p_energy.chain.backend import ChainError
from p2p_energy.errors import UsageError


def is_anvil(w3: Web3) -> bool:
    """True when the node is anvil (its client version says so)."""
    return str(w3.client_version).lower().startswith("anvil")


def redacted_url(rpc_url: str) -> str:
    """`rpc_url` as messages, records and reports may show it: a password in it becomes `***`."""
    parsed = urlparse(rpc_url)
    if parsed.password is None:
        return rpc_url
    host = parsed.hostname or ""
    netloc = f"{parsed.username}:***@{host}" + (f":{parsed.port}" if parsed.port else "")
    return parsed._replace(netloc=netloc).geturl()


def connect(rpc_url: str, timeout_s: float = 10.0) -> Web3:
    """Connect to an EVM JSON-RPC endpoint and check that it answers.

    Raises:
        UsageError: the URL is not an http(s) URL.
        ChainError: nothing answers there, or something that is not a JSON-RPC node (an HTTP error).
    """
    parsed = urlparse(rpc_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"RPC URL {redacted_url(rpc_url)!r} is not valid: give one like http://127.0.0.1:8545")
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    try:
        _ = w3.eth.chain_id
    except requests.exceptions.HTTPError as exc:  # an HTTP server, but it refuses JSON-RPC (a web server: 501)
        status = exc.response.status_code if exc.response is not None else "?"
        reason = exc.response.reason if exc.response is not None else ""
        raise ChainError(
            f"something answers at {redacted_url(rpc_url)} but it is not a JSON-RPC node (HTTP {status} {reason})"
        ) from None
    except Exception as exc:  # requests and web3 raise many kinds here
        raise ChainError(f"no EVM node answers at {redacted_url(rpc_url)}: {exc.__class__.__name__}") from None
    return w3
