"""Standard load profiles: a year of slots adds up to demandlib's own annual totals; holidays, shifts, slots."""

import datetime as dt
import warnings

import holidays
import numpy as np
import pandas as pd
import pytest
from demandlib import bdew

from p2p_energy.domain.loads import standard_shares
from p2p_energy.domain.scenario_site import SiteSpec, annual_kwh

NO_SHIFT = np.array([0.0])
ANNUAL_KWH = 2_920.0


def site(date, timezone="Asia/Shanghai"):
    return SiteSpec(30.27, 120.16, timezone, 10.0, date, (25.0, 25.0), (180.0, 180.0))


@pytest.fixture(scope="module")
def year_2026():
    """Every day of 2026 as one slot."""
    return site(dt.date(2026, 1, 1)).clock(0.0, 86_400, 365)


@pytest.fixture(scope="module")
def china_2026():
    return dict(holidays.country_holidays("CN", years=2026))


def test_a_year_of_h0_adds_up_to_demandlibs_own_annual_total(year_2026, china_2026):
    ours = standard_shares("H0", "CN", year_2026, NO_SHIFT)[0] * ANNUAL_KWH
    with warnings.catch_warnings():
        theirs = bdew.ElecSlp(2026, holidays=china_2026).get_scaled_profiles({"h0_dyn": ANNUAL_KWH})["h0_dyn"]
    assert ours.sum() == pytest.approx(theirs.sum(), rel=1e-12)
    assert ours == pytest.approx(theirs.resample("D").sum().to_numpy(), rel=1e-9)


@pytest.mark.parametrize(("profile", "column"), [("G0", "g0"), ("L0", "l0")])
def test_a_year_of_g0_or_l0_adds_up_to_demandlibs_annual_total(year_2026, china_2026, profile, column):
    ours = standard_shares(profile, "CN", year_2026, NO_SHIFT)[0] * ANNUAL_KWH
    with warnings.catch_warnings():
        theirs = bdew.ElecSlp(2026, holidays=china_2026).get_scaled_profiles({column: ANNUAL_KWH})[column]
    assert ours == pytest.approx(theirs.resample("D").sum().to_numpy(), rel=1e-9)


@pytest.mark.parametrize("profile", ["H25", "G25", "L25"])
def test_a_year_of_a_2025_profile_adds_up_to_demandlibs_annual_total(year_2026, china_2026, profile):
    ours = standard_shares(profile, "CN", year_2026, NO_SHIFT)[0] * ANNUAL_KWH
    quarters = pd.date_range("2026-01-01", "2027-01-01", freq="15min", inclusive="left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        kw_per_gwh = getattr(bdew, profile)(quarters, holidays=china_2026)
    theirs_kwh = kw_per_gwh.sum() * 0.25 * ANNUAL_KWH / 1_000_000
    assert ours.sum() == pytest.approx(theirs_kwh, rel=1e-12)


def test_a_public_holiday_is_a_sunday_in_the_standard_profile():
    national_day = site(dt.date(2026, 10, 1)).clock(0.0, 900, 96)  # a Thursday
    sunday = site(dt.date(2026, 10, 4)).clock(0.0, 900, 96)
    thursday = site(dt.date(2026, 10, 8)).clock(0.0, 900, 96)
    assert standard_shares("G0", "CN", national_day, NO_SHIFT) == pytest.approx(
        standard_shares("G0", "CN", sunday, NO_SHIFT)
    )
    assert standard_shares("G0", None, national_day, NO_SHIFT) == pytest.approx(
        standard_shares("G0", None, thursday, NO_SHIFT)
    )


def test_a_later_shift_moves_the_whole_day_later():
    clock = site(dt.date(2026, 6, 17)).clock(0.0, 900, 96)
    on_time, hour_later = standard_shares("H25", "CN", clock, np.array([0.0, 1.0]))
    assert hour_later[4:] == pytest.approx(on_time[:-4])


def test_an_hour_slot_holds_its_four_quarter_hours():
    day = site(dt.date(2026, 6, 17))
    quarters = standard_shares("H0", "CN", day.clock(0.0, 900, 96), NO_SHIFT)[0]
    hours = standard_shares("H0", "CN", day.clock(0.0, 3_600, 24), NO_SHIFT)[0]
    assert hours == pytest.approx(quarters.reshape(24, 4).sum(axis=1))


def test_a_summer_day_of_h0_uses_less_than_a_winter_day():
    june = standard_shares("H0", "CN", site(dt.date(2026, 6, 17)).clock(0.0, 86_400, 1), NO_SHIFT)[0, 0]
    december = standard_shares("H0", "CN", site(dt.date(2026, 12, 16)).clock(0.0, 86_400, 1), NO_SHIFT)[0, 0]
    assert june < 0.9 * december


def test_the_annual_scale_is_the_daily_mean_over_the_days_of_the_year():
    assert (annual_kwh(8.0, 2026), annual_kwh(8.0, 2028)) == (2_920.0, 2_928.0)


def test_standard_profiles_leave_the_warning_filters_as_they_were():
    clock = site(dt.date(2026, 6, 17)).clock(0.0, 900, 4)
    before = list(warnings.filters)
    standard_shares("H0", "CN", clock, NO_SHIFT)  # demandlib's ElecSlp sets simplefilter("error") inside
    assert warnings.filters == before
