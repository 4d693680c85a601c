"""The benchmark's figures as one table for the terminal (`p2p-energy bench`)."""

from __future__ import annotations

from rich.table import Table

from p2p_energy.bench import GAS_TRADES_PER_LOT, GIB, BenchResults
from p2p_energy.bench_city import BEFORE_SOURCE, CITY_DAY_GAS_BEFORE_TOTAL, CityDay, GasStep
from p2p_energy.bench_grid import grid_rows
from p2p_energy.bench_qtum import QtumComparison
from p2p_energy.gas import ERC20_TRANSFER_REFERENCE, MATCH_ONE, BatchFigure, GasReport
from p2p_energy.gas_figures import PER_ASK, PER_BID, PER_FILL


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:,.0f} MiB"


_Row = tuple[str, str, str]


def bench_table(results: BenchResults) -> Table:
    """One table of every figure, each with what it compares with."""
    m = results.machine
    memory = f", {m.memory_bytes / GIB:.0f} GiB RAM" if m.memory_bytes else ""
    runs = f"{results.runs} run{'s' if results.runs > 1 else ''}"
    title = (
        f"p2p-energy bench {results.date[:10]}, {m.cpus} cores{memory}, {results.evm_version}; times: medians of {runs}"
    )
    table = Table("figure", "value", "compared with", title=title)
    sections = (
        _operation_rows(results),
        _per_trade_rows(results),
        _throughput_rows(results),
        _city_rows(results.city_day),
        _before_after_rows(results.city_day),
        grid_rows(results.city_grid),
        _qtum_rows(results.qtum),
        _compile_rows(results),
        [(f"target: {t.name}", t.measured, f"{t.target}: {'met' if t.met else 'NOT met'}") for t in results.targets],
    )
    for rows in sections:
        for index, row in enumerate(rows):
            table.add_row(*row, end_section=index == len(rows) - 1)
    return table


def _operation_rows(results: BenchResults) -> list[_Row]:
    """Whole transactions, against an ERC20 transfer; then the gas per item of the batch calls."""
    report = results.gas[GAS_TRADES_PER_LOT[0]]
    erc20 = report.operations[ERC20_TRANSFER_REFERENCE]
    rows = [
        (f"gas: {op}", f"{gas:,}", "the yardstick" if gas == erc20 else f"{gas / erc20:.1f}x an ERC20 transfer")
        for op, gas in report.operations.items()
        if not op.startswith("deploy")
    ]
    rows += [(f"gas: {item}", f"{gas:,}", "in a batch call") for item, gas in report.per_item.items()]
    return rows


def _settlement(report: GasReport) -> str:
    """Gas per trade of every settleLots and refundLots call of a report, by lots per call."""

    def by_lots(batches: list[BatchFigure]) -> str:
        return f"{' / '.join(str(b.lots) for b in batches)} lots: {' / '.join(f'{b.gas_per_trade:,}' for b in batches)}"

    short = report.short_delivery
    every_short = f"; every lot short (buyers credited): {short.gas_per_trade:,}" if short is not None else ""
    largest = f" (largest call: {report.largest_batch_bound})"
    return f"{by_lots(report.batches)}{largest}{every_short}; refundLots {by_lots(report.refunds)}"


def _per_trade_rows(results: BenchResults) -> list[_Row]:
    """Gas per trade: matching (whole calls and the derived figures) and settlement per batch size."""
    report = results.gas[GAS_TRADES_PER_LOT[0]]
    city, items = report.city_slot, report.per_item
    rows = [
        (
            f"gas per trade: matchOrders, {city.name} ({city.asks} asks, {city.bids} bids, {city.fills} fills)",
            f"{city.gas_per_fill:,}",
            f"one fill per call: {report.operations[MATCH_ONE]:,}; derived: per ask {items[PER_ASK]:,}, "
            f"per bid {items[PER_BID]:,}, per fill {items[PER_FILL]:,}",
        )
    ]
    for tpl, each in results.gas.items():
        rows.append(
            (
                f"gas per settled trade: settleLots of 100 lots, {tpl} trade{'s' if tpl > 1 else ''} per lot",
                f"{each.batch(100).gas_per_trade:,}",
                _settlement(each),
            )
        )
    return rows


def _throughput_rows(results: BenchResults) -> list[_Row]:
    t, x = results.throughput, results.transfers
    return [
        (
            f"{t.scenario}: batched",
            f"{t.batched.settled_per_s:,.0f} settled trades/s",
            f"{t.batched.transactions:,} tx in {t.batched.run_s:.2f} s; "
            f"{t.batched.settled_per_s / x.web3_per_s:.1f}x web3.py transfers/s",
        ),
        (
            f"{t.scenario}: one transaction per action (a fill per matchOrders, a lot per settleLots)",
            f"{t.one_by_one.settled_per_s:,.0f} settled trades/s",
            f"{t.one_by_one.transactions:,} tx in {t.one_by_one.run_s:.2f} s",
        ),
        (
            f"{t.scenario}: batched / one per action",
            f"{t.speedup:.1f}x",
            f"{t.batched.settled_trades:,} settled trades",
        ),
        (
            "ERC20 transfers: web3.py, one at a time",
            f"{x.web3_per_s:,.0f} tx/s",
            f"{x.transfers} pre-signed, each sent and its receipt awaited (automine)",
        ),
        (
            "ERC20 transfers: TxSender, batched",
            f"{x.batched_per_s:,.0f} tx/s",
            f"{x.batched_per_s / x.web3_per_s:.1f}x web3.py one at a time (signing included)",
        ),
    ]


