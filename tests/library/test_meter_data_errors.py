"""Every bad data file is refused with one line naming the file, what is wrong, where, and what would do.

One test per case; the same cases through `p2p-energy simulate` (exit 2, nothing sent) are in
tests/cli/test_bad_data_cli.py.
"""

import datetime as dt

import pytest

from p2p_energy.domain.data_files import DataFileError
from p2p_energy.domain.meter_data import read_measured_loads
from p2p_energy.domain.scenario_site import SiteSpec
from p2p_energy.domain.weather_file import read_weather_file
from p2p_energy.errors import UsageError

HANGZHOU = SiteSpec(30.27, 120.16, "Asia/Shanghai", 10.0, dt.date(2026, 6, 17), (25.0, 25.0), (180.0, 180.0))
CLOCK = HANGZHOU.clock(0.0, 900, 4)


def quarters(values=(1, 2, 3, 4), stamp="2026-06-17T00:{m:02d}:00", header="time,a"):
    return header + "\n" + "".join(f"{stamp.format(m=15 * k)},{v}\n" for k, v in enumerate(values))


@pytest.fixture
def refusal(tmp_path):
    """The one-line message with which a file holding `text` is refused."""

    def refusal(text, households=("a",), unit="kWh", match="name", name="meters.csv", clock=CLOCK):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(DataFileError) as caught:
            read_measured_loads(path, name, unit, match, households, clock)
        message = str(caught.value)
        assert "\n" not in message and str(path) in message and "; allowed: " in message
        return message

    return refusal


def test_a_missing_step_is_refused_saying_after_when(refusal):
    text = quarters().replace("2026-06-17T00:15:00,2\n", "")
    assert "missing step: 1 step(s) of 900 s missing after 2026-06-17 00:00:00+0800" in refusal(text)


def test_a_duplicated_step_is_refused(refusal):
    text = quarters() + "2026-06-17T00:30:00,3\n"
    assert "duplicated step: 2026-06-17 00:30:00+0800 is given twice" in refusal(text)


def test_negative_energy_is_refused_naming_the_column_and_time(refusal):
    assert "negative energy: column 'a' is -2 at 2026-06-17 00:15:00+0800" in refusal(quarters((1, -2, 3, 4)))


def test_watts_read_as_kwh_are_wrong_units(refusal):
    message = refusal(quarters((300, 450, 800, 600)))
    assert "wrong units: in kWh, column 'a' would draw 3,200 kW" in message


def test_kwh_read_as_watts_are_wrong_units(refusal):
    assert "wrong units: in W, no household ever draws 1 W" in refusal(quarters((0.1, 0.2, 0.3, 0.2)), unit="W")


def test_steps_that_do_not_fit_the_slots_are_the_wrong_resolution(refusal):
    text = "time,a\n" + "".join(f"2026-06-17 {m // 60:02d}:{m % 60:02d},1\n" for m in range(0, 70, 10))
    assert "wrong resolution: steps of 600 s do not fit slots of 900 s" in refusal(text)


def test_steps_of_uneven_length_are_the_wrong_resolution(refusal):
    text = quarters(range(1, 5)) + "2026-06-17T01:00:00,5\n2026-06-17T01:15:00,6\n"
    text = text.replace("00:30:00", "00:40:00")
    assert "wrong resolution: the step after 2026-06-17 00:15:00+0800 lasts 1500 s, not 900 s" in refusal(text)


def test_utc_time_stamps_for_a_site_in_china_are_a_time_zone_mismatch(refusal):
    text = quarters(stamp="2026-06-16T16:{m:02d}:00Z")
    assert "time zone mismatch: row 1 is stamped UTC+00:00 but the site (Asia/Shanghai) is UTC+08:00" in refusal(text)


def test_fewer_series_than_households_in_order_is_refused(refusal):
    message = refusal(quarters(), households=("h-1", "h-2"), match="order")
    assert "fewer series than households: 1 series for 2 households that take measured loads (h-1, h-2)" in message


def test_a_household_without_its_named_series_is_refused(refusal):
    message = refusal(quarters(), households=("a", "home-002"))
    assert "fewer series than households: no column named home-002 (1 of 2 households; the file has a)" in message


def test_an_empty_cell_is_a_missing_step(refusal):
    assert "missing step: column 'a' has no value at 2026-06-17 00:30:00+0800" in refusal(quarters((1, 2, "", 4)))


def test_a_value_that_is_not_a_number_is_refused(refusal):
    assert "column 'a', row 2: '2 kWh' is not a number" in refusal(quarters((1, "2 kWh", 3, 4)))


def test_a_time_stamp_that_is_not_one_is_refused(refusal):
    assert "row 3: 'soon' is not a time stamp" in refusal(quarters().replace("2026-06-17T00:30:00", "soon"))


def test_a_file_that_does_not_cover_the_run_is_refused(refusal):
    message = refusal(quarters((1, 2, 3)))
    assert "covers 2026-06-17 00:00:00+0800 to 2026-06-17 00:45:00+0800 but the run lasts" in message


def test_stamps_with_and_without_an_offset_mixed_are_refused(refusal):
    text = quarters().replace("00:30:00,", "00:30:00+08:00,")
    assert "row 3: '2026-06-17T00:30:00+08:00' mixes stamps with and without an offset" in refusal(text)


def test_a_local_time_that_daylight_saving_makes_ambiguous_is_refused(refusal):
    oslo = SiteSpec(59.91, 10.75, "Europe/Oslo", 0.0, dt.date(2026, 10, 25), (30.0, 30.0), (180.0, 180.0))
    stamps = ["2026-10-25 01:45", "2026-10-25 02:00", "2026-10-25 02:15", "2026-10-25 02:30"]
    text = "time,a\n" + "".join(f"{s},1\n" for s in stamps)
    assert "ambiguous or does not exist in Europe/Oslo" in refusal(text, clock=oslo.clock(1.75, 900, 3))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        read_measured_loads(tmp_path / "nowhere.csv", "nowhere.csv", "kWh", "name", ("a",), CLOCK)


def test_a_file_neither_csv_nor_parquet_is_refused(refusal):
    assert "is neither .csv nor .parquet" in refusal(quarters(), name="meters.xlsx")


def test_a_data_file_error_is_a_usage_error_so_the_cli_exits_2(tmp_path):
    assert issubclass(DataFileError, UsageError)


@pytest.fixture
def weather_refusal(tmp_path):
    def weather_refusal(text):
        path = tmp_path / "weather.csv"
        path.write_text(text)
        with pytest.raises(DataFileError) as caught:
            read_weather_file(path, "weather.csv", CLOCK)
        return str(caught.value)

    return weather_refusal


def test_a_weather_file_without_ghi_is_refused(weather_refusal):
    assert "has no ghi column (it has dni)" in weather_refusal(quarters(header="time,dni"))


def test_a_weather_file_in_kilowatts_per_square_metre_is_wrong_units(weather_refusal):
    assert "wrong units: ghi never exceeds 0.9 (kW/m2?)" in weather_refusal(
        quarters((0, 0.5, 0.9, 0.7), header="time,ghi")
    )


def test_air_temperature_in_kelvin_is_wrong_units(weather_refusal):
    text = "time,ghi,temp_air\n" + "".join(f"2026-06-17T00:{15 * k:02d},0,293.1\n" for k in range(4))
    assert "wrong units: temp_air is 293.1" in weather_refusal(text)


def test_negative_irradiance_is_refused(weather_refusal):
    assert "negative irradiance: column 'ghi' is -3" in weather_refusal(quarters((0, -3, 0, 0), header="time,ghi"))
