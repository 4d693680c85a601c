"""Typed, bounded reads of a scenario file's TOML tables, each error one line naming file and field.

:class:`Table` wraps one table of the file with its path in the file
(`households[2].ev`); every read checks type and range (:class:`Limits`)
and raises :class:`ScenarioError` with the file, the field, the problem and
what is allowed. The scenario model and what each key means are in
:mod:`p2p_energy.domain.scenario`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from p2p_energy.errors import UsageError
from p2p_energy.units import TOKEN_DECIMALS

NAME_ALLOWED = "1-40 letters, digits, '_', '.' or '-', starting with a letter or digit"


class ScenarioError(UsageError):
    """A scenario file that cannot run: says which file, which field, what is wrong and what is allowed."""

    def __init__(self, source: Path, field: str, problem: str, allowed: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.allowed = allowed
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(f"{where}{problem}; allowed: {allowed}")


def nrg_to_base_units(value: Decimal) -> int:
    """An exact NRG amount as token base units; ValueError if it has more than 8 decimals."""
    scaled = value.scaleb(TOKEN_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {TOKEN_DECIMALS} decimals")
    return int(scaled)


_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "array"),
    (dict, "table"),
)


def type_name(value: object) -> str:
    return next((name for kind, name in _TOML_TYPES if isinstance(value, kind)), "date/time")


def show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str | list | dict):
        return json.dumps(value, default=str)
    return str(value)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@dataclass(frozen=True)
class Limits:
    """Bounds of a number and how to say them."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    unit: str = ""

    def allowed(self, kind: str) -> str:
        parts = [kind]
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'and ' if self.low is not None else ''}{'<' if self.high_open else '<='} {_fmt(self.high)}")
        text = " ".join(parts)
        return f"{text} ({self.unit})" if self.unit else text

    def problem(self, value: float, shown: str = "") -> str | None:
        shown = shown or show(value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            if self.low == 0 and value < 0:
                return f"{shown} is negative"
            if self.low == 0:
                return f"{shown} is zero"
            return f"{shown} is below {_fmt(self.low)}"
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return f"{shown} is {'not below' if self.high_open else 'above'} {_fmt(self.high)}"
        return None


REQUIRED: Any = object()


@dataclass(frozen=True)
class Table:
    """One TOML table being read, with its dotted path for messages."""

    source: Path
    path: str
    data: Mapping[str, Any]

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str, allowed: str) -> NoReturn:
        raise ScenarioError(self.source, self.field(key) if key else self.path, problem, allowed)

    def check_keys(self, allowed: Iterable[str]) -> None:
        names = list(allowed)
        for key in self.data:
            if key not in names:
                self.fail(key, "unknown key", ", ".join(names))

    def _get(self, key: str, default: Any, allowed: str) -> Any:
        if key in self.data:
            return self.data[key]
        if default is REQUIRED:
            self.fail(key, "missing", allowed)
        return default

    def integer(self, key: str, limits: Limits, default: int = REQUIRED) -> int:
        allowed = limits.allowed("an integer")
        value = self._get(key, default, allowed)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"{show(value)} is a {type_name(value)}, not an integer", allowed)
        problem = limits.problem(value)
        if problem:
            self.fail(key, problem, allowed)
        return value

    def _check_number(self, key: str, value: Any, limits: Limits, allowed: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"{show(value)} is a {type_name(value)}, not a number", allowed)
        if not math.isfinite(value):
            self.fail(key, f"{show(value)} is not a finite number", allowed)
        problem = limits.problem(value)
        if problem:
            self.fail(key, problem, allowed)
        return float(value)

    def number(self, key: str, limits: Limits, default: float = REQUIRED) -> float:
        allowed = limits.allowed("a number")
        return self._check_number(key, self._get(key, default, allowed), limits, allowed)

    def number_or_range(self, key: str, limits: Limits, default: Any = REQUIRED) -> tuple[float, float]:
        """A number (low == high) or a `[low, high]` range of numbers within `limits`."""
        allowed = f"{limits.allowed('a number')}, or a range [low, high] of such numbers"
        value = self._get(key, default, allowed)
        if isinstance(value, list):
            if len(value) != 2:
                self.fail(key, f"{show(value)} has {len(value)} items, not 2", allowed)
            low, high = (self._check_number(key, item, limits, allowed) for item in value)
            if low > high:
                self.fail(key, f"{show(value)} is not a range (low > high)", allowed)
            return low, high
        number = self._check_number(key, value, limits, allowed)
        return number, number

    def choice(self, key: str, choices: Sequence[str], default: str = REQUIRED) -> str:
        allowed = ", ".join(f'"{c}"' for c in choices)
        value = self._get(key, default, allowed)
        if value not in choices:
            problem = f"{show(value)} is unknown" if isinstance(value, str) else f"{show(value)} is not a string"
            self.fail(key, problem, allowed)
        return str(value)

    def text(self, key: str, default: str = REQUIRED, pattern: re.Pattern[str] | None = None) -> str:
        allowed = NAME_ALLOWED if pattern else "a string"
        value = self._get(key, default, allowed)
        if not isinstance(value, str):
            self.fail(key, f"{show(value)} is a {type_name(value)}, not a string", allowed)
        if pattern and not pattern.fullmatch(value):
            self.fail(key, f"{show(value)} is not a valid name", allowed)
        return value

    def boolean(self, key: str, default: bool = REQUIRED) -> bool:
        value = self._get(key, default, "true or false")
        if not isinstance(value, bool):
            self.fail(key, f"{show(value)} is a {type_name(value)}, not a boolean", "true or false")
        return value

    def nrg(self, key: str, limits: Limits, default: str = REQUIRED, what: str = "an amount of NRG") -> int:
        """An exact NRG amount (number or string, at most 8 decimals) in token base units."""
        allowed = f"{limits.allowed(what)} with at most {TOKEN_DECIMALS} decimals, as a number or a string"
        return self._nrg_value(key, self._get(key, default, allowed), limits, allowed)

    def nrg_range(self, key: str, limits: Limits, default: Any = REQUIRED) -> tuple[int, int]:
        allowed = (
            f"{limits.allowed('a price in NRG per kWh')} with at most {TOKEN_DECIMALS} decimals, "
            "or a range [low, high] of such prices"
        )
        value = self._get(key, default, allowed)
        if isinstance(value, list):
            if len(value) != 2:
                self.fail(key, f"{show(value)} has {len(value)} items, not 2", allowed)
            low, high = (self._nrg_value(key, item, limits, allowed) for item in value)
            if low > high:
                self.fail(key, f"{show(value)} is not a range (low > high)", allowed)
            return low, high
        price = self._nrg_value(key, value, limits, allowed)
        return price, price

    def _nrg_value(self, key: str, value: Any, limits: Limits, allowed: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(key, f"{show(value)} is a {type_name(value)}, not a number or a numeric string", allowed)
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(key, f"{show(value)} is not a number", allowed)
        if not amount.is_finite():
            self.fail(key, f"{show(value)} is not a finite number", allowed)
        problem = limits.problem(float(amount), str(amount))
        if problem:
            self.fail(key, problem, allowed)
        try:
            units = nrg_to_base_units(amount)
        except ValueError as exc:
            self.fail(key, str(exc), allowed)
        return units

    def table(self, key: str) -> Table:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"{show(value)} is a {type_name(value)}, not a table", f"a [{self.field(key)}] table")
        return Table(self.source, self.field(key), value)

    def tables(self, key: str, required: bool = False) -> list[Table]:
        allowed = f"an array of tables ([[{self.field(key)}]])"
        value = self.data.get(key, REQUIRED if required else [])
        if value is REQUIRED:
            self.fail(key, "missing", allowed)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, f"{show(value)} is not an array of tables", allowed)
        return [Table(self.source, f"{self.field(key)}[{i}]", item) for i, item in enumerate(value)]
