"""Sweep files: a base scenario and axes, expanded into runs, every run's scenario checked before any runs.

A sweep file (TOML) names a base scenario (`scenario`, relative to the sweep
file) and its axes in `[axes]`: each key is a scenario key by its dotted path
(`market.mode`, `seed`, `grid.feeder_limit_kw`, `households[3].count`;
`households[*].battery.share` sets the key in every household group that has
the table it lives in), each value a non-empty list of the values to try.
`backend` is an axis too ("evm" or "qtum"), though not a scenario key.
`combine = "cross"` (default) runs every combination, `"zip"` the first
values together, then the second, and so on (every axis as long). `[set]`
holds dotted keys fixed for every run.

Every expanded scenario goes through the scenario loader's own checks
(`parse_scenario`), so an unknown key, an empty axis or a value the scenario
refuses is a `UsageError` of one line, before any run starts.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p2p_energy.defaults import BACKENDS
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.errors import UsageError

BACKEND_AXIS = "backend"
COMBINE = ("cross", "zip")
_TOP_KEYS = ("name", "description", "scenario", "combine", "axes", "set")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_STEP = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+|\*)\])?")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its axis values, its whole scenario (TOML data), backend, key and report folder."""

    key: str
    values: tuple[tuple[str, Any], ...]
    scenario: dict[str, Any]
    source: Path
    backend: str
    out: Path

    @property
    def label(self) -> str:
        return ", ".join(f"{axis}={value}" for axis, value in self.values)


@dataclass(frozen=True)
class Sweep:
    """A checked sweep file: its name, base scenario, axes (in file order) and the runs they expand to."""

    name: str
    path: Path
    description: str
    base: Path
    combine: str
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    runs: tuple[RunSpec, ...]

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)


def load_sweep(path: Path, out: Path, backend: str, code: str) -> Sweep:
    """Read `path`, expand its runs (report folders under `out`/runs), check every run's scenario.

    `backend` is the runs' chain unless the sweep has a `backend` axis; `code` is the code version that keys the
    runs with their scenarios (see :func:`code_version`).
    """
    top = _read_toml(path, "sweep file")
    unknown = sorted(set(top) - set(_TOP_KEYS))
    if unknown:
        _fail(path, unknown[0], "is not a key of a sweep file", ", ".join(_TOP_KEYS))
    name = top.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        _fail(path, "name", f"{name!r} cannot name a folder", "letters, digits, '_', '.', '-' (at most 40)")
    if not isinstance(top.get("scenario"), str):
        _fail(path, "scenario", "is missing or not a string", "the base scenario file, relative to the sweep file")
    base = (path.parent / top["scenario"]).resolve()
    combine = top.get("combine", "cross")
    if combine not in COMBINE:
        _fail(path, "combine", f"is {combine!r}", " or ".join(COMBINE))
    axes = _axes(path, top.get("axes"), combine)
    fixed = top.get("set", {})
    if not isinstance(fixed, dict):
        _fail(path, "set", "is not a table", "a table of dotted scenario keys and their values")
    data = _read_toml(base, "base scenario")
    for key, value in fixed.items():
        _set(path, data, key, value, f"set.{key}")
    runs = tuple(_runs(path, base, data, axes, combine, backend, code, out))
    seen: dict[str, RunSpec] = {}
    for run in runs:
        if run.key in seen:
            _fail(path, "axes", f"runs {seen[run.key].label} and {run.label} are the same run", "distinct values")
        seen[run.key] = run
    return Sweep(name, path, str(top.get("description", "")), base, combine, axes, runs)


