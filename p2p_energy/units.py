"""Token and QTUM units, and exact conversions between them (stdlib only).

Amounts are integers in the smallest unit, never floats: 1 QTUM = 10^8
satoshi; our token (NRG) has 8 decimals too. Gas prices are satoshi per gas on
Qtum; Janus (Qtum's Ethereum JSON-RPC adapter) shows 1 satoshi as 10^10 wei,
so the 40 sat/gas minimum reads 0x5d21dba000 wei.

This is a ground-floor module: it imports nothing of the package but errors,
so the domain can use it without loading web3.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from p2p_energy.errors import UsageError

QTUM_DECIMALS = 8
SATOSHI_PER_QTUM = 10**QTUM_DECIMALS
#: The energy token (EnergyToken): its name, symbol and decimals.
TOKEN_NAME = "Energy Token"
TOKEN_SYMBOL = "NRG"
TOKEN_DECIMALS = 8
WEI_PER_SATOSHI = 10**10


def parse_units(amount: str | int | Decimal, decimals: int, unit: str = "units") -> int:
    """An exact decimal amount in whole `unit`s -> integer base units (10^-decimals).

    Floats are refused (0.1 has no exact binary value); so are negative
    amounts and fractions finer than one base unit.
    """
    if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
        raise UsageError(f"give the amount of {unit} as a decimal string or an integer, not {type(amount).__name__}")
    try:
        value = Decimal(amount.strip()) if isinstance(amount, str) else Decimal(amount)
    except InvalidOperation:
        raise UsageError(f"{amount!r} is not a decimal number of {unit}") from None
    if not value.is_finite():
        raise UsageError(f"{amount!r} is not a finite number of {unit}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if sign and any(digits):
        raise UsageError(f"an amount of {unit} cannot be negative, got {amount}")
    mantissa = int("".join(map(str, digits)) or "0")
    shift = exponent + decimals
    scale: int = 10 ** abs(shift)  # an int either way; mypy cannot tell from 10**shift
    if shift >= 0:
        return mantissa * scale
    base_units, rest = divmod(mantissa, scale)
    if rest:
        raise UsageError(
            f"{amount} {unit} is not a whole number of base units: {unit} have {decimals} decimals, "
            f"so the smallest amount is {format_units(1, decimals)}"
        )
    return base_units


def format_units(base_units: int, decimals: int) -> str:
    """Integer base units -> a decimal string with all `decimals` digits (exact)."""
    sign = "-" if base_units < 0 else ""
    whole, fraction = divmod(abs(base_units), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}" if decimals else f"{sign}{whole}"


def qtum_to_satoshi(amount: str | int | Decimal) -> int:
    return parse_units(amount, QTUM_DECIMALS, "QTUM")


def satoshi_to_qtum(satoshi: int) -> str:
    return format_units(satoshi, QTUM_DECIMALS)


def tokens_to_base_units(amount: str | int | Decimal, decimals: int = TOKEN_DECIMALS) -> int:
    """NRG (or any token of `decimals`) -> base units, e.g. '1.5' -> 150000000."""
    return parse_units(amount, decimals, "tokens")


def base_units_to_tokens(base_units: int, decimals: int = TOKEN_DECIMALS) -> str:
    return format_units(base_units, decimals)


def satoshi_per_gas_to_wei(satoshi: int) -> int:
    """A Qtum gas price as Janus shows it: 40 sat/gas -> 400,000,000,000 wei (0x5d21dba000)."""
    if type(satoshi) is not int or satoshi < 0:
        raise UsageError(f"a gas price in satoshi per gas is a whole number >= 0, got {satoshi!r}")
    return satoshi * WEI_PER_SATOSHI


def wei_per_gas_to_satoshi(wei: int) -> int:
    """The Qtum gas price behind a Janus wei figure; fractions of a satoshi cannot exist on Qtum."""
    if type(wei) is not int or wei < 0:
        raise UsageError(f"a gas price in wei is a whole number >= 0, got {wei!r}")
    satoshi, rest = divmod(wei, WEI_PER_SATOSHI)
    if rest:
        raise UsageError(f"{wei} wei is not a whole number of satoshi (1 satoshi = {WEI_PER_SATOSHI:,} wei on Qtum)")
    return satoshi
