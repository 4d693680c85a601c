"""Gas and throughput figures side by side, measured in one run on this machine.

A figure is only worth comparing with another measured the same way, so one
`p2p-energy bench` measures everything the README's Performance section
quotes: gas per operation (reusing :mod:`p2p_energy.gas`), settled trades per
second of the batched sending path against the one-transaction-per-action
path on the same scenario, plain ERC20 transfers through web3.py as the
node's own yardstick, the city-scale day, and compile times.

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

import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from eth_account import Account as EthAccount
from web3 import Web3

from p2p_energy.bench_qtum import QtumComparison, compare_on_qtum
from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY, ChainOptions, LocalChain
from p2p_energy.chain.backend import Call
from p2p_energy.chain.market import Market, MarketAddresses, deploy_contract
from p2p_energy.domain.scenario import Scenario, load_scenario
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.gas import BatchFigure, GasReport, run_gas_report
from p2p_energy.output.records import RunResult
from p2p_energy.output.timings import RECEIPTS, by_kind_of_work, phases
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import LOCAL_BLOCK_GAS_LIMIT, TargetOptions
from p2p_energy.solidity.compiler import DEFAULT_EVM_VERSION, CompilationResult, Compiler
from p2p_energy.solidity.toolchain import SOLC_VERSION, Toolchain
from p2p_energy.units import TOKEN_NAME, TOKEN_SYMBOL

#: 2: city_day gives its time as `phases` and `work` (each adding up to run_s) and `receipts_s`, not `timings`.
RESULTS_FORMAT = 2
DEFAULT_RUNS = 3
DEFAULT_OUT = Path("bench") / "results.json"
#: The scenario both sending paths run (small enough for one transaction per block).
THROUGHPUT_SCENARIO = Path("scenarios") / "street.toml"
CITY_SCENARIO = Path("scenarios") / "city-day.toml"
QTUM_SCENARIO = Path("scenarios") / "demo.toml"
#: Trades per lot of the gas figures: `p2p-energy gas`'s default, and the worst case.
GAS_TRADES_PER_LOT = (4, 1)
TRANSFERS = 500
QUICK_TRANSFERS = 100
_TRANSFER_GAS = 60_000
#: ERC20 transfer(address,uint256), for encoding the web3.py baseline's calldata.
_TRANSFER_ABI = [
    {
        "type": "function",
        "name": "transfer",
        "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]
GIB = 2**30

# The targets.
TARGET_GAS_PER_SETTLED_TRADE = 25_000
TARGET_SPEEDUP = 10.0
TARGET_CITY_WALL_S = 300.0
TARGET_PEAK_MEMORY_BYTES = 2 * GIB
TARGET_QTUM_DEMO_S = 180.0


@dataclass(frozen=True)
class BenchOptions:
    """`p2p-energy bench`: `quick` skips the city-scale day, runs once and sends fewer transfers."""

    quick: bool = False
    runs: int = DEFAULT_RUNS
    evm_version: str = DEFAULT_EVM_VERSION

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UsageError(f"--runs must be 1 or more, got {self.runs}")

    @property
    def repeats(self) -> int:
        return 1 if self.quick else self.runs


class BenchError(P2PEnergyError):
    """A measurement could not be taken."""


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class Machine:
    cpus: int
    memory_bytes: int | None
    cpu_model: str
    platform: str
    python: str
    anvil: str
    solc: str


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
class Transfers:
    """Plain ERC20 transfers: one at a time through web3.py (automine), and batched through TxSender."""

    transfers: int
    gas_per_transfer: int
    web3_s: list[float]
    batched_s: list[float]

    @property
    def web3_per_s(self) -> float:
        return self.transfers / statistics.median(self.web3_s)

    @property
    def batched_per_s(self) -> float:
        return self.transfers / statistics.median(self.batched_s)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "web3_per_s": self.web3_per_s, "batched_per_s": self.batched_per_s}


@dataclass(frozen=True)
class CityDay:
    scenario: str
    households: int
    slots: int
    run_s: float
    total_s: float
    transactions: int
    settled_trades: int
    python_peak_rss_bytes: int
    anvil_peak_rss_bytes: int | None
    settle_gas_per_settled_trade: int | None
    settlement_gas_per_settled_trade: int | None
    #: Where the run's time went, two ways that each add up to run_s: by phase of the run
    #: (planning, setup, trading, withdrawing, checking, other) and by kind of work (signing,
    #: sending, mining and waiting, python bookkeeping and reads; see output/timings.py).
    phases: dict[str, float]
    work: dict[str, float]
    #: Fetching receipts: a part of "mining and waiting".
    receipts_s: float
    prune_history: int = SIMULATION_PRUNE_HISTORY  # anvil --prune-history N, as on simulate's own chain

    @property
    def settled_per_s(self) -> float:
        return self.settled_trades / self.run_s

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "settled_trades_per_s": self.settled_per_s}


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
    #: demo.toml on anvil and on a qtumd regtest node; None without qtumd or with --quick.
    qtum: QtumComparison | None = None
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
            "qtum": None if self.qtum is None else self.qtum.to_json(),
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

    gas: dict[int, GasReport] = {}
    for tpl in GAS_TRADES_PER_LOT:
        gas[tpl] = run_gas_report(
            toolchain.anvil, compiled, tpl, progress=lambda step, tpl=tpl: progress(f"gas, {tpl} per lot: {step}")
        )

    demo = load_scenario(toolchain.root / THROUGHPUT_SCENARIO)
    runs: dict[bool, list[PathRun]] = {True: [], False: []}
    for run in range(repeats):  # the two paths take turns, so that a busy moment of the machine hits both
        for batched in (True, False):
            path = "batched" if batched else "one transaction per action"
            progress(f"{demo.name}, {path}: run {run + 1} of {repeats}")
            result, total_s, _ = simulate_once(toolchain, demo, evm, batched=batched)
            runs[batched].append(_path_run(result, total_s))
    throughput = Throughput(demo.name, PathFigures(runs[True]), PathFigures(runs[False]))

    transfers = measure_transfers(
        toolchain, compiled, QUICK_TRANSFERS if options.quick else TRANSFERS, repeats, progress
    )

    city = None
    if not options.quick:
        progress(f"{CITY_SCENARIO.stem} (half a minute or more)")
        city = measure_city_day(toolchain, load_scenario(toolchain.root / CITY_SCENARIO), evm)
    qtum = None
    if not options.quick:
        progress(f"{QTUM_SCENARIO.stem} on anvil and on a qtumd regtest node (if one is found)")
        qtum = compare_on_qtum(toolchain, load_scenario(toolchain.root / QTUM_SCENARIO), evm)

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
        qtum=qtum,
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


def _simulation_chain(evm: str, *, prune_history: int | None = None) -> ChainOptions:
    """The chain `simulate` starts for itself (no base fee, roomy blocks), optionally pruned."""
    return ChainOptions(
        evm, accounts=2, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0, prune_history=prune_history
    )


def one_by_one(scenario: Scenario) -> Scenario:
    """`scenario` with every chain batch of size 1: one action, one transaction."""
    return replace(scenario, chain=replace(scenario.chain, takes_per_tx=1, readings_per_tx=1, lots_per_tx=1))


def simulate_once(
    toolchain: Toolchain, scenario: Scenario, evm: str, *, batched: bool = True, prune_history: int | None = None
) -> tuple[RunResult, float, int | None]:
    """Run `scenario` on a fresh anvil: the result, the seconds with deployment, anvil's peak RSS (bytes)."""
    if not batched:
        scenario = one_by_one(scenario)
    with (
        tempfile.TemporaryDirectory(prefix="p2p-energy-bench-") as records,
        LocalChain(toolchain.anvil, _simulation_chain(evm, prune_history=prune_history)) as chain,
    ):
        target = TargetOptions(rpc_url=chain.url, evm_version=evm, simulation=True, batched=batched)
        options = SimulateOptions(target, Path(records))
        result, total_s = _timed(lambda: simulate_scenario(toolchain, scenario, options, Progress(), lambda _: None))
        return result, total_s, peak_rss(chain.pid)


