"""Gas and throughput figures side by side, measured in one run on this machine.

A figure is only worth comparing with another measured the same way, so one
`p2p-energy bench` measures everything docs/performance.md
quotes: gas per operation (reusing :mod:`p2p_energy.gas`, with its check of
the gas model), settled trades per second of the batched runner against one
transaction per action on the same scenario, plain ERC20 transfers through
web3.py as the node's own yardstick, the city-scale day (its gas per settled
trade by operation, next to the v2 market's: :mod:`p2p_energy.bench_city`; and again on
a network of its size with a power flow per slot: :mod:`p2p_energy.bench_grid`),
a scenario on anvil and on qtumd (:mod:`p2p_energy.bench_qtum`), compile
times, and the city-scale day's planning with today's curves against the same
city at a real site with standard loads (:mod:`p2p_energy.bench_planning`).

"One transaction per action" is one lot per matchOrders call and one group
(that lot) per closeLots call, every transaction sent alone, in its own
block, and waited for. The runner has no setting for that (it cuts a round's
lots into as few calls as the bounds allow), so the bench replays the
scenario's trades itself with calls built by :mod:`p2p_energy.wire`
(:mod:`p2p_energy.bench_baseline`).

Every figure that is a time is the median of `runs` runs: a shared 2-core
machine is noisy, and one slow run must not decide a figure. The bench
starts each anvil itself (the simulation reaches it by URL, as it would any
node) so that it can read the node's peak memory from /proc; the city-scale
day's anvil keeps as few states as `simulate`'s own (`--prune-history N`).

Throughput counts settled trades over the run's own wall time (planning,
set-up, every slot, withdrawals and the final checks); starting anvil and
deploying the market are one-off costs reported next to it.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from p2p_energy.bench_baseline import BaselineRun, one_by_one
from p2p_energy.bench_city import CityDay, city_day_of
from p2p_energy.bench_grid import TARGET_GRID_RATIO, CityGrid, city_grid_of, on_network
from p2p_energy.bench_machine import BenchError, Machine, machine, peak_rss
from p2p_energy.bench_planning import TARGET_PLANNING_RATIO, PlanningTimes, measure_planning
from p2p_energy.bench_qtum import ChainRun, QtumComparison, city_on_mainnet_clock, compare_on_qtum
from p2p_energy.bench_startup import TARGET_HELP_S, CliStartup, measure_cli_help
from p2p_energy.bench_transfers import QUICK_TRANSFERS, TRANSFERS, Transfers, measure_transfers
from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY, ChainOptions, LocalChain
from p2p_energy.chain.backends import NodePrograms
from p2p_energy.defaults import BENCH_RUNS, DEFAULT_BACKEND
from p2p_energy.domain.scenario import Scenario, load_scenario
from p2p_energy.errors import UsageError
from p2p_energy.gas import GasModelError, GasReport, run_gas_report
from p2p_energy.gas_figures import CITY_SIZED_GAS
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import LOCAL_BLOCK_GAS_LIMIT, TargetOptions
from p2p_energy.solidity.compiler import DEFAULT_EVM_VERSION, CompilationResult, Compiler
from p2p_energy.solidity.toolchain import Toolchain

__all__ = ["BenchError", "CityDay", "Machine", "Transfers"]

#: 2: city_day gives its time as `phases` and `work` (each adding up to run_s) and `receipts_s`, not `timings`.
#: 3: the gas redesign's operations (gas reports with per_item, matches, short_delivery, refunds); city_day
#: with gas_per_operation, the before/after comparison and the Qtum fee per kWh.
#: 4: escrow v3: gas reports with match_items, close_items, calls (each against the gas model) and settlement;
#: city_day's before figures are v2's; one_by_one is the bench's replay, one lot per call; planning, city-day's
#: planning time with today's curves and at a site (issue 28).
#: 4: city_grid, city-day again on a network of its size (a power flow per slot), side by side;
#: cli_startup, `p2p-energy --help` in fresh processes (issue 27).
RESULTS_FORMAT = 4
#: The scenario both sending paths run (small enough for one transaction per block).
THROUGHPUT_SCENARIO = Path("scenarios") / "street.toml"
CITY_SCENARIO = Path("scenarios") / "city-day.toml"
QTUM_SCENARIO = Path("scenarios") / "demo.toml"
#: Trades per lot of the gas figures: `p2p-energy gas`'s default, and the worst case.
GAS_TRADES_PER_LOT = (4, 1)
GIB = 2**30

# The issues' targets.
#: closeLots' gas per settled trade, 100 lots per call (issue 13's settlement target, docs/gas-design.md).
TARGET_GAS_PER_SETTLED_TRADE = 25_000
SETTLEMENT_BATCH_LOTS = 100
#: The gas redesign's goal (issue 13, docs/gas-design.md): city-day's gas per settled trade, every transaction.
TARGET_CITY_GAS_PER_SETTLED_TRADE = 40_000
#: The gas model may be this much above a city-sized call's receipt (more cuts calls smaller than need be).
TARGET_MODEL_SLACK = 1.25
TARGET_SPEEDUP = 10.0
TARGET_CITY_WALL_S = 300.0
TARGET_PEAK_MEMORY_BYTES = 2 * GIB
TARGET_QTUM_DEMO_S = 180.0
#: city-day on qtumd (issue 20): within 10 minutes; stretch: within 3x the anvil run.
TARGET_QTUM_CITY_S = 600.0
TARGET_QTUM_CITY_RATIO = 3.0


@dataclass(frozen=True)
class BenchOptions:
    """`p2p-energy bench`: `quick` skips the city-scale day, runs once and sends fewer transfers."""

    quick: bool = False
    runs: int = BENCH_RUNS
    evm_version: str = DEFAULT_EVM_VERSION

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError(f"--runs must be 1 or more, got {self.runs}")

    @property
    def repeats(self) -> int:
        return 1 if self.quick else self.runs


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class PathRun:
    """One run of a scenario on one sending path."""

    run_s: float
    total_s: float
    settled_trades: int
    transactions: int

    @property
    def settled_per_s(self) -> float:
        return self.settled_trades / self.run_s


@dataclass(frozen=True)
class PathFigures:
    """A sending path over `runs`: medians of the run times and of settled trades per second."""

    runs: list[PathRun]

    @property
    def run_s(self) -> float:
        return statistics.median(r.run_s for r in self.runs)

    @property
    def total_s(self) -> float:
        return statistics.median(r.total_s for r in self.runs)

    @property
    def settled_per_s(self) -> float:
        return statistics.median(r.settled_per_s for r in self.runs)

    @property
    def settled_trades(self) -> int:
        """The same in every run: the scenario is deterministic."""
        return self.runs[0].settled_trades

    @property
    def transactions(self) -> int:
        return self.runs[0].transactions

    def to_json(self) -> dict[str, Any]:
        return {
            "run_s": self.run_s,
            "total_s": self.total_s,
            "settled_trades": self.settled_trades,
            "transactions": self.transactions,
            "settled_trades_per_s": self.settled_per_s,
            "runs": [{**asdict(r), "settled_trades_per_s": r.settled_per_s} for r in self.runs],
        }


@dataclass(frozen=True)
class Throughput:
    scenario: str
    batched: PathFigures
    one_by_one: PathFigures

    @property
    def speedup(self) -> float:
        return self.batched.settled_per_s / self.one_by_one.settled_per_s

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "batched": self.batched.to_json(),
            "one_by_one": self.one_by_one.to_json(),
            "speedup": self.speedup,
        }


@dataclass(frozen=True)
class CompileTimes:
    cold_s: list[float]
    cached_s: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "cold_median_s": statistics.median(self.cold_s),
            "cached_median_s": statistics.median(self.cached_s),
        }


@dataclass(frozen=True)
class TargetCheck:
    name: str
    target: str
    measured: str
    met: bool


@dataclass
class BenchResults:
    date: str
    quick: bool
    runs: int
    evm_version: str
    machine: Machine
    gas: dict[int, GasReport]
    throughput: Throughput
    transfers: Transfers
    compile: CompileTimes
    city_day: CityDay | None = None
    #: city-day again on a network of its size, a power flow per slot (None with --quick).
    city_grid: CityGrid | None = None
    #: demo.toml on anvil and on a qtumd regtest node; None without qtumd or with --quick.
    qtum: QtumComparison | None = None
    #: city-day on a qtumd regtest node on Qtum mainnet's clock; None without qtumd or with --quick.
    qtum_city: ChainRun | None = None
    #: city-day's planning time with today's curves and at a site with standard loads.
    planning: PlanningTimes | None = None
    #: `p2p-energy --help` in fresh processes.
    cli_startup: CliStartup | None = None
    targets: list[TargetCheck] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULTS_FORMAT,
            "date": self.date,
            "quick": self.quick,
            "runs": self.runs,
            "evm_version": self.evm_version,
            "machine": asdict(self.machine),
            "gas": {f"trades_per_lot_{tpl}": report.to_json() for tpl, report in self.gas.items()},
            "throughput": self.throughput.to_json(),
            "anvil_transfers": self.transfers.to_json(),
            "compile": self.compile.to_json(),
            "city_day": None if self.city_day is None else self.city_day.to_json(),
            "city_grid": None if self.city_grid is None else self.city_grid.to_json(),
            "qtum": None if self.qtum is None else self.qtum.to_json(),
            "qtum_city": None if self.qtum_city is None else asdict(self.qtum_city),
            "planning": None if self.planning is None else self.planning.to_json(),
            "cli_startup": None if self.cli_startup is None else self.cli_startup.to_json(),
            "targets": [asdict(t) for t in self.targets],
        }


# ------------------------------------------------------------------ running


def run_bench(
    toolchain: Toolchain, options: BenchOptions, progress: Callable[[str], None] = lambda _: None
) -> BenchResults:
    """Measure everything; see the module docstring."""
    repeats = options.repeats
    evm = options.evm_version
    progress("compiling (cold and cached)")
    compile_times = measure_compile(toolchain, evm, repeats)
    compiled = Compiler.for_project(toolchain, evm).compile()

    gas = {tpl: measure_gas_report(toolchain, compiled, tpl, progress) for tpl in GAS_TRADES_PER_LOT}
    throughput = measure_throughput(
        toolchain, compiled, load_scenario(toolchain.root / THROUGHPUT_SCENARIO), repeats, progress
    )

    transfers = measure_transfers(
        toolchain, compiled, QUICK_TRANSFERS if options.quick else TRANSFERS, repeats, progress
    )

    city, city_grid = None, None
    if not options.quick:
        progress(f"{CITY_SCENARIO.stem} (half a minute or more)")
        city_scenario = load_scenario(toolchain.root / CITY_SCENARIO)
        city = measure_city_day(toolchain, city_scenario, evm)
        progress(f"{CITY_SCENARIO.stem} again, with a power flow per slot on a network of its size")
        city_grid = measure_city_grid(toolchain, city_scenario, evm, city)
    qtum = None
    if not options.quick:
        progress(f"{QTUM_SCENARIO.stem} on anvil and on a qtumd regtest node (if one is found)")
        qtum = compare_on_qtum(toolchain, load_scenario(toolchain.root / QTUM_SCENARIO), evm)
    qtum_city = None
    if not options.quick:
        progress(f"{CITY_SCENARIO.stem} on a qtumd regtest node on mainnet's clock (a few minutes)")
        qtum_city = city_on_mainnet_clock(toolchain, load_scenario(toolchain.root / CITY_SCENARIO), evm)

    progress(f"planning {CITY_SCENARIO.stem} with today's curves and at a site (pvlib, demandlib)")
    planning = measure_planning(toolchain.root / CITY_SCENARIO)
    progress("`p2p-energy --help` in fresh processes")
    cli_startup = measure_cli_help(max(repeats, 5))

    results = BenchResults(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        quick=options.quick,
        runs=repeats,
        evm_version=evm,
        machine=machine(toolchain),
        gas=gas,
        throughput=throughput,
        transfers=transfers,
        compile=compile_times,
        city_day=city,
        city_grid=city_grid,
        qtum=qtum,
        qtum_city=qtum_city,
        planning=planning,
        cli_startup=cli_startup,
    )
    results.targets = check_targets(results)
    return results


def measure_compile(toolchain: Toolchain, evm: str, runs: int) -> CompileTimes:
    """Compile into a cache of our own: cold (use_cache=False) and then cached, `runs` times each."""
    with tempfile.TemporaryDirectory(prefix="p2p-energy-bench-cache-") as cache:
        compiler = Compiler.for_project(toolchain, evm, cache_dir=Path(cache))
        cold = [_timed(lambda: compiler.compile(use_cache=False))[1] for _ in range(runs)]
        cached = []
        for _ in range(runs):
            result, seconds = _timed(compiler.compile)
            if not result.from_cache:
                raise BenchError(f"the compile cache in {cache} was not used: is the disk full?")
            cached.append(seconds)
    return CompileTimes(cold, cached)


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def measure_gas_report(
    toolchain: Toolchain,
    compiled: CompilationResult,
    trades_per_lot: int,
    progress: Callable[[str], None],
    *,
    quick: bool = False,
) -> GasReport:
    """`p2p-energy gas`'s report; where the gas model is below a receipt the report is kept (the targets say so)."""
    try:
        return run_gas_report(
            DEFAULT_BACKEND,
            NodePrograms(toolchain.anvil, compiled.settings.evm_version),
            compiled,
            trades_per_lot,
            progress=lambda step: progress(f"gas, {trades_per_lot} per lot: {step}"),
            quick=quick,
        )
    except GasModelError as below:
        return below.report


