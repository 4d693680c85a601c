"""Accounts that send transactions: one type, whether we hold the key or the node does.

With a key (`Account.from_key`) transactions are signed here; without one
(`Account.held_by_node`) the node signs for an account its wallet holds
(`eth_sendTransaction`, as through Qtum's Janus). The address is the one
the EVM sees as `msg.sender` on an Ethereum-style chain (keccak of the
public key).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import coincurve
from eth_utils.address import to_checksum_address

from p2p_energy.errors import UsageError
from p2p_energy.wire.eip712 import key_address


@dataclass(frozen=True)
class Account:
    """An account that sends transactions; `private_key` is None when the node holds the key."""

    address: str
    private_key: bytes | None = field(default=None, repr=False)
    _signer: coincurve.PrivateKey | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_key(cls, private_key: bytes) -> Account:
        if len(private_key) != 32:
            raise UsageError(f"a private key is 32 bytes (64 hex digits), got {len(private_key)} bytes")
        try:
            signer = coincurve.PrivateKey(private_key)
        except ValueError as exc:
            raise UsageError(f"not a valid secp256k1 private key: {exc}") from None
        return cls(key_address(private_key), bytes(private_key), signer)

    @classmethod
    def from_hex(cls, private_key: str) -> Account:
        try:
            raw = bytes.fromhex(private_key.removeprefix("0x"))
        except ValueError:
            raise UsageError("not a valid private key: expected 64 hex digits") from None
        if len(raw) != 32:
            raise UsageError(f"not a valid private key: expected 64 hex digits, got {2 * len(raw)}")
        return cls.from_key(raw)

    @classmethod
    def held_by_node(cls, address: str) -> Account:
        return cls(str(to_checksum_address(address)))

    @property
    def held(self) -> bool:
        """True when the node signs for this account (no key here)."""
        return self.private_key is None

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte recoverable signature r || s || recovery id of a 32-byte digest."""
        if self._signer is None:
            raise UsageError(f"the node holds the key of {self.address}: it cannot sign here")
        return bytes(self._signer.sign_recoverable(digest, hasher=None))
