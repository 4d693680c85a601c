"""Gas per operation of the market contracts, measured on a real local anvil (or a qtumd regtest node).

One run deploys the market and measures every operation of its interface;
every figure is the `gasUsed` of a real receipt (after refunds), so a change
that costs gas shows up here:

- set-up: a plain ERC20 transfer (the yardstick); `deposit` (an account's
  first, into its own balance); `depositFor` of 200 accounts in one call (the
  operator funding households; per account); `registerMeter` and
  `registerMeters` of 200 meters (per meter); `setTrader`;
- matching (`matchOrders`): whole calls of four shapes (1 ask, 1 bid, 1 fill;
  10 asks to 1 bid; 1 ask to 10 bids; 10 asks x 10 bids, 100 fills), from
  which the gas per ask, per bid and per fill is derived (:class:`MatchCosts`:
  the four calls solved as base + asks x ask + bids x bid + fills x fill), and
  one call shaped like a busy slot of city-day (80 asks of 5 trades each and
  334 bids: 1.2 trades per bid; city-day has 5.1 trades per lot and 1.18 per
  bid), whose gas the derived figures are checked against;
- settlement (`settleLots`, each lot with its meter's signed reading in the
  calldata): batches of 1, 10 and 100 lots and the largest batch one call may
  settle (the escrow's per-call bounds on lots and trades), every lot of
  `trades_per_lot` trades and delivered in full; and a batch of 100 lots that
  each delivered less than it sold, so every buyer is credited a part back;
- `refundLots` of 1 lot and of 100 lots after the grace period; `withdraw`.

As in a neighbourhood, every lot of a batch has its own seller and every
account has a balance (funded by `depositFor`) before it trades: each balance
a call touches is a storage word of its own. "Gas per settled trade" divides a
settlement call's gas by the trades it closed; a lot's reading travels in the
same call, so nothing else is paid to settle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from rich.table import Table

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call, ChainBackend
from p2p_energy.chain.market import Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.chain.qtumd import QtumNode
from p2p_energy.wire.eip712 import Eip712Domain
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.orders import LotTrade, order_domain
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.gas_figures import (
    BATCH_SIZES,
    CITY_SLOT,
    CITY_SLOT_ASKS,
    CITY_SLOT_BIDS,
    CITY_SLOT_FILLS,
    CITY_SLOT_TRADES_PER_ASK,
    DEPOSIT,
    DEPOSIT_FOR,
    DEPOSITS_PER_CALL,
    ERC20_TRANSFER_REFERENCE,
    MATCH_CITY_SLOT,
    MATCH_ONE,
    METERS_PER_CALL,
    PER_ASK,
    PER_BID,
    PER_CALL,
    PER_DEPOSIT,
    PER_FILL,
    PER_METER,
    REFUND_BATCH_LOTS,
    REFUND_ONE,
    REGISTER_METER,
    REGISTER_METERS,
    SET_TRADER,
    SETTLE_ONE,
    SHAPE_ORDERS,
    SHORT_BATCH_LOTS,
    WITHDRAW,
    BatchFigure,
    GasReport,
    MatchCosts,
    MatchFigure,
    largest_batch,
)
from p2p_energy.market_calls import CallLimits, SlotMatch, Trade, lot_proof, lot_trades, needs_trader, trader_of
from p2p_energy.run.encoding import MAX_CALLDATA_BYTES
from p2p_energy.solidity.compiler import CompilationResult

__all__ = [
    "DEPOSIT",
    "ERC20_TRANSFER_REFERENCE",
    "MATCH_CITY_SLOT",
    "MATCH_ONE",
    "REFUND_ONE",
    "REGISTER_METER",
    "SETTLE_ONE",
    "SET_TRADER",
    "WITHDRAW",
    "BatchFigure",
    "GasReport",
    "MatchFigure",
    "gas_tables",
    "measure_gas",
    "run_gas_report",
    "run_gas_report_on_qtum",
]

SLOT_LENGTH = 900
GRACE_PERIOD = 3_600
PRICE_PER_KWH = 25_000_000  # 0.25 NRG
WH_PER_TRADE = 500
#: Token base units each trading account gets in its balance: far more than it spends.
BALANCE = 10**6 * 10**8
#: Gas worth of native coin (QTUM on Qtum) given to each account that sends transactions.
_GAS_PER_SENDER = 5_000_000
#: Gas limit of a small set-up transaction sent in bulk (setTrader).
_SMALL_GAS = 150_000
#: Transactions per bulk send: qtumd v27.1 refused every sendtocontract after the 501st of one round
#: ("map::at"; seen on regtest with one transaction per sender), so bulk set-up goes in smaller phases.
_BULK = 250


class GasRunError(P2PEnergyError):
    """A set-up transaction of the gas run failed."""


@dataclass(frozen=True)
class EscrowLimits:
    """The per-call limits the deployed contracts declare (the run reads them rather than trusting a copy)."""

    match: CallLimits
    lots_per_call: int
    trades_per_call: int
    trades_per_lot: int

    @classmethod
    def of(cls, market: Market, max_calldata: int | None) -> EscrowLimits:
        view = market.view
        return cls(
            CallLimits.of(market, max_calldata),
            int(view("EnergyEscrow", "MAX_LOTS_PER_CALL")),
            int(view("EnergyEscrow", "MAX_TRADES_PER_CALL")),
            int(view("EnergyEscrow", "MAX_TRADES_PER_LOT")),
        )


@dataclass(frozen=True)
class _Lot:
    """A lot of slot A to settle or refund: its meter and its trades (in match order)."""

    meter_id: int
    trades: list[Trade]


@dataclass
class _GasRun:
    """One measurement run: measured transactions go through `measure`, bulk set-up through `send_all`."""

    market: Market
    admin: Account
    limits: EscrowLimits
    trades_per_lot: int
    progress: Callable[[str], None]
    sellers: list[Account] = field(default_factory=list)
    buyers: list[Account] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    per_item: dict[str, int] = field(default_factory=dict)

    @property
    def chain(self) -> ChainBackend:
        return self.market.chain

    def measure(self, label: str | None, sender: Account, contract: str, function: str, *args: Any) -> int:
        """One transaction (its gas recorded under `label`, if any); its gas used. Raises CallReverted."""
        gas = self.market.transact(sender, contract, function, *args).gas_used
        if label is not None:
            self.operations[label] = gas
        return gas

    def send_all(self, calls: Sequence[tuple[Account, str, str, tuple[Any, ...]]]) -> None:
        """Small (sender, contract, function, args) set-up calls at once."""
        market = self.market
        every = [Call(f, s, market.address(c), market.codec.encode(f, *args), _SMALL_GAS) for s, c, f, args in calls]
        outcomes = [o for start in range(0, len(every), _BULK) for o in self.chain.send(every[start : start + _BULK])]
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise GasRunError(f"{len(failed)} set-up transactions of the gas run failed: {failed[0].error}")

    def seller(self, meter_id: int) -> Account:
        """The owner of meter `meter_id`: consecutive meters have different owners."""
        return self.sellers[(meter_id - 1) % len(self.sellers)]

    def view(self, contract: str, function: str, *args: Any) -> int:
        return int(self.market.view(contract, function, *args))


def meter_key(meter_id: int) -> MeterKey:
    return MeterKey(keccak(text=f"p2p-energy gas meter {meter_id}"))


def _key(label: str) -> bytes:
    return keccak(text=f"p2p-energy gas {label}")


def measure_gas(
    chain: ChainBackend,
    compiled: CompilationResult,
    admin: Account,
    trades_per_lot: int = 4,
    progress: Callable[[str], None] = lambda _: None,
    max_calldata: int | None = None,
) -> GasReport:
    """Run the measurement on a fresh chain whose time `chain` can move; see the module docstring.
    `max_calldata`: where the chain bounds a transaction's size, the most bytes of calldata of one call."""
    deployed = deploy_market(
        chain, compiled, admin, genesis=chain.latest_block().timestamp, slot_length=SLOT_LENGTH,
        grace_period=GRACE_PERIOD,
    )  # fmt: skip
    market = Market(chain, market_codec(compiled), MarketAddresses.of({n: d.address for n, d in deployed.items()}))
    limits = EscrowLimits.of(market, max_calldata)
    if not 1 <= trades_per_lot <= limits.trades_per_lot:
        raise UsageError(
            f"trades per lot must be between 1 and {limits.trades_per_lot} (the escrow's lot limit), "
            f"got {trades_per_lot}"
        )
    run = _GasRun(market, admin, limits, trades_per_lot, progress)
    # As many sellers as a settlement call has lots (each lot its own seller), as many buyers as a call has bids.
    run.sellers = [chain.account(_key(f"seller {i}")) for i in range(limits.lots_per_call)]
    run.buyers = [chain.account(_key(f"buyer {i}")) for i in range(limits.match.bids)]
    run.operations.update({f"deploy {name}": d.gas_used for name, d in deployed.items()})
    largest, bound = largest_batch(trades_per_lot, limits.lots_per_call, limits.trades_per_call, max_calldata)
    plan = _SlotPlan.of(run, largest)
    progress("funding accounts")
    _fund(run)
    progress(f"registering {plan.meters} meters")
    _register(run, plan.meters)
    progress("matching")
    slot = run.view("EnergyEscrow", "currentSlot") + 2
    _match_slot_a(run, plan, slot)
    matches = _match_shapes(run, slot + 1)
    progress("settling")
    chain.advance_to(run.view("EnergyEscrow", "slotEnd", slot))
    batches = [_settle(run, lots, slot, short=False) for lots in plan.batches]
    run.operations[SETTLE_ONE] = batches[0].gas
    short = _settle(run, plan.short, slot, short=True)
    progress("refunding and withdrawing")
    chain.advance_to(run.view("EnergyEscrow", "slotEnd", slot) + GRACE_PERIOD)
    refunds = [_refund(run, lots, slot) for lots in plan.refunds]
    run.operations[REFUND_ONE] = refunds[0].gas
    seller = run.sellers[0]
    run.measure(WITHDRAW, seller, "EnergyEscrow", "withdraw", run.view("EnergyEscrow", "balanceOf", seller.address))
    return GasReport(
        compiled.settings.evm_version, trades_per_lot, run.operations, run.per_item, matches, batches, short,
        refunds, bound, chain.block_gas_limit,
    )  # fmt: skip


