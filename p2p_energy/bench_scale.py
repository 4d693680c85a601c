"""city-day at other sizes (`make bench-scale`): is the run linear in households, and what memory does it need?

`python -m p2p_energy.bench_scale HOUSEHOLDS` runs `scenarios/city-day.toml`
with every household group's count scaled to HOUSEHOLDS in all (its 30 %
solar, 60 % homes and 10 % flats kept; 96 slots, the same seed and rules) on
a fresh anvil started as `simulate` starts its own, and prints one line: the
wall time (the run, and with the deployment), time per
settled trade, the checks, and the peak memory (RSS) of this Python process
and of anvil. One size per process, so that each peak is that size's own;
`make bench-scale` runs 100, 1,000, 2,500 and 10,000 households one after
another. Exit 1 if any check of the chain against the books fails.
"""

from __future__ import annotations

import argparse
import resource
import tomllib
from dataclasses import dataclass
from pathlib import Path

from p2p_energy.bench import CITY_SCENARIO, simulate_once
from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY
from p2p_energy.domain.scenario import Scenario, parse_scenario
from p2p_energy.solidity.compiler import DEFAULT_EVM_VERSION
from p2p_energy.solidity.toolchain import find_toolchain

_MIB = 1024 * 1024


def city_of(households: int, city_day: Path, slots: int | None = None) -> Scenario:
    """city-day with its groups' counts scaled to `households` in all (the last group takes the rounding), over
    `slots` slots of 15 minutes (default city-day's 96: a day; 672 is a week)."""
    data = tomllib.loads(city_day.read_text())
    groups = data["households"]
    total = sum(int(group["count"]) for group in groups)
    for group in groups[:-1]:
        group["count"] = max(1, round(int(group["count"]) * households / total))
    groups[-1]["count"] = households - sum(int(group["count"]) for group in groups[:-1])
    data["name"] = f"city-{households}" + (f"-{slots}-slots" if slots else "")
    data["description"] = f"city-day scaled to {households:,} households"
    if slots:
        data["slots"] = slots
    return parse_scenario(data, city_day)


@dataclass(frozen=True)
class ScaleRow:
    """One size's figures."""

    households: int
    slots: int
    settled_trades: int
    transactions: int
    run_s: float
    total_s: float
    checks_passed: int
    checks: int
    python_peak_rss_bytes: int
    anvil_peak_rss_bytes: int | None

    @property
    def ms_per_settled_trade(self) -> float:
        return 1000 * self.run_s / self.settled_trades if self.settled_trades else float("nan")

    def line(self) -> str:
        anvil = "?" if self.anvil_peak_rss_bytes is None else f"{self.anvil_peak_rss_bytes / _MIB:,.0f}"
        return (
            f"{self.households:>7,} households x {self.slots} slots: {self.settled_trades:>9,} settled trades in "
            f"{self.transactions:,} transactions; run {self.run_s:,.1f} s ({self.total_s:,.1f} s with "
            f"the deployment), {self.ms_per_settled_trade:.3f} ms per settled trade; checks "
            f"{self.checks_passed} of {self.checks} passed; peak RSS python "
            f"{self.python_peak_rss_bytes / _MIB:,.0f} MiB, anvil {anvil} MiB"
        )


def measure(households: int, slots: int | None = None, evm: str = DEFAULT_EVM_VERSION) -> ScaleRow:
    toolchain = find_toolchain()
    scenario = city_of(households, toolchain.root / CITY_SCENARIO, slots)
    result, total_s, anvil_peak = simulate_once(toolchain, scenario, evm, prune_history=SIMULATION_PRUNE_HISTORY)
    totals = result.totals()
    return ScaleRow(
        households=households,
        slots=scenario.slots,
        settled_trades=totals.settled_trades,
        transactions=sum(g.transactions for g in result.gas),
        run_s=result.wall_time_s,
        total_s=total_s,
        checks_passed=sum(1 for passed in result.checks.values() if passed),
        checks=len(result.checks),
        python_peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        anvil_peak_rss_bytes=anvil_peak,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2p_energy.bench_scale", description=__doc__.split("\n")[0])
    parser.add_argument("households", type=int, help="households in all (city-day has 1,000)")
    parser.add_argument(
        "--slots", type=int, default=None, help="slots of 15 minutes (city-day: 96, a day; 672: a week)"
    )
    args = parser.parse_args(argv)
    if args.households < 10:
        parser.error("households must be at least 10 (city-day's three groups each need one)")
    if args.slots is not None and args.slots < 1:
        parser.error("--slots must be at least 1")
    row = measure(args.households, args.slots)
    print(row.line(), flush=True)
    return 0 if row.checks_passed == row.checks else 1


if __name__ == "__main__":
    raise SystemExit(main())
