"""PV from pvlib at a real site: Wh per kWp in each slot, for each household's tilt and azimuth.

The chain is pvlib's own (the one `pvlib.modelchain.ModelChain` runs for a PVWatts system, here
for every household at once on numpy arrays):

1. the sun's position (`solarposition.get_solarposition`, NREL SPA) at the middles of equal parts
   of each slot, and extraterrestrial irradiance;
2. irradiance on the ground: the Ineichen clear-sky model with Linke turbidity from pvlib's
   climatology (`Location.get_clearsky`) times the neighbourhood's clear-sky index of the slot,
   or a weather file's measured values (split into direct and diffuse by Erbs when only the
   global is given);
3. irradiance on each household's panels (`get_total_irradiance`, Hay-Davies sky diffuse,
   ground albedo 0.25), the beam reduced by the ASHRAE incidence-angle modifier;
4. module temperature (Faiman, wind 1 m/s) and PVWatts DC power, -0.4 %/K from 25 degrees C.

The mean of the samples over a slot times its length is the slot's energy. What is left of
a household's performance (inverter, wiring, soiling) is `p2p_energy.domain.profiles`'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
from numpy.typing import NDArray

from p2p_energy.domain.scenario_site import SiteSpec, SlotClock

#: PVWatts' temperature coefficient of DC power, per kelvin.
GAMMA_PDC = -0.004
WIND_SPEED_M_S = 1.0
ALBEDO = 0.25
#: The ASHRAE incidence-angle modifier's b (pvlib's default).
IAM_B = 0.05
_W_PER_KWP = 1_000.0


def pv_wh_per_kwp(
    site: SiteSpec,
    clock: SlotClock,
    tilt_deg: NDArray[np.float64],
    azimuth_deg: NDArray[np.float64],
    sky: NDArray[np.float64],
    samples_per_slot: int,
) -> NDArray[np.float64]:
    """Wh per kWp of DC output in each slot (columns) for each orientation (rows).

    `sky` (one factor per slot) scales the clear-sky irradiance; with a weather file it is not used.
    """
    times = pd.DatetimeIndex(clock.samples_ns(samples_per_slot), tz="UTC").tz_convert(site.timezone)
    temp_air = _air_temperature(site, clock, samples_per_slot)
    sun = pvlib.solarposition.get_solarposition(
        times, site.latitude, site.longitude, altitude=site.altitude_m, temperature=temp_air
    )
    ghi, dni, dhi = _ground_irradiance(site, clock, times, sun, np.repeat(sky, samples_per_slot))
    up = np.flatnonzero((sun["apparent_zenith"].to_numpy() < 90.0) & (ghi > 0))
    power = np.zeros((len(tilt_deg), len(times)))
    if len(up):
        power[:, up] = _dc_power(
            tilt_deg[:, None],
            azimuth_deg[:, None],
            sun.iloc[up],
            (ghi[up], dni[up], dhi[up]),
            pvlib.irradiance.get_extra_radiation(times[up]).to_numpy(),
            temp_air[up],
        )
    per_slot = power.reshape(len(tilt_deg), clock.slots, samples_per_slot).mean(axis=2)
    return np.asarray(per_slot * (clock.slot_s / 3_600))


def _air_temperature(site: SiteSpec, clock: SlotClock, samples: int) -> NDArray[np.float64]:
    if site.weather is not None and "temp_air" in site.weather.columns:
        return _held(site, clock, samples, "temp_air")
    return np.full(clock.slots * samples, site.air_temperature_c)


def _held(site: SiteSpec, clock: SlotClock, samples: int, column: str) -> NDArray[np.float64]:
    """A weather file's column at the sample instants: each sample takes the value of its step."""
    assert site.weather is not None
    step = np.searchsorted(site.weather.starts_ns, clock.samples_ns(samples), side="right") - 1
    return np.asarray(site.weather.column(column)[step])


def _ground_irradiance(
    site: SiteSpec, clock: SlotClock, times: pd.DatetimeIndex, sun: pd.DataFrame, sky: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(ghi, dni, dhi) in W/m2 at `times`: clear sky x `sky`, or the weather file's."""
    samples = len(times) // clock.slots
    if site.weather is None:
        location = pvlib.location.Location(site.latitude, site.longitude, site.timezone, site.altitude_m)
        clear = location.get_clearsky(times, solar_position=sun)
        return tuple(clear[c].to_numpy() * sky for c in ("ghi", "dni", "dhi"))  # type: ignore[return-value]
    ghi = _held(site, clock, samples, "ghi")
    if "dni" in site.weather.columns:
        return ghi, _held(site, clock, samples, "dni"), _held(site, clock, samples, "dhi")
    split = pvlib.irradiance.erbs(ghi, sun["zenith"].to_numpy(), times.dayofyear.to_numpy())
    return ghi, np.asarray(split["dni"]), np.asarray(split["dhi"])


def _dc_power(
    tilt: NDArray[np.float64],
    azimuth: NDArray[np.float64],
    sun: pd.DataFrame,
    irradiance: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
    dni_extra: NDArray[np.float64],
    temp_air: NDArray[np.float64],
) -> NDArray[np.float64]:
    """W per kWp for every orientation (rows) at every sample (columns) while the sun is up."""
    ghi, dni, dhi = irradiance
    zenith, sun_azimuth = sun["apparent_zenith"].to_numpy(), sun["azimuth"].to_numpy()
    # get_total_irradiance(model="haydavies") and poa_components, with the angle of incidence computed
    # once instead of four times (most of the work): pvlib's aoi is the arccos of this projection,
    # haydavies' Rb this ratio, poa_components' beam the projected dni.
    projection = pvlib.irradiance.aoi_projection(tilt, azimuth, zenith, sun_azimuth)
    beam_ratio = np.maximum(projection, 0) / np.maximum(pvlib.tools.cosd(zenith), 0.01745)
    sky = pvlib.irradiance.haydavies(tilt, azimuth, dhi, dni, dni_extra, projection_ratio=beam_ratio)
    diffuse = sky + pvlib.irradiance.get_ground_diffuse(tilt, ghi, albedo=ALBEDO)
    beam = np.maximum(dni * projection, 0)
    effective = beam * pvlib.iam.ashrae(np.rad2deg(np.arccos(projection)), b=IAM_B) + diffuse
    cell = pvlib.temperature.faiman(beam + diffuse, temp_air, WIND_SPEED_M_S)
    dc = pvlib.pvsystem.pvwatts_dc(effective, cell, _W_PER_KWP, GAMMA_PDC)
    return np.asarray(np.clip(np.nan_to_num(dc), 0.0, None))