@dataclass(frozen=True)
class _SlotPlan:
    """Slot A's lots: the settlement batches, the short-delivery batch and the refunds, each lot its own meter."""

    batches: list[list[_Lot]]
    short: list[_Lot]
    refunds: list[list[_Lot]]
    meters: int

    @classmethod
    def of(cls, run: _GasRun, largest: int) -> _SlotPlan:
        sizes = [*sorted({*(size for size in BATCH_SIZES if size < largest), largest})]
        sizes += [min(SHORT_BATCH_LOTS, largest), 1, min(REFUND_BATCH_LOTS, largest)]
        groups: list[list[_Lot]] = []
        meter, trade = 1, 0
        for size in sizes:
            group = []
            for _ in range(size):
                buyers = [run.buyers[(trade + j) % len(run.buyers)] for j in range(run.trades_per_lot)]
                trade += run.trades_per_lot
                seller = run.seller(meter)
                group.append(_Lot(meter, [Trade(meter, seller, b, WH_PER_TRADE, PRICE_PER_KWH) for b in buyers]))
                meter += 1
            groups.append(group)
        shapes = 1 + 2 * SHAPE_ORDERS + 1 + CITY_SLOT_ASKS
        meters = max(meter - 1, shapes, 1 + METERS_PER_CALL)
        return cls(groups[:-3], groups[-3], groups[-2:], meters)


