"""The result of a run: its records (trades, households, slots, gas, attacks, bills) from the books and the plan."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from p2p_energy.domain.bills import (
    BillPrices,
    HouseholdBill,
    LocalTrade,
    MeterFlows,
    NeighbourhoodBills,
    delivered_shares,
    neighbourhood_bills,
)
from p2p_energy.domain.profiles import EnergyPlan, Wh
from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.clock_records import ClockRecord
from p2p_energy.records.grid_summary import grid_record
from p2p_energy.records.run_records import AttackRecord, GasRecord, HouseholdRecord, RunResult, SlotRecord, TradeRecord
from p2p_energy.records.scenario_facts import scenario_facts
from p2p_energy.run.books import Books
from p2p_energy.run.checks import ChainState, Verdict
from p2p_energy.run.ledger import Ledger, Trade
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import RunSetup


def build_result(
    setup: RunSetup, books: Books, record: RunRecord, after: ChainState, verdict: Verdict, started_at: str
) -> RunResult:
    """The run's records and checks (wall time and timings are the caller's to fill in)."""
    a = setup.addresses
    bills = run_bills(setup, books)
    result = RunResult(
        scenario=setup.scenario.name,
        seed=setup.scenario.seed,
        chain_id=setup.chain.chain_id,
        evm_version="",
        rpc_url=setup.chain.url,
        deployment={"EnergyToken": a.token, "MeterRegistry": a.registry, "EnergyEscrow": a.escrow},
        started_at=started_at,
        wall_time_s=0.0,
        slots=slot_records(setup, books),
        households=household_records(setup, books, record, after, bills),
        trades=trade_records(setup, books),
        gas=[GasRecord(label, count, used) for label, (count, used) in sorted(books.gas.items())],
        attacks=[
            AttackRecord(kind, len(seen), sum(1 for o in seen if o != "accepted"), tuple(sorted(set(seen))))
            for kind, seen in sorted(books.attacks.items())
        ],
        checks=dict(verdict.checks),
        failures=[*books.tx_failures, *books.fills_skipped, *books.readings_refused, *books.skipped, *books.unclosed],
        scenario_facts=scenario_facts(setup.scenario),
        gas_price=setup.chain.gas_price,
        fee_currency=setup.chain.fee_currency[0],
        fee_decimals=setup.chain.fee_currency[1],
        kpis=kpi_record(bills),
        grid=grid_record(setup.plan),
        clock=ClockRecord(
            setup.chain.block_time,
            setup.chain.block_gas_limit,
            setup.scenario.slots * setup.scenario.slot_length_s,
            setup.scenario.slots,
            sum(used for _, used in books.gas.values()),
            tuple(books.rounds),
        ),
        calls=list(books.calls),
    )
    result.checks.update(result.consistency_checks())
    return result


def trade_records(setup: RunSetup, books: Books) -> list[TradeRecord]:
    names = [h.name for h in setup.households]
    return [
        TradeRecord(
            trade_id=t.trade_id,
            slot=t.slot,
            chain_slot=setup.c0 + t.slot,
            meter_id=t.meter_id,
            seller=names[t.seller],
            buyer=names[t.buyer],
            wh=t.wh,
            price_per_kwh=t.price_per_kwh,
            cost=t.cost,
            paid=t.closes[0][0] if t.closes else 0,
            refunded=t.closes[0][1] if t.closes else t.cost,
            outcome=t.outcome if t.outcome in ("settled", "refunded") else "refunded",
            tx_hash=t.tx[0],
            block=t.tx[1],
            close_tx_hash=t.close_tx[0],
            close_block=t.close_tx[1],
        )
        for t in sorted(books.ledger.trades.values(), key=lambda t: t.trade_id)
    ]


def household_records(
    setup: RunSetup, books: Books, record: RunRecord, after: ChainState, bills: NeighbourhoodBills
) -> list[HouseholdRecord]:
    scenario, plan, ledger = setup.scenario, setup.plan, books.ledger
    delivered: dict[int, int] = defaultdict(int)
    for lot in ledger.lots.values():
        delivered[lot.seller] += lot.delivered_wh
    sold: dict[int, int] = defaultdict(int)
    bought: dict[int, int] = defaultdict(int)
    for t in ledger.trades.values():
        sold[t.seller] += t.wh
        bought[t.buyer] += t.wh
    offered: dict[int, int] = defaultdict(int)
    for (seller, _), wh in ledger.offered_wh.items():
        offered[seller] += wh
    return [
        HouseholdRecord(
            name=h.name,
            address=h.account.address,
            meter_id=h.meter_id,
            pv_kwp=scenario.households[h.index].pv_kwp,
            generated_wh=int(plan.generated_wh[h.index].sum()),
            load_wh=int(plan.load_wh[h.index].sum()),
            exported_wh=int(plan.export_wh[h.index].sum()),
            imported_wh=int(plan.import_wh[h.index].sum()),
            offered_wh=offered[h.index],
            sold_wh=sold[h.index],
            bought_wh=bought[h.index],
            delivered_wh=delivered[h.index],
            tokens_start=record.balances_before[h.index] + scenario.prices.funding,  # after funding
            tokens_end=after.balances[h.index],
            generated_wh_per_slot=tuple(int(wh) for wh in plan.generated_wh[h.index]),
            load_wh_per_slot=tuple(int(wh) for wh in plan.load_wh[h.index]),
            **(battery_fields(plan, h.index) if scenario.households[h.index].battery is not None else {}),
            **bill_fields(bills.households[h.index]),
        )
        for h in setup.households
    ]


def battery_fields(plan: EnergyPlan, row: int) -> dict[str, Any]:
    """A battery household's charge, discharge and state of charge (at each slot's end) per slot, in Wh."""
    return {
        "battery_charge_wh_per_slot": tuple(int(wh) for wh in plan.battery_charge_wh[row]),
        "battery_discharge_wh_per_slot": tuple(int(wh) for wh in plan.battery_discharge_wh[row]),
        "battery_soc_wh_per_slot": tuple(int(wh) for wh in plan.battery_soc_wh[row, 1:]),
    }


def run_bills(setup: RunSetup, books: Books) -> NeighbourhoodBills:
    """Every household's bill and KPIs, and the neighbourhood's, from the plan and the trades as they settled."""
    bound = sum(1 for market in setup.markets if market.feeder_bound)
    return neighbourhood_bills(
        MeterFlows.of(setup.plan),
        local_trades(books.ledger, setup.plan.export_wh),
        BillPrices.of(setup.scenario),
        bound,
    )


def local_trades(ledger: Ledger, export_wh: Wh) -> list[LocalTrade]:
    """Each trade with its share of its lot's delivered energy (0 for a lot refunded or still open), at most what
    the seller's meter exported in the slot: a lot the chain settled on more fails a check (checks.check_run), and
    the bills count only energy that was made."""
    trades = []
    for lot in ledger.lots.values():
        members = [ledger.trades[trade_id] for trade_id in lot.trades]
        delivered = min(lot.delivered_wh, int(export_wh[lot.seller, lot.slot]))
        shares = delivered_shares(delivered, [t.wh for t in members])
        for t, delivered in zip(members, shares, strict=True):
            paid = t.closes[0][0] if t.closes else 0  # as trade_records reports it
            trades.append(LocalTrade(t.slot, t.buyer, t.seller, t.wh, delivered, paid))
    return trades


def bill_fields(household: HouseholdBill) -> dict[str, Any]:
    """A household's bills and KPIs as HouseholdRecord fields."""
    energy, bill, kpis = household.energy, household.bill, household.kpis
    return {
        "local_in_wh": energy.local_in_wh,
        "grid_import_wh": energy.grid_import_wh,
        "grid_export_wh": energy.grid_export_wh,
        "grid_import_wh_per_slot": household.grid_import_per_slot,
        "grid_export_wh_per_slot": household.grid_export_per_slot,
        "battery_losses_wh": energy.battery_losses_wh,
        "self_sufficiency": kpis.self_sufficiency,
        "self_consumption": kpis.self_consumption,
        "local_trade_share": kpis.local_trade_share,
        "peak_grid_import_kw": kpis.peak_grid_import_kw,
        "bill_grid_only": bill.grid_only,
        "bill_with_market": bill.with_market,
        "local_paid": bill.local_paid,
        "local_received": bill.local_received,
        "grid_fees": bill.grid_fees,
        "grid_import_cost": bill.grid_import_cost,
        "grid_export_credit": bill.grid_export_credit,
    }


