"""The run's records (run/result.py) built from books that agree with the chain: faults.toml's day with every
planned fill made and every lot closed by the rule (tests/run/setups.py's consistent_run; nothing sent)."""

import pytest

from p2p_energy.run.checks import Verdict, check_run
from p2p_energy.run.result import build_result
from tests.run.setups import claim_more_than_exported, consistent_run


@pytest.fixture(scope="module")
def faults(make_setup):
    return make_setup("faults", window_slots=2, grace_period_s=3 * 900)


@pytest.fixture(scope="module")
def built(faults):
    run = consistent_run(faults)
    return run, build_result(faults, run.books, run.record, run.after, Verdict(), "2026-12-08T00:00:00+00:00")


def test_the_records_of_a_consistent_run_pass_every_consistency_check(built):
    _, result = built
    assert [name for name, ok in result.consistency_checks().items() if not ok] == []


def test_each_households_tokens_start_with_its_balance_before_plus_the_funding(faults, built):
    run, result = built
    funding = faults.scenario.prices.funding
    assert [h.tokens_start for h in result.households] == [b + funding for b in run.record.balances_before]


def test_each_households_tokens_end_are_the_chains(built):
    run, result = built
    assert [h.tokens_end for h in result.households] == run.after.balances


def test_each_trade_record_is_paid_and_refunded_as_its_close(built):
    run, result = built
    closes = {t.trade_id: t.closes[0] for t in run.books.ledger.trades.values()}
    assert {t.trade_id: (t.paid, t.refunded) for t in result.trades} == closes


def test_each_slot_delivers_what_its_lots_delivered(built):
    run, result = built
    lots = run.books.ledger.lots.values()
    assert [s.delivered_wh for s in result.slots] == [
        sum(lot.delivered_wh for lot in lots if lot.slot == s.slot) for s in result.slots
    ]


def test_what_buyers_paid_locally_is_what_the_trades_paid(built):
    _, result = built
    assert sum(h.local_paid for h in result.households) == sum(t.paid for t in result.trades)


def test_a_lot_the_chain_settled_on_more_than_its_meter_exported_fails_a_check_instead_of_stopping_the_run(faults):
    run = consistent_run(faults)
    claim_more_than_exported(faults, run)
    verdict = check_run(faults, run.books, run.record, run.after)
    result = build_result(faults, run.books, run.record, run.after, verdict, "2026-12-08T00:00:00+00:00")
    assert not result.checks["no lot settled on more energy than its meter exported"]