def _fund(run: _GasRun) -> None:
    """Native coin for every account that sends; the trading balances (depositFor); deposit, setTrader."""
    chain, admin = run.chain, run.admin
    depositor = chain.account(_key("depositor"))
    senders = [depositor, run.sellers[0], *(a for a in run.sellers + run.buyers if needs_trader(a))]
    funded = chain.fund(admin, {a.address: chain.gas_price * _GAS_PER_SENDER for a in senders})
    if not all(o.ok for o in funded):
        raise GasRunError(f"funding the gas run's accounts failed: {next(o for o in funded if not o.ok).error}")
    traders = run.sellers + run.buyers
    escrow = run.market.addresses.escrow
    run.measure(None, admin, "EnergyToken", "mint", admin.address, BALANCE * (len(traders) + 1))
    run.measure(ERC20_TRANSFER_REFERENCE, admin, "EnergyToken", "transfer", depositor.address, BALANCE)
    run.measure(None, admin, "EnergyToken", "approve", escrow, 2**256 - 1)
    for start in range(0, len(traders), DEPOSITS_PER_CALL):
        chunk = [a.address for a in traders[start : start + DEPOSITS_PER_CALL]]
        label = DEPOSIT_FOR if start == 0 and len(chunk) == DEPOSITS_PER_CALL else None
        gas = run.measure(label, admin, "EnergyEscrow", "depositFor", chunk, [BALANCE] * len(chunk))
        if label is not None:
            run.per_item[PER_DEPOSIT] = gas // len(chunk)
    run.measure(None, depositor, "EnergyToken", "approve", escrow, BALANCE)
    run.measure(DEPOSIT, depositor, "EnergyEscrow", "deposit", BALANCE)
    run.measure(SET_TRADER, depositor, "EnergyEscrow", "setTrader", trader_of(depositor))
    named = [(a, "EnergyEscrow", "setTrader", (trader_of(a),)) for a in traders if needs_trader(a)]
    if named:
        run.progress(f"naming the order keys of {len(named)} accounts (setTrader)")
        run.send_all(named)


