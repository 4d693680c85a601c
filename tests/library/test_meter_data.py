"""The measured-load importer against hand-made files: units, resampling to slots, matching, time stamps."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from p2p_energy.domain.meter_data import read_measured_loads
from p2p_energy.domain.scenario_site import SiteSpec

HANGZHOU = SiteSpec(30.27, 120.16, "Asia/Shanghai", 10.0, dt.date(2026, 6, 17), (25.0, 25.0), (180.0, 180.0))
#: Four 15-minute slots from 00:00 on 2026-06-17, Hangzhou time.
CLOCK = HANGZHOU.clock(0.0, 900, 4)
QUARTERS = "time,a,b\n" + "".join(f"2026-06-17T00:{15 * k:02d}:00,{k + 1},{10 * (k + 1)}\n" for k in range(4))


@pytest.fixture
def read(tmp_path):
    """Write `text` to a file named `name` and read households' series from it."""

    def read(text, households=("a", "b"), unit="kWh", match="name", name="meters.csv", clock=CLOCK):
        path = tmp_path / name
        path.write_text(text)
        return read_measured_loads(path, name, unit, match, households, clock)

    return read


def test_kwh_per_quarter_hour_become_wh_per_quarter_hour_slot(read):
    loads = read(QUARTERS)
    assert loads.of("a").tolist() == [1000.0, 2000.0, 3000.0, 4000.0]
    assert loads.of("b").tolist() == [10_000.0, 20_000.0, 30_000.0, 40_000.0]


def test_households_take_the_column_named_like_them_whatever_the_order(read):
    loads = read(QUARTERS, households=("b", "a"))
    assert loads.of("a")[0] == 1000.0 and loads.of("b")[0] == 10_000.0


def test_in_order_households_take_the_first_columns_in_file_order(read):
    loads = read(QUARTERS, households=("home-001",), match="order")
    assert (loads.columns, loads.of("home-001")[0]) == (("a",), 1000.0)


def test_mean_watts_over_five_minute_steps_add_up_to_each_slots_wh(read):
    rows = "".join(f"2026-06-17 00:{5 * k:02d}:00,{120 * (k + 1)}\n" for k in range(12))
    loads = read("time,a\n" + rows, households=("a",), unit="W")
    watts = 120 * np.arange(1, 13)
    assert loads.of("a") == pytest.approx(watts.reshape(4, 3).sum(axis=1) * 5 / 60)


def test_an_hourly_reading_is_spread_evenly_over_its_quarter_hours(read):
    loads = read("time,a\n2026-06-17 00:00,2.0\n2026-06-17 01:00,4.0\n", households=("a",), unit="kWh")
    assert loads.of("a").tolist() == [500.0, 500.0, 500.0, 500.0]


def test_kilowatts_and_watt_hours_are_converted_too(read):
    kw = read(QUARTERS, households=("a",), unit="kW").of("a")
    wh = read(QUARTERS, households=("b",), unit="Wh").of("b")
    assert (kw[0], wh[0]) == (250.0, 10.0)


def test_time_stamps_with_the_sites_offset_read_like_local_ones(read):
    offset = QUARTERS.replace(":00,", ":00+08:00,")
    assert read(offset).of("a").tolist() == read(QUARTERS).of("a").tolist()


def test_rows_out_of_order_are_sorted_by_time(read):
    header, *rows = QUARTERS.splitlines()
    shuffled = "\n".join([header, rows[2], rows[0], rows[3], rows[1]]) + "\n"
    assert read(shuffled).of("a").tolist() == [1000.0, 2000.0, 3000.0, 4000.0]


def test_comment_lines_label_a_file_without_changing_it(read):
    labelled = "# synthetic: made by the project, not measured\n" + QUARTERS
    assert read(labelled).of("b").tolist() == read(QUARTERS).of("b").tolist()


def test_a_parquet_file_reads_like_the_same_csv(read, tmp_path):
    frame = pd.DataFrame(
        {"time": pd.date_range("2026-06-17", periods=4, freq="15min"), "a": [1.0, 2.0, 3.0, 4.0], "b": [9.0] * 4}
    )
    frame.to_parquet(tmp_path / "meters.parquet")
    loads = read_measured_loads(tmp_path / "meters.parquet", "meters.parquet", "kWh", "name", ("a",), CLOCK)
    assert loads.of("a").tolist() == [1000.0, 2000.0, 3000.0, 4000.0]


def test_a_parquet_file_with_time_zone_aware_stamps_of_the_site_reads_the_same(tmp_path):
    stamps = pd.date_range("2026-06-17", periods=4, freq="15min", tz="Asia/Shanghai")
    pd.DataFrame({"time": stamps, "a": [1.0, 2.0, 3.0, 4.0]}).to_parquet(tmp_path / "m.parquet")
    loads = read_measured_loads(tmp_path / "m.parquet", "m.parquet", "kWh", "name", ("a",), CLOCK)
    assert loads.of("a").tolist() == [1000.0, 2000.0, 3000.0, 4000.0]


def test_a_file_longer_than_the_run_gives_only_the_runs_slots(read):
    rows = "".join(f"2026-06-16 {h:02d}:00,1.0\n" for h in range(24)) + "2026-06-17 00:00,4.0\n2026-06-17 01:00,0\n"
    assert read("time,a\n" + rows, households=("a",)).of("a").tolist() == [1000.0] * 4


def test_the_same_file_gives_the_same_digest_and_another_file_another(read):
    assert read(QUARTERS).digest == read(QUARTERS).digest != read(QUARTERS.replace(",4,", ",5,")).digest
