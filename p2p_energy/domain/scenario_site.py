"""Scenario keys that put the neighbourhood at a real place and date: `[site]`, `[loads]`, and the
group keys `pv_tilt_deg`, `pv_azimuth_deg` and `load_profile`.

Parsed here, used by `scenario.parse_scenario`; a scenario with neither `[site]` nor `[loads]`
parses and plans exactly as before (no new draw touches an existing stream).

- `[site]`: latitude, longitude, time zone, altitude and the date of slot 0 (and optionally a
  number of days, which then fixes `slots`). PV is then modelled with pvlib
  (`p2p_energy.domain.solar`) for each household's tilt and azimuth, drawn per household from
  stream ("orientation", name) within the ranges its group or the site gives. A `weather_file`
  gives irradiance per time step in place of the seeded clouds.
- `[loads]`: where loads come from. "synthetic" (today's two-peak shape), a BDEW standard
  profile from demandlib (`p2p_energy.domain.loads`) for the site's dates and a country's
  holidays, or "measured" series per household from a CSV or Parquet file
  (`p2p_energy.domain.meter_data`). A group's `load_profile` overrides the default.

Data files are read and checked here, when the scenario is loaded, so a bad file stops the run
before anything is sent. Heavy libraries (pandas, holidays) are imported only when a scenario
uses them: a scenario without `[site]` loads as fast as before.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.scenario_fields import REQUIRED, Limits, Table, show, type_name

if TYPE_CHECKING:
    from p2p_energy.domain.data_files import StepSeries
    from p2p_energy.domain.meter_data import MeasuredLoads

SYNTHETIC = "synthetic"
MEASURED = "measured"
#: demandlib's BDEW profiles: the 1999 ones (H0 dynamised as the standard says) and the 2025 revision.
STANDARD_PROFILES = ("H0", "G0", "L0", "H25", "G25", "L25")
LOAD_PROFILES = (SYNTHETIC, *STANDARD_PROFILES, MEASURED)
ENERGY_UNITS = ("kWh", "Wh", "W", "kW")
MATCH_BY = ("name", "order")
SITE_KEYS = (
    "latitude",
    "longitude",
    "timezone",
    "altitude_m",
    "date",
    "days",
    "tilt_deg",
    "azimuth_deg",
    "air_temperature_c",
    "weather_file",
)
LOADS_KEYS = ("profile", "country", "file", "unit", "match")
#: The group keys this module reads (scenario.py adds them to a group's allowed keys).
GROUP_KEYS = ("pv_tilt_deg", "pv_azimuth_deg", "load_profile")
_FIRST_DATE = dt.date(1970, 1, 1)
_LAST_DATE = dt.date(2099, 12, 31)
_TILT = Limits(low=0, high=90, unit="degrees from horizontal")
_AZIMUTH = Limits(low=-180, high=360, unit="degrees clockwise from north: 90 east, 180 south")
_NS = 1_000_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SlotClock:
    """When the run's slots are: slot 0 starts at `start_ns` (UTC, ns since 1970), each lasts `slot_s`."""

    start_ns: int
    slot_s: int
    slots: int
    timezone: str

    def edges_ns(self) -> NDArray[np.int64]:
        """Start of every slot and end of the last (slots + 1 instants)."""
        return self.start_ns + np.arange(self.slots + 1, dtype=np.int64) * (self.slot_s * _NS)

    def samples_ns(self, per_slot: int) -> NDArray[np.int64]:
        """`per_slot` instants in each slot, at the middles of equal parts (slots x per_slot, slot-major)."""
        offsets = ((2 * np.arange(per_slot, dtype=np.int64) + 1) * self.slot_s * _NS) // (2 * per_slot)
        return (self.edges_ns()[:-1, None] + offsets[None, :]).ravel()

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.slots * self.slot_s * _NS


@dataclass(frozen=True)
class SiteSpec:
    """Where and when the neighbourhood is; the orientation ranges households draw from unless their group
    gives its own; the air temperature for module temperature; a weather file's irradiance, if given."""

    latitude: float
    longitude: float
    timezone: str
    altitude_m: float
    date: dt.date
    tilt_deg: tuple[float, float]
    azimuth_deg: tuple[float, float]
    air_temperature_c: float = 20.0
    weather: StepSeries | None = None

    def clock(self, start_hour: float, slot_length_s: int, slots: int) -> SlotClock:
        """The run's slots: slot 0 starts `start_hour` hours after local midnight of `date`."""
        midnight = dt.datetime.combine(self.date, dt.time(0), tzinfo=zoneinfo.ZoneInfo(self.timezone))
        start = midnight + dt.timedelta(hours=start_hour)
        start_ns = (start - _EPOCH) // dt.timedelta(microseconds=1) * 1_000
        return SlotClock(start_ns, slot_length_s, slots, self.timezone)


