"""Smart meter readings: EIP-712 typed data signed by the meter's own key.

A reading states the energy a meter exported during one slot (the 15-minute
interval value smart meters record). Only export: the import register, which
tells when people are home, never reaches the chain. A lot is settled with
its seller's reading of that slot; readings are not stored on chain.

The signing key of a meter is registered in MeterRegistry as the address
`ecrecover` yields (keccak-style). On Qtum that differs from the key's
`msg.sender` address (HASH160), which is why readings are never checked
against a sender. Digests and signatures: :mod:`p2p_energy.domain.eip712`.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from eth_utils.crypto import keccak

from p2p_energy.domain.eip712 import Eip712Domain, Signature, sign_digest, word
from p2p_energy.domain.keys import key_address, meter_label, seed_key
from p2p_energy.errors import UsageError

DOMAIN_NAME = "P2P Energy Meter Registry"
DOMAIN_VERSION = "2"
READING_TYPEHASH = keccak(text="Reading(uint32 meterId,uint64 slot,uint64 exportedWh)")
_UINT64_MAX = 2**64 - 1
_UINT32_MAX = 2**32 - 1


@dataclass(frozen=True)
class Reading:
    """Energy meter `meter_id` exported during `slot`, in Wh."""

    meter_id: int
    slot: int
    exported_wh: int

    def __post_init__(self) -> None:
        if not 0 <= self.meter_id <= _UINT32_MAX:
            raise UsageError(f"meter id must fit 32 bits, got {self.meter_id}")
        for name in ("slot", "exported_wh"):
            value = getattr(self, name)
            if not 0 <= value <= _UINT64_MAX:
                raise UsageError(f"reading {name} must fit 64 bits (0..{_UINT64_MAX}), got {value}")

    def as_tuple(self) -> tuple[int, int, int]:
        """The ABI tuple of `IMeterRegistry.Reading`."""
        return (self.meter_id, self.slot, self.exported_wh)

    def struct_hash(self) -> bytes:
        return keccak(READING_TYPEHASH + word(self.meter_id) + word(self.slot) + word(self.exported_wh))


def reading_domain(chain_id: int, registry: str) -> Eip712Domain:
    """The EIP-712 domain of one MeterRegistry deployment on one chain."""
    return Eip712Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, registry)


@dataclass(frozen=True)
class MeterKey:
    """A meter's signing key. `address` is what `ecrecover` returns for it."""

    private_key: bytes

    @classmethod
    def from_hex(cls, private_key: str) -> MeterKey:
        try:
            raw = bytes.fromhex(private_key.removeprefix("0x"))
            if len(raw) != 32:
                raise ValueError(f"got {len(raw)} bytes")
            coincurve.PrivateKey(raw)
        except ValueError as exc:
            raise UsageError(f"not a valid meter key (32 bytes of hex expected): {exc}") from None
        return cls(raw)

    @property
    def address(self) -> str:
        return key_address(self.private_key)

    def sign(self, domain: Eip712Domain, reading: Reading) -> Signature:
        """The meter's compact signature of `reading` in `domain` (see :func:`reading_domain`)."""
        return sign_digest(self.private_key, domain.digest(reading.struct_hash()))


def simulated_meter_key(seed: int, household: str) -> MeterKey:
    """The signing key of `household`'s meter in a simulation run with `seed`: keccak(f"{seed}:{household}").

    For simulations only: anyone who knows the seed knows every key (see domain.keys.seed_key).
    """
    return MeterKey(seed_key(seed, meter_label(household)))
