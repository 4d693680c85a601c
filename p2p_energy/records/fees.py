"""What a run's gas cost in the chain's coin, next to the value of the energy it moved.

Where gas was free (simulate's own anvil), the figures are told at Qtum's minimum gas price, so that every run
says what its chain fee would be on Qtum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from p2p_energy.units import TOKEN_DECIMALS

#: Where gas was free (simulate's own anvil), fees are told at Qtum's minimum gas price: 40 satoshi of QTUM.
REFERENCE_GAS_PRICE = 40
REFERENCE_CURRENCY = ("QTUM", 8)


@dataclass(frozen=True)
class RunFees:
    """What a run's gas cost in a chain's coin (see `RunResult.fees`): in all, per settled trade, per kWh traded,
    and, where the scenario gives the coin's price in NRG, as a share of the value traded (escrowed NRG).

    `reference` is True where the run's own gas was free and the figures are at REFERENCE_GAS_PRICE.
    """

    currency: str
    gas_price: int
    total: Decimal
    per_settled_trade: Decimal | None
    per_kwh_traded: Decimal | None
    reference: bool = False
    share_of_value: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON data; the amounts as exact decimal strings (a float would round them)."""
        exact = ("total", "per_settled_trade", "per_kwh_traded", "share_of_value")
        data: dict[str, Any] = {"currency": self.currency, "gas_price": self.gas_price, "reference": self.reference}
        for name in exact:
            value = getattr(self, name)
            data[name] = None if value is None else str(value)
        return data


@dataclass(frozen=True)
class ChainFee:
    """A chain's gas price in its coin's smallest unit, that coin and its decimals (0 and "": gas was free)."""

    gas_price: int
    currency: str
    decimals: int


class FeeTotals(Protocol):
    """What the fees need of a run's totals (`records.RunTotals` has them; named here so fees need no records)."""

    @property
    def gas(self) -> int: ...
    @property
    def tokens_escrowed(self) -> int: ...
    @property
    def settled_trades(self) -> int: ...
    @property
    def traded_wh(self) -> int: ...


def run_fees(totals: FeeTotals, chain: ChainFee, coin_price: int | None) -> RunFees:
    """The fees of a run with `totals` on `chain`; `coin_price` is NRG base units per whole coin, if known."""
    reference = not chain.gas_price or not chain.currency
    price = REFERENCE_GAS_PRICE if reference else chain.gas_price
    currency, decimals = REFERENCE_CURRENCY if reference else (chain.currency, chain.decimals)
    total = Decimal(totals.gas * price).scaleb(-decimals)
    traded_value = Decimal(totals.tokens_escrowed).scaleb(-TOKEN_DECIMALS)
    share = None
    if coin_price is not None and traded_value:
        share = total * Decimal(coin_price).scaleb(-TOKEN_DECIMALS) / traded_value
    return RunFees(
        currency=currency,
        gas_price=price,
        total=total,
        per_settled_trade=total / totals.settled_trades if totals.settled_trades else None,
        per_kwh_traded=total * 1000 / totals.traded_wh if totals.traded_wh else None,
        reference=reference,
        share_of_value=share,
    )
