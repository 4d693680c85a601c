"""PV per slot from pvlib at a site, checked against pvlib's own ModelChain for the same site, date and panels."""

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from pvlib.location import Location
from pvlib.modelchain import ModelChain
from pvlib.pvsystem import PVSystem

from p2p_energy.domain.scenario_site import SiteSpec
from p2p_energy.domain.solar import ALBEDO, GAMMA_PDC, IAM_B, WIND_SPEED_M_S, pv_wh_per_kwp
from p2p_energy.domain.weather_file import read_weather_file

JUNE = dt.date(2026, 6, 17)
DECEMBER = dt.date(2026, 12, 16)
#: Hangzhou, as the scenarios place it.
HANGZHOU = SiteSpec(30.27, 120.16, "Asia/Shanghai", 10.0, JUNE, (25.0, 25.0), (180.0, 180.0), air_temperature_c=27.0)
SLOTS = 96


def ours(site, tilt, azimuth, samples=2, sky=None):
    """Wh per kWp in each 15-minute slot of the site's date."""
    clock = site.clock(0.0, 900, SLOTS)
    sky = np.ones(SLOTS) if sky is None else sky
    return pv_wh_per_kwp(site, clock, np.array([tilt]), np.array([azimuth]), sky, samples)[0]


def model_chain(site, tilt, azimuth):
    """pvlib's ModelChain for one PVWatts system of 1 kWp, every minute, averaged over 15-minute slots (Wh)."""
    location = Location(site.latitude, site.longitude, site.timezone, site.altitude_m)
    system = PVSystem(
        surface_tilt=tilt,
        surface_azimuth=azimuth,
        albedo=ALBEDO,
        module_parameters={"pdc0": 1000.0, "gamma_pdc": GAMMA_PDC, "b": IAM_B},
        inverter_parameters={"pdc0": 10_000.0},
        temperature_model_parameters={"u0": 25.0, "u1": 6.84},
    )
    chain = ModelChain(
        system,
        location,
        aoi_model="ashrae",
        spectral_model="no_loss",
        temperature_model="faiman",
        transposition_model="haydavies",
        losses_model="no_loss",
    )
    start = pd.Timestamp(site.date).tz_localize(site.timezone)
    minutes = pd.date_range(start, periods=SLOTS * 15, freq="1min") + pd.Timedelta(seconds=30)
    weather = location.get_clearsky(minutes).assign(temp_air=site.air_temperature_c, wind_speed=WIND_SPEED_M_S)
    chain.run_model(weather)
    return chain.results.dc.to_numpy().reshape(SLOTS, 15).mean(axis=1) * 0.25


@pytest.mark.parametrize(
    ("date", "tilt", "azimuth"),
    [(JUNE, 25.0, 180.0), (JUNE, 35.0, 100.0), (DECEMBER, 25.0, 180.0), (DECEMBER, 15.0, 240.0)],
)
def test_pv_per_slot_matches_pvlibs_model_chain_for_the_same_site_date_and_panels(date, tilt, azimuth):
    site = replace(HANGZHOU, date=date)
    reference = model_chain(site, tilt, azimuth)
    assert np.abs(ours(site, tilt, azimuth) - reference).max() < 0.002 * reference.max()
    assert ours(site, tilt, azimuth).sum() == pytest.approx(reference.sum(), rel=1e-4)


def test_panels_give_nothing_while_the_sun_is_down_in_hangzhou():
    energy = ours(HANGZHOU, 25.0, 180.0)
    assert (energy[:20] == 0).all() and (energy[-16:] == 0).all()  # before 05:00 and after 20:00


def test_a_june_day_gives_more_than_a_december_day_at_the_same_site():
    assert ours(HANGZHOU, 25.0, 180.0).sum() > 1.2 * ours(replace(HANGZHOU, date=DECEMBER), 25.0, 180.0).sum()


def test_east_facing_panels_peak_before_west_facing_ones():
    assert np.argmax(ours(HANGZHOU, 30.0, 90.0)) < np.argmax(ours(HANGZHOU, 30.0, 270.0))


def test_the_clear_sky_index_scales_what_reaches_the_panels():
    half = ours(HANGZHOU, 25.0, 180.0, sky=np.full(SLOTS, 0.5))
    full = ours(HANGZHOU, 25.0, 180.0)
    assert 0.5 * full.sum() < half.sum() < 0.55 * full.sum()  # cooler cells under clouds: a little over half


def test_more_samples_per_slot_change_a_slot_by_under_a_tenth_of_a_wh():
    assert np.abs(ours(HANGZHOU, 25.0, 180.0, samples=2) - ours(HANGZHOU, 25.0, 180.0, samples=15)).max() < 0.1


def weather_file(tmp_path, site, columns):
    """The site's clear sky every 5 minutes of its date as a weather file with `columns`."""
    location = Location(site.latitude, site.longitude, site.timezone, site.altitude_m)
    stamps = pd.date_range(pd.Timestamp(site.date), periods=288, freq="5min")
    clear = location.get_clearsky(stamps.tz_localize(site.timezone) + pd.Timedelta(minutes=2.5))
    frame = pd.DataFrame({"time": stamps, **{c: clear[c].to_numpy() for c in columns}})
    path = tmp_path / "weather.csv"
    frame.to_csv(path, index=False)
    return read_weather_file(path, "weather.csv", site.clock(0.0, 900, SLOTS))


def test_a_weather_file_of_the_clear_sky_gives_the_clear_sky_pv(tmp_path):
    site = replace(HANGZHOU, weather=weather_file(tmp_path, HANGZHOU, ["ghi", "dni", "dhi"]))
    assert ours(site, 25.0, 180.0).sum() == pytest.approx(ours(HANGZHOU, 25.0, 180.0).sum(), rel=0.005)


def test_a_weather_file_with_only_ghi_is_split_into_direct_and_diffuse(tmp_path):
    site = replace(HANGZHOU, weather=weather_file(tmp_path, HANGZHOU, ["ghi"]))
    assert ours(site, 25.0, 180.0).sum() == pytest.approx(ours(HANGZHOU, 25.0, 180.0).sum(), rel=0.1)