def measure_throughput(
    toolchain: Toolchain, compiled: CompilationResult, scenario: Scenario, repeats: int, progress: Callable[[str], None]
) -> Throughput:
    """`scenario` batched (the runner) and one transaction per action (bench_baseline), `repeats` runs each."""
    batched: list[PathRun] = []
    one_each: list[PathRun] = []
    for run in range(repeats):  # the two paths take turns, so that a busy moment of the machine hits both
        progress(f"{scenario.name}, batched: run {run + 1} of {repeats}")
        result, total_s, _ = simulate_once(toolchain, scenario, compiled.settings.evm_version)
        totals = result.totals()
        batched.append(PathRun(result.wall_time_s, total_s, totals.settled_trades, totals.transactions))
        progress(f"{scenario.name}, one transaction per action: run {run + 1} of {repeats}")
        baseline: BaselineRun = one_by_one(toolchain, compiled, scenario)
        one_each.append(PathRun(baseline.run_s, baseline.total_s, baseline.settled_trades, baseline.transactions))
    return Throughput(scenario.name, PathFigures(batched), PathFigures(one_each))


def simulation_chain(evm: str, *, prune_history: int | None = None) -> ChainOptions:
    """The chain `simulate` starts for itself (no base fee, roomy blocks), optionally pruned."""
    return ChainOptions(
        evm, accounts=2, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0, prune_history=prune_history
    )


