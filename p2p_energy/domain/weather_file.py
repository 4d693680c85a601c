"""A weather file for `[site] weather_file`: irradiance per time step in place of the seeded clouds.

Columns (names in any case; others are ignored): `ghi` (global horizontal irradiance, W/m2,
required), `dni` and `dhi` (direct normal and diffuse horizontal, W/m2: both or neither; without
them pvlib's Erbs model splits `ghi`), `temp_air` (degrees C; without it the site's
`air_temperature_c`). Each value is the mean over its step. The file's layout and time checks
are `p2p_energy.domain.data_files`'; here, the columns and units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.data_files import DataFileError, StepSeries, local_time, read_steps
from p2p_energy.domain.scenario_site import SlotClock

IRRADIANCE = ("ghi", "dni", "dhi")
COLUMNS = (*IRRADIANCE, "temp_air")
#: Above any irradiance measured at the ground (W/m2); a value above it is in the wrong unit.
MAX_IRRADIANCE = 1_500.0
#: A file whose global irradiance never exceeds this (W/m2) but is not all night is in kW/m2.
MIN_DAYLIGHT_PEAK = 2.0
_TEMPERATURE = (-90.0, 60.0)
_ALLOWED = "columns ghi (required), dni and dhi (both or neither), temp_air, in W/m2 and degrees C"


def read_weather_file(path: Path, name: str, clock: SlotClock) -> StepSeries:
    """The file's irradiance (and air temperature), checked; columns renamed to lower case, others dropped."""
    series = read_steps(path, name, clock, "irradiance", signed=("temp_air",))
    by_name = {c.lower(): k for k, c in enumerate(series.columns)}
    if "ghi" not in by_name:
        raise DataFileError(path, f"has no ghi column (it has {', '.join(series.columns)})", _ALLOWED)
    if ("dni" in by_name) != ("dhi" in by_name):
        raise DataFileError(path, "has one of dni and dhi but not the other", _ALLOWED)
    kept = tuple(c for c in COLUMNS if c in by_name)
    values = series.values[[by_name[c] for c in kept]]
    for k, column in enumerate(kept):
        _check(path, series, column, values[k], clock.timezone)
    return StepSeries(series.name, kept, series.step_s, series.digest, series.starts_ns, values)


def _check(path: Path, series: StepSeries, column: str, values: NDArray[np.float64], timezone: str) -> None:
    step = int(np.argmax(values))
    when = local_time(int(series.starts_ns[step]), timezone)
    if column == "temp_air":
        low, high = _TEMPERATURE
        outside = np.flatnonzero((values < low) | (values > high))
        if len(outside):
            at = local_time(int(series.starts_ns[outside[0]]), timezone)
            raise DataFileError(
                path, f"wrong units: temp_air is {values[outside[0]]:g} at {at} (Kelvin?)", "degrees C, -90 .. 60"
            )
        return
    if values[step] > MAX_IRRADIANCE:
        raise DataFileError(
            path, f"wrong units: {column} is {values[step]:g} W/m2 at {when}", f"W/m2, at most {MAX_IRRADIANCE:g}"
        )
    if column == "ghi" and 0 < values[step] <= MIN_DAYLIGHT_PEAK:
        raise DataFileError(
            path, f"wrong units: ghi never exceeds {values[step]:g} (kW/m2?)", "irradiance in W/m2, not kW/m2"
        )
