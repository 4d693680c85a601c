"""A run's fixed facts (RunSetup) built from a scenario on a deployed market, for tests of the calls a run builds."""

from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.books import Books
from p2p_energy.run.context import MarketTiming
from p2p_energy.run.matching import match_schedule
from p2p_energy.run.state import Household, RunSetup, household_account, simulated_meter_key, trader_key

#: The chain slot of scenario slot 0 in these tests.
C0 = 2


def run_setup(market, admin, scenario: Scenario) -> RunSetup:
    plan = simulate_energy(scenario)
    names = scenario.household_names
    accounts = [household_account(market.chain, scenario.seed, n) for n in [*names, "attacker"]]
    households = [
        Household(
            i,
            n,
            accounts[i],
            1000 + i + 1,
            simulated_meter_key(scenario.seed, n),
            trader_key(accounts[i], scenario.seed, n),
        )
        for i, n in enumerate(names)
    ]
    genesis = market.view("MeterRegistry", "genesis")
    timing = MarketTiming(genesis, scenario.slot_length_s, scenario.chain.grace_period_s)
    return RunSetup(scenario, plan, clear_all(scenario, plan), market, admin, accounts[-1], households, timing, C0)


def booked(setup) -> Books:
    """The books after every planned fill was made: each call's lots of a slot grouped 64 at a time."""
    books = Books()
    for tick in sorted(schedule := match_schedule(setup)):
        for call in schedule[tick]:
            by_slot: dict[int, list] = {}
            for lot in call.lots:
                for t in lot.trades:
                    fill = (setup.row_by_address[t.buyer.lower()], t.wh, t.price_per_kwh)
                    books.ledger.traded(lot.meter_id, lot.slot, lot.slot - C0, setup.meter_row[lot.meter_id], fill)
                by_slot.setdefault(lot.slot, []).append((lot.meter_id, lot.slot - C0))
            for chain_slot, keys in by_slot.items():
                groups = len([g for g in books.ledger.groups if g[0] == chain_slot])
                for n, start in enumerate(range(0, len(keys), 64)):
                    books.ledger.grouped(chain_slot, groups + n, keys[start : start + 64])
    return books
