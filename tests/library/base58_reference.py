"""Base58check written out from its definition, for the tests to check p2p_energy.chain.qtum_keys against."""

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def reference_b58check(data: bytes) -> str:
    """base58(data || first 4 bytes of sha256(sha256(data))), a '1' per leading zero byte."""
    data += hashlib.sha256(hashlib.sha256(data).digest()).digest()[:4]
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = ALPHABET[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out
