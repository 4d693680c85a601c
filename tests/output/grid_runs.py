"""A fake run with the power flows of a real plan on a small network, as a run with `[grid] network` writes it."""

import dataclasses
from pathlib import Path

from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.records.grid_summary import grid_record
from tests.output.fake_runs import full_run

TRADER = {"capacity_kwh": 13.5, "power_kw": 10.0, "initial_soc": 0.6, "strategy": "price_aware", "price_margin": 0.03}


def grid_plan(slots: int, limits: str = "none"):
    """A plan of `slots` 15-minute slots from 09:00 on Kerber's 8-bus overhead feeder, with power flows."""
    households = [
        {"name": "solar", "count": 3, "pv_kwp": 14.0, "load_kwh_per_day": 9.0},
        {"name": "trader", "count": 3, "pv_kwp": 2.0, "load_kwh_per_day": 9.0, "battery": TRADER},
        {"name": "home", "count": 2, "load_kwh_per_day": 8.0},
    ]
    data = {
        "seed": 7,
        "slots": slots,
        "start_hour": 9.0,
        "households": households,
        "prices": {"ask": [0.08, 0.18], "feed_in_tariff": 0.07},
        "grid": {"network": "kerber_landnetz_freileitung_2", "limits": limits},
    }
    return simulate_energy(parse_scenario(data, Path("grid.toml")))


def grid_run(households: int = 8, slots: int = 12, limits: str = "none"):
    """full_run with the `grid` record of a real plan of as many slots."""
    return dataclasses.replace(full_run(households=households, slots=slots), grid=grid_record(grid_plan(slots, limits)))
