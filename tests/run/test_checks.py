"""Each end-of-run check of `run/checks.py` fails on the one inconsistency it names, and on nothing else.

The baseline is faults.toml's day as the books would hold it had every planned fill been made and every lot
closed by the settlement rule (refunded where the meter was offline), with a chain state that agrees: every
check passes. Each case plants one inconsistency and names the check that must fail (nothing is sent).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from p2p_energy.domain.settlement import settle_lot
from p2p_energy.run.books import Books
from p2p_energy.run.checks import ChainState, check_run
from p2p_energy.run.matching import StandingTerms, standing_terms
from p2p_energy.run.resume import RunRecord
from tests.run.setups import C0, booked


@pytest.fixture(scope="module")
def faults(make_setup):
    return make_setup("faults", window_slots=2, grace_period_s=3 * 900)


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


def failed(setup, run: Run) -> set[str]:
    return {name for name, passed in check_run(setup, run.books, run.record, run.after).checks.items() if not passed}


def first_trade(run: Run):
    return run.books.ledger.trades[min(run.books.ledger.trades)]


def close_twice(setup, run: Run) -> None:
    lot = next(lot for lot in run.books.ledger.lots.values() if lot.state == "refunded")
    run.books.ledger.refunded(lot.meter_id, lot.slot, sum(run.books.ledger.trades[t].cost for t in lot.trades))


def pay_one_unit_more(setup, run: Run) -> None:
    trade = next(t for t in run.books.ledger.trades.values() if t.settled)
    paid, refunded = trade.closes[0]
    trade.closes[0] = (paid + 1, refunded - 1)
    follow_books(setup, run)  # the chain paid it too


def leave_open(setup, run: Run) -> None:
    first_trade(run).closes.clear()
    follow_books(setup, run)


def shift_a_balance(setup, run: Run) -> None:
    run.after = replace(run.after, balances=[run.after.balances[0] + 1, *run.after.balances[1:]])


def fund_short(setup, run: Run) -> None:
    run.books.deposited[0] -= 1


def unregister_a_seller(setup, run: Run) -> None:
    run.books.meters.discard(min(run.books.meters))


def unplace_a_bid(setup, run: Run) -> None:
    run.books.bids.discard(min(run.books.bids))


def keep_a_unit_in_the_escrow(setup, run: Run) -> None:
    run.after = replace(run.after, escrow_balances=[1, *run.after.escrow_balances[1:]])


def mint_one_more(setup, run: Run) -> None:
    run.after = replace(run.after, supply=run.after.supply + 1)


def lock_one_unit(setup, run: Run) -> None:
    run.after = replace(run.after, escrow=(1, 0), escrow_tokens=1)


def give_the_escrow_a_stray_token(setup, run: Run) -> None:
    run.after = replace(run.after, escrow_tokens=1)


def hold_a_lot_open(setup, run: Run) -> None:
    run.after = replace(run.after, open_lots=[min(run.books.ledger.lots)])


def accept_an_attack(setup, run: Run) -> None:
    run.books.attacks_accepted.append("forged reading (tx 0x01)")


def fail_a_transaction(setup, run: Run) -> None:
    run.books.tx_failures.append("closeLots from 0x01 reverted (tx 0x02): GroupMismatch")


def skip_a_fill(setup, run: Run) -> None:
    run.books.fills_skipped.append("a fill of meter 1001's lot in slot 3 to 0x01 was not made: InsufficientBalance")


def refuse_a_reading(setup, run: Run) -> None:
    run.books.readings_refused.append("meter 1001's reading of slot 3 proved nothing to the escrow")


def skip_a_match(setup, run: Run) -> None:
    run.books.skipped.append("slot 3's matches: the chain's time passed the slot's start")


def leave_unclosed(setup, run: Run) -> None:
    run.books.unclosed.append("meter 1001's lot of slot 3: still open after its grace period")


CLOSED_ONCE = "every trade closed exactly once by the settlement rule"
TOKENS = "escrow's tokens equal its balances plus what is locked"
READY = "every selling meter registered, every order key named and standing order placed"

PLANTED: dict[str, tuple[Callable[..., None], str]] = {
    "a lot closed twice": (close_twice, CLOSED_ONCE),
    "a trade paid one unit more than the rule": (pay_one_unit_more, CLOSED_ONCE),
    "a trade never closed": (leave_open, CLOSED_ONCE),
    "a token balance one unit off": (shift_a_balance, "household token balances match the books"),
    "a deposit one unit short": (fund_short, "every household was funded with its deposit"),
    "a seller's meter not registered": (unregister_a_seller, READY),
    "a bid not placed": (unplace_a_bid, READY),
    "a unit left in an escrow balance": (keep_a_unit_in_the_escrow, "every household was paid out its whole balance"),
    "one unit minted too many": (mint_one_more, "total supply grew by exactly the funding minted"),
    "one unit still locked": (lock_one_unit, "escrow holds nothing for this run at the end"),
    "a stray token in the escrow": (give_the_escrow_a_stray_token, TOKENS),
    "a lot open on chain": (hold_a_lot_open, "every lot of the run is closed on chain"),
    "an attack accepted": (accept_an_attack, "every attack was rejected"),
    "an honest transaction reverted": (fail_a_transaction, "every honest transaction succeeded"),
    "a planned fill skipped": (skip_a_fill, "every planned fill was made"),
    "a reading that proved nothing": (refuse_a_reading, "every meter reading the run sent proved its lot"),
    "a planned match not sent": (skip_a_match, "every planned match was sent"),
    "a lot unclosed after its grace period": (leave_unclosed, "every lot closed by the end of its grace period"),
}  # fmt: skip


def test_a_consistent_run_passes_every_check(faults):
    assert failed(faults, consistent_run(faults)) == set()


def test_the_consistent_run_settles_some_lots_and_refunds_others(faults):
    states = {lot.state for lot in consistent_run(faults).books.ledger.lots.values()}
    assert states == {"settled", "refunded"}


def test_every_check_has_a_planted_inconsistency_here(faults):
    names = set(check_run(faults, *vars(consistent_run(faults)).values()).checks)
    assert names == {check for _, check in PLANTED.values()}


@pytest.mark.parametrize("planted", PLANTED, ids=list(PLANTED))
def test_a_planted_inconsistency_fails_only_the_check_that_names_it(faults, planted):
    plant, check = PLANTED[planted]
    run = consistent_run(faults)
    plant(faults, run)
    assert failed(faults, run) == {check}