def _path_run(result: RunResult, total_s: float) -> PathRun:
    totals = result.totals()
    return PathRun(result.wall_time_s, total_s, totals.settled_trades, totals.transactions)


def measure_city_day(toolchain: Toolchain, scenario: Scenario, evm: str) -> CityDay:
    result, total_s, anvil_peak = simulate_once(toolchain, scenario, evm, prune_history=SIMULATION_PRUNE_HISTORY)
    totals = result.totals()
    return CityDay(
        scenario=scenario.name,
        households=totals.households,
        slots=totals.slots,
        run_s=result.wall_time_s,
        total_s=total_s,
        transactions=totals.transactions,
        settled_trades=totals.settled_trades,
        python_peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        anvil_peak_rss_bytes=anvil_peak,
        settle_gas_per_settled_trade=totals.settle_gas_per_settled_trade,
        settlement_gas_per_settled_trade=totals.settlement_gas_per_settled_trade,
        phases=phases(result.wall_time_s, result.timings),
        work=by_kind_of_work(result.wall_time_s, result.timings),
        receipts_s=result.timings.get(RECEIPTS, 0.0),
    )


def measure_transfers(
    toolchain: Toolchain, compiled: CompilationResult, count: int, runs: int, progress: Callable[[str], None]
) -> Transfers:
    """`count` ERC20 transfers per run on a fresh anvil: one at a time through web3.py (automine),
    then batched through our chain backend (signing, JSON-RPC batches, local mining)."""
    web3_s, batched_s, gas = [], [], 0
    for run in range(runs):
        progress(f"ERC20 transfers through web3.py and the EVM backend: run {run + 1} of {runs}")
        with LocalChain(toolchain.anvil, ChainOptions(compiled.settings.evm_version, accounts=2)) as chain:
            admin = Account.from_hex(chain.accounts[0].private_key)
            token = _funded_token(chain, compiled, admin)
            to = chain.accounts[1].address
            seconds, gas = _web3_transfers(chain.web3(), chain.accounts[0].private_key, token, to, count)
            web3_s.append(seconds)
            batched_s.append(_batched_transfers(chain, compiled, admin, token, to, count))
    return Transfers(count, gas, web3_s, batched_s)


