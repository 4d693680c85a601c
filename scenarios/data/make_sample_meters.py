"""Write the sample meter files of the Hangzhou scenarios. They are SYNTHETIC, not measured.

    .venv/bin/python scenarios/data/make_sample_meters.py

writes hangzhou-sample-meters-2026-06-17.csv and hangzhou-sample-meters-2026-12-16.csv next to
this script: 15 households (meter-001 .. meter-015), kWh per 15 minutes for one day, stamped in
Hangzhou time (+08:00), as a smart meter's interval data would be. Each series is demandlib's
BDEW H0 profile (dynamised, China's public holidays) for the day, scaled to a seeded annual
consumption of 1,500 to 3,600 kWh, shifted by up to an hour and multiplied by seeded log-normal
noise per step. They exist to show the importer at work; no household measured them. The same
script and pins give the same files, byte for byte (tests/library/test_sample_meters.py).
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import holidays
import numpy as np
from demandlib import bdew

HERE = Path(__file__).resolve().parent
DATES = (dt.date(2026, 6, 17), dt.date(2026, 12, 16))
HOUSEHOLDS = 15
SEED = 2026
LABEL = (
    "# SYNTHETIC sample data, not measured: made by scenarios/data/make_sample_meters.py from demandlib's\n"
    "# BDEW H0 profile (China's holidays) with seeded noise, to show the meter-data importer at work.\n"
    "# kWh per 15 minutes; each time stamp is the start of its step, in Hangzhou time.\n"
)


def sample(date: dt.date) -> str:
    """The sample file's text for `date`."""
    with warnings.catch_warnings():  # ElecSlp sets warnings.simplefilter("error") for the process
        profiles = bdew.ElecSlp(date.year, holidays=dict(holidays.country_holidays("CN", years=date.year)))
    share = profiles.get_profiles("h0_dyn")["h0_dyn"]
    day = share[str(date)].to_numpy()
    around = share[str(date - dt.timedelta(days=1)) : str(date + dt.timedelta(days=1))].to_numpy()
    columns = []
    for k in range(HOUSEHOLDS):
        rng = np.random.default_rng([SEED, k])
        annual = rng.uniform(1_500.0, 3_600.0)
        shift = int(rng.integers(-4, 5))  # quarter-hours
        noise = rng.lognormal(-0.08, 0.4, len(day))  # mean 1
        columns.append(annual * np.roll(around, shift)[96:192] * noise)
    header = "time," + ",".join(f"meter-{k + 1:03d}" for k in range(HOUSEHOLDS))
    rows = [
        f"{date}T{q // 4:02d}:{15 * (q % 4):02d}:00+08:00," + ",".join(f"{c[q]:.3f}" for c in columns)
        for q in range(len(day))
    ]
    return LABEL + header + "\n" + "\n".join(rows) + "\n"


def path_of(date: dt.date) -> Path:
    return HERE / f"hangzhou-sample-meters-{date}.csv"


if __name__ == "__main__":
    for date in DATES:
        path_of(date).write_text(sample(date))
        print(f"wrote {path_of(date)}")
