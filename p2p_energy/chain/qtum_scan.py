"""Reading contract calls back from Qtum blocks (what a resumed run needs to know it sent).

A Qtum contract call is a transaction output whose script ends in
`... 4 GASLIMIT GASPRICE DATA CONTRACT OP_CALL` (after `OP_SENDER` when the
sender is named); its receipt (`gettransactionreceipt`) names the sender
(`from`, HASH160 hex), the gas used and whether it `excepted`. Blocks are
read with `getblock HASH 2` in JSON-RPC batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from p2p_energy.chain.backend import MinedTransaction, SendError
from p2p_energy.chain.qtum_rpc import QtumRpc

#: Blocks read per JSON-RPC batch.
_SCAN_BLOCKS = 50


def _contract_call(vout: dict[str, Any]) -> tuple[str, bytes, int] | None:
    """(contract hex, calldata, gas limit) of an OP_CALL output, None for any other output."""
    words = str(vout.get("scriptPubKey", {}).get("asm", "")).split()
    if len(words) < 6 or words[-1] != "OP_CALL":
        return None
    return words[-2], bytes.fromhex(words[-3]), int(words[-5])


def mined_contract_calls(
    rpc: QtumRpc, senders: set[str], first_block: int, log_shape: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[MinedTransaction]:
    """Every OP_CALL output sent by one of `senders` (lowercase hex) in blocks `first_block`..tip, in chain order."""
    last = int(rpc.call("getblockcount"))
    calls: list[tuple[str, int, str, bytes, int]] = []  # txid, block, contract, data, gas
    for start in range(first_block, last + 1, _SCAN_BLOCKS):
        numbers = list(range(start, min(start + _SCAN_BLOCKS, last + 1)))
        hashes = [a["result"] for a in rpc.batch([("getblockhash", [n]) for n in numbers])]
        for number, answer in zip(numbers, rpc.batch([("getblock", [h, 2]) for h in hashes]), strict=True):
            for tx in answer["result"]["tx"]:
                for vout in tx.get("vout", []):
                    found = _contract_call(vout)
                    if found is not None:
                        calls.append((str(tx["txid"]), number, *found))
    receipts = rpc.batch([("gettransactionreceipt", [txid]) for txid, *_ in calls])
    mined = []
    for (txid, block, contract, data, gas), answer in zip(calls, receipts, strict=True):
        found = answer.get("result")
        if not found:
            raise SendError(f"qtumd has transaction {txid} in block {block} but no receipt for it (is -logevents on?)")
        receipt = found[0]
        if str(receipt["from"]).lower() not in senders:
            continue
        ok = receipt["excepted"] == "None"
        mined.append(
            MinedTransaction(
                tx_hash="0x" + txid,
                sender="0x" + str(receipt["from"]),
                to="0x" + contract,
                data=data,
                gas=gas,
                value=0,
                nonce=0,
                status=1 if ok else 0,
                gas_used=int(receipt["gasUsed"]),
                block=block,
                logs=tuple(log_shape(log) for log in receipt.get("log", [])) if ok else (),
            )
        )
    return mined
