"""Planning time with real energy in (issue 28), in `p2p-energy bench`: city-day as it is (the clear-sky
bell and the synthetic loads) against the same city placed at a site (pvlib PV, demandlib's BDEW H0 loads).

Planning is what the run does before sending anything: `simulate_energy` and `market.clear_all`.
Both scenarios are parsed once; the two then take turns, so that a busy moment of the shared machine
hits both, and each figure is the median of `runs`, each run started after a garbage collection. The
first plan of the site copy runs before the timed ones: it imports pvlib and demandlib (about a second,
once per process), which is not planning.
"""

from __future__ import annotations

import datetime as dt
import gc
import statistics
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import Scenario, parse_scenario

#: What the site copy adds to city-day: Hangzhou on a June weekday, households on BDEW H0 with China's holidays.
CITY_SITE: dict[str, Any] = {
    "site": {
        "latitude": 30.27,
        "longitude": 120.16,
        "timezone": "Asia/Shanghai",
        "altitude_m": 10.0,
        "date": dt.date(2026, 6, 17),
    },
    "loads": {"profile": "H0", "country": "CN"},
}
PLANNING_RUNS = 5
#: Issue 28: planning city-day with pvlib and demandlib within 1.5x of today's planning time.
TARGET_PLANNING_RATIO = 1.5


@dataclass(frozen=True)
class PlanningTimes:
    """Seconds to plan `scenario` as it is (`today_s`) and placed at a site (`site_s`), one figure per run."""

    scenario: str
    site: str
    today_s: list[float]
    site_s: list[float]

    @property
    def today_median_s(self) -> float:
        return statistics.median(self.today_s)

    @property
    def site_median_s(self) -> float:
        return statistics.median(self.site_s)

    @property
    def ratio(self) -> float:
        return self.site_median_s / self.today_median_s

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "today_median_s": self.today_median_s,
            "site_median_s": self.site_median_s,
            "ratio": self.ratio,
        }


def _planned_in(scenario: Scenario) -> float:
    gc.collect()  # each plan starts from a clean heap, not with the garbage of the one before
    started = time.perf_counter()
    clear_all(scenario, simulate_energy(scenario))
    return time.perf_counter() - started


def measure_planning(path: Path, runs: int = PLANNING_RUNS) -> PlanningTimes:
    """Plan the scenario at `path` and its copy with `CITY_SITE`, `runs` times each, taking turns."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    today = parse_scenario(data, path)
    at_site = parse_scenario({**data, **CITY_SITE}, path)
    _planned_in(at_site)  # imports pvlib and demandlib
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(runs):
        for placed, scenario in ((False, today), (True, at_site)):
            times[placed].append(_planned_in(scenario))
    where = CITY_SITE["site"]
    site = f"{where['timezone']} {where['date']}, {CITY_SITE['loads']['profile']} loads"
    return PlanningTimes(today.name, site, times[False], times[True])