def _funded_token(chain: LocalChain, compiled: CompilationResult, admin: Account) -> str:
    """Deploy EnergyToken and mint to `admin`; the node is left automining, as it was found."""
    backend = chain.backend(AbiCodec(compiled["EnergyToken"].abi))
    try:
        deployed = deploy_contract(backend, compiled, "EnergyToken", admin, TOKEN_NAME, TOKEN_SYMBOL, admin.address)
        token = Market(backend, backend.codec, MarketAddresses(deployed.address, "", ""))
        token.transact(admin, "EnergyToken", "mint", admin.address, 10**18)
    finally:
        backend.close()
    return deployed.address


def _web3_transfers(w3: Web3, private_key: str, token: str, to: str, count: int) -> tuple[float, int]:
    """Pre-signed transfers sent one at a time through web3.py (send_raw_transaction,
    wait_for_transaction_receipt), the baseline: seconds, and the gas of one."""
    signer = EthAccount.from_key(private_key)
    first = w3.eth.get_transaction_count(signer.address)
    data = AbiCodec(_TRANSFER_ABI).encode("transfer", to, 1)
    tx = {"to": token, "data": data, "gas": _TRANSFER_GAS, "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id}
    signed = [signer.sign_transaction({**tx, "nonce": first + i}).raw_transaction for i in range(count)]
    started = time.perf_counter()
    for raw in signed:
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), poll_latency=0.01)
    return time.perf_counter() - started, int(receipt["gasUsed"])


