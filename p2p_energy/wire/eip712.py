"""EIP-712 typed data, built by hand, and compact signatures made with coincurve.

The contracts check two kinds of signed data: meter readings (MeterRegistry)
and standing orders (EnergyEscrow). Each struct is written once, as a
:class:`StructType` (its name and its fields with their Solidity types); its
type string, type hash and the hash of a value all follow from that, as in
eth-account's `encode_type` (which is about 50x slower: a city-scale run signs
thousands of orders and readings). Tests check the digests against
eth-account's `encode_typed_data` and against the contracts' own digest views.

Signatures are EIP-2098 compact (r, vs): `vs` is the low-s `s` with the
parity of `v` in its top bit: 64 bytes, which OpenZeppelin's
`ECDSA.tryRecover(hash, r, vs)` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import coincurve
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from p2p_energy.errors import UsageError

_DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")

#: A field's value: an integer (uintN), an address (0x hex) or a list of integers (uintN[]).
FieldValue = int | str | Sequence[int]


def word(value: int) -> bytes:
    """A uint as one 32-byte ABI word."""
    return value.to_bytes(32, "big")


def address_word(address: str) -> bytes:
    """A 0x address as one 32-byte ABI word."""
    return bytes(12) + address_bytes(address)


def address_bytes(address: str) -> bytes:
    """A 0x address as its 20 bytes."""
    raw = bytes.fromhex(address.removeprefix("0x"))
    if len(raw) != 20:
        raise UsageError(f"not a 20-byte address: {address!r}")
    return raw


def key_address(private_key: bytes) -> str:
    """The checksummed keccak-style address of a secp256k1 private key (what `ecrecover` yields).

    keccak256 of the 64-byte uncompressed public key (its 0x04 prefix dropped), last 20 bytes.
    """
    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)[1:]
    return str(to_checksum_address(keccak(public)[12:]))


def _uint_bits(solidity_type: str) -> int:
    return int(solidity_type.removeprefix("uint") or 256)


@dataclass(frozen=True)
class StructType:
    """An EIP-712 struct, written once: its name and its (field name, Solidity type) pairs, in order.

    Types are `uintN`, `address` and `uintN[]` (all the contracts use).
    """

    name: str
    fields: tuple[tuple[str, str], ...]
    type_hash: bytes = field(init=False)

    def __post_init__(self) -> None:
        for name, solidity_type in self.fields:
            base = solidity_type.removesuffix("[]")
            if base != "address" and not (base.startswith("uint") and 8 <= _uint_bits(base) <= 256):
                raise ValueError(f"{self.name}.{name}: unsupported EIP-712 type {solidity_type}")
        object.__setattr__(self, "type_hash", keccak(text=self.type_string))

    @property
    def type_string(self) -> str:
        """`Name(type field,...)`: what the contracts' *_TYPEHASH constants hash."""
        return f"{self.name}({','.join(f'{t} {n}' for n, t in self.fields)})"

    def hash(self, values: Sequence[FieldValue]) -> bytes:
        """hashStruct: keccak of the type hash and each field encoded as a word (an array as the keccak of its
        elements' words). Refuses a value outside its field's type, which the contract would cut or reject."""
        if len(values) != len(self.fields):
            raise ValueError(f"{self.name} has {len(self.fields)} fields, got {len(values)} values")
        parts = [self.type_hash]
        for (name, solidity_type), value in zip(self.fields, values, strict=True):
            parts.append(self._encode(name, solidity_type, value))
        return keccak(b"".join(parts))

    def _encode(self, name: str, solidity_type: str, value: FieldValue) -> bytes:
        if solidity_type == "address":
            if not isinstance(value, str):
                raise UsageError(f"{self.name}.{name} must be an address, got {value!r}")
            return address_word(value)
        if solidity_type.endswith("[]"):
            if isinstance(value, str | int):
                raise UsageError(f"{self.name}.{name} must be a list of integers, got {value!r}")
            base = solidity_type[:-2]
            return keccak(b"".join(word(self._uint(name, base, v)) for v in value))
        if not isinstance(value, int):
            raise UsageError(f"{self.name}.{name} must be an integer, got {value!r}")
        return word(self._uint(name, solidity_type, value))

    def _uint(self, name: str, solidity_type: str, value: int) -> int:
        bits = _uint_bits(solidity_type)
        if isinstance(value, bool) or not 0 <= value < 1 << bits:
            raise UsageError(f"{self.name}.{name} must fit {solidity_type} (0..{(1 << bits) - 1}), got {value}")
        return value


@dataclass(frozen=True)
class Eip712Domain:
    """The domain of one contract deployment: its name and version, the chain id and its address."""

    name: str
    version: str
    chain_id: int
    contract: str

    def separator(self) -> bytes:
        return _separator(self.name, self.version, self.chain_id, self.contract.lower())

    def digest(self, struct_hash: bytes) -> bytes:
        """What a key signs for a struct with hash `struct_hash` in this domain."""
        return keccak(b"\x19\x01" + self.separator() + struct_hash)


@lru_cache(maxsize=64)
def _separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    return keccak(_DOMAIN_TYPEHASH + keccak(text=name) + keccak(text=version) + word(chain_id) + address_word(contract))


@dataclass(frozen=True)
class Signature:
    """An EIP-2098 compact signature: `vs` is s with the parity of v in its top bit."""

    r: bytes
    vs: bytes

    def as_tuple(self) -> tuple[bytes, bytes]:
        """The ABI tuple of the contracts' `Signature` struct."""
        return (self.r, self.vs)

    @property
    def packed(self) -> bytes:
        """r | vs: the 64 bytes a packed record carries."""
        return self.r + self.vs


@lru_cache(maxsize=8192)
def _signer(private_key: bytes) -> coincurve.PrivateKey:
    return coincurve.PrivateKey(private_key)


def sign_digest(private_key: bytes, digest: bytes) -> Signature:
    """Sign a 32-byte digest (libsecp256k1 gives low-s, as OpenZeppelin's ECDSA requires)."""
    signed = _signer(private_key).sign_recoverable(digest, hasher=None)
    s = int.from_bytes(signed[32:64], "big")
    return Signature(signed[:32], (s | (signed[64] << 255)).to_bytes(32, "big"))


def sign_struct(private_key: bytes, domain: Eip712Domain, struct_hash: bytes) -> Signature:
    """The key's compact signature of a struct with hash `struct_hash` in `domain`."""
    return sign_digest(private_key, domain.digest(struct_hash))
