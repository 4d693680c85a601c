"""The same scenario on anvil and on a real qtumd regtest node, side by side (`p2p-energy bench`).

Both runs start their own chain (anvil; or qtumd with coins mined to
maturity), deploy the market and run the day; the figures count everything
from the command's start, node start included. On Qtum every transaction
pays gas x 40 sat/gas in QTUM, so the fee per settled trade and per kWh
traded are given in QTUM.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from p2p_energy.chain.qtumd import find_qtumd
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import UsageError
from p2p_energy.records.fees import RunFees
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import TargetOptions
from p2p_energy.solidity.toolchain import Toolchain


@dataclass(frozen=True)
class ChainRun:
    """One scenario run on one kind of chain."""

    chain: str
    total_s: float
    run_s: float
    transactions: int
    settled_trades: int
    traded_wh: int
    gas: int
    all_gas_per_settled_trade: int | None
    checks_passed: bool
    #: What the gas cost in the chain's coin (None where gas is free: simulate's own anvil).
    fees: RunFees | None
    #: How the matching rounds met the chain's clock (`ClockRecord.figures`).
    clock: dict[str, Any] = field(default_factory=dict)

    @property
    def settled_trades_per_s(self) -> float:
        return self.settled_trades / self.total_s if self.total_s else 0.0


@dataclass(frozen=True)
class QtumComparison:
    scenario: str
    anvil: ChainRun
    qtum: ChainRun

    @property
    def satoshi_per_gas(self) -> int:
        return self.qtum.fees.gas_price if self.qtum.fees else 0

    @property
    def fee_per_settled_trade_qtum(self) -> Decimal | None:
        return self.qtum.fees.per_settled_trade if self.qtum.fees else None

    @property
    def fee_per_kwh_qtum(self) -> Decimal | None:
        return self.qtum.fees.per_kwh_traded if self.qtum.fees else None

    def to_json(self) -> dict[str, Any]:
        def run(r: ChainRun) -> dict[str, Any]:
            data = {k: v for k, v in asdict(r).items() if k != "fees"}
            return {**data, "settled_trades_per_s": r.settled_trades_per_s}

        per_trade, per_kwh = self.fee_per_settled_trade_qtum, self.fee_per_kwh_qtum
        return {
            "scenario": self.scenario,
            "anvil": run(self.anvil),
            "qtum": run(self.qtum),
            "satoshi_per_gas": self.satoshi_per_gas,
            "fee_per_settled_trade_qtum": None if per_trade is None else str(per_trade.quantize(Decimal("1e-8"))),
            "fee_per_kwh_qtum": None if per_kwh is None else str(per_kwh.quantize(Decimal("1e-8"))),
        }


def _run(toolchain: Toolchain, scenario: Scenario, target: TargetOptions, chain: str) -> ChainRun:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="p2p-energy-bench-qtum-") as records:
        result: RunResult = simulate_scenario(
            toolchain, scenario, SimulateOptions(target, Path(records)), Progress(), lambda _: None
        )
    total = time.perf_counter() - started
    totals = result.totals()
    return ChainRun(
        chain=chain,
        total_s=total,
        run_s=result.wall_time_s,
        transactions=totals.transactions,
        settled_trades=totals.settled_trades,
        traded_wh=totals.traded_wh,
        gas=totals.gas,
        all_gas_per_settled_trade=totals.all_gas_per_settled_trade,
        checks_passed=all(result.checks.values()),
        fees=result.fees(totals),
        clock=result.clock.figures() if result.clock is not None else {},
    )


def compare_on_qtum(toolchain: Toolchain, scenario: Scenario, evm: str) -> QtumComparison | None:
    """`scenario` on anvil, then on a qtumd regtest node; None when no qtumd is found ($QTUMD, PATH)."""
    try:
        qtumd = find_qtumd()
    except UsageError:
        return None
    anvil = _run(toolchain, scenario, TargetOptions(evm_version=evm, simulation=True), "anvil")
    qtum = _run(toolchain, scenario, TargetOptions(evm_version=evm, backend="qtum", qtumd=str(qtumd)), "qtumd regtest")
    return QtumComparison(scenario.name, anvil, qtum)


#: Qtum mainnet's block spacing, simulated on regtest for the city-day figure (`--block-time 32`).
MAINNET_BLOCK_TIME_S = 32


def city_on_mainnet_clock(toolchain: Toolchain, scenario: Scenario, evm: str) -> ChainRun | None:
    """`scenario` (city-day) on a qtumd regtest node that mines a block only every 32 s of chain time, as
    Qtum mainnet does; None when no qtumd is found."""
    try:
        qtumd = find_qtumd()
    except UsageError:
        return None
    target = TargetOptions(evm_version=evm, backend="qtum", qtumd=str(qtumd), block_time=MAINNET_BLOCK_TIME_S)
    return _run(toolchain, scenario, target, f"qtumd regtest, a block every {MAINNET_BLOCK_TIME_S} s")