@contextlib.contextmanager
def simulated(
    toolchain: Toolchain, scenario: Scenario, evm: str, *, prune_history: int | None = None
) -> Iterator[tuple[RunResult, float, LocalChain]]:
    """Run `scenario` on a fresh anvil and keep it up while the caller looks at it: the result, the seconds with
    deployment, the chain."""
    with (
        tempfile.TemporaryDirectory(prefix="p2p-energy-bench-") as records,
        LocalChain(toolchain.anvil, simulation_chain(evm, prune_history=prune_history)) as chain,
    ):
        target = TargetOptions(rpc_url=chain.url, evm_version=evm, simulation=True)
        options = SimulateOptions(target, Path(records))
        result, total_s = _timed(lambda: simulate_scenario(toolchain, scenario, options, Progress(), lambda _: None))
        yield result, total_s, chain


def simulate_once(
    toolchain: Toolchain, scenario: Scenario, evm: str, *, prune_history: int | None = None
) -> tuple[RunResult, float, int | None]:
    """Run `scenario` on a fresh anvil: the result, the seconds with deployment, anvil's peak RSS (bytes)."""
    with simulated(toolchain, scenario, evm, prune_history=prune_history) as (result, total_s, chain):
        return result, total_s, peak_rss(chain.pid)


def measure_city_day(toolchain: Toolchain, scenario: Scenario, evm: str) -> CityDay:
    result, total_s, anvil_peak = simulate_once(toolchain, scenario, evm, prune_history=SIMULATION_PRUNE_HISTORY)
    return city_day_of(result, total_s, anvil_peak)


