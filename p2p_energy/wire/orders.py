"""Standing orders as EnergyEscrow places them: signed bids and asks, and their packed records.

A buyer signs one standing bid (at most a price per kWh and Wh per slot, in
every slot up to a last one) and a seller one standing ask (its meter, at
least a price per kWh, at most Wh per slot, fills of at least `min_wh`, up to
a last slot), each with the key that signs its orders: its own key where
`ecrecover` yields its address (EVM chains), else the key it named with
`setTrader` (Qtum). Only the escrow's matcher submits them, inside a
`matchOrders` call that places each (replacing the account's previous order
of its kind, if this one ends later) before its fills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import coincurve

from p2p_energy.wire.eip712 import (
    Eip712Domain,
    FieldValue,
    Signature,
    StructType,
    address_bytes,
    key_address,
    sign_struct,
)

DOMAIN_NAME = "P2P Energy Escrow"
DOMAIN_VERSION = "3"

BID_TYPE = StructType(
    "Bid", (("account", "address"), ("maxPricePerKWh", "uint48"), ("maxWhPerSlot", "uint24"), ("untilSlot", "uint32"))
)
ASK_TYPE = StructType(
    "Ask",
    (
        ("account", "address"),
        ("meterId", "uint32"),
        ("minPricePerKWh", "uint48"),
        ("maxWhPerSlot", "uint24"),
        ("minWh", "uint24"),
        ("untilSlot", "uint32"),
    ),
)

#: Tags of the two kinds of order record (EscrowWords).
BID_TAG = 1
ASK_TAG = 2
#: Bytes of a bid record (tag 1 | account index 2 | price 6 | Wh 3 | until 4 | signature 64) and an ask record
#: (tag 1 | account 20 | meter 4 | price 6 | max Wh 3 | min Wh 3 | until 4 | signature 64).
BID_RECORD = 80
ASK_RECORD = 105


def order_domain(chain_id: int, escrow: str) -> Eip712Domain:
    """The EIP-712 domain of one EnergyEscrow deployment on one chain."""
    return Eip712Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, escrow)


@dataclass(frozen=True)
class Bid:
    """`account` buys, in every slot up to `until_slot`, at most `max_wh_per_slot` Wh at `max_price_per_kwh` or less."""

    account: str
    max_price_per_kwh: int
    max_wh_per_slot: int
    until_slot: int

    def values(self) -> tuple[FieldValue, ...]:
        return (self.account, self.max_price_per_kwh, self.max_wh_per_slot, self.until_slot)

    def struct_hash(self) -> bytes:
        return BID_TYPE.hash(self.values())


@dataclass(frozen=True)
class Ask:
    """`account` sells from meter `meter_id`, in every slot up to `until_slot`, at most `max_wh_per_slot` Wh in
    fills of at least `min_wh`, at `min_price_per_kwh` or more."""

    account: str
    meter_id: int
    min_price_per_kwh: int
    max_wh_per_slot: int
    min_wh: int
    until_slot: int

    def values(self) -> tuple[FieldValue, ...]:
        return (
            self.account,
            self.meter_id,
            self.min_price_per_kwh,
            self.max_wh_per_slot,
            self.min_wh,
            self.until_slot,
        )

    def struct_hash(self) -> bytes:
        return ASK_TYPE.hash(self.values())


@dataclass(frozen=True)
class SignedOrder:
    """A bid or an ask and its signature by the account's order key."""

    order: Bid | Ask
    signature: Signature

    @property
    def account(self) -> str:
        return self.order.account

    def record(self, index: Mapping[str, int]) -> bytes:
        """The packed record; a bid names its account by its place in the call's account list (`index`, keys in
        lower case), where its balance word is."""
        o, signature = self.order, self.signature.packed
        if isinstance(o, Bid):
            place = index[o.account.lower()]
            fields = place.to_bytes(2, "big") + _be(o.max_price_per_kwh, 6) + _be(o.max_wh_per_slot, 3)
            return bytes([BID_TAG]) + fields + _be(o.until_slot, 4) + signature
        return (
            bytes([ASK_TAG])
            + address_bytes(o.account)
            + _be(o.meter_id, 4)
            + _be(o.min_price_per_kwh, 6)
            + _be(o.max_wh_per_slot, 3)
            + _be(o.min_wh, 3)
            + _be(o.until_slot, 4)
            + signature
        )


def sign_order(private_key: bytes, domain: Eip712Domain, order: Bid | Ask) -> SignedOrder:
    """The order key's signature of `order` in the escrow's `domain`."""
    return SignedOrder(order, sign_struct(private_key, domain, order.struct_hash()))


def order_records(orders: Sequence[SignedOrder], index: Mapping[str, int]) -> bytes:
    """The `orders` stream of a matchOrders call."""
    return b"".join(o.record(index) for o in orders)


def _be(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def needs_trader(account: str, order_key: bytes) -> bool:
    """Whether `account` must name `order_key` with setTrader before orders signed with it count: where `ecrecover`
    of the key is not the account's address (Qtum's HASH160 addresses; node-held accounts that delegate)."""
    return key_address(order_key).lower() != account.lower()


def public_key(order_key: bytes) -> bytes:
    """The 64-byte public key (x | y) of `order_key`, as EnergyEscrow.nameOwnKeys takes it."""
    return bytes(coincurve.PrivateKey(order_key).public_key.format(compressed=False)[1:])


def own_key_calldata(order_keys: Sequence[bytes]) -> bytes:
    """The `publicKeys` argument of nameOwnKeys naming each key as its own account's order key."""
    return b"".join(public_key(key) for key in order_keys)
