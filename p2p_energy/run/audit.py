"""End-of-run checks that share no code with what they check: the report's CSVs and the chain's raw logs.

The checks of `run/checks.py` compare the chain with books the same Python kept, so a bug in the books, the
bills, the KPIs or the report's records passes them. These read what the run leaves behind instead: the rows of
households.csv, slots.csv and trades.csv exactly as they are written, the plan's energy per household and slot,
and the token's and escrow's logs of the run's blocks decoded with the contracts' ABI (never through the books).
Each figure is recomputed here by its written definition (docs/report.md, `domain/bills.py`'s docstring):

- each household's energy balances in every slot: generation + import + battery discharge = load + export +
  battery charge + battery losses; its grid import less its grid export is its meter's import less export, less
  the local energy it bought, plus what its meter proved delivered;
- money follows the chain's events alone: every household's tokens moved (Transfer logs) by what households.csv
  says it ended with, every unit deposited into the escrow was paid out again, and every seller was paid on
  chain (LotSettled) what trades.csv says it was paid;
- trades.csv agrees with the chain's Traded logs, each trade costing its Wh at its price rounded up and ending
  paid plus refunded, at a price no lower than the lowest ask and no higher than the grid tariff;
- every KPI lies in its bounds and equals its definition on households.csv; every bill and the neighbourhood's
  totals (summary.json) equal theirs, with grid energy rounded to the nearest base unit once per run.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from p2p_energy.domain.bills import BillPrices
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.record_csv import csv_bytes
from p2p_energy.records.run_records import HouseholdRecord, RunResult, SlotRecord, TradeRecord
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import RunSetup

Row = dict[str, str]
ZERO = "0x" + "0" * 40
#: KPI ratios are written to 6 places; a recomputed one may differ by rounding alone.
RATIO_TOLERANCE = 1.5e-6


@dataclass(frozen=True)
class Report:
    """The rows of the report's three CSV files, as they are written."""

    households: list[Row]
    slots: list[Row]
    trades: list[Row]

    @classmethod
    def of(cls, result: RunResult) -> Report:
        def rows(record_type: type[Any], records: Sequence[Any]) -> list[Row]:
            return list(csv.DictReader(io.StringIO(csv_bytes(record_type, records).decode())))

        return cls(
            rows(HouseholdRecord, result.households), rows(SlotRecord, result.slots), rows(TradeRecord, result.trades)
        )


@dataclass(frozen=True)
class ChainLogs:
    """The run's token and escrow events, from raw logs decoded with the ABI: (name, args) in chain order."""

    events: list[tuple[str, dict[str, Any]]]

    @classmethod
    def read(cls, setup: RunSetup, record: RunRecord) -> ChainLogs:
        a, codec = setup.addresses, setup.market.codec
        logs = setup.chain.logs([a.token, a.escrow], record.first_block + 1)
        decoded = []
        for log in logs:
            event = codec.decode_log(log)
            if event is not None:
                decoded.append((event.name, dict(event.args)))
        return cls(decoded)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [args for event, args in self.events if event == name]


def audit_checks(setup: RunSetup, record: RunRecord, result: RunResult) -> dict[str, bool]:
    """The independent checks of a finished run, by name (True: passed)."""
    report, logs = Report.of(result), ChainLogs.read(setup, record)
    households = {h.account.address.lower(): h.name for h in setup.households}
    prices = setup.scenario.prices
    return {
        "each household's energy balances in every slot": energy_balances(setup.plan),
        "each household's grid flows are its meter's net of the local energy it bought and sold": grid_flows_net(
            report
        ),
        "every household's tokens moved on chain as households.csv says": tokens_moved(
            report, logs, households, prices.funding
        ),
        "every token deposited into the escrow was paid out, by its events": deposits_paid_out(logs, households),
        "every seller was paid on chain what trades.csv says": sellers_paid(report, logs, households),
        "trades.csv holds the chain's trades, each costing its energy at its price": trades_as_on_chain(
            report, logs, households
        ),
        "every trade's price lies between the lowest ask and the grid tariff": prices_in_range(
            prices.ask_min, prices.grid_tariff, report
        ),
        "every KPI is within its bounds and as households.csv defines it": kpis_recomputed(report, result.kpis),
        "every bill is as households.csv, trades.csv and the tariffs define it": bills_recomputed(
            BillPrices.of(setup.scenario), report, result.kpis
        ),
        "summary.json's totals are the sums of the CSVs": totals_add_up(report, result.totals().to_json()),
    }