@dataclass(frozen=True)
class LoadsSpec:
    """`profile`: what households' loads come from unless their group says otherwise; `country`: whose
    holidays standard profiles observe (None: none); `measured`: the series of households that take one."""

    profile: str = SYNTHETIC
    country: str | None = None
    measured: MeasuredLoads | None = None


@dataclass(frozen=True)
class GroupEnergy:
    """A group's own energy settings: orientation ranges (None: the site's) and load profile."""

    tilt_deg: tuple[float, float] | None
    azimuth_deg: tuple[float, float] | None
    load_profile: str


# ------------------------------------------------------------------ [site]


def parse_site(table: Table) -> SiteSpec | None:
    """The `[site]` table (None when the scenario has none); its weather file is read by `read_data_files`."""
    if not table.data:
        return None
    table.check_keys(SITE_KEYS)
    latitude = table.number("latitude", Limits(low=-90, high=90, unit="degrees north"))
    south = (150.0, 210.0) if latitude >= 0 else (-30.0, 30.0)
    return SiteSpec(
        latitude=latitude,
        longitude=table.number("longitude", Limits(low=-180, high=180, unit="degrees east")),
        timezone=_timezone(table),
        altitude_m=table.number("altitude_m", Limits(low=-500, high=9_000, unit="metres"), 0.0),
        date=_date(table),
        tilt_deg=table.number_or_range("tilt_deg", _TILT, [15.0, 35.0]),
        azimuth_deg=table.number_or_range("azimuth_deg", _AZIMUTH, list(south)),
        air_temperature_c=table.number("air_temperature_c", Limits(low=-60, high=60, unit="degrees C"), 20.0),
    )


def _timezone(table: Table) -> str:
    allowed = 'an IANA time zone name, e.g. "Asia/Shanghai" or "Europe/Oslo"'
    name = table.text("timezone")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        table.fail("timezone", f"{show(name)} is not a known time zone", allowed)
    return name


def _date(table: Table) -> dt.date:
    allowed = f"a TOML date without quotes, e.g. 2026-06-17, from {_FIRST_DATE} to {_LAST_DATE}"
    value = table._get("date", REQUIRED, allowed)
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        table.fail("date", f"{show(value)} is a {type_name(value)}, not a date", allowed)
    if not _FIRST_DATE <= value <= _LAST_DATE:
        table.fail("date", f"{value} is outside the supported years", allowed)
    return value


def slots_of(top: Table, site_table: Table, slot_length_s: int, limits: Limits) -> int:
    """`slots`, or with `[site] days` and no `slots`, the slots of that many days (both given: they must agree)."""
    if "days" not in site_table.data:
        return top.integer("slots", limits)
    days = site_table.integer("days", Limits(low=1, high=366, unit="days"))
    if 86_400 % slot_length_s:
        site_table.fail("days", f"{slot_length_s} s slots do not fit a day evenly", "slot_length_s dividing 86400")
    slots = days * 86_400 // slot_length_s
    if "slots" in top.data and top.data["slots"] != slots:
        top.fail("slots", f"{show(top.data['slots'])} disagrees with site.days = {days} ({slots} slots)", "one of them")
    problem = limits.problem(slots)
    if problem:
        site_table.fail("days", f"{days} days make {slots} slots: {problem}", limits.allowed("slots"))
    return slots


def read_data_files(
    top: Table, place: SiteSpec | None, spec: LoadsSpec, measured: Sequence[str], clock: SlotClock | None
) -> tuple[SiteSpec | None, LoadsSpec]:
    """`place` with its weather file's irradiance and `spec` with the series of the `measured` households,
    each file read and checked against the run's slots (`clock`)."""
    if place is not None and clock is not None:
        place = _read_weather(top.table("site"), place, clock)
    return place, _read_measured(top.table("loads"), spec, measured, clock)


def _read_weather(table: Table, spec: SiteSpec, clock: SlotClock) -> SiteSpec:
    if "weather_file" not in table.data:
        return spec
    from p2p_energy.domain.data_files import DataFileError, resolve
    from p2p_energy.domain.weather_file import read_weather_file

    name = table.text("weather_file")
    try:
        weather = read_weather_file(resolve(table.source, name), name, clock)
    except DataFileError as exc:
        table.fail("weather_file", exc.problem, exc.allowed)
    return replace(spec, weather=weather)


# ------------------------------------------------------------------ [loads]


