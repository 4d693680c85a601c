"""Time series files (CSV or Parquet) checked against a run's slots: measured loads and weather.

A file is a table: the first column holds time stamps, each other column one series. A time
stamp is the start of its step. Stamps without a UTC offset are the site's local time; stamps
with one must carry the site's own offset (a file stamped in another time zone would put every
morning peak at the wrong hour). CSV lines starting with `#` are comments.

`read_steps` refuses, each with one line saying what to fix (`DataFileError`): a file that
cannot be read, a time stamp that is not one, a time zone mismatch, a step given twice, missing
steps, steps of uneven length, a step that does not fit the slots (it must divide the slot
length or be a multiple of it), a file that does not cover the run, and a value that is missing,
not a number or negative. What the values mean (units, which column is whose) is for the caller.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytz
from numpy.typing import NDArray

from p2p_energy.domain.scenario_site import SlotClock
from p2p_energy.errors import UsageError

_NS = 1_000_000_000
_CSV = (".csv", ".txt")
_PARQUET = (".parquet", ".pq")
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
_ALLOWED_FILE = (
    "a CSV or Parquet file: time stamps (ISO 8601, the start of each step) in the first column, one column per series"
)


class DataFileError(UsageError):
    """A data file that cannot be used: `problem` says where and what, `allowed` what would do."""

    def __init__(self, path: Path, problem: str, allowed: str) -> None:
        self.path = path
        self.problem = f"{path}: {problem}"
        self.allowed = allowed
        super().__init__(f"{self.problem}; allowed: {allowed}")


@dataclass(frozen=True)
class StepSeries:
    """Regular series from a file: `values[c, k]` of column `columns[c]` in the step starting at
    `starts_ns[k]` (UTC, ns since 1970). Compared and shown by the file's name and a digest of its content."""

    name: str
    columns: tuple[str, ...]
    step_s: int
    digest: str
    starts_ns: NDArray[np.int64] = field(compare=False, repr=False)
    values: NDArray[np.float64] = field(compare=False, repr=False)

    def column(self, name: str) -> NDArray[np.float64]:
        return np.asarray(self.values[self.columns.index(name)])


def resolve(scenario: Path, name: str) -> Path:
    """A data file named in `scenario`: relative names are relative to the scenario's folder."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else scenario.parent / path


def read_steps(path: Path, name: str, clock: SlotClock, what: str, signed: tuple[str, ...] = ()) -> StepSeries:
    """Every series of the file at `path` (named `name` in messages), checked against `clock`'s slots;
    `what` names a value in messages ("energy", "irradiance"); columns named in `signed` (in any case)
    may be negative."""
    frame = _read_frame(path)
    if frame.shape[1] < 2:
        raise DataFileError(path, f"has {frame.shape[1]} column(s)", _ALLOWED_FILE)
    if len(frame) < 2:
        raise DataFileError(path, f"has {len(frame)} time step(s)", "at least two steps, covering the run")
    starts = _instants(path, frame.iloc[:, 0], clock.timezone)
    order = np.argsort(starts, kind="stable")
    starts = starts[order]
    step_ns = _regular_step(path, starts, clock.timezone)
    _fits(path, step_ns, starts, clock)
    columns = tuple(str(c).strip() for c in frame.columns[1:])
    values = np.stack(
        [_numbers(path, frame.iloc[:, c + 1].to_numpy(), column, what) for c, column in enumerate(columns)]
    )
    values = values[:, order]
    for c, column in enumerate(columns):
        _checked_values(path, values[c], column, starts, clock.timezone, what, column.lower() in signed)
    digest = hashlib.sha256(starts.tobytes() + values.tobytes() + "\x1f".join(columns).encode()).hexdigest()
    return StepSeries(name, columns, step_ns // _NS, digest, starts, values)


def slot_energy(series: StepSeries, energy_per_step: NDArray[np.float64], clock: SlotClock) -> NDArray[np.float64]:
    """Energy per slot of series whose energy per step is `energy_per_step` (rows), power constant within a step."""
    boundaries = np.append(series.starts_ns, series.starts_ns[-1] + series.step_s * _NS).astype(np.float64)
    cumulative = np.concatenate([np.zeros((len(energy_per_step), 1)), np.cumsum(energy_per_step, axis=1)], axis=1)
    edges = clock.edges_ns().astype(np.float64)
    at_edges = np.stack([np.interp(edges, boundaries, row) for row in cumulative])
    return np.asarray(np.diff(at_edges, axis=1))


def local_time(instant_ns: int, timezone: str) -> str:
    """An instant as the site's local time, for messages."""
    stamp = pd.Timestamp(instant_ns, unit="ns", tz="UTC").tz_convert(timezone)
    return stamp.strftime("%Y-%m-%d %H:%M:%S%z")


