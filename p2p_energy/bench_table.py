"""The benchmark's figures as one table for the terminal (`p2p-energy bench`)."""

from __future__ import annotations

from rich.table import Table

from p2p_energy.bench import GAS_TRADES_PER_LOT, GIB, SETTLEMENT_BATCH_LOTS, BenchResults, settlement_batch
from p2p_energy.bench_city import BEFORE_SOURCE, CITY_DAY_GAS_BEFORE_TOTAL, CityDay, GasStep
from p2p_energy.bench_grid import grid_rows
from p2p_energy.bench_planning import PlanningTimes
from p2p_energy.bench_qtum import ChainRun, QtumComparison
from p2p_energy.bench_startup import CliStartup
from p2p_energy.gas import ERC20_TRANSFER_REFERENCE, GasReport
from p2p_energy.gas_figures import CITY_SIZED_GAS, SettlementFigure


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
    report = results.gas[GAS_TRADES_PER_LOT[0]]
    sections = (
        _operation_rows(report),
        _per_trade_rows(results),
        _model_rows(results.gas),
        _throughput_rows(results),
        _city_rows(results.city_day),
        _before_after_rows(results.city_day),
        grid_rows(results.city_grid),
        _qtum_rows(results.qtum),
        _qtum_city_rows(results.qtum_city),
        _planning_rows(results.planning),
        _compile_rows(results),
        _startup_rows(results.cli_startup),
        [(f"target: {t.name}", t.measured, f"{t.target}: {'met' if t.met else 'NOT met'}") for t in results.targets],
    )
    for rows in sections:
        for index, row in enumerate(rows):
            table.add_row(*row, end_section=index == len(rows) - 1)
    return table


def _operation_rows(report: GasReport) -> list[_Row]:
    """Whole transactions, against an ERC20 transfer; then the gas per item of the batch calls."""
    erc20 = report.operations[ERC20_TRANSFER_REFERENCE]
    rows = [
        (f"gas: {op}", f"{gas:,}", "the yardstick" if gas == erc20 else f"{gas / erc20:.1f}x an ERC20 transfer")
        for op, gas in report.operations.items()
        if not op.startswith("deploy")
    ]
    rows += [(f"gas: {item}", f"{gas:,}", "in a batch call") for item, gas in report.per_item.items()]
    for function, items in (("matchOrders", report.match_items), ("closeLots", report.close_items)):
        listed = ", ".join(f"{item} {gas:,}" for item, gas in items.items() if item != "base")
        rows.append((f"gas: {function} per item", f"base {items['base']:,}", f"solved from measured shapes: {listed}"))
    return rows


def _named(figures: list[SettlementFigure], suffix: str) -> list[SettlementFigure]:
    """The typical lots' figures (not the shapes' or the busy hour's) whose name ends with `suffix`."""
    return [f for f in figures if f.name.endswith(suffix) and " lot" in f.name.split(",")[0] and f.name[0].isdigit()]


def _settlement(report: GasReport) -> str:
    """closeLots' gas per trade of the typical lots: delivered in full by lots per call, short, refunded."""

    def by_lots(figures: list[SettlementFigure]) -> str:
        lots = " / ".join(str(f.lots) for f in figures) + (" lots" if any(f.lots > 1 for f in figures) else " lot")
        return f"{lots}: " + " / ".join(f"{f.close_gas_per_trade:,}" for f in figures)

    full = _named(report.settlement, ", delivered in full")
    short = _named(report.settlement, ", every lot short")
    refunds = _named(report.settlement, ", refunded after the grace period")
    cell = by_lots(full)
    if short:
        cell += f"; every lot short (buyers credited): {by_lots(short)}"
    if refunds:
        cell += f"; refunded after the grace period {by_lots(refunds)}"
    return cell


def _trades(n: int) -> str:
    return f"{n} trade{'s' if n > 1 else ''}"


def _per_trade_rows(results: BenchResults) -> list[_Row]:
    """Gas per trade: the busy city-day hour (matching and closing), and settlement per batch size."""
    report = results.gas[GAS_TRADES_PER_LOT[0]]
    rows = []
    hour = next((f for f in report.settlement if f.name.startswith("a busy city-day hour")), None)
    if hour is not None:
        rows.append(
            (
                f"gas per settled trade: {hour.name.removesuffix(', delivered in full')}",
                f"{hour.gas_per_trade:,}",
                f"matchOrders {hour.match_gas // hour.trades:,} ({hour.match_calls} calls) + closeLots "
                f"{hour.close_gas_per_trade:,} ({hour.close_calls} calls), as wire.cutting cuts them",
            )
        )
    for tpl, each in results.gas.items():
        batch = each.settlement_of(settlement_batch(each))
        rows.append(
            (
                f"gas per settled trade: closeLots of {SETTLEMENT_BATCH_LOTS} lots, {_trades(tpl)} per lot",
                f"{batch.close_gas_per_trade:,}",
                f"{_settlement(each)}; matching them {batch.match_gas // batch.trades:,} per trade",
            )
        )
    return rows


