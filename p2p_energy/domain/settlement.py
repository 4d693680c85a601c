"""The settlement rule, once in Python (EnergyEscrow.sol holds the other copy).

A trade of `wh` at `price_per_kwh` locks cost = ceil(wh * price / 1000) token
base units (rounded up so that no take is free). After the slot, with `sold`
Wh taken in the seller's (meter, slot) lot and `exported` Wh proven by its
readings:

    delivered = min(exported, sold)
    paid      = floor(cost * delivered / sold)   -> seller
    refunded  = cost - paid                      -> buyer

so paid + refunded == cost for every trade: rounding never creates or loses
a token unit, and paid <= price x taken. A test runs this and the contract
on the same cases and compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WH_PER_KWH = 1000


def trade_cost(wh: int, price_per_kwh: int) -> int:
    """Token base units locked for `wh` at `price_per_kwh` base units per kWh."""
    if wh < 0 or price_per_kwh < 0:
        raise ValueError(f"energy and price must not be negative, got {wh} Wh at {price_per_kwh}")
    return -(-wh * price_per_kwh // WH_PER_KWH)


@dataclass(frozen=True)
class LotOutcome:
    """How one (meter, slot) lot settles: per trade, paid to seller and refunded to buyer."""

    delivered_wh: int
    paid: tuple[int, ...]
    refunded: tuple[int, ...]

    @property
    def seller_payout(self) -> int:
        return sum(self.paid)


def settle_lot(costs: Sequence[int], sold_wh: int, exported_wh: int) -> LotOutcome:
    """Split each trade's locked cost between seller and buyer."""
    if sold_wh <= 0:
        raise ValueError(f"a lot to settle has sold energy, got {sold_wh} Wh")
    delivered = min(exported_wh, sold_wh)
    paid = tuple(cost * delivered // sold_wh for cost in costs)
    return LotOutcome(delivered, paid, tuple(c - p for c, p in zip(costs, paid, strict=True)))