def parse_loads(table: Table, site_spec: SiteSpec | None) -> LoadsSpec:
    """The `[loads]` table, without its measured series (`read_measured` adds them once households are known)."""
    table.check_keys(LOADS_KEYS)
    profile = table.choice("profile", LOAD_PROFILES, SYNTHETIC)
    country = _country(table) if "country" in table.data else None
    table.text("file", "")  # checked now, read by read_measured once households are known
    table.choice("unit", ENERGY_UNITS, "kWh")
    table.choice("match", MATCH_BY, "name")
    if profile != SYNTHETIC and site_spec is None:
        table.fail("profile", f'"{profile}" needs a [site] (its date and time zone)', "a [site] table, or synthetic")
    return LoadsSpec(profile, country)


def _country(table: Table) -> str:
    import holidays

    code = table.text("country")
    known = holidays.list_supported_countries()
    if code not in known:
        table.fail("country", f"{show(code)} is not a country the holidays package knows", 'an ISO code, e.g. "CN"')
    return code


def group_energy(group: Table, site_spec: SiteSpec | None, spec: LoadsSpec) -> GroupEnergy:
    """A `[[households]]` group's orientation and load profile keys."""
    tilt = group.number_or_range("pv_tilt_deg", _TILT) if "pv_tilt_deg" in group.data else None
    azimuth = group.number_or_range("pv_azimuth_deg", _AZIMUTH) if "pv_azimuth_deg" in group.data else None
    if site_spec is None and (tilt or azimuth):
        key = "pv_tilt_deg" if tilt else "pv_azimuth_deg"
        group.fail(key, "needs a [site]: without one PV follows a fixed clear-sky curve", "a [site] table")
    profile = group.choice("load_profile", LOAD_PROFILES, spec.profile)
    if profile not in (SYNTHETIC, spec.profile) and site_spec is None:
        group.fail("load_profile", f'"{profile}" needs a [site] (its date and time zone)', "a [site] table")
    measured = profile == MEASURED
    if measured == ("load_kwh_per_day" in group.data):
        problem = "is given, but a measured series is the load" if measured else "missing"
        allowed = "no load_kwh_per_day for measured loads" if measured else "> 0 .. 100000 kWh per day, on average"
        group.fail("load_kwh_per_day", problem, allowed)
    return GroupEnergy(tilt, azimuth, profile)


def orientation(
    site_spec: SiteSpec | None, energy: GroupEnergy, u: Sequence[float]
) -> tuple[float | None, float | None]:
    """(tilt, azimuth) of one household from its draws `u` (two uniform numbers); (None, None) without a site."""
    if site_spec is None:
        return None, None
    tilt = energy.tilt_deg or site_spec.tilt_deg
    azimuth = energy.azimuth_deg or site_spec.azimuth_deg
    return _between(tilt, u[0]), _between(azimuth, u[1])


def annual_kwh(kwh_per_day: float, year: int) -> float:
    """A household's annual consumption, the scale of a standard profile: its mean kWh a day x the days of `year`."""
    return kwh_per_day * (366 if calendar.isleap(year) else 365)


def _between(bounds: tuple[float, float], u: float) -> float:
    low, high = bounds
    return low if low == high else min(max(round(low + (high - low) * u, 1), low), high)


def _read_measured(table: Table, spec: LoadsSpec, households: Sequence[str], clock: SlotClock | None) -> LoadsSpec:
    if not households:
        if "file" in table.data:
            table.fail("file", "is given, but no household takes measured loads", 'load_profile = "measured"')
        return spec
    from p2p_energy.domain.data_files import DataFileError, resolve
    from p2p_energy.domain.meter_data import read_measured_loads

    name = table.text("file", "")
    if not name:
        table.fail("file", f"missing: {len(households)} households take measured loads", "a CSV or Parquet file")
    assert clock is not None  # group_energy refused measured loads without a site
    unit, match = table.choice("unit", ENERGY_UNITS, "kWh"), table.choice("match", MATCH_BY, "name")
    try:
        measured = read_measured_loads(resolve(table.source, name), name, unit, match, households, clock)
    except DataFileError as exc:
        table.fail("file", exc.problem, exc.allowed)
    return replace(spec, measured=measured)


def measured_kwh_per_day(spec: LoadsSpec, days: float) -> dict[str, float]:
    """The mean kWh per day of each household with a measured series (its `load_kwh_per_day`)."""
    if spec.measured is None:
        return {}
    return {
        name: round(float(wh.sum()) / 1_000 / days, 2)
        for name, wh in zip(spec.measured.households, spec.measured.wh, strict=True)
    }