# ------------------------------------------------------------------ reading


def _read_frame(path: Path) -> pd.DataFrame:
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if suffixes and suffixes[-1] in _PARQUET:
            return pd.read_parquet(path)
        if suffixes and (suffixes[-1] in _CSV or suffixes[-2:] == [".csv", ".gz"]):
            return pd.read_csv(path, comment="#", dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise DataFileError(path, "no such file", _ALLOWED_FILE) from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(path, f"cannot be read ({first})", _ALLOWED_FILE) from None
    raise DataFileError(path, "is neither .csv nor .parquet", _ALLOWED_FILE)


def _instants(path: Path, stamps: pd.Series, timezone: str) -> NDArray[np.int64]:
    """UTC instants (ns) of the time stamps; naive ones are the site's local time."""
    allowed = f"ISO 8601 time stamps in the site's local time ({timezone}), without an offset or with the site's"
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        wall = stamps.dt.tz_localize(None)
        offsets = (wall - stamps.dt.tz_convert("UTC").dt.tz_localize(None)).to_numpy()
        return _checked_offsets(path, wall.to_numpy(), offsets, timezone)
    if pd.api.types.is_datetime64_any_dtype(stamps.dtype):
        return _localized(path, stamps.to_numpy(), timezone)
    text = stamps.astype(str).str.strip()
    suffix = text.str.extract(_OFFSET, expand=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wall = pd.to_datetime(text.str.replace(_OFFSET, "", regex=True), format="ISO8601", errors="coerce")
    bad = np.flatnonzero(wall.isna().to_numpy())
    if len(bad):
        raise DataFileError(path, f"row {bad[0] + 1}: {text.iloc[bad[0]]!r} is not a time stamp", allowed)
    given = suffix.notna().to_numpy()
    if given.any() and not given.all():
        row = int(np.flatnonzero(~given)[0] if given[0] else np.flatnonzero(given)[0])
        raise DataFileError(path, f"row {row + 1}: {text.iloc[row]!r} mixes stamps with and without an offset", allowed)
    if not given.any():
        return _localized(path, wall.to_numpy(), timezone)
    offsets = suffix.map(_offset).to_numpy(dtype="timedelta64[ns]")
    return _checked_offsets(path, wall.to_numpy(), offsets, timezone)


def _offset(text: str) -> pd.Timedelta:
    if text == "Z":
        return pd.Timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * pd.Timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))


def _localized(path: Path, wall: NDArray[np.datetime64], timezone: str) -> NDArray[np.int64]:
    try:
        local = pd.DatetimeIndex(wall).tz_localize(timezone, ambiguous="raise", nonexistent="raise")
    except (ValueError, pytz.exceptions.InvalidTimeError) as exc:
        raise DataFileError(
            path,
            f"a local time stamp is ambiguous or does not exist in {timezone} ({exc}): a daylight-saving change",
            "time stamps with their UTC offset around daylight-saving changes",
        ) from None
    return _ns(local.tz_convert("UTC").tz_localize(None))


def _checked_offsets(
    path: Path, wall: NDArray[np.datetime64], offsets: NDArray[np.timedelta64], timezone: str
) -> NDArray[np.int64]:
    """Instants of stamps given with `offsets`, which must be the site's own offsets at those instants."""
    instants = (wall.astype("datetime64[ns]") - offsets.astype("timedelta64[ns]")).astype(np.int64)
    site = pd.DatetimeIndex(instants, tz="UTC").tz_convert(timezone)
    site_offsets = _ns(site.tz_localize(None)) - instants
    given = offsets.astype("timedelta64[ns]").astype(np.int64)
    wrong = np.flatnonzero(site_offsets != given)
    if len(wrong):
        k = wrong[0]
        raise DataFileError(
            path,
            f"time zone mismatch: row {k + 1} is stamped UTC{_hours(int(given[k]))}"
            f" but the site ({timezone}) is UTC{_hours(int(site_offsets[k]))} then",
            "time stamps in the site's local time, without an offset or with the site's",
        )
    return np.asarray(instants, dtype=np.int64)


