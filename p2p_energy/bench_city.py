"""The city-scale day in the benchmark (`p2p-energy bench`): its figures, and its gas per settled trade by
operation next to the v2 market's.

The "before" figures are constants: city-day's gas per settled trade on the
v2 market (escrow v2: matchOrders, settleLots), measured 2026-11-30 and
documented in docs/gas-design.md; v2's operations no longer exist, so they
cannot be measured again. They are a reference row only. The "now" figures
come from the run: each operation's gas over the run divided by the run's
settled trades.
"""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY
from p2p_energy.networks import MIN_GAS_PRICE_SATOSHI
from p2p_energy.output.timings import RECEIPTS, by_kind_of_work, phases
from p2p_energy.records.run_records import RunResult
from p2p_energy.units import SATOSHI_PER_QTUM

#: What the "before" figures are.
BEFORE_SOURCE = "before (v2, measured 2026-11-30)"
SETUP_AND_PAYOUT = "set-up and pay-out"
#: city-day's gas per settled trade per step on the v2 market (docs/gas-design.md, measured 2026-11-30).
CITY_DAY_GAS_BEFORE = {
    "matching": {"matchOrders": 24_437},
    "settlement": {"settleLots": 10_456},
    SETUP_AND_PAYOUT: {"set-up/withdraw": 4_322},
}
#: ... and in all (all gas over the settled trades: the steps, each rounded down, add up to 2 less).
CITY_DAY_GAS_BEFORE_TOTAL = 39_217
#: The steps of a trade and the v3 operations that make them; any other operation is "other".
_STEPS = (
    ("matching", ("matchOrders",)),
    ("settlement", ("closeLots",)),
    (SETUP_AND_PAYOUT, ("registerMeters", "depositFor", "setTrader", "mint", "approve", "payOut", "deploy")),
)
_WH_PER_KWH = 1000


@dataclass(frozen=True)
class GasStep:
    """One step of city-day's trades: gas per settled trade by operation, now and on the v2 market."""

    step: str
    before: dict[str, int]
    after: dict[str, int]
    #: The step's gas now over the settled trades (its operations' gas summed first, then divided).
    after_total: int

    @property
    def before_total(self) -> int:
        return sum(self.before.values())


def gas_steps(gas_per_operation: dict[str, int], settled_trades: int) -> list[GasStep]:
    """city-day's gas per settled trade step by step, now and before (v2); [] when nothing settled."""
    if settled_trades <= 0:
        return []
    left = dict(gas_per_operation)
    steps = []
    for step, operations in _STEPS:
        taken = {op: left.pop(op) for op in operations if op in left}
        steps.append(
            GasStep(
                step,
                dict(CITY_DAY_GAS_BEFORE.get(step, {})),
                {op: gas // settled_trades for op, gas in taken.items()},
                sum(taken.values()) // settled_trades,
            )
        )
    if left:
        steps.append(
            GasStep(
                "other",
                {},
                {op: gas // settled_trades for op, gas in left.items()},
                sum(left.values()) // settled_trades,
            )
        )
    return steps


def qtum_fee_per_kwh(gas: int, traded_wh: int) -> Decimal | None:
    """QTUM per kWh traded that `gas` would cost at Qtum's minimum gas price (40 sat/gas)."""
    if traded_wh <= 0:
        return None
    return Decimal(gas * MIN_GAS_PRICE_SATOSHI * _WH_PER_KWH) / Decimal(SATOSHI_PER_QTUM * traded_wh)


@dataclass(frozen=True)
class CityDay:
    scenario: str
    households: int
    slots: int
    run_s: float
    total_s: float
    transactions: int
    settled_trades: int
    traded_wh: int
    gas: int
    python_peak_rss_bytes: int
    anvil_peak_rss_bytes: int | None
    settle_gas_per_settled_trade: int | None
    all_gas_per_settled_trade: int | None
    #: Gas of the run per operation (all its transactions of that kind).
    gas_per_operation: dict[str, int]
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

    @property
    def steps(self) -> list[GasStep]:
        return gas_steps(self.gas_per_operation, self.settled_trades)

    @property
    def qtum_fee_per_kwh(self) -> Decimal | None:
        """What this run's gas would cost on Qtum at 40 sat/gas, per kWh traded."""
        return qtum_fee_per_kwh(self.gas, self.traded_wh)

    def to_json(self) -> dict[str, Any]:
        fee = self.qtum_fee_per_kwh
        return {
            **asdict(self),
            "settled_trades_per_s": self.settled_per_s,
            "gas_per_settled_trade_before_after": {
                "before_source": BEFORE_SOURCE,
                "steps": [{**asdict(s), "before_total": s.before_total} for s in self.steps],
                "before_total": CITY_DAY_GAS_BEFORE_TOTAL,
                "after_total": self.all_gas_per_settled_trade,
            },
            "qtum_fee_per_kwh_at_40_sat_per_gas": None if fee is None else str(fee.quantize(Decimal("1e-8"))),
        }


def city_day_of(result: RunResult, total_s: float, anvil_peak: int | None) -> CityDay:
    """The city-day figures of one run (`total_s` with anvil's start and deployment)."""
    totals = result.totals()
    return CityDay(
        scenario=result.scenario,
        households=totals.households,
        slots=totals.slots,
        run_s=result.wall_time_s,
        total_s=total_s,
        transactions=totals.transactions,
        settled_trades=totals.settled_trades,
        traded_wh=totals.traded_wh,
        gas=totals.gas,
        python_peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        anvil_peak_rss_bytes=anvil_peak,
        settle_gas_per_settled_trade=totals.settle_gas_per_settled_trade,
        all_gas_per_settled_trade=totals.all_gas_per_settled_trade,
        gas_per_operation=dict(totals.gas_per_operation),
        phases=phases(result.wall_time_s, result.timings),
        work=by_kind_of_work(result.wall_time_s, result.timings),
        receipts_s=result.timings.get(RECEIPTS, 0.0),
    )
