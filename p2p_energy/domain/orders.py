"""Trading orders as EnergyEscrow checks them: signed asks and bids, fills, and lot commitments.

A seller signs an ask (up to `wh` of its meter in a slot, in fills of at
least `min_wh`, at `min_price_per_kwh` or more); a buyer signs a bid (up to
`max_wh` in a slot at `max_price_per_kwh` at most). Whoever submits a slot's
matches (`matchOrders`) names fills (ask, bid, Wh, price) that keep within
both; the escrow keeps, per (meter, slot) lot, a running 192-bit commitment of
its trades, and settling or refunding a lot is given the trades again.

The key that signs an account's orders is the account's own key on EVM chains
(`ecrecover` gives its address) and, on Qtum, the key it named with
`setTrader` (here: the same private key, whose `ecrecover` address differs
from its Qtum address).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth_utils.crypto import keccak

from p2p_energy.domain.eip712 import Eip712Domain, Signature, address_word, sign_digest, word

DOMAIN_NAME = "P2P Energy Escrow"
DOMAIN_VERSION = "2"
ASK_TYPEHASH = keccak(text="Ask(uint32 meterId,uint64 slot,uint64 wh,uint64 minWh,uint96 minPricePerKWh)")
BID_TYPEHASH = keccak(text="Bid(address account,uint64 slot,uint64 maxWh,uint96 maxPricePerKWh)")
_COMMITMENT_BYTES = 24


def order_domain(chain_id: int, escrow: str) -> Eip712Domain:
    """The EIP-712 domain of one EnergyEscrow deployment on one chain."""
    return Eip712Domain(DOMAIN_NAME, DOMAIN_VERSION, chain_id, escrow)


@dataclass(frozen=True)
class Ask:
    meter_id: int
    slot: int
    wh: int
    min_wh: int
    min_price_per_kwh: int

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.meter_id, self.slot, self.wh, self.min_wh, self.min_price_per_kwh)

    def struct_hash(self) -> bytes:
        return keccak(ASK_TYPEHASH + b"".join(word(v) for v in self.as_tuple()))


@dataclass(frozen=True)
class Bid:
    account: str
    slot: int
    max_wh: int
    max_price_per_kwh: int

    def as_tuple(self) -> tuple[str, int, int, int]:
        return (self.account, self.slot, self.max_wh, self.max_price_per_kwh)

    def struct_hash(self) -> bytes:
        return keccak(
            BID_TYPEHASH + address_word(self.account) + word(self.slot) + word(self.max_wh)
            + word(self.max_price_per_kwh)
        )  # fmt: skip


def sign_order(private_key: bytes, domain: Eip712Domain, order: Ask | Bid) -> Signature:
    """The trader key's signature of `order` in the escrow's `domain`."""
    return sign_digest(private_key, domain.digest(order.struct_hash()))


@dataclass(frozen=True)
class Fill:
    """`wh` of ask number `ask` to bid number `bid` (indices in one matchOrders call) at `price_per_kwh`."""

    ask: int
    bid: int
    wh: int
    price_per_kwh: int

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.ask, self.bid, self.wh, self.price_per_kwh)


@dataclass(frozen=True)
class LotTrade:
    """A trade as its lot's commitment covers it: the buyer, the Wh and the cost locked."""

    buyer: str
    wh: int
    cost: int

    def as_tuple(self) -> tuple[str, int, int]:
        return (self.buyer, self.wh, self.cost)


def commitment(trades: Iterable[LotTrade], start: bytes = bytes(_COMMITMENT_BYTES)) -> bytes:
    """The escrow's running commitment after `trades` (in match order): keccak over packed fields, 24 bytes."""
    value = start
    for trade in trades:
        packed = value + bytes.fromhex(trade.buyer.removeprefix("0x")) + trade.wh.to_bytes(8, "big")
        value = keccak(packed + trade.cost.to_bytes(12, "big"))[:_COMMITMENT_BYTES]
    return value
