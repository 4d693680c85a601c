"""Reading a run's own transactions back from EVM blocks (what a resumed run needs to know it sent).

Plain `eth_getBlockByNumber` and `eth_getTransactionReceipt` in JSON-RPC
batches, so any node serves it; the cost grows with the blocks scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from p2p_energy.chain.backend import MinedTransaction, SendError

#: Blocks read per JSON-RPC batch.
_SCAN_BLOCKS = 50

Batch = Callable[[Sequence[tuple[str, list[Any]]]], list[dict[str, Any]]]


def mined_transactions(batch: Batch, senders: set[str], first_block: int, last_block: int) -> list[MinedTransaction]:
    """Every transaction from `senders` (lowercase) in blocks `first_block`..`last_block`, in chain order."""
    found: list[dict[str, Any]] = []
    for start in range(first_block, last_block + 1, _SCAN_BLOCKS):
        numbers = range(start, min(start + _SCAN_BLOCKS, last_block + 1))
        for answer in batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers]):
            if "error" in answer or not answer.get("result"):
                raise SendError(f"cannot read a block of the run: {answer.get('error', 'no such block')}")
            found.extend(tx for tx in answer["result"]["transactions"] if str(tx["from"]).lower() in senders)
    receipts = batch([("eth_getTransactionReceipt", [tx["hash"]]) for tx in found])
    return [_mined(tx, answer.get("result")) for tx, answer in zip(found, receipts, strict=True)]


def _mined(tx: dict[str, Any], receipt: dict[str, Any] | None) -> MinedTransaction:
    if not receipt:
        raise SendError(f"the node has transaction {tx['hash']} in a block but no receipt for it")
    return MinedTransaction(
        tx_hash=str(tx["hash"]),
        sender=str(tx["from"]),
        to=str(tx.get("to") or ""),
        data=bytes.fromhex(str(tx.get("input") or tx.get("data") or "0x")[2:]),
        gas=int(str(tx["gas"]), 16),
        value=int(str(tx["value"]), 16),
        nonce=int(str(tx["nonce"]), 16),
        status=int(str(receipt["status"]), 16),
        gas_used=int(str(receipt["gasUsed"]), 16),
        block=int(str(receipt["blockNumber"]), 16),
        logs=tuple(receipt["logs"]),
    )
