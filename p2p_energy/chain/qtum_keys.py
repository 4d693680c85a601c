"""Qtum addresses and keys, in plain Python: base58check, HASH160, WIF, QtumKey.

Qtum is a UTXO chain with an EVM on top, and the two halves name the same
things differently; mixing them up loses money or locks people out:

* One key has TWO 20-byte addresses. On Qtum `msg.sender` is HASH160 of the
  public key (RIPEMD160(SHA256(compressed pubkey)), the payload of its base58
  'Q...'/'q...' address), while `ecrecover` returns the keccak-style address
  (keccak256(pubkey)[12:]). On Ethereum and anvil both are the keccak one.
  Which one each contract field expects:

  - MeterRegistry meter *signer*: the keccak-style address (`ecrecover`
    checks readings against it) -> :attr:`QtumKey.keccak_address`;
  - meter *owner*, offer *seller*, trade *buyer*, token and registry
    *admin*/operator roles, token holders: the sender address ->
    :meth:`QtumKey.sender_address` (HASH160 on Qtum, keccak elsewhere).

* Base58check versions: P2PKH addresses 58 on mainnet, 120 on testnet and
  regtest (the two cannot be told apart from an address); WIF keys 128 and
  239 (see p2p_energy.networks). qtumd's `gethexaddress`/`fromhexaddress` map
  base58 to the 40 hex characters contracts see, and back.

Units and their conversions are in p2p_energy.units; network presets in
p2p_energy.networks.

RIPEMD-160 comes from hashlib when OpenSSL still offers it (OpenSSL 3 moved it
to the legacy provider) and from pycryptodome otherwise, which eth-account's
eth-keyfile already installs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import coincurve
from eth_utils.address import to_checksum_address

from p2p_energy.errors import UsageError
from p2p_energy.networks import (
    MAINNET_ADDRESS_VERSION,
    MAINNET_WIF_VERSION,
    NETWORKS,
    TESTNET_ADDRESS_VERSION,
    TESTNET_WIF_VERSION,
    NetworkPreset,
    network,
)
from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.readings import MeterKey

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(BASE58_ALPHABET)}

_COMPRESSED_FLAG = 0x01
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# -- hashing and base58check ------------------------------------------------


def _ripemd160(data: bytes) -> bytes:
    try:
        return hashlib.new("ripemd160", data).digest()
    except ValueError:  # OpenSSL 3 without its legacy provider
        from Crypto.Hash import RIPEMD160

        return RIPEMD160.new(data).digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)): a P2PKH address payload, and `msg.sender` on Qtum."""
    return _ripemd160(hashlib.sha256(data).digest())


