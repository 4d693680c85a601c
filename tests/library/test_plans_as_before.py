"""Scenarios without `[site]` or data files plan exactly as before real energy came in (issue 28).

The digests were computed with the code of main before the change (commit c1cc6cb): every integer
array of the energy plan (Wh per household and slot, registers, batteries) and every slot's offers,
takes, bids and clearing price. A change to the curves, the draws or the market shows up here.
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BEFORE = {
    "demo": "a3b2558bc5c78f38a8374f8c",
    "faults": "8df9ece2e79ef98386f9d557",
    "neighbourhood": "cb712019101b473b44829e29",
    "city-day": "8b71c5a0588f97c5538b6f4d",
}


def plan_digest(name: str) -> str:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    plan = simulate_energy(scenario)
    digest = hashlib.sha256()
    for field, value in sorted(vars(plan).items()):
        if isinstance(value, np.ndarray) and value.dtype == np.int64:
            digest.update(field.encode() + np.ascontiguousarray(value).tobytes())
    for market in clear_all(scenario, plan):
        offers = [(o.index, o.seller, o.wh, o.price_per_kwh, o.ask_per_kwh) for o in market.offers]
        takes = [(t.buyer, t.offer_index, t.wh) for t in market.takes]
        bids = [(b.buyer, b.wh, b.price_per_kwh) for b in market.bids]
        digest.update(repr((market.slot, market.clearing_price, market.feeder_bound, offers, takes, bids)).encode())
    return digest.hexdigest()[:24]


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_a_scenario_without_a_site_plans_exactly_as_before(name):
    assert plan_digest(name) == BEFORE[name]
