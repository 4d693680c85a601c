"""The city-scale day in the benchmark (`p2p-energy bench`): its figures, and its gas per settled trade
before and after the gas redesign (issue 13).

The "before" figures are constants: city-day's gas per settled trade per
operation, measured on main before the redesign (issue 13's table; the
operations of the old interface no longer exist, so they cannot be measured
again). The "after" figures come from the run: each operation's gas over the
run divided by its settled trades. The market plan did not change with the
redesign, so both columns divide by the same trades.
"""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY
from p2p_energy.networks import MIN_GAS_PRICE_SATOSHI
from p2p_energy.output.records import SETUP_OPERATIONS, RunResult
from p2p_energy.output.timings import RECEIPTS, by_kind_of_work, phases
from p2p_energy.units import SATOSHI_PER_QTUM

#: Where the "before" figures come from.
BEFORE_SOURCE = "measured on main before the gas redesign, issue 13"
#: city-day's gas per settled trade per operation on main before the redesign (issue 13's table).
CITY_DAY_GAS_BEFORE = {
    "postOffer": 24_795,
    "takeOffers": 88_636,
    "submitReadings": 12_230,
    "settleLots": 12_910,
    "set-up and withdraw": 6_720,
}
#: ... and in all (issue 13's table: the sum of the above).
CITY_DAY_GAS_BEFORE_TOTAL = 145_291
SETUP_AND_WITHDRAW = "set-up and withdraw"
#: The steps of a trade, with the operations that made them before and make them now.
_STEPS = (
    ("matching", ("postOffer", "takeOffers"), ("matchOrders",)),
    ("settlement", ("submitReadings", "settleLots"), ("settleLots",)),
    ("refunds", (), ("refundLots",)),
)
_SETUP_AND_WITHDRAW = SETUP_OPERATIONS | {"deposit", "withdraw"}
_WH_PER_KWH = 1000


@dataclass(frozen=True)
class GasStep:
    """One step of city-day's trades: gas per settled trade by operation, before (issue 13) and now."""

    step: str
    before: dict[str, int]
    after: dict[str, int]
    #: The step's gas now over the settled trades (its operations' gas summed first, then divided).
    after_total: int

    @property
    def before_total(self) -> int:
        return sum(self.before.values())


def gas_steps(gas_per_operation: dict[str, int], settled_trades: int) -> list[GasStep]:
    """city-day's gas per settled trade step by step, before and after (a step that neither had left out);
    [] when nothing settled."""
    if settled_trades <= 0:
        return []
    left = dict(gas_per_operation)
    steps = []
    named: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = list(_STEPS)
    named.append((SETUP_AND_WITHDRAW, (SETUP_AND_WITHDRAW,), tuple(sorted(_SETUP_AND_WITHDRAW))))
    for step, before_ops, after_ops in named:
        taken = {op: left.pop(op) for op in after_ops if op in left}
        if not before_ops and not taken:
            continue  # a step that neither run had (no refunds)
        steps.append(
            GasStep(
                step,
                {op: CITY_DAY_GAS_BEFORE[op] for op in before_ops},
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

    @property
    def qtum_fee_per_kwh_before(self) -> Decimal | None:
        """The same for the same trades at the gas per settled trade before the redesign."""
        return qtum_fee_per_kwh(CITY_DAY_GAS_BEFORE_TOTAL * self.settled_trades, self.traded_wh)

    def to_json(self) -> dict[str, Any]:
        fee, fee_before = self.qtum_fee_per_kwh, self.qtum_fee_per_kwh_before
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
            "qtum_fee_per_kwh_before": None if fee_before is None else str(fee_before.quantize(Decimal("1e-8"))),
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