def _register(run: _GasRun, count: int) -> None:
    """Meters 1..count: the first alone (registerMeter), the rest in calls of METERS_PER_CALL."""

    def row(meter: int) -> tuple[int, str, str]:
        return meter, run.seller(meter).address, meter_key(meter).address

    run.measure(REGISTER_METER, run.admin, "MeterRegistry", "registerMeter", *row(1))
    for start in range(2, count + 1, METERS_PER_CALL):
        rows = [row(m) for m in range(start, min(start + METERS_PER_CALL, count + 1))]
        label = REGISTER_METERS if start == 2 and len(rows) == METERS_PER_CALL else None
        ids, owners, signers = (list(column) for column in zip(*rows, strict=True))
        gas = run.measure(label, run.admin, "MeterRegistry", "registerMeters", ids, owners, signers)
        if label is not None:
            run.per_item[PER_METER] = gas // len(rows)


def _domain(run: _GasRun) -> Eip712Domain:
    return order_domain(run.chain.chain_id, run.market.addresses.escrow)


def _match_slot_a(run: _GasRun, plan: _SlotPlan, slot: int) -> None:
    """Every lot of slot A, matched in calls as large as the escrow takes (not measured)."""
    lots = [lot for group in [*plan.batches, plan.short, *plan.refunds] for lot in group]
    match = SlotMatch(_domain(run), slot, [t for lot in lots for t in lot.trades])
    for args in match.calls(run.limits.match):
        run.measure(None, run.admin, "EnergyEscrow", "matchOrders", *args)


