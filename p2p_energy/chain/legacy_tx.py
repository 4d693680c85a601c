"""Legacy (type 0) EIP-155 transactions: RLP-encoded and signed here, as every EVM chain accepts them.

Qtum has no EIP-1559 and no typed transactions, so this is the one format
the EVM backend signs. The RLP is written out for the flat lists a
transaction needs: `rlp.encode` infers a serializer per item and costs half
of a transaction's signing time. A test checks the bytes against eth-account.
"""

from __future__ import annotations

from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account


def sign_legacy(
    account: Account, nonce: int, gas_price: int, gas: int, to: str, data: bytes, chain_id: int, value: int = 0
) -> bytes:
    """The raw bytes of a signed legacy (type 0) EIP-155 transaction; `to` "" creates a contract."""
    to_bytes = bytes.fromhex(to[2:]) if to else b""
    unsigned = _rlp_list(nonce, gas_price, gas, to_bytes, value, data, chain_id, 0, 0)
    signature = account.sign_digest(keccak(unsigned))
    v = signature[64] + 35 + 2 * chain_id
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
    return _rlp_list(nonce, gas_price, gas, to_bytes, value, data, v, r, s)


def _rlp_list(*items: int | bytes) -> bytes:
    """RLP of a flat list of unsigned integers and byte strings, as `rlp.encode` gives it
    (which infers a serializer per item and costs half of a transaction's signing time)."""
    payload = b"".join(
        _rlp_bytes(i.to_bytes((i.bit_length() + 7) // 8, "big") if isinstance(i, int) else i) for i in items
    )
    return _rlp_length(len(payload), 0xC0) + payload


def _rlp_bytes(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _rlp_length(len(data), 0x80) + data


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size
