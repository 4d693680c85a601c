"""Smart meter readings: a window of a meter's interval exports under one EIP-712 signature.

A reading states the energy a meter exported in each of consecutive slots
(the 15-minute interval values smart meters record), from `first_slot` on,
signed by the meter's own key: one signature covers an hour or a day. Only
export: the import register, which tells when people are home, never
reaches the chain. Readings are not stored on chain: `closeLots` is given
them, and MeterRegistry's `provenExports` says what each proves to the
escrow that asks (only the escrow the meter sells through, only before the
slot it was revoked in).

The signing key of a meter is registered as the address `ecrecover` yields
(keccak-style); on Qtum that differs from the key's `msg.sender` address, which
is why readings are never checked against a sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import coincurve

from p2p_energy.errors import UsageError
from p2p_energy.wire.eip712 import Eip712Domain, Signature, StructType, key_address, sign_struct

DOMAIN_NAME = "P2P Energy Meter Registry"
DOMAIN_VERSION = "3"
READING_TYPE = StructType("Reading", (("meterId", "uint32"), ("firstSlot", "uint32"), ("exportedWh", "uint32[]")))
#: IMeterRegistry.Unproven's members in order: why a reading proves nothing (or nothing from a slot on).
UNPROVEN = ("None", "UnknownMeter", "OtherMarket", "BadSignature", "Revoked")
#: MeterRegistry.MAX_SLOTS_PER_READING.
MAX_SLOTS_PER_READING = 96
#: Bytes of a packed reading before its values: meterId 4 | firstSlot 4 | slots 1; each value 4; signature 64.
READING_HEADER = 9
READING_VALUE = 4
SIGNATURE = 64


def reading_domain(chain_id: int, registry: str) -> Eip712Domain:
    """The EIP-712 domain of one MeterRegistry deployment on one chain."""
    return Eip712Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, registry)


@dataclass(frozen=True)
class Reading:
    """Energy meter `meter_id` exported in each slot from `first_slot` on, in Wh."""

    meter_id: int
    first_slot: int
    exported_wh: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.exported_wh) <= MAX_SLOTS_PER_READING:
            raise UsageError(f"a reading covers 1 to {MAX_SLOTS_PER_READING} slots, got {len(self.exported_wh)}")
        # StructType.hash checks every field's range (uint32 meter id, slot and values).
        READING_TYPE.hash(self.values())

    @property
    def slots(self) -> range:
        return range(self.first_slot, self.first_slot + len(self.exported_wh))

    def values(self) -> tuple[int, int, tuple[int, ...]]:
        return (self.meter_id, self.first_slot, self.exported_wh)

    def struct_hash(self) -> bytes:
        return READING_TYPE.hash(self.values())

    def exported(self, slot: int) -> int:
        return self.exported_wh[slot - self.first_slot]


@dataclass(frozen=True)
class SignedReading:
    """A reading and its meter's signature."""

    reading: Reading
    signature: Signature

    @property
    def record(self) -> bytes:
        r = self.reading
        values = b"".join(v.to_bytes(READING_VALUE, "big") for v in r.exported_wh)
        header = r.meter_id.to_bytes(4, "big") + r.first_slot.to_bytes(4, "big") + bytes([len(r.exported_wh)])
        return header + values + self.signature.packed


def reading_size(slots: int) -> int:
    """Bytes of a packed reading of `slots` slots."""
    return READING_HEADER + READING_VALUE * slots + SIGNATURE


def reading_records(readings: Sequence[SignedReading]) -> bytes:
    """The `readings` stream of a closeLots call."""
    return b"".join(r.record for r in readings)


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

    def sign(self, domain: Eip712Domain, reading: Reading) -> SignedReading:
        """The meter's compact signature of `reading` in `domain` (see :func:`reading_domain`)."""
        return SignedReading(reading, sign_struct(self.private_key, domain, reading.struct_hash()))