def _match_shapes(run: _GasRun, slot: int) -> list[MatchFigure]:
    """The four shapes and the city-day slot, each one matchOrders call of slot `slot` (fresh lots)."""
    k = SHAPE_ORDERS
    meters = iter(range(1, 10_000))
    buyers = iter(run.buyers)

    def trade(meter: int, buyer: Account) -> Trade:
        return Trade(meter, run.seller(meter), buyer, WH_PER_TRADE, PRICE_PER_KWH)

    one_ask = next(meters)
    shapes = {"1 ask, 1 bid, 1 fill": [trade(one_ask, next(buyers))]}
    buyer = next(buyers)
    shapes[f"{k} asks, 1 bid"] = [trade(next(meters), buyer) for _ in range(k)]
    meter = next(meters)
    shapes[f"1 ask, {k} bids"] = [trade(meter, next(buyers)) for _ in range(k)]
    grid_meters, grid_buyers = [next(meters) for _ in range(k)], [next(buyers) for _ in range(k)]
    shapes[f"{k} asks x {k} bids"] = [trade(m, b) for m in grid_meters for b in grid_buyers]
    city_meters = [next(meters) for _ in range(CITY_SLOT_ASKS)]
    city_buyers = [next(buyers) for _ in range(CITY_SLOT_BIDS)]
    shapes[CITY_SLOT] = [
        trade(city_meters[i // CITY_SLOT_TRADES_PER_ASK], city_buyers[i % CITY_SLOT_BIDS])
        for i in range(CITY_SLOT_FILLS)
    ]
    figures = []
    for name, trades in shapes.items():
        calls = SlotMatch(_domain(run), slot, trades).calls(run.limits.match)
        gas = sum(run.measure(None, run.admin, "EnergyEscrow", "matchOrders", *args) for args in calls)
        asks, bids = len({t.meter_id for t in trades}), len({t.buyer.address for t in trades})
        figures.append(MatchFigure(name, asks, bids, len(trades), gas, len(calls)))
    if any(f.calls > 1 for f in figures[:4]):
        raise GasRunError("the four shapes each fit one call on any chain: the limits read are wrong")
    run.operations[MATCH_ONE] = figures[0].gas
    if figures[-1].calls == 1:
        run.operations[MATCH_CITY_SLOT] = figures[-1].gas
    costs = MatchCosts.solve(figures[:4])
    run.per_item.update({PER_ASK: costs.per_ask, PER_BID: costs.per_bid, PER_FILL: costs.per_fill})
    run.per_item[PER_CALL] = costs.base
    return figures


def _settle(run: _GasRun, lots: list[_Lot], slot: int, *, short: bool) -> BatchFigure:
    """One settleLots call of `lots`, each with its meter's signed reading: all sold delivered, or half."""
    domain = reading_domain(run.chain.chain_id, run.market.addresses.registry)
    proofs = []
    for lot in lots:
        sold = sum(t.wh for t in lot.trades)
        reading = Reading(lot.meter_id, slot, sold // 2 if short else sold)
        proofs.append(lot_proof(meter_key(lot.meter_id), domain, reading, _lot_trades(lot)))
    gas = run.measure(None, run.admin, "EnergyEscrow", "settleLots", proofs)
    return BatchFigure(len(lots), sum(len(lot.trades) for lot in lots), gas)


def _refund(run: _GasRun, lots: list[_Lot], slot: int) -> BatchFigure:
    gas = run.measure(
        None,
        run.admin,
        "EnergyEscrow",
        "refundLots",
        [lot_trades(lot.meter_id, slot, _lot_trades(lot)) for lot in lots],
    )
    return BatchFigure(len(lots), sum(len(lot.trades) for lot in lots), gas)


def _lot_trades(lot: _Lot) -> list[LotTrade]:
    return [LotTrade(t.buyer.address, t.wh, trade_cost(t.wh, t.price_per_kwh)) for t in lot.trades]


def run_gas_report(anvil_path: Path, compiled: CompilationResult, trades_per_lot: int = 4, **kwargs: Any) -> GasReport:
    """Measure on a fresh anvil with the hardfork of `compiled`'s EVM target."""
    options = ChainOptions(evm_version=compiled.settings.evm_version, accounts=1)
    with LocalChain(anvil_path, options) as local:
        chain = local.backend(market_codec(compiled))
        try:
            admin = Account.from_hex(local.accounts[0].private_key)
            return measure_gas(chain, compiled, admin, trades_per_lot, **kwargs)
        finally:
            chain.close()


def run_gas_report_on_qtum(
    qtumd: Path, compiled: CompilationResult, trades_per_lot: int = 4, **kwargs: Any
) -> GasReport:
    """Measure on a fresh qtumd regtest node: the same operations, through qtumd's own contract RPC
    (every trading account names its order key with setTrader first, as Qtum needs)."""
    with QtumNode(qtumd) as node:
        chain = node.backend(market_codec(compiled))
        admin = chain.wallet_account(node.miner)
        report = measure_gas(chain, compiled, admin, trades_per_lot, max_calldata=MAX_CALLDATA_BYTES, **kwargs)
        return replace(report, chain="qtumd regtest")


# ------------------------------------------------------------------ tables


def gas_tables(report: GasReport) -> list[Table]:
    """`p2p-energy gas`'s tables: whole transactions, per item, matchOrders calls, settlement and refunds."""
    title = f"gas per operation, {report.evm_version}, {report.chain}"
    operations = Table("operation (one transaction)", "gas", title=title)
    for operation, gas in report.operations.items():
        operations.add_row(operation, f"{gas:,}")
    per_item = Table("batch call", "gas per item", title="gas per item of a batch call")
    for item, gas in report.per_item.items():
        per_item.add_row(item, f"{gas:,}")
    matches = Table("matchOrders", "asks", "bids", "fills", "calls", "gas", "gas per fill", title="matching")
    for m in report.matches:
        shape = (str(m.asks), str(m.bids), str(m.fills), str(m.calls))
        matches.add_row(m.name, *shape, f"{m.gas:,}", f"{m.gas_per_fill:,}")
    tpl = report.trades_per_lot
    closing = Table(
        "call", "lots", "trades", "gas", "gas per trade",
        title=f"settlement and refunds, {tpl} trade{'s' if tpl > 1 else ''} per lot",
    )  # fmt: skip
    rows = [("settleLots", b) for b in report.batches]
    if report.short_delivery is not None:
        rows.append(("settleLots, every lot delivered half", report.short_delivery))
    rows += [("refundLots", b) for b in report.refunds]
    for name, b in rows:
        largest = f" (the largest call: {report.largest_batch_bound})" if b is report.largest_batch else ""
        closing.add_row(name + largest, str(b.lots), str(b.trades), f"{b.gas:,}", f"{b.gas_per_trade:,}")
    return [operations, per_item, matches, closing]
