"""Each end-of-run check of `run/checks.py` fails on the one inconsistency it names, and on nothing else.

The baseline is faults.toml's day as the books would hold it had every planned fill been made and every lot
closed by the settlement rule (refunded where the meter was offline), with a chain state that agrees: every
check passes. Each case plants one inconsistency and names the check that must fail (nothing is sent).
"""

from collections.abc import Callable
from dataclasses import replace

import pytest

from p2p_energy.run.checks import check_run
from tests.run.setups import Run, claim_more_than_exported, consistent_run, follow_books


@pytest.fixture(scope="module")
def faults(make_setup):
    return make_setup("faults", window_slots=2, grace_period_s=3 * 900)


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
OVERDELIVERED = "no lot settled on more energy than its meter exported"
READY = "every selling meter registered, every order key named and standing order placed"

PLANTED: dict[str, tuple[Callable[..., None], str]] = {
    "a lot closed twice": (close_twice, CLOSED_ONCE),
    "a trade paid one unit more than the rule": (pay_one_unit_more, CLOSED_ONCE),
    "a trade never closed": (leave_open, CLOSED_ONCE),
    "a lot settled on a Wh its meter never exported": (claim_more_than_exported, OVERDELIVERED),
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