def _batched_transfers(
    chain: LocalChain, compiled: CompilationResult, admin: Account, token: str, to: str, count: int
) -> float:
    """The same transfers through the EVM backend (signing, JSON-RPC batches, local mining): seconds."""
    backend = chain.backend(AbiCodec(compiled["EnergyToken"].abi))
    call = Call("transfer", admin, token, backend.codec.encode("transfer", to, 1), _TRANSFER_GAS)
    outcomes, seconds = _timed(partial(backend.send, [call] * count))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise BenchError(f"{len(failed)} of {count} batched transfers failed on a fresh chain: {failed[0].error}")
    return seconds


def machine(toolchain: Toolchain) -> Machine:
    return Machine(
        cpus=os.cpu_count() or 0,
        memory_bytes=_meminfo_total(),
        cpu_model=_cpu_model(),
        platform=platform.platform(),
        python=platform.python_version(),
        anvil=_anvil_version(toolchain.anvil),
        solc=SOLC_VERSION,
    )


def _proc_field(path: Path, name: str) -> str | None:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        return None
    return None


def _meminfo_total() -> int | None:
    value = _proc_field(Path("/proc/meminfo"), "MemTotal")  # "24604012 kB"
    return int(value.split()[0]) * 1024 if value else None


def _cpu_model() -> str:
    return _proc_field(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown"


def peak_rss(pid: int | None) -> int | None:
    """A running process's peak resident memory in bytes (Linux VmHWM), None where /proc has none."""
    value = _proc_field(Path(f"/proc/{pid}/status"), "VmHWM") if pid else None
    return int(value.split()[0]) * 1024 if value else None


def _anvil_version(anvil: Path) -> str:
    try:
        out = subprocess.run([str(anvil), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = out.stdout.strip().splitlines()[:1]
    return first[0].removeprefix("anvil Version: ").strip() if first else "unknown"


# ------------------------------------------------------------------ targets


def _batch(report: GasReport, lots: int) -> BatchFigure:
    return next(b for b in report.batches if b.lots == lots)


def check_targets(results: BenchResults) -> list[TargetCheck]:
    checks = []
    for tpl, report in sorted(results.gas.items()):
        per_trade = _batch(report, 100).gas_per_trade
        checks.append(
            TargetCheck(
                f"gas per settled trade, batch of 100 lots of {tpl} trade{'s' if tpl > 1 else ''}",
                f"<= {TARGET_GAS_PER_SETTLED_TRADE:,}",
                f"{per_trade:,}",
                per_trade <= TARGET_GAS_PER_SETTLED_TRADE,
            )
        )
    speedup = results.throughput.speedup
    checks.append(
        TargetCheck(
            f"batched / one-tx-per-action settled trades per second ({results.throughput.scenario})",
            f">= {TARGET_SPEEDUP:.0f}x",
            f"{speedup:.1f}x",
            speedup >= TARGET_SPEEDUP,
        )
    )
    city = results.city_day
    if city is not None:
        checks.append(
            TargetCheck(
                f"{city.scenario} wall time",
                f"<= {TARGET_CITY_WALL_S:.0f} s",
                f"{city.total_s:.0f} s",
                city.total_s <= TARGET_CITY_WALL_S,
            )
        )
        peak = city.python_peak_rss_bytes + (city.anvil_peak_rss_bytes or 0)
        checks.append(
            TargetCheck(
                f"{city.scenario} peak memory, Python + anvil",
                f"< {TARGET_PEAK_MEMORY_BYTES / GIB:.0f} GiB",
                f"{peak / GIB:.2f} GiB",
                peak < TARGET_PEAK_MEMORY_BYTES and city.anvil_peak_rss_bytes is not None,
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
    return checks


# ------------------------------------------------------------------ table