def _checksum(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()[:4]


def base58_encode(data: bytes) -> str:
    """Bitcoin's base58: each leading zero byte becomes a '1'."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def base58_decode(text: str) -> bytes:
    """The bytes of a base58 string; UsageError names the first bad character."""
    number = 0
    for position, char in enumerate(text, start=1):
        digit = _BASE58_INDEX.get(char)
        if digit is None:
            raise UsageError(
                f"{text!r} is not base58: character {position} is {char!r} "
                "(base58 has no 0, O, I, l, spaces or punctuation)"
            )
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def base58check_encode(payload: bytes) -> str:
    """base58 of payload + the first 4 bytes of its double SHA-256."""
    return base58_encode(payload + _checksum(payload))


def base58check_decode(text: str, what: str = "base58check string") -> bytes:
    """The payload (version byte included) of a base58check string, its checksum verified."""
    raw = base58_decode(text.strip())
    if len(raw) < 5:
        raise UsageError(f"{text!r} is too short to be a {what}")
    payload, checksum = raw[:-4], raw[-4:]
    if _checksum(payload) != checksum:
        raise UsageError(f"{text!r} has a bad checksum: a character is mistyped or missing ({what})")
    return payload


# -- networks -------------------------------------------------------------------


def _qtum_network(name: str | NetworkPreset) -> NetworkPreset:
    preset = network(name)
    if not preset.is_qtum:
        qtum = ", ".join(p.name for p in NETWORKS if p.is_qtum)
        raise UsageError(
            f"network {preset.name} is not a Qtum network (no base58 addresses or WIF keys): use one of {qtum}"
        )
    return preset


def _networks_with(attribute: str, version: int) -> str:
    names = [p.name for p in NETWORKS if getattr(p, attribute) == version]
    return " or ".join(names) if names else "no Qtum network"


# -- addresses ----------------------------------------------------------------


def _parse_hex20(hexaddress: str) -> bytes:
    text = hexaddress.strip().removeprefix("0x").removeprefix("0X")
    if len(text) != 40:
        raise UsageError(f"{hexaddress!r} is not a 20-byte hex address: expected 40 hex characters, got {len(text)}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"{hexaddress!r} is not a 20-byte hex address: it has a character that is not hex") from None


def decode_address(address: str, network_name: str | NetworkPreset | None = None) -> bytes:
    """The 20-byte payload of a Qtum P2PKH address.

    With `network_name`, the address must belong to that network; without,
    any Qtum network's address is accepted.
    """
    payload = base58check_decode(address, "Qtum address")
    if len(payload) != 21:
        raise UsageError(
            f"{address!r} is not a Qtum P2PKH address: it holds {len(payload) - 1} bytes after the version, not 20"
        )
    version, body = payload[0], payload[1:]
    if network_name is None:
        if not any(p.address_version == version for p in NETWORKS):
            raise UsageError(
                f"{address!r} is not a Qtum P2PKH address: version {version}, expected "
                f"{MAINNET_ADDRESS_VERSION} (mainnet, 'Q...') or {TESTNET_ADDRESS_VERSION} (testnet/regtest, 'q...')"
            )
        return body
    expected = _qtum_network(network_name)
    if version != expected.address_version:
        raise UsageError(
            f"{address!r} is an address of {_networks_with('address_version', version)} (version {version}), "
            f"not of {expected.name} (version {expected.address_version})"
        )
    return body


def encode_address(payload: bytes, network_name: str | NetworkPreset) -> str:
    """The base58 P2PKH address of a 20-byte payload on a Qtum network."""
    if len(payload) != 20:
        raise UsageError(f"an address payload is 20 bytes, got {len(payload)}")
    preset = _qtum_network(network_name)
    assert preset.address_version is not None  # _qtum_network guarantees it
    return base58check_encode(bytes([preset.address_version]) + payload)


def gethexaddress(address: str, network_name: str | NetworkPreset | None = None) -> str:
    """Like qtumd's `gethexaddress`: 40 lowercase hex characters, no 0x."""
    return decode_address(address, network_name).hex()


def fromhexaddress(hexaddress: str, network_name: str | NetworkPreset) -> str:
    """Like qtumd's `fromhexaddress` on a node of `network_name` (0x is optional)."""
    return encode_address(_parse_hex20(hexaddress), network_name)


# -- keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class QtumKey:
    """A secp256k1 private key and the two addresses it has on Qtum.

    `compressed` says which public key form its Qtum address hashes (WIF
    keys carry it as a trailing 0x01; Qtum wallets make compressed keys).
    """

    private_key: bytes
    compressed: bool = True

    def __post_init__(self) -> None:
        if len(self.private_key) != 32:
            raise UsageError(f"a private key is 32 bytes, got {len(self.private_key)}")
        if not 0 < int.from_bytes(self.private_key, "big") < _SECP256K1_ORDER:
            raise UsageError("the private key is out of range: it must be between 1 and the secp256k1 group order - 1")

    @classmethod
    def from_hex(cls, private_key: str, *, compressed: bool = True) -> QtumKey:
        text = private_key.strip().removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise UsageError("a private key in hex must be 64 hex characters (0x is optional)") from None
        return cls(raw, compressed)

    @classmethod
    def from_wif(cls, wif: str, network_name: str | NetworkPreset | None = None) -> QtumKey:
        """Read a WIF key; with `network_name`, it must be that network's."""
        payload = base58check_decode(wif, "WIF private key")
        if len(payload) == 34 and payload[-1] == _COMPRESSED_FLAG:
            compressed, key = True, payload[1:33]
        elif len(payload) == 33:
            compressed, key = False, payload[1:]
        else:
            raise UsageError(
                f"not a WIF private key: {len(payload) - 1} bytes after the version, "
                "expected 32 (uncompressed) or 32 and the flag 0x01 (compressed)"
            )
        version = payload[0]
        if network_name is None:
            if not any(p.wif_version == version for p in NETWORKS):
                raise UsageError(
                    f"not a Qtum WIF key: version {version}, expected {MAINNET_WIF_VERSION} (mainnet) "
                    f"or {TESTNET_WIF_VERSION} (testnet/regtest)"
                )
        else:
            expected = _qtum_network(network_name)
            if version != expected.wif_version:
                raise UsageError(
                    f"the WIF key is for {_networks_with('wif_version', version)} (version {version}), "
                    f"not for {expected.name} (version {expected.wif_version})"
                )
        return cls(key, compressed)

    def to_wif(self, network_name: str | NetworkPreset) -> str:
        preset = _qtum_network(network_name)
        assert preset.wif_version is not None  # _qtum_network guarantees it
        flag = bytes([_COMPRESSED_FLAG]) if self.compressed else b""
        return base58check_encode(bytes([preset.wif_version]) + self.private_key + flag)

    @property
    def public_key(self) -> bytes:
        """The public key in the form the Qtum address hashes (33 or 65 bytes)."""
        return coincurve.PrivateKey(self.private_key).public_key.format(compressed=self.compressed)

    @property
    def hash160(self) -> bytes:
        """HASH160 of the public key: `msg.sender` of this key's transactions on Qtum."""
        return hash160(self.public_key)

    @property
    def hash160_address(self) -> str:
        """HASH160 as a checksummed 0x address: what Qtum contracts see as `msg.sender`."""
        return str(to_checksum_address(self.hash160))

    @property
    def keccak_address(self) -> str:
        """keccak256(pubkey)[12:] checksummed: what `ecrecover` returns (a meter's signer)."""
        return key_address(self.private_key)

    def qtum_address(self, network_name: str | NetworkPreset) -> str:
        """The base58 address a Qtum wallet shows for this key."""
        return encode_address(self.hash160, network_name)

    def sender_address(self, network_name: str | NetworkPreset) -> str:
        """The 0x address contracts see as `msg.sender` on that network."""
        return self.hash160_address if network(network_name).is_qtum else self.keccak_address

    def meter_key(self) -> MeterKey:
        """The same key as a meter signing key (registered by its keccak address)."""
        return MeterKey(self.private_key)
