"""JSON-RPC batches cut by their encoded size, so that no request body is over what the node accepts.

A phase of a city-scale run is hundreds of requests, and a `matchOrders`
transaction is up to about 190 kB as hex: a batch cut by count alone can be
megabytes, and a node refuses the whole body. So batches are cut by bytes
first (the encoded body, as it goes on the wire) and by count second.

The limits, measured on this machine on 2026-12-08 by posting bodies of
chosen sizes (one request whose hex data fills the body to the byte):

- anvil 1.7.1 answers a body of 2,097,152 bytes (2 MiB) and refuses one of
  2,097,153 with `-32600 Invalid request` (single requests and batches
  alike); `tests/library/test_rpc_batches.py` checks this against the anvil
  the project installs. Other EVM nodes (geth, Janus) cannot be measured
  here; they get the same 2 MiB, which is below geth's documented default
  of 5 MiB.
- qtumd v27.1 answered every body we posted, up to 268,435,456 bytes
  (256 MiB, an `echo` of that size, 18 s); its limit, if it has one, is
  higher, so 256 MiB is the largest body the Qtum backend sends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from p2p_energy.chain.backend import SendError

#: The largest request body anvil accepts (measured: 2,097,152 accepted, 2,097,153 refused).
ANVIL_MAX_BODY_BYTES = 2_097_152
#: The largest request body sent to any other EVM node: anvil's, the smallest limit we know of.
EVM_MAX_BODY_BYTES = ANVIL_MAX_BODY_BYTES
#: The largest request body we measured qtumd accepting (it refused none).
QTUMD_MAX_BODY_BYTES = 268_435_456
#: Room left in a request's size for its id, which web3 numbers from a counter of its own.
_ID_DIGITS = 20
#: A batch body is `[` + requests joined by `, ` + `]`.
_BRACKETS = 2
_SEPARATOR = 2


def request_bytes(method: str, params: Sequence[Any]) -> int:
    """The size of one request as web3 encodes it in a batch (its separator included), never less."""
    encoded = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 0})
    return len(encoded) - 1 + _ID_DIGITS + _SEPARATOR


def body_bytes(items: Sequence[int]) -> int:
    """The size of a batch body whose requests take `items` bytes each (separators counted in them)."""
    return _BRACKETS + sum(items)


def cut_batches(sizes: Sequence[int], max_bytes: int, max_count: int) -> list[range]:
    """Consecutive batches of requests (index ranges) of at most `max_count` requests whose
    bodies are at most `max_bytes`, given each request's size (as :func:`request_bytes`).

    Raises:
        SendError: a request is larger than `max_bytes` by itself: no batch can carry it.
    """
    batches: list[range] = []
    start, used = 0, _BRACKETS
    for index, size in enumerate(sizes):
        if _BRACKETS + size > max_bytes:
            raise SendError(
                f"a JSON-RPC request of {size:,} bytes is over the {max_bytes:,} bytes the node accepts "
                "in one body: make the transaction's calldata smaller (wire/cutting.py cuts batch calls)"
            )
        if index > start and (index - start >= max_count or used + size > max_bytes):
            batches.append(range(start, index))
            start, used = index, _BRACKETS
        used += size
    if start < len(sizes):
        batches.append(range(start, len(sizes)))
    return batches
