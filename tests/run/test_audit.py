"""The independent end-of-run checks (run/audit.py) on a run worked by hand: a seller and a buyer, one trade of
500 Wh settled in full. It passes every check; each planted inconsistency fails the one check that names it."""

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest

from p2p_energy.domain.bills import BillPrices
from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.run import audit
from p2p_energy.run.audit import ZERO, ChainLogs, Report

NRG = 10**8
FUNDING = 1_000 * NRG
PRICE = 20 * NRG // 100  # per kWh
COST = 500 * PRICE // 1000  # 10,000,000 base units
M = 10**6
TARIFFS = BillPrices(grid_tariff=30 * NRG // 100, feed_in_tariff=8 * NRG // 100, grid_fee_per_kwh=NRG // 100)
ASK_MIN = 10 * NRG // 100
SUN, HOME, ESCROW = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "e" * 40
NAMES = {SUN: "sun", HOME: "home"}


@dataclass
class HandRun:
    plan: SimpleNamespace
    report: Report
    logs: ChainLogs
    kpis: KpiRecord
    totals: dict
    price_range: tuple[int, int] = (ASK_MIN, TARIFFS.grid_tariff)  # lowest ask, grid tariff


def household(name: str, energy: tuple[int, ...], kpis: tuple[str, str, str], bills: tuple[int, ...]) -> dict:
    """A households.csv row: energy in Wh, KPIs as written, bills in base units, tokens after the trade."""
    columns = ("generated_wh", "load_wh", "imported_wh", "exported_wh", "local_in_wh", "grid_import_wh")
    money = ("bill_grid_only", "bill_with_market", "local_paid", "local_received", "grid_fees")
    row = {"name": name, **dict(zip((*columns, "grid_export_wh"), energy, strict=True))}
    row |= dict(zip(("self_sufficiency", "self_consumption", "local_trade_share"), kpis, strict=True))
    row |= dict(zip(money, bills, strict=True))
    row |= {
        "delivered_wh": 500 if name == "sun" else 0,
        "tokens_start": FUNDING,
        "tokens_end": FUNDING + (COST if name == "sun" else -COST),
    }
    return {k: str(v) for k, v in row.items()}


def hand_run() -> HandRun:
    """sun makes 2,000 Wh, uses 1,000 and sells 500 to home (load 1,500) at 0.20 NRG/kWh; all delivered."""
    rows = [
        household("sun", (2000, 1000, 0, 1000, 0, 0, 500), ("1.0", "0.75", "0.0"), (-8 * M, -14 * M, 0, COST, 0)),
        household(
            "home",
            (0, 1500, 1500, 0, 500, 1000, 0),
            ("0.333333", "", "0.333333"),
            (45 * M, 40_500_000, COST, 0, M // 2),
        ),
    ]
    trade = {"seller": "sun", "buyer": "home", "wh": "500", "price_per_kwh": str(PRICE)}
    trade |= {"cost": str(COST), "paid": str(COST), "refunded": "0", "outcome": "settled"}
    totals = {"trades": 1, "settled_trades": 1, "refunded_trades": 0, "tokens_escrowed": COST, "tokens_paid": COST}
    totals |= {"tokens_refunded": 0, "traded_wh": 500, "delivered_wh": 500, "generated_wh": 2000, "load_wh": 2500}
    key = (1001 << 64) | 7
    events = [
        ("Transfer", {"from": ZERO, "to": ESCROW, "value": 2 * FUNDING}),
        ("Deposited", {"account": SUN, "amount": FUNDING}),
        ("Deposited", {"account": HOME, "amount": FUNDING}),
        ("Traded", {"lotKey": key, "buyer": HOME, "wh": 500, "pricePerKWh": PRICE}),
        ("LotSettled", {"lotKey": key, "seller": SUN, "soldWh": 500, "deliveredWh": 500, "paid": COST}),
        ("Withdrawn", {"account": SUN, "amount": FUNDING + COST}),
        ("Withdrawn", {"account": HOME, "amount": FUNDING - COST}),
        ("Transfer", {"from": ESCROW, "to": SUN, "value": FUNDING + COST}),
        ("Transfer", {"from": ESCROW, "to": HOME, "value": FUNDING - COST}),
    ]
    kpis = KpiRecord(
        **{"self_sufficiency": 0.6, "self_consumption": 0.75, "local_trade_share": 0.2, "peak_grid_import_kw": 4.0},
        **{"bills_grid_only": 37 * 10**6, "bills_with_market": 26_500_000, "grid_fees": 500_000},
        **{"local_paid": COST, "local_received": COST, "battery_losses_kwh": 0.0, "feeder_limit_bound_slots": 0},
        **{"load_wh": 2500, "generated_wh": 2000, "grid_import_wh": 1000, "grid_export_wh": 500, "local_wh": 500},
    )
    zeros = np.zeros((2, 1), dtype=np.int64)
    plan = SimpleNamespace(
        generated_wh=np.array([[2000], [0]]),
        import_wh=np.array([[0], [1500]]),
        load_wh=np.array([[1000], [1500]]),
        export_wh=np.array([[1000], [0]]),
        battery_charge_wh=zeros,
        battery_discharge_wh=zeros,
        battery_losses_wh=zeros,
    )
    slots = [{"slot": "0", "delivered_wh": "500"}]
    return HandRun(plan, Report(rows, slots, [trade]), ChainLogs(events), kpis, totals)


def passes(run: HandRun) -> dict[str, bool]:
    """Every check of audit_checks but the I/O: by name, as audit_checks names them."""
    return {
        "energy": audit.energy_balances(run.plan),
        "grid": audit.grid_flows_net(run.report),
        "tokens": audit.tokens_moved(run.report, run.logs, NAMES, FUNDING),
        "deposits": audit.deposits_paid_out(run.logs, NAMES),
        "sellers": audit.sellers_paid(run.report, run.logs, NAMES),
        "trades": audit.trades_as_on_chain(run.report, run.logs, NAMES),
        "prices": audit.prices_in_range(*run.price_range, run.report),
        "kpis": audit.kpis_recomputed(run.report, run.kpis),
        "bills": audit.bills_recomputed(TARIFFS, run.report, run.kpis),
        "totals": audit.totals_add_up(run.report, run.totals),
    }


def failed(run: HandRun) -> set[str]:
    return {name for name, ok in passes(run).items() if not ok}


def set_row(rows: list[dict], index: int, **changes: object) -> None:
    rows[index] = {**rows[index], **{k: str(v) for k, v in changes.items()}}


def event(run: HandRun, name: str, nth: int = 0) -> dict:
    return [args for event, args in run.logs.events if event == name][nth]


def add_to(rows: list[dict], index: int, field: str, by: int) -> None:
    set_row(rows, index, **{field: int(rows[index][field]) + by})


def lose_a_wh(run: HandRun) -> None:
    run.plan.load_wh = run.plan.load_wh + np.array([[1], [0]])


def ignore_local_energy_in_grid_import(run: HandRun) -> None:
    """As bills.py would with the bug: the KPIs and bills follow the wrong grid import."""
    set_row(run.report.households, 1, grid_import_wh=1500, self_sufficiency="0.0", bill_with_market=55_500_000)
    run.kpis = replace(run.kpis, self_sufficiency=0.4, bills_with_market=41_500_000, grid_import_wh=1500)


def move_a_token_more(run: HandRun) -> None:
    add_to(run.report.households, 0, "tokens_end", 1)


def withdraw_a_unit_less(run: HandRun) -> None:
    event(run, "Withdrawn")["amount"] -= 1


def pay_the_seller_less_on_chain(run: HandRun) -> None:
    event(run, "LotSettled")["paid"] -= 1


def trade_another_wh_on_chain(run: HandRun) -> None:
    event(run, "Traded")["wh"] += 1


def round_a_cost_down(run: HandRun) -> None:
    add_to(run.report.trades, 0, "cost", -1)
    add_to(run.report.trades, 0, "refunded", -1)
    run.totals |= {"tokens_escrowed": COST - 1, "tokens_refunded": -1}  # summary.json follows the trades


def price_above_the_tariff(run: HandRun) -> None:
    run.price_range = (ASK_MIN, PRICE - 1)


def price_below_the_lowest_ask(run: HandRun) -> None:
    run.price_range = (PRICE + 1, TARIFFS.grid_tariff)


def write_a_share_over_one(run: HandRun) -> None:
    set_row(run.report.households, 0, self_sufficiency="1.01")


def miscompute_self_consumption(run: HandRun) -> None:
    set_row(run.report.households, 0, self_consumption="0.76")


def miscompute_the_neighbourhoods_share(run: HandRun) -> None:
    run.kpis = replace(run.kpis, local_trade_share=0.21)


def bill_a_unit_more(run: HandRun) -> None:
    add_to(run.report.households, 1, "bill_with_market", 1)


def forget_the_grid_fee(run: HandRun) -> None:
    set_row(run.report.households, 1, grid_fees=0, bill_with_market=40 * M)


def total_the_bills_wrong(run: HandRun) -> None:
    run.kpis = replace(run.kpis, bills_grid_only=run.kpis.bills_grid_only + 1)


def total_the_payments_as_costs(run: HandRun) -> None:
    run.totals["tokens_paid"] = run.totals["tokens_escrowed"] + 1


def count_a_settled_trade_as_refunded(run: HandRun) -> None:
    run.totals |= {"settled_trades": 0, "refunded_trades": 1}


PLANTED: dict[str, tuple[Callable[[HandRun], None], str]] = {
    "a Wh lost in a slot": (lose_a_wh, "energy"),
    "grid import not net of local energy": (ignore_local_energy_in_grid_import, "grid"),
    "households.csv ending a token richer than the chain moved": (move_a_token_more, "tokens"),
    "a unit deposited and never paid out": (withdraw_a_unit_less, "deposits"),
    "a seller paid less on chain than trades.csv says": (pay_the_seller_less_on_chain, "sellers"),
    "a trade of other energy on chain than in trades.csv": (trade_another_wh_on_chain, "trades"),
    "a cost rounded down": (round_a_cost_down, "trades"),
    "a price above the grid tariff": (price_above_the_tariff, "prices"),
    "a price below the lowest ask": (price_below_the_lowest_ask, "prices"),
    "a KPI above 1": (write_a_share_over_one, "kpis"),
    "a household's KPI off its definition": (miscompute_self_consumption, "kpis"),
    "the neighbourhood's KPI off its definition": (miscompute_the_neighbourhoods_share, "kpis"),
    "a bill a unit more": (bill_a_unit_more, "bills"),
    "a grid fee forgotten": (forget_the_grid_fee, "bills"),
    "the neighbourhood's bills not the households' sum": (total_the_bills_wrong, "bills"),
    "summary.json's paid total not the trades' sum": (total_the_payments_as_costs, "totals"),
    "summary.json counting a settled trade as refunded": (count_a_settled_trade_as_refunded, "totals"),
}


def test_the_run_worked_by_hand_passes_every_check():
    assert failed(hand_run()) == set()


def test_every_check_has_a_planted_inconsistency_here():
    assert {check for _, check in PLANTED.values()} == set(passes(hand_run()))


@pytest.mark.parametrize("planted", PLANTED, ids=list(PLANTED))
def test_a_planted_inconsistency_fails_only_the_check_that_names_it(planted):
    plant, check = PLANTED[planted]
    run = copy.deepcopy(hand_run())
    plant(run)
    assert failed(run) == {check}


def test_a_run_without_bills_has_nothing_for_the_kpi_and_bill_checks_to_fail():
    rows = [{**row, "bill_with_market": "0", "self_sufficiency": "7"} for row in hand_run().report.households]
    report = Report(rows, [], hand_run().report.trades)
    assert (audit.kpis_recomputed(report, None), audit.bills_recomputed(TARIFFS, report, None)) == (True, True)