def measure_city_grid(toolchain: Toolchain, scenario: Scenario, evm: str, plain: CityDay) -> CityGrid:
    """`scenario` on `bench_grid.CITY_NETWORK`, measured as `measure_city_day` measured it without."""
    result, total_s, _ = simulate_once(toolchain, on_network(scenario), evm, prune_history=SIMULATION_PRUNE_HISTORY)
    return city_grid_of(plain, result, total_s)


# ------------------------------------------------------------------ targets


def check_targets(results: BenchResults) -> list[TargetCheck]:
    checks = []
    for tpl, report in sorted(results.gas.items()):
        checks += _gas_checks(tpl, report)
    speedup = results.throughput.speedup
    checks.append(
        TargetCheck(
            f"batched / one-tx-per-action settled trades per second ({results.throughput.scenario})",
            f">= {TARGET_SPEEDUP:.0f}x",
            f"{speedup:.1f}x",
            speedup >= TARGET_SPEEDUP,
        )
    )
    if results.city_day is not None:
        checks += _city_checks(results.city_day)
    if results.planning is not None:
        checks.append(planning_check(results.planning))
    if results.cli_startup is not None:
        help_s = results.cli_startup.median_s
        checks.append(
            TargetCheck(
                "`p2p-energy --help` in a fresh process",
                f"<= {TARGET_HELP_S} s",
                f"{help_s:.2f} s",
                help_s <= TARGET_HELP_S,
            )
        )
    if results.city_grid is not None:
        grid = results.city_grid
        checks.append(
            TargetCheck(
                f"{grid.scenario} on {grid.network}: wall time with / without a power flow per slot",
                f"<= {TARGET_GRID_RATIO:.0f}x",
                f"{grid.ratio:.2f}x",
                grid.ratio <= TARGET_GRID_RATIO,
            )
        )
    if results.qtum is not None:
        qtum = results.qtum.qtum
        checks.append(
            TargetCheck(
                f"{results.qtum.scenario} on a qtumd regtest node, node start included",
                f"<= {TARGET_QTUM_DEMO_S:.0f} s",
                f"{qtum.total_s:.0f} s",
                qtum.total_s <= TARGET_QTUM_DEMO_S and qtum.checks_passed,
            )
        )
    if results.qtum_city is not None:
        run = results.qtum_city
        checks.append(
            TargetCheck(
                f"city-day on {run.chain}, node start included, every check passing",
                f"<= {TARGET_QTUM_CITY_S:.0f} s",
                f"{run.total_s:.0f} s",
                run.total_s <= TARGET_QTUM_CITY_S and run.checks_passed,
            )
        )
        if results.city_day is not None:
            ratio = run.total_s / results.city_day.total_s
            checks.append(
                TargetCheck(
                    "city-day on qtumd on mainnet's clock / on anvil (stretch)",
                    f"<= {TARGET_QTUM_CITY_RATIO:.0f}x",
                    f"{ratio:.1f}x",
                    ratio <= TARGET_QTUM_CITY_RATIO,
                )
            )
    return checks