def kpi_record(bills: NeighbourhoodBills) -> KpiRecord:
    """The neighbourhood's bills and KPIs as the run's record."""
    energy, bill, kpis = bills.energy, bills.bill, bills.kpis
    return KpiRecord(
        self_sufficiency=kpis.self_sufficiency,
        self_consumption=kpis.self_consumption,
        local_trade_share=kpis.local_trade_share,
        peak_grid_import_kw=kpis.peak_grid_import_kw,
        bills_grid_only=bill.grid_only,
        bills_with_market=bill.with_market,
        grid_fees=bill.grid_fees,
        local_paid=bill.local_paid,
        local_received=bill.local_received,
        battery_losses_kwh=kpis.battery_losses_kwh,
        feeder_limit_bound_slots=bills.feeder_limit_bound_slots,
        load_wh=energy.load_wh,
        generated_wh=energy.generated_wh,
        grid_import_wh=energy.grid_import_wh,
        grid_export_wh=energy.grid_export_wh,
        local_wh=energy.local_in_wh,
    )


def slot_records(setup: RunSetup, books: Books) -> list[SlotRecord]:
    """One record per slot; trades, lots and offers grouped by slot in one pass each (not slots x trades)."""
    scenario, plan, ledger = setup.scenario, setup.plan, books.ledger
    slot_trades: list[list[Trade]] = [[] for _ in range(scenario.slots)]
    for t in ledger.trades.values():
        slot_trades[t.slot].append(t)
    offered = [0] * scenario.slots
    for (_, slot), wh in ledger.offered_wh.items():
        offered[slot] += wh
    delivered = [0] * scenario.slots
    for lot in ledger.lots.values():
        delivered[lot.slot] += lot.delivered_wh
    slots = []
    for s, trades in enumerate(slot_trades):
        traded = sum(t.wh for t in trades)
        value = sum(t.wh * t.price_per_kwh for t in trades)
        start_hour = scenario.slot_start_hour(s) % 24
        slots.append(
            SlotRecord(
                slot=s,
                chain_slot=setup.c0 + s,
                start_time=f"{int(start_hour):02d}:{round((start_hour % 1) * 60) % 60:02d}",
                generated_wh=int(plan.generated_wh[:, s].sum()),
                load_wh=int(plan.load_wh[:, s].sum()),
                offered_wh=offered[s],
                traded_wh=traded,
                delivered_wh=delivered[s],
                trades=len(trades),
                settled_trades=sum(1 for t in trades if t.outcome == "settled"),
                refunded_trades=sum(1 for t in trades if t.outcome == "refunded"),
                clearing_price=setup.markets[s].clearing_price,
                mean_price=value // traded if traded else None,
            )
        )
    return slots
