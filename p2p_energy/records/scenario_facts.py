"""The facts of a scenario that a report shows but the run's records do not hold (prices, grid, market mode, faults)."""

from __future__ import annotations

from p2p_energy.domain.scenario import Scenario
from p2p_energy.records.run_records import OfflineMeterRecord, ScenarioFacts, UnderDeliveryRecord


def scenario_facts(scenario: Scenario) -> ScenarioFacts:
    """`scenario`'s market rules, prices and faults as a record for RunResult.scenario_facts."""
    prices, faults = scenario.prices, scenario.faults
    return ScenarioFacts(
        description=scenario.description,
        market_mode=scenario.market.mode,
        slot_length_s=scenario.slot_length_s,
        grid_tariff=prices.grid_tariff,
        ask_min=prices.ask_min,
        ask_max=prices.ask_max,
        funding=prices.funding,
        cloudy_slots=tuple(sorted(faults.cloudy_slots)),
        cloud_factor=faults.cloud_factor,
        offline_meters=tuple(OfflineMeterRecord(o.household, o.first_slot, o.last_slot) for o in faults.offline),
        under_delivery=tuple(UnderDeliveryRecord(u.household, u.factor) for u in faults.under_delivery),
        feed_in_tariff=prices.feed_in_tariff,
        grid_fee_per_kwh=scenario.grid.fee_per_kwh,
        feeder_limit_kw=scenario.grid.feeder_limit_kw,
        coin_price=prices.coin_price,
    )