def energy_balances(p: EnergyPlan) -> bool:
    supply = p.generated_wh + p.import_wh + p.battery_discharge_wh
    use = p.load_wh + p.export_wh + p.battery_charge_wh + p.battery_losses_wh
    return bool((supply == use).all())


def grid_flows_net(report: Report) -> bool:
    """Per slot grid import - grid export = import - export - local in + local out, so also over the run (local
    out is what the household's meter proved delivered)."""
    return all(
        int(h["grid_import_wh"]) - int(h["grid_export_wh"])
        == int(h["imported_wh"]) - int(h["exported_wh"]) - int(h["local_in_wh"]) + int(h["delivered_wh"])
        for h in report.households
    )


def tokens_moved(report: Report, logs: ChainLogs, households: dict[str, str], funding: int) -> bool:
    moved: Counter[str] = Counter()
    for t in logs.of("Transfer"):
        moved[households.get(t["from"].lower(), "")] -= t["value"]
        moved[households.get(t["to"].lower(), "")] += t["value"]
    # tokens_start is the balance once funded, so the run moved tokens_end - (tokens_start - funding).
    return all(moved[h["name"]] == int(h["tokens_end"]) - int(h["tokens_start"]) + funding for h in report.households)


def deposits_paid_out(logs: ChainLogs, households: dict[str, str]) -> bool:
    deposited = sum(d["amount"] for d in logs.of("Deposited") if d["account"].lower() in households)
    withdrawn = sum(w["amount"] for w in logs.of("Withdrawn") if w["account"].lower() in households)
    return bool(deposited == withdrawn)


def sellers_paid(report: Report, logs: ChainLogs, households: dict[str, str]) -> bool:
    on_chain: Counter[str] = Counter()
    for s in logs.of("LotSettled"):
        on_chain[households.get(s["seller"].lower(), s["seller"])] += s["paid"]
    in_csv: Counter[str] = Counter()
    for t in report.trades:
        in_csv[t["seller"]] += int(t["paid"])
    return +on_chain == +in_csv


