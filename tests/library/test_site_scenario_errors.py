"""Bad `[site]`, `[loads]` and group energy keys are refused with the file, the field and what is allowed."""

import pytest

from p2p_energy.domain.scenario import ScenarioError, load_scenario

TOP = "seed = 1\nslots = 4\n"
HOUSEHOLDS = """
[[households]]
name = "solar"
count = 2
pv_kwp = 5.0
load_kwh_per_day = 8.0
"""
SITE = """
[site]
latitude = 30.27
longitude = 120.16
timezone = "Asia/Shanghai"
date = 2026-06-17
"""
METERS = "time,solar-001,solar-002\n" + "".join(f"2026-06-17T00:{15 * k:02d},0.1,0.2\n" for k in range(4))


@pytest.fixture
def error_of(tmp_path):
    """The one-line message with which a scenario of these parts is refused."""

    def error_of(tables: str = SITE, households: str = HOUSEHOLDS, top: str = TOP) -> str:
        path = tmp_path / "bad.toml"
        path.write_text(top + households + tables)
        (tmp_path / "meters.csv").write_text(METERS)
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        message = str(caught.value)
        assert "\n" not in message and message.startswith(f"{path}: ")
        return message

    return error_of


def test_an_unknown_site_key_is_named_with_the_allowed_keys(error_of):
    assert "site.elevation: unknown key; allowed: latitude, longitude, timezone" in error_of(SITE + "elevation = 5\n")


def test_a_latitude_beyond_the_pole_is_refused(error_of):
    assert "site.latitude: 95 is above 90" in error_of(SITE.replace("30.27", "95"))


def test_an_unknown_time_zone_is_refused(error_of):
    message = error_of(SITE.replace("Asia/Shanghai", "China/Hangzhou"))
    assert 'site.timezone: "China/Hangzhou" is not a known time zone; allowed: an IANA time zone name' in message


def test_a_date_in_quotes_is_a_string_not_a_date(error_of):
    message = error_of(SITE.replace("2026-06-17", '"2026-06-17"'))
    assert 'site.date: "2026-06-17" is a string, not a date; allowed: a TOML date without quotes' in message


def test_a_missing_date_is_refused(error_of):
    assert "site.date: missing" in error_of(SITE.replace("date = 2026-06-17\n", ""))


def test_days_and_slots_that_disagree_are_refused(error_of):
    assert "slots: 4 disagrees with site.days = 1 (96 slots)" in error_of(SITE + "days = 1\n")


def test_days_of_slots_that_do_not_fit_a_day_are_refused(error_of):
    message = error_of(SITE + "days = 1\n", top="seed = 1\nslot_length_s = 7000\n")
    assert "site.days: 7000 s slots do not fit a day evenly" in message


def test_a_panel_orientation_without_a_site_is_refused(error_of):
    message = error_of("", HOUSEHOLDS + "pv_azimuth_deg = 180\n")
    assert "households[0].pv_azimuth_deg: needs a [site]" in message


def test_a_tilt_beyond_vertical_is_refused(error_of):
    assert "households[0].pv_tilt_deg: 95 is above 90" in error_of(households=HOUSEHOLDS + "pv_tilt_deg = 95\n")


def test_a_standard_profile_without_a_site_is_refused(error_of):
    message = error_of('\n[loads]\nprofile = "H0"\n')
    assert 'loads.profile: "H0" needs a [site] (its date and time zone)' in message


def test_a_groups_standard_profile_without_a_site_is_refused(error_of):
    message = error_of("", HOUSEHOLDS + 'load_profile = "G25"\n')
    assert 'households[0].load_profile: "G25" needs a [site]' in message


def test_an_unknown_load_profile_is_refused_with_the_choices(error_of):
    message = error_of(SITE + '\n[loads]\nprofile = "H1"\n')
    assert (
        'loads.profile: "H1" is unknown; allowed: "synthetic", "H0", "G0", "L0", "H25", "G25", "L25", "measured"'
        in (message)
    )


def test_an_unknown_country_is_refused(error_of):
    message = error_of(SITE + '\n[loads]\nprofile = "H0"\ncountry = "XX"\n')
    assert 'loads.country: "XX" is not a country the holidays package knows' in message


def test_a_daily_load_beside_a_measured_series_is_refused(error_of):
    message = error_of(SITE + '\n[loads]\nfile = "meters.csv"\n', HOUSEHOLDS + 'load_profile = "measured"\n')
    assert "households[0].load_kwh_per_day: is given, but a measured series is the load" in message


def test_a_standard_profile_group_without_a_daily_load_is_refused(error_of):
    message = error_of(households=HOUSEHOLDS.replace("load_kwh_per_day = 8.0\n", ""))
    assert "households[0].load_kwh_per_day: missing" in message


def test_measured_loads_without_a_file_are_refused(error_of):
    households = HOUSEHOLDS.replace("load_kwh_per_day = 8.0\n", 'load_profile = "measured"\n')
    assert "loads.file: missing: 2 households take measured loads" in error_of(households=households)


def test_a_file_that_no_household_uses_is_refused(error_of):
    message = error_of(SITE + '\n[loads]\nfile = "meters.csv"\n')
    assert "loads.file: is given, but no household takes measured loads" in message


def test_a_bad_data_file_is_refused_naming_the_scenario_field_and_file(error_of, tmp_path):
    households = HOUSEHOLDS.replace("load_kwh_per_day = 8.0\n", 'load_profile = "measured"\n')
    message = error_of(SITE + '\n[loads]\nfile = "meters.csv"\nunit = "W"\n', households)
    assert f"loads.file: {tmp_path / 'meters.csv'}: wrong units: in W, no household ever draws 1 W" in message


def test_a_missing_weather_file_is_refused_naming_the_field(error_of, tmp_path):
    message = error_of(SITE + 'weather_file = "sky.csv"\n')
    assert f"site.weather_file: {tmp_path / 'sky.csv'}: no such file" in message