def code_version(root: Path) -> str:
    """A digest of the package's code and the contracts: a run done with other code is not the same run."""
    digest = hashlib.sha256()
    files = [*(root / "p2p_energy").rglob("*.py"), *(root / "p2p_energy").rglob("*.js")]
    files += [*(root / "contracts").rglob("*.sol"), *(root / "p2p_energy").rglob("*.css")]
    for file in sorted(files):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_key(scenario: dict[str, Any], backend: str, code: str) -> str:
    """The run's key: its resolved scenario, backend and code version, hashed (also its folder's name)."""
    text = json.dumps({"scenario": scenario, "backend": backend, "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such {what}; name an existing TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: the {what} cannot be read ({exc}); name a readable UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: the {what} is not valid TOML ({exc}); see https://toml.io") from None


def _fail(path: Path, field: str, problem: str, allowed: str) -> None:
    raise UsageError(f"{path}: {field}: {problem}; allowed: {allowed}")


def _axes(path: Path, table: Any, combine: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(table, dict) or not table:
        _fail(path, "axes", "is missing or empty", "a table of dotted scenario keys, each with a list of values")
    axes = []
    for name, values in table.items():
        if not isinstance(values, list) or not values:
            _fail(path, f"axes.{name}", f"is {values!r}", "a non-empty list of values")
        if name == BACKEND_AXIS and any(value not in BACKENDS for value in values):
            _fail(path, f"axes.{name}", f"is {values!r}", " or ".join(BACKENDS))
        axes.append((name, tuple(values)))
    lengths = {len(values) for _, values in axes}
    if combine == "zip" and len(lengths) > 1:
        _fail(path, "axes", f"have {sorted(lengths)} values", 'axes of one length with combine = "zip"')
    return tuple(axes)


def _runs(
    path: Path,
    base: Path,
    data: dict[str, Any],
    axes: tuple[tuple[str, tuple[Any, ...]], ...],
    combine: str,
    backend: str,
    code: str,
    out: Path,
) -> Iterator[RunSpec]:
    names = [name for name, _ in axes]
    columns = [values for _, values in axes]
    rows = zip(*columns, strict=True) if combine == "zip" else itertools.product(*columns)
    for row in rows:
        scenario = copy.deepcopy(data)
        values = tuple(zip(names, row, strict=True))
        for name, value in values:
            if name != BACKEND_AXIS:
                _set(path, scenario, name, value, f"axes.{name}")
        chain = dict(values).get(BACKEND_AXIS, backend)
        label = ", ".join(f"{name}={value}" for name, value in values)
        try:
            parse_scenario(copy.deepcopy(scenario), base)
        except UsageError as exc:
            raise UsageError(f"{path}: run {label}: {exc}") from None
        key = run_key(scenario, chain, code)
        yield RunSpec(key, values, scenario, base, chain, out / "runs" / key)


def _set(path: Path, data: dict[str, Any], dotted: str, value: Any, field: str) -> None:
    """Set `dotted` (e.g. households[2].battery.share) to `value` in `data`; `[*]`: every table that has the
    parent of the last key."""
    steps = dotted.split(".")
    if not all(_STEP.fullmatch(step) for step in steps):
        _fail(path, field, f"{dotted!r} is not a dotted key", "e.g. market.mode, households[2].count, seed")
    targets, wildcard = [data], False
    for depth, step in enumerate(steps):
        found = _STEP.fullmatch(step)
        assert found is not None  # checked above
        key, index = found["key"], found["index"]
        last = depth == len(steps) - 1
        if last and index is None:
            for target in targets:
                target[key] = copy.deepcopy(value)
            return
        below = [_step_into(path, field, target, key, index, existing=wildcard) for target in targets]
        targets = [table for tables in below for table in tables]
        wildcard = wildcard or index == "*"
        if not targets:
            _fail(path, field, f"no table of the base scenario has {'.'.join(steps[: depth + 1])}", "an existing one")
    _fail(path, field, f"{dotted!r} ends in a list", "a key, e.g. households[2].count")


def _step_into(
    path: Path, field: str, table: dict[str, Any], key: str, index: str | None, *, existing: bool
) -> list[dict[str, Any]]:
    """The tables one step below `table`: `key` (created if missing, unless only `existing` ones count), or
    `key[i]`, or every `key[*]`."""
    if index is None:
        if existing and key not in table:
            return []
        child = table.setdefault(key, {})
        if not isinstance(child, dict):
            _fail(path, field, f"{key} is {child!r}, not a table", "a path through tables")
        return [child]
    items = table.get(key)
    if not isinstance(items, list):
        _fail(path, field, f"{key} is not a list of tables in the base scenario", "an index into a list of tables")
    assert isinstance(items, list)
    if index == "*":
        return [item for item in items if isinstance(item, dict)]
    if int(index) >= len(items):
        _fail(path, field, f"{key}[{index}] is past the end ({len(items)} tables)", f"0 to {len(items) - 1}")
    return [items[int(index)]]