def _city_rows(city: CityDay | None) -> list[_Row]:
    if city is None:
        return []
    by_phase = ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in city.phases.items())
    receipts = f" (of which receipts {city.receipts_s:.1f})"
    by_work = ", ".join(
        f"{kind} {seconds:.1f}{receipts if kind == 'mining and waiting' else ''}" for kind, seconds in city.work.items()
    )
    name = city.scenario
    fee, fee_before = city.qtum_fee_per_kwh, city.qtum_fee_per_kwh_before
    return [
        (
            f"{name}: {city.households:,} households, {city.slots} slots",
            f"{city.total_s:.0f} s wall",
            f"of which the run {city.run_s:.0f} s (the rest: start anvil, deploy)",
        ),
        (f"{name}: transactions sent", f"{city.transactions:,}", f"{city.transactions / city.run_s:,.0f} per second"),
        (
            f"{name}: settled trades",
            f"{city.settled_trades:,}",
            f"{city.settled_per_s:,.0f} per second; settleLots {city.settle_gas_per_settled_trade or 0:,} gas each",
        ),
        (
            f"{name}: Qtum fee per kWh traded at 40 sat/gas (from this run's gas)",
            "-" if fee is None else f"{fee:.4f} QTUM",
            f"{city.traded_wh / 1000:,.0f} kWh traded; before the redesign "
            + ("-" if fee_before is None else f"{fee_before:.4f} QTUM"),
        ),
        (
            f"{name}: peak memory (RSS)",
            f"Python {_mib(city.python_peak_rss_bytes)}",
            f"anvil {_mib(city.anvil_peak_rss_bytes)} (--prune-history)",
        ),
        (f"{name}: the run's time by phase, s", f"{city.run_s:.1f} s", by_phase),
        (f"{name}: the same time by kind of work, s", f"{city.run_s:.1f} s", by_work),
    ]


def _operations(per_trade: dict[str, int]) -> str:
    return " + ".join(f"{op} {gas:,}" for op, gas in per_trade.items() if gas) or "none"


def _step_row(name: str, step: GasStep) -> _Row:
    if not step.before:
        before = "not in the issue's table"
    elif list(step.before) == [step.step]:
        before = f"{step.before_total:,}"
    else:
        before = f"{_operations(step.before)} = {step.before_total:,}"
    return (
        f"{name} gas per settled trade: {step.step}",
        f"{step.after_total:,}",
        f"{_operations(step.after)}; before: {before}",
    )


def _before_after_rows(city: CityDay | None) -> list[_Row]:
    """city-day's gas per settled trade step by step: now (the value) and before the redesign."""
    if city is None or not city.steps:
        return []
    rows = [_step_row(city.scenario, step) for step in city.steps]
    total = city.all_gas_per_settled_trade or 0
    rows.append(
        (
            f"{city.scenario} gas per settled trade: in all",
            f"{total:,}",
            f"before: {CITY_DAY_GAS_BEFORE_TOTAL:,} ({BEFORE_SOURCE}): "
            f"{CITY_DAY_GAS_BEFORE_TOTAL / max(total, 1):.1f}x less now",
        )
    )
    return rows


def _qtum_rows(comparison: QtumComparison | None) -> list[_Row]:
    """The scenario on anvil and on qtumd, side by side."""
    if comparison is None:
        return []
    name, rows = comparison.scenario, []
    for run in (comparison.anvil, comparison.qtum):
        rows.append(
            (
                f"{name} on {run.chain}",
                f"{run.total_s:.1f} s wall",
                f"{run.transactions:,} transactions, {run.settled_trades:,} settled trades "
                f"({run.settled_trades_per_s:,.1f} per second), {run.all_gas_per_settled_trade or 0:,} gas each; "
                f"checks {'passed' if run.checks_passed else 'FAILED'}",
            )
        )
    per_trade, per_kwh = comparison.fee_per_settled_trade_qtum, comparison.fee_per_kwh_qtum
    rows.append(
        (
            f"{name} on Qtum: fee at {comparison.satoshi_per_gas} sat/gas",
            f"{per_trade:.6f} QTUM per settled trade" if per_trade is not None else "-",
            f"{per_kwh:.6f} QTUM per kWh traded" if per_kwh is not None else "-",
        )
    )
    return rows


def _compile_rows(results: BenchResults) -> list[_Row]:
    c = results.compile.to_json()
    return [
        ("compile, cold (solc-js, viaIR)", f"{c['cold_median_s']:.2f} s", "3 contracts + OpenZeppelin, no cache"),
        ("compile, cached", f"{c['cached_median_s'] * 1000:.1f} ms", "no source changed: no compiler started"),
    ]
