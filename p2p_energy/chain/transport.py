"""The HTTP transport's failures, kept inside chain/: a node that is gone becomes :class:`NodeGone`.

Every request to a node (`EvmBackend`'s JSON-RPC calls and batches, `QtumRpc`'s
posts) goes through :func:`node_answers`, so nothing above the chain seam ever
sees `requests`' exceptions: the run catches `NodeGone` and names the stage it
was in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from p2p_energy.chain.backend import NodeGone

#: What the HTTP transport raises when the node is gone or stops answering.
_TRANSPORT_GONE: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
)


@contextmanager
def node_answers(where: str) -> Iterator[None]:
    """Run a request to the node at `where`; the transport's "gone" exceptions become NodeGone."""
    try:
        yield
    except _TRANSPORT_GONE as exc:
        raise NodeGone(where, exc.__class__.__name__) from None
