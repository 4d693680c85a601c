"""Standard load profiles from demandlib: a household's share of its annual kWh in each slot.

demandlib computes the BDEW profiles for the dates of the run, with the weekdays and the public
holidays (from the `holidays` package) of the scenario's country, holidays counting as Sundays:

- "H0", "G0", "L0": the 1999 profiles (households, commerce, farms), H0 with the dynamisation
  the standard prescribes (demandlib's "h0_dyn"); demandlib computes them a whole year at a time,
  normalised so that a year sums to 1 (H0's dynamisation leaves it a hair above).
- "H25", "G25", "L25": the 2025 revision (households dynamised), computed for the run's days
  only, in kW per GWh a year.

The profiles are in local wall-clock time at 15-minute resolution; a slot takes the energy of
the profile over its own time (power constant within a quarter-hour), shifted by the household's
shift, so any slot length works. Scaled to a household's annual kWh, the shares are kWh; a year
of them adds up to demandlib's own annual total for that kWh.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from demandlib import bdew
from numpy.typing import NDArray

from p2p_energy.domain.scenario_site import SlotClock

#: The 1999 profiles: demandlib's column for each.
PROFILES_1999 = {"H0": "h0_dyn", "G0": "g0", "L0": "l0"}
#: The 2025 profiles: demandlib's class for each (values in kW for 1 GWh a year).
PROFILES_2025: dict[str, type[bdew.H25] | type[bdew.G25] | type[bdew.L25]] = {
    "H25": bdew.H25,
    "G25": bdew.G25,
    "L25": bdew.L25,
}
_QUARTER = pd.Timedelta(minutes=15)
_KWH_PER_QUARTER_PER_KW = 0.25
_KWH_PER_GWH = 1_000_000.0


def standard_shares(
    profile: str, country: str | None, clock: SlotClock, shifts_h: NDArray[np.float64]
) -> NDArray[np.float64]:
    """kWh per slot (columns) per kWh of annual consumption, for each shift of the day (rows, hours later)."""
    starts = pd.DatetimeIndex(clock.edges_ns()[:-1], tz="UTC").tz_convert(clock.timezone).tz_localize(None)
    slot = pd.Timedelta(seconds=clock.slot_s)
    margin = pd.Timedelta(hours=float(np.abs(shifts_h).max(initial=0.0)))
    first = (starts[0] - margin).floor("D")
    last = (starts[-1] + slot + margin).ceil("D") + pd.Timedelta(days=1)
    quarters = pd.date_range(first, last, freq=_QUARTER, inclusive="left")
    energy = _quarter_hours(profile, country, quarters)
    cumulative = np.concatenate([[0.0], np.cumsum(energy)])
    boundaries = (np.arange(len(quarters) + 1) * _QUARTER.value).astype(np.float64)
    begin = (starts - first).to_numpy(dtype="timedelta64[ns]").astype(np.float64)
    shares = []
    for shift in shifts_h:
        at = begin - shift * 3_600e9
        shares.append(np.interp(at + slot.value, boundaries, cumulative) - np.interp(at, boundaries, cumulative))
    return np.asarray(shares)


def _quarter_hours(profile: str, country: str | None, quarters: pd.DatetimeIndex) -> NDArray[np.float64]:
    """kWh per kWh a year in each quarter-hour of `quarters` (local wall-clock time)."""
    years = range(quarters[0].year, quarters[-1].year + 1)
    days_off = _holidays(country, years)
    if profile in PROFILES_2025:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            power = PROFILES_2025[profile](quarters, holidays=days_off)
        return np.asarray(power.to_numpy(dtype=np.float64) * _KWH_PER_QUARTER_PER_KW / _KWH_PER_GWH)
    column = PROFILES_1999[profile]
    by_year = [_year_1999(year, column, days_off) for year in years]
    return np.asarray(pd.concat(by_year).reindex(quarters).to_numpy(dtype=np.float64))


def _holidays(country: str | None, years: range) -> dict[dt.date, str] | None:
    if country is None:
        return None
    import holidays

    return dict(holidays.country_holidays(country, years=list(years)))


class _Profiles1999(bdew.ElecSlp):  # type: ignore[misc]
    """demandlib's ElecSlp computing only the profiles asked for (it makes all eleven otherwise: twice the time).

    ElecSlp's constructor builds its frame with `all_load_profiles`, which this narrows; H0 is always
    among them, as the constructor dynamises it.
    """

    def __init__(self, year: int, types: Sequence[str], holidays: dict[dt.date, str] | None) -> None:
        self._types = sorted({"h0", *types})
        super().__init__(year, holidays=holidays)

    def all_load_profiles(self, time_df: pd.DatetimeIndex, holidays: dict[dt.date, str] | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self.create_bdew_load_profiles(time_df, self._types, holidays=holidays)
        return frame


def _year_1999(year: int, column: str, days_off: dict[dt.date, str] | None) -> pd.Series:
    # demandlib's ElecSlp turns every warning into an error for the whole process
    # (warnings.simplefilter("error")); catch_warnings gives the filters back afterwards.
    with warnings.catch_warnings():
        made = _Profiles1999(year, [column.removesuffix("_dyn")], days_off)
    series: pd.Series = made.slp_frame[column]
    return series
