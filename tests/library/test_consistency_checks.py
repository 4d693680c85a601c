"""Each of RunResult's consistency checks and bill checks fails on the one record that disagrees, and only it."""

import dataclasses
from collections.abc import Callable

import pytest

from p2p_energy.records.run_records import RunResult
from tests.output.fake_runs import with_bills
from tests.run_factory import make_run


def consistent() -> RunResult:
    return with_bills(make_run())


def busy_slot(run: RunResult) -> int:
    return next(i for i, s in enumerate(run.slots) if s.settled_trades)


def change_slot(run: RunResult, **changes: int) -> RunResult:
    slots = list(run.slots)
    slots[busy_slot(run)] = dataclasses.replace(slots[busy_slot(run)], **changes)
    return dataclasses.replace(run, slots=slots)


def change_kpis(run: RunResult, field: str, by: int) -> RunResult:
    assert run.kpis is not None
    return dataclasses.replace(run, kpis=dataclasses.replace(run.kpis, **{field: getattr(run.kpis, field) + by}))


def household_field(field: str, by: int = 1) -> Callable[[RunResult], RunResult]:
    """The first household's `field` `by` more (and its per-slot series, where it keeps one, in its first slot)."""

    def plant(run: RunResult) -> RunResult:
        households = list(run.households)
        first = households[0]
        changes = {field: getattr(first, field) + by}
        series = getattr(first, f"{field}_per_slot", ())
        if series:
            changes[f"{field}_per_slot"] = (series[0] + by, *series[1:])
        households[0] = dataclasses.replace(first, **changes)
        return dataclasses.replace(run, households=households)

    return plant


PLANTED: dict[str, tuple[Callable[[RunResult], RunResult], str]] = {
    "a slot counting one trade more": (
        lambda run: change_slot(run, trades=run.slots[busy_slot(run)].trades + 1),
        "slot records count every trade",
    ),
    "a slot adding one Wh more": (
        lambda run: change_slot(run, traded_wh=run.slots[busy_slot(run)].traded_wh + 1),
        "slot records add up traded energy",
    ),
    "a slot counting a settled trade as refunded": (
        lambda run: change_slot(
            run,
            settled_trades=run.slots[busy_slot(run)].settled_trades - 1,
            refunded_trades=run.slots[busy_slot(run)].refunded_trades + 1,
        ),
        "slot records count settled and refunded trades",
    ),
    "a household selling one Wh more": (household_field("sold_wh"), "households' sold energy matches their trades"),
    "a household buying one Wh more": (household_field("bought_wh"), "households' bought energy matches their trades"),
    "the neighbourhood's local payments one unit more": (
        lambda run: change_kpis(run, "local_paid", 1),
        "buyers paid for local energy what the trades paid sellers",
    ),
    "the neighbourhood's grid fees one unit more": (
        lambda run: change_kpis(run, "grid_fees", 1),
        "buyers' payments incl. grid fees equal sellers' receipts plus grid fees",
    ),
    "a household's grid-only bill one unit more": (
        household_field("bill_grid_only"),
        "households' bills add up to the neighbourhood's",
    ),
    "a slot delivering one Wh more": (
        lambda run: change_slot(run, delivered_wh=run.slots[busy_slot(run)].delivered_wh + 1),
        "energy bought locally is what the sellers' meters proved delivered",
    ),
    "a household importing one Wh more": (
        household_field("grid_import_wh"),
        "households' grid import and export add up to the neighbourhood's",
    ),
}


def failed(run: RunResult) -> set[str]:
    return {name for name, passed in run.consistency_checks().items() if not passed}


def test_the_consistent_fake_run_passes_every_consistency_check():
    assert failed(consistent()) == set()


def test_every_consistency_check_has_a_planted_inconsistency_here():
    assert set(consistent().consistency_checks()) == {check for _, check in PLANTED.values()}


@pytest.mark.parametrize("planted", PLANTED, ids=list(PLANTED))
def test_a_planted_inconsistency_fails_only_the_check_that_names_it(planted):
    plant, check = PLANTED[planted]
    assert failed(plant(consistent())) == {check}
