"""A run's fixed facts (RunSetup) built from a scenario on a deployed market, and the books its plan would give,
for tests of the calls and records a run builds."""

from dataclasses import dataclass, replace

from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import Scenario
from p2p_energy.domain.settlement import settle_lot
from p2p_energy.run.books import Books
from p2p_energy.run.checks import ChainState
from p2p_energy.run.context import MarketTiming
from p2p_energy.run.matching import StandingTerms, match_schedule, standing_terms
from p2p_energy.run.resume import RunRecord
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


@dataclass
class Run:
    """What check_run is given: the books, the run record and the chain's state at the end."""

    books: Books
    record: RunRecord
    after: ChainState


def closed_books(setup) -> Books:
    """Every planned fill made, every lot settled on its meter's export (refunded where it was offline), every
    household funded, ready to trade and paid out."""
    books = booked(setup)
    for lot in list(books.ledger.lots.values()):
        costs = [books.ledger.trades[t].cost for t in lot.trades]
        sold = sum(books.ledger.trades[t].wh for t in lot.trades)
        if setup.reading_online(lot.seller, lot.slot):
            exported = int(setup.plan.export_wh[lot.seller, lot.slot])
            books.ledger.settled(lot.meter_id, lot.slot, sold, exported, sum(settle_lot(costs, sold, exported).paid))
        else:
            books.ledger.refunded(lot.meter_id, lot.slot, sum(costs))
    terms = standing_terms(setup)
    for h in setup.households:
        books.deposited[h.index] = setup.scenario.prices.funding
        books.meters |= {h.index} if setup.exports(h.index) else set()
        books.traders |= {h.index} if h.needs_trader else set()
        books.bids |= {h.index} if terms.get(h.index, StandingTerms()).bid_wh else set()
        books.asks |= {h.index} if terms.get(h.index, StandingTerms()).ask_wh else set()
    return books


def consistent_run(setup) -> Run:
    books = closed_books(setup)
    n = len(setup.households)
    record = RunRecord(
        **dict.fromkeys(("scenario", "fingerprint", "first_block_hash", "started_at"), ""),
        **dict.fromkeys(("seed", "chain_id", "genesis", "meter_base", "first_block", "supply_before"), 0),
        c0=C0,
        deployment={},
        balances_before=[5] * n,
        escrow_before=[0, 0],
        escrow_balances_before=[0] * n,
        node_accounts=[],
    )
    after = ChainState([], [0] * n, setup.scenario.prices.funding * n, (0, 0), 0, [])
    return follow_books(setup, Run(books, record, after))


def follow_books(setup, run: Run) -> Run:
    """The payouts and token balances the chain holds when it did what the books say, worked out here (not with
    checks.expected_escrow, which the checks use: a bug there must not move the baseline with it)."""
    escrow = [b + setup.scenario.prices.funding for b in run.record.escrow_balances_before]
    for trade in run.books.ledger.trades.values():
        for paid, refunded in trade.closes[:1]:
            escrow[trade.seller] += paid
            escrow[trade.buyer] += refunded
        escrow[trade.buyer] -= trade.cost
    for row, amount in enumerate(escrow):
        run.books.withdrawn[row] = amount
    balances = [before + amount for before, amount in zip(run.record.balances_before, escrow, strict=True)]
    run.after = replace(run.after, balances=balances)
    return run


def claim_more_than_exported(setup, run: Run) -> None:
    """A lot its meter fell short of, settled as if the meter had exported one Wh more than it did."""
    ledger, exported = run.books.ledger, setup.plan.export_wh
    lot = next(
        lot
        for lot in ledger.lots.values()
        if lot.state == "settled" and sum(ledger.trades[t].wh for t in lot.trades) > exported[lot.seller, lot.slot]
    )
    lot.delivered_wh = int(exported[lot.seller, lot.slot]) + 1