def _ns(naive: pd.DatetimeIndex) -> NDArray[np.int64]:
    """Nanoseconds since 1970 of naive time stamps."""
    return np.asarray(naive.to_numpy().astype("datetime64[ns]").astype(np.int64))


def _hours(offset_ns: int) -> str:
    minutes = offset_ns // (60 * _NS)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ------------------------------------------------------------------ steps


def _regular_step(path: Path, starts: NDArray[np.int64], timezone: str) -> int:
    """The file's step (ns): every step follows the previous one by exactly it."""
    gaps = np.diff(starts)
    twice = np.flatnonzero(gaps == 0)
    if len(twice):
        when = local_time(int(starts[twice[0]]), timezone)
        raise DataFileError(path, f"duplicated step: {when} is given twice", "each time stamp once")
    step = _usual(gaps)
    if step % _NS:
        raise DataFileError(path, f"wrong resolution: steps of {step / _NS} s", "steps of whole seconds")
    uneven = np.flatnonzero(gaps != step)
    if len(uneven):
        k = int(uneven[0])
        after = local_time(int(starts[k]), timezone)
        if gaps[k] > step and gaps[k] % step == 0:
            missing = int(gaps[k] // step) - 1
            problem = f"missing step: {missing} step(s) of {step // _NS} s missing after {after}"
            raise DataFileError(path, problem, "one row per step, no gaps")
        raise DataFileError(
            path,
            f"wrong resolution: the step after {after} lasts {gaps[k] // _NS} s, not {step // _NS} s like the others",
            "steps of one length",
        )
    return step


def _usual(gaps: NDArray[np.int64]) -> int:
    """The file's step: its most common gap (the shortest of the most common, in a tie)."""
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[counts == counts.max()][0])


def _fits(path: Path, step_ns: int, starts: NDArray[np.int64], clock: SlotClock) -> None:
    step_s, slot_s = step_ns // _NS, clock.slot_s
    if slot_s % step_s and step_s % slot_s:
        raise DataFileError(
            path,
            f"wrong resolution: steps of {step_s} s do not fit slots of {slot_s} s",
            f"a step that divides {slot_s} s or is a multiple of it",
        )
    first, last = int(starts[0]), int(starts[-1]) + step_ns
    if first > clock.start_ns or last < clock.end_ns:
        tz = clock.timezone
        raise DataFileError(
            path,
            f"covers {local_time(first, tz)} to {local_time(last, tz)} "
            f"but the run lasts from {local_time(clock.start_ns, tz)} to {local_time(clock.end_ns, tz)}",
            "a file covering every slot of the run",
        )


# ------------------------------------------------------------------ values


def _numbers(path: Path, raw: NDArray[np.generic], column: str, what: str) -> NDArray[np.float64]:
    """The column as numbers; an empty cell (or NaN) is NaN, for `_checked_values` to report as missing."""
    if raw.dtype.kind in "iuf":
        return np.asarray(raw, dtype=np.float64)
    cells = pd.Series(raw, dtype=object)
    text = cells.where(cells.notna(), "").astype(str).str.strip()
    blank = (text == "") | (text.str.lower() == "nan")
    numbers = pd.to_numeric(text.where(~blank, "nan"), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(numbers) & ~blank.to_numpy())
    if len(bad):
        raise DataFileError(
            path, f"column {column!r}, row {bad[0] + 1}: {text.iloc[bad[0]]!r} is not a number", f"{what} as numbers"
        )
    return numbers


def _checked_values(
    path: Path,
    values: NDArray[np.float64],
    column: str,
    starts: NDArray[np.int64],
    timezone: str,
    what: str,
    signed: bool,
) -> None:
    missing = np.flatnonzero(~np.isfinite(values))
    if len(missing):
        when = local_time(int(starts[missing[0]]), timezone)
        raise DataFileError(path, f"missing step: column {column!r} has no value at {when}", f"{what} in every step")
    negative = np.flatnonzero(values < 0) if not signed else np.array([], dtype=np.int64)
    if len(negative):
        when = local_time(int(starts[negative[0]]), timezone)
        raise DataFileError(
            path, f"negative {what}: column {column!r} is {values[negative[0]]:g} at {when}", f"{what} >= 0"
        )
