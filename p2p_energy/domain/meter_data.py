"""Measured loads: one smart-meter series per household from a CSV or Parquet file, as Wh per slot.

The file's layout and its time checks are `p2p_energy.domain.data_files`'. Here: the unit
(`kWh` or `Wh` per step, or the mean power over the step in `W` or `kW`), a check that the values
are a household's and not off by a factor of 1,000 (no step above 1,000 kW; some step above
1 W), and which series is whose: by `name` (a column per household, named like it) or in
`order` (the households that take measured loads, in scenario order, take the file's columns
in file order; a file may hold more series than that, never fewer). Each series is resampled
to the run's slots with its power constant within a step, so energy is kept exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.data_files import DataFileError, StepSeries, local_time, read_steps, slot_energy
from p2p_energy.domain.scenario_site import SlotClock

#: Mean power over a step that no household meter reaches: a value above it is in the wrong unit.
MAX_HOUSEHOLD_KW = 1_000.0
#: A file whose every household stays below this mean power (W) in every step is in the wrong unit.
MIN_PEAK_W = 1.0
_UNITS_ALLOWED = "[loads] unit naming the file's unit: kWh or Wh per step, or mean power W or kW"


@dataclass(frozen=True)
class MeasuredLoads:
    """Wh per slot (`wh[i]`) of household `households[i]`, from column `columns[i]` of `file`."""

    file: str
    unit: str
    households: tuple[str, ...]
    columns: tuple[str, ...]
    digest: str
    wh: NDArray[np.float64] = field(compare=False, repr=False)

    def of(self, household: str) -> NDArray[np.float64]:
        return np.asarray(self.wh[self.households.index(household)])


def wh_per_step(unit: str, step_s: int) -> float:
    """Wh in one step of a value 1 in `unit`."""
    hours = step_s / 3_600
    return {"kWh": 1_000.0, "Wh": 1.0, "W": hours, "kW": 1_000.0 * hours}[unit]


def read_measured_loads(
    path: Path, name: str, unit: str, match: str, households: Sequence[str], clock: SlotClock
) -> MeasuredLoads:
    """The series of `households` from the file at `path`, in Wh per slot of `clock`."""
    series = read_steps(path, name, clock, "energy")
    columns = _matched(path, series, match, households)
    wh = np.stack([series.column(c) for c in columns]) * wh_per_step(unit, series.step_s)
    _plausible(path, series, wh, columns, unit, clock.timezone)
    return MeasuredLoads(name, unit, tuple(households), columns, series.digest, slot_energy(series, wh, clock))


def _matched(path: Path, series: StepSeries, match: str, households: Sequence[str]) -> tuple[str, ...]:
    if match == "order":
        if len(series.columns) < len(households):
            raise DataFileError(
                path,
                f"fewer series than households: {len(series.columns)} series for {len(households)} households "
                f"that take measured loads ({_some(households)})",
                "at least one series per household (extra series are not used)",
            )
        return tuple(series.columns[: len(households)])
    missing = [h for h in households if h not in series.columns]
    if missing:
        raise DataFileError(
            path,
            f"fewer series than households: no column named {_some(missing)} "
            f"({len(missing)} of {len(households)} households; the file has {_some(series.columns)})",
            'a column named like each household that takes measured loads, or [loads] match = "order"',
        )
    return tuple(households)


def _some(names: Sequence[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _plausible(
    path: Path, series: StepSeries, wh: NDArray[np.float64], columns: Sequence[str], unit: str, timezone: str
) -> None:
    """Refuse values that no household meter gives in `unit`: too high for a house, or too low everywhere."""
    kw = wh / (series.step_s / 3_600) / 1_000.0
    row, step = (int(k) for k in np.unravel_index(int(np.argmax(kw)), kw.shape))
    peak = float(kw[row, step])
    if peak > MAX_HOUSEHOLD_KW:
        raise DataFileError(
            path,
            f"wrong units: in {unit}, column {columns[row]!r} would draw {peak:,.0f} kW at "
            f"{local_time(int(series.starts_ns[step]), timezone)} (no household draws over {MAX_HOUSEHOLD_KW:,.0f} kW)",
            _UNITS_ALLOWED,
        )
    if peak * 1_000.0 < MIN_PEAK_W:
        raise DataFileError(
            path,
            f"wrong units: in {unit}, no household ever draws {MIN_PEAK_W:g} W (the most is {peak * 1e6:.3g} mW)",
            _UNITS_ALLOWED,
        )
