"""Records to and from JSON data: the one codec of summary.json, the CSV files and the run record.

Every record is a frozen dataclass of ints, floats, strings, tuples and other records. Token amounts
named in a record's `NRG_FIELDS` are repeated as NRG decimal strings (`<name>_nrg`). Ids named in its
`ID_FIELDS` (trade ids: meter << 96 | slot << 32 | index, far above 2^53) are written as decimal
strings, so a JSON reader that has only doubles (JavaScript's JSON.parse, jq, a spreadsheet) keeps
every digit; they are read back from strings, or from numbers in reports written before. Figures
named in `DERIVED_FIELDS` (properties) are written beside the fields and ignored on reading.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from p2p_energy.units import base_units_to_tokens

#: Field metadata of a field added after report format 1 was first written: a summary.json
#: without it still loads, with the field's default (see `decode_record`).
ADDED_LATER = types.MappingProxyType({"optional_on_load": True})

_T = TypeVar("_T")


class RecordError(ValueError):
    """A record that cannot be rebuilt from JSON data: `where` it is (e.g. "RunResult.trades[3]"),
    the `field` of that place that is missing (if one is), and what is wrong.
    """

    def __init__(self, where: str, problem: str, missing: str | None = None) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem, self.missing = where, problem, missing

    @property
    def place(self) -> str:
        """The field's path below the outermost record, e.g. "households[2].pv_kwp" ("" for the record itself)."""
        cut = min((i for i in (self.where.find("."), self.where.find("[")) if i >= 0), default=len(self.where))
        path = self.where[cut:].removeprefix(".")
        if self.missing:
            path = f"{path}.{self.missing}" if path else self.missing
        return path


def encode_record(record: Any) -> dict[str, Any]:
    """A dataclass record as JSON data: ids as strings; each name in its NRG_FIELDS also as `<name>_nrg`."""
    data: dict[str, Any] = {}
    for f in fields(record):
        data[f.name] = _encode_value(getattr(record, f.name))
    for name in getattr(record, "ID_FIELDS", ()):
        data[name] = str(getattr(record, name))
    for name in getattr(record, "DERIVED_FIELDS", ()):
        data[name] = getattr(record, name)
    for name in type(record).NRG_FIELDS:
        value = getattr(record, name)
        if name not in data:
            data[name] = value
        data[f"{name}_nrg"] = None if value is None else base_units_to_tokens(value)
    return data


def _encode_value(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return encode_record(value)
    if isinstance(value, list | tuple):
        return [_encode_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode_value(item) for key, item in value.items()}
    return value


def decode_record(cls: type[_T], data: Any, where: str = "") -> _T:
    """Build dataclass `cls` from JSON data, checking every field's type; extra keys are ignored.

    A missing field is an error (RecordError) unless its metadata is ADDED_LATER: then it gets its default.
    """
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise RecordError(where, f"expected an object, got {_json_type(data)}")
    hints = typing.get_type_hints(cls)
    ids = getattr(cls, "ID_FIELDS", ())
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in ids and f.name in data:
            values[f.name] = _decode_id(data[f.name], f"{where}.{f.name}")
        elif f.name in data:
            values[f.name] = _decode_value(data[f.name], hints[f.name], f"{where}.{f.name}")
        elif not f.metadata.get("optional_on_load"):
            raise RecordError(where, f"missing field {f.name!r}", missing=f.name)
    try:
        return cls(**values)
    except RecordError:
        raise
    except ValueError as exc:
        raise RecordError(where, str(exc)) from exc


def _decode_id(value: Any, where: str) -> int:
    """An id: a string of decimal digits, or (in reports written before ids were strings) an integer."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise RecordError(where, f"expected an id (a string of digits), got {_json_type(value)} {value!r:.40}")


def _decode_value(value: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        (hint,) = (arg for arg in args if arg is not type(None))
        return _decode_value(value, hint, where)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (str, bool) and isinstance(value, hint):
        return value
    if origin in (list, tuple) and isinstance(value, list):
        items = [_decode_value(item, args[0], f"{where}[{i}]") for i, item in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict and isinstance(value, dict):
        return {key: _decode_value(item, args[1], f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(hint, type) and is_dataclass(hint):
        return decode_record(hint, value, where)
    expected = getattr(hint, "__name__", str(hint))
    raise RecordError(where, f"expected {expected}, got {_json_type(value)} {value!r:.40}")


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "null" if value is None else type(value).__name__
    )