def settlement_batch(report: GasReport) -> str:
    """The name of the settlement figure of SETTLEMENT_BATCH_LOTS lots delivered in full in `report`."""
    tpl = report.trades_per_lot
    return f"{SETTLEMENT_BATCH_LOTS} lots of {tpl} trade{'s' if tpl > 1 else ''}, delivered in full"


def _gas_checks(tpl: int, report: GasReport) -> list[TargetCheck]:
    """closeLots per settled trade in a batch of 100 lots; the gas model against every receipt."""
    per_trade = report.settlement_of(settlement_batch(report)).close_gas_per_trade
    below = report.model_failures()
    city = [c.ratio for c in report.calls if c.gas >= CITY_SIZED_GAS]
    return [
        TargetCheck(
            f"gas per settled trade, closeLots of {SETTLEMENT_BATCH_LOTS} lots of {tpl} trade{'s' if tpl > 1 else ''}",
            f"<= {TARGET_GAS_PER_SETTLED_TRADE:,}",
            f"{per_trade:,}",
            per_trade <= TARGET_GAS_PER_SETTLED_TRADE,
        ),
        TargetCheck(
            f"gas model, {tpl} trade{'s' if tpl > 1 else ''} per lot: enough for every measured call (as gas limit)",
            f"{len(report.calls)} of {len(report.calls)} calls",
            f"{len(report.calls) - len(below)} of {len(report.calls)} calls"
            + (f"; not: {', '.join(c.name for c in below)}" if below else ""),
            not below,
        ),
        TargetCheck(
            f"gas model, {tpl} trade{'s' if tpl > 1 else ''} per lot: city-sized calls (>= {CITY_SIZED_GAS:,} gas)",
            f"<= {TARGET_MODEL_SLACK:.2f}x the receipt",
            f"{max(city):.3f}x at most" if city else "-",
            bool(city) and max(city) <= TARGET_MODEL_SLACK,
        ),
    ]