def _model_rows(reports: dict[int, GasReport]) -> list[_Row]:
    """The gas model (wire.cutting.call_gas, the calls' gas limit) against every measured batch call, per report
    (by trades per lot)."""
    rows = []
    for tpl, report in reports.items():
        calls, below = report.calls, report.model_failures()
        ratios = [c.ratio for c in calls]
        city = [c.ratio for c in calls if c.gas >= CITY_SIZED_GAS]
        not_enough = f"; NOT enough for: {', '.join(c.name for c in below)}" if below else ""
        rows.append(
            (
                f"gas model against receipts, {_trades(tpl)} per lot",
                f"{len(calls) - len(below)} of {len(calls)} calls",
                f"model / used {min(ratios):.3f} to {max(ratios):.3f}; city-sized calls (>= {CITY_SIZED_GAS:,} gas) "
                f"{min(city, default=0):.3f} to {max(city, default=0):.3f}{not_enough}",
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
            f"{t.scenario}: one transaction per action (the bench's replay: a lot per matchOrders, its group per "
            "closeLots, calls built with p2p_energy.wire)",
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
    fee = city.qtum_fee_per_kwh
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
            f"{city.settled_per_s:,.0f} per second; closeLots {city.settle_gas_per_settled_trade or 0:,} gas each",
        ),
        (
            f"{name}: Qtum fee per kWh traded at 40 sat/gas (all gas x 40e-8 QTUM / kWh traded)",
            "-" if fee is None else f"{fee:.4f} QTUM",
            f"{city.gas:,} gas, {city.traded_wh / 1000:,.0f} kWh traded",
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
    before = f"{_operations(step.before)}" if step.before else "-"
    return (
        f"{name} gas per settled trade: {step.step}",
        f"{step.after_total:,}",
        f"{_operations(step.after)}; {BEFORE_SOURCE}: {before}",
    )


def _before_after_rows(city: CityDay | None) -> list[_Row]:
    """city-day's gas per settled trade by step and operation (the value), v2's figures beside it."""
    if city is None or not city.steps:
        return []
    rows = [_step_row(city.scenario, step) for step in city.steps]
    total = city.all_gas_per_settled_trade or 0
    before = " + ".join(_operations(step.before) for step in city.steps if step.before)
    rows.append(
        (
            f"{city.scenario} gas per settled trade: in all (every transaction of the run)",
            f"{total:,}",
            f"{BEFORE_SOURCE}: {CITY_DAY_GAS_BEFORE_TOTAL:,} = {before} (each rounded down)",
        )
    )
    return rows


def _qtum_city_rows(run: ChainRun | None) -> list[_Row]:
    """city-day on qtumd on mainnet's clock: how long it took and how its rounds met the clock."""
    if run is None:
        return []
    clock = run.clock
    share = clock.get("block_capacity_share")
    return [
        (
            f"city-day on {run.chain}",
            f"{run.total_s:.1f} s wall",
            f"{run.transactions:,} transactions, checks {'passed' if run.checks_passed else 'FAILED'}",
        ),
        (
            "  its matching rounds on that clock",
            f"{clock.get('rounds_late', 0)} of {clock.get('rounds_sent', 0)} late",
            f"longest wait {clock.get('longest_wait_s', 0)} s, up to {clock.get('max_blocks_per_round', 0)} blocks a "
            f"round, {clock.get('blocks_per_slot', 0.0):.2f} blocks per slot"
            + (f", {share:.2%} of the chain's block capacity" if share is not None else ""),
        ),
    ]


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


def _planning_rows(planning: PlanningTimes | None) -> list[_Row]:
    """city-day's planning (energy and market) with today's curves against the same city at a site."""
    if planning is None:
        return []
    return [
        (
            f"{planning.scenario}: planning at a site / with today's curves",
            f"{planning.ratio:.2f}x",
            f"{planning.site_median_s:.3f} s ({planning.site}) against {planning.today_median_s:.3f} s "
            f"(clear-sky bell, synthetic loads); medians of {len(planning.today_s)}",
        )
    ]


def _compile_rows(results: BenchResults) -> list[_Row]:
    c = results.compile.to_json()
    return [
        ("compile, cold (solc-js, viaIR)", f"{c['cold_median_s']:.2f} s", "3 contracts + OpenZeppelin, no cache"),
        ("compile, cached", f"{c['cached_median_s'] * 1000:.1f} ms", "no source changed: no compiler started"),
    ]


def _startup_rows(startup: CliStartup | None) -> list[_Row]:
    if startup is None:
        return []
    return [
        (
            "p2p-energy --help",
            f"{startup.median_s:.2f} s",
            f"a fresh process, median of {len(startup.help_s)}; loads no chain code",
        )
    ]
