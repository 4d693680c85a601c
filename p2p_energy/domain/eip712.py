"""EIP-712 typed data, built by hand, and compact signatures made with coincurve.

The contracts check two kinds of signed data: meter readings (MeterRegistry)
and trading orders (EnergyEscrow). Both are fixed-size structs, so their
digests are keccak over 32-byte words, here without eth-account's generic
typed-data machinery (about 50x slower: a city-scale run signs tens of
thousands of orders and readings). Tests check the digests against
eth-account's `encode_typed_data` and against the contracts' own digest views.

Signatures are EIP-2098 compact (r, vs): `vs` is the low-s `s` with the
parity of `v` in its top bit. Two static words cost less calldata than 65
dynamic bytes and need no offsets; OpenZeppelin's `ECDSA.recover(hash, r, vs)`
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from eth_utils.crypto import keccak

_DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


def word(value: int) -> bytes:
    """A uint as one 32-byte ABI word."""
    return value.to_bytes(32, "big")


def address_word(address: str) -> bytes:
    """A 0x address as one 32-byte ABI word."""
    return bytes(12) + bytes.fromhex(address.removeprefix("0x"))


@dataclass(frozen=True)
class Eip712Domain:
    """The domain of one contract deployment: its name and version, the chain id and its address."""

    name: str
    version: str
    chain_id: int
    contract: str

    def separator(self) -> bytes:
        return keccak(
            _DOMAIN_TYPEHASH
            + keccak(text=self.name)
            + keccak(text=self.version)
            + word(self.chain_id)
            + address_word(self.contract)
        )

    def digest(self, struct_hash: bytes) -> bytes:
        """What a key signs for a struct with hash `struct_hash` in this domain."""
        return keccak(b"\x19\x01" + self.separator() + struct_hash)


@dataclass(frozen=True)
class Signature:
    """An EIP-2098 compact signature: `vs` is s with the parity of v in its top bit."""

    r: bytes
    vs: bytes

    def as_tuple(self) -> tuple[bytes, bytes]:
        """The ABI tuple of the contracts' `Signature` struct."""
        return (self.r, self.vs)


def sign_digest(private_key: bytes, digest: bytes) -> Signature:
    """Sign a 32-byte digest (libsecp256k1 gives low-s, as OpenZeppelin's ECDSA requires)."""
    signed = coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    s = int.from_bytes(signed[32:64], "big")
    return Signature(signed[:32], (s | (signed[64] << 255)).to_bytes(32, "big"))