def trades_as_on_chain(report: Report, logs: ChainLogs, households: dict[str, str]) -> bool:
    def fill(buyer: str, wh: int, price: int) -> tuple[str, int, int]:
        return (buyer, wh, price)

    chain = Counter(
        fill(households.get(t["buyer"].lower(), t["buyer"]), t["wh"], t["pricePerKWh"]) for t in logs.of("Traded")
    )
    rows = Counter(fill(t["buyer"], int(t["wh"]), int(t["price_per_kwh"])) for t in report.trades)
    costs_right = all(
        int(t["cost"]) == -(-int(t["wh"]) * int(t["price_per_kwh"]) // 1000)
        and int(t["paid"]) + int(t["refunded"]) == int(t["cost"])
        and 0 <= int(t["paid"]) <= int(t["cost"])
        for t in report.trades
    )
    return chain == rows and costs_right


def totals_add_up(report: Report, totals: dict[str, Any]) -> bool:
    trades, slots = report.trades, report.slots
    outcomes = Counter(t["outcome"] for t in trades)
    sums = {
        "trades": len(trades),
        "settled_trades": outcomes["settled"],
        "refunded_trades": outcomes["refunded"],
        "tokens_escrowed": sum(int(t["cost"]) for t in trades),
        "tokens_paid": sum(int(t["paid"]) for t in trades),
        "tokens_refunded": sum(int(t["refunded"]) for t in trades),
        "traded_wh": sum(int(t["wh"]) for t in trades),
        "delivered_wh": sum(int(s["delivered_wh"]) for s in slots),
        "generated_wh": sum(int(h["generated_wh"]) for h in report.households),
        "load_wh": sum(int(h["load_wh"]) for h in report.households),
    }
    return all(totals[name] == value for name, value in sums.items())


def prices_in_range(ask_min: int, grid_tariff: int, report: Report) -> bool:
    return all(ask_min <= int(t["price_per_kwh"]) <= grid_tariff for t in report.trades)


def _ratio(part: int, whole: int, one_minus: bool) -> float | None:
    if whole == 0:
        return None
    value = 1 - part / whole if one_minus else part / whole
    return min(1.0, max(0.0, value))


def _same_ratio(written: str | float | None, expected: float | None) -> bool:
    if written in ("", None) or expected is None:
        return written in ("", None) and expected is None
    value = float(written)
    return 0 <= value <= 1 and abs(value - expected) <= RATIO_TOLERANCE


def _kpis_of(row: dict[str, Any], load: int, generated: int) -> dict[str, float | None]:
    return {
        "self_sufficiency": _ratio(int(row["grid_import_wh"]), load, one_minus=True),
        "self_consumption": _ratio(int(row["grid_export_wh"]), generated, one_minus=True),
        "local_trade_share": _ratio(int(row["local_in_wh"]), load, one_minus=False),
    }


def kpis_recomputed(report: Report, kpis: KpiRecord | None) -> bool:
    if kpis is None:
        return True
    for h in report.households:
        expected = _kpis_of(h, int(h["load_wh"]), int(h["generated_wh"]))
        if not all(_same_ratio(h[name], value) for name, value in expected.items()):
            return False
    columns = ("grid_import_wh", "grid_export_wh", "local_in_wh", "load_wh", "generated_wh")
    sums = {name: sum(int(h[name]) for h in report.households) for name in columns}
    expected = _kpis_of(sums, sums["load_wh"], sums["generated_wh"])
    return all(_same_ratio(getattr(kpis, name), value) for name, value in expected.items()) and (
        kpis.peak_grid_import_kw >= 0
    )


def _at(wh: int, price_per_kwh: int) -> int:
    """Wh at a price per kWh, to the nearest base unit, halves up."""
    return (2 * wh * price_per_kwh + 1000) // 2000


def bills_recomputed(prices: BillPrices, report: Report, kpis: KpiRecord | None) -> bool:
    if kpis is None:
        return True
    fee = prices.grid_fee_per_kwh
    paid: Counter[str] = Counter()
    received: Counter[str] = Counter()
    for t in report.trades:
        paid[t["buyer"]] += int(t["paid"])
        received[t["seller"]] += int(t["paid"])
    totals: Counter[str] = Counter()
    for h in report.households:
        name = h["name"]
        grid_only = _at(int(h["imported_wh"]), prices.grid_tariff) - _at(int(h["exported_wh"]), prices.feed_in_tariff)
        grid_fees = _at(int(h["local_in_wh"]), fee)
        with_market = (
            _at(int(h["grid_import_wh"]), prices.grid_tariff)
            - _at(int(h["grid_export_wh"]), prices.feed_in_tariff)
            + paid[name]
            + grid_fees
            - received[name]
        )
        written = {k: int(h[k]) for k in ("bill_grid_only", "bill_with_market", "local_paid", "local_received")}
        if (
            written
            != {
                "bill_grid_only": grid_only,
                "bill_with_market": with_market,
                "local_paid": paid[name],
                "local_received": received[name],
            }
            or int(h["grid_fees"]) != grid_fees
        ):
            return False
        totals.update({"grid_only": grid_only, "with_market": with_market, "fees": grid_fees})
    return (kpis.bills_grid_only, kpis.bills_with_market, kpis.grid_fees) == (
        totals["grid_only"],
        totals["with_market"],
        totals["fees"],
    )