def planning_check(planning: PlanningTimes) -> TargetCheck:
    """Issue 28: planning city-day at a site with pvlib and demandlib within 1.5x of today's planning time."""
    return TargetCheck(
        f"{planning.scenario} planning at a site / with today's curves (issue 28)",
        f"<= {TARGET_PLANNING_RATIO}x",
        f"{planning.ratio:.2f}x",
        planning.ratio <= TARGET_PLANNING_RATIO,
    )


def _city_checks(city: CityDay) -> list[TargetCheck]:
    all_gas = city.all_gas_per_settled_trade
    peak = city.python_peak_rss_bytes + (city.anvil_peak_rss_bytes or 0)
    return [
        TargetCheck(
            f"{city.scenario} gas per settled trade, every transaction (issue 13)",
            f"<= {TARGET_CITY_GAS_PER_SETTLED_TRADE:,}",
            "-" if all_gas is None else f"{all_gas:,}",
            all_gas is not None and all_gas <= TARGET_CITY_GAS_PER_SETTLED_TRADE,
        ),
        TargetCheck(
            f"{city.scenario} wall time",
            f"<= {TARGET_CITY_WALL_S:.0f} s",
            f"{city.total_s:.0f} s",
            city.total_s <= TARGET_CITY_WALL_S,
        ),
        TargetCheck(
            f"{city.scenario} peak memory, Python + anvil",
            f"< {TARGET_PEAK_MEMORY_BYTES / GIB:.0f} GiB",
            f"{peak / GIB:.2f} GiB",
            peak < TARGET_PEAK_MEMORY_BYTES and city.anvil_peak_rss_bytes is not None,
        ),
    ]
