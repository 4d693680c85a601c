"""Gas per operation of the escrow v3 market, measured on a real local anvil (or a qtumd regtest node).

One run deploys the market and sends every operation of its interface;
every figure is the `gasUsed` of a real receipt (after refunds):

- whole transactions: a plain ERC20 transfer (the yardstick), `deposit`,
  `depositFor` of 200 accounts, `registerMeter` (the escrow's first meter,
  which adds the market, and another), `registerMeters` of 200 meters,
  `setTrader`, `cancelOrders`, `withdraw`, and `payOut` of 200 accounts;
- `matchOrders` (every call built with :mod:`p2p_energy.wire`; the shapes
  are :mod:`p2p_energy.gas_shapes`): an empty call, orders only (k bids;
  k asks), and matching shapes chosen so that their gas solves for the cost
  of each item a call carries (base, loaded account, named account, slot,
  lot, fill, extra group, bid, ask: :func:`~p2p_energy.gas_figures.solve_items`),
  plus a busy city-day hour (4 slots x 300 lots x 3 fills) cut into calls
  by :class:`~p2p_energy.wire.cutting.MatchCutter`;
- `closeLots`: shapes that solve for its items (base, loaded account, named
  account, reading, reading slot, group, lot, trade), the busy hour closed
  as :func:`~p2p_energy.wire.cutting.cut_closes` cuts it, and typical lots
  (1, 10, 100 lots of `trades_per_lot` trades) delivered in full, every lot
  short (each buyer credited a part back), and refunded after the grace
  period: gas per settled trade.

Every matchOrders and closeLots call is sent with the gas model of
:mod:`p2p_energy.wire.cutting` as its gas limit (`call_gas`: how the runner
sends it, and the cutter's bound) and checked against its receipt: the run
raises :class:`~p2p_energy.gas_figures.GasModelError` (which carries the
report) when a call used more than the model, or ran out of gas with it
(a call that clears storage needs the gas refunded at its end while it
runs). Each lot has its own seller and every account a balance (funded by
`depositFor`) before it trades. `quick` runs the same shapes, smaller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils.crypto import keccak

from p2p_energy.chain.abi import EventData as Event
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import Call, ChainBackend, Outcome
from p2p_energy.chain.backends import NodePrograms, backend_kind
from p2p_energy.chain.market import Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.gas_figures import (
    CANCEL_ORDERS,
    DEPOSIT,
    DEPOSIT_FOR,
    ERC20_TRANSFER_REFERENCE,
    NAME_OWN_KEYS,
    PAY_OUT,
    PER_DEPOSIT,
    PER_METER,
    PER_OWN_KEY,
    PER_PAYOUT,
    REGISTER_FIRST_METER,
    REGISTER_METER,
    REGISTER_METERS,
    SET_TRADER,
    WITHDRAW,
    CallFigure,
    GasModelError,
    GasReport,
    SettlementFigure,
    gas_tables,
)
from p2p_energy.gas_shapes import CloseShape, GasPlan, Shapes, group_closes, readings_for
from p2p_energy.limits import MAX_DEPOSITS_PER_CALL, MAX_KEYS_PER_CALL, MAX_METERS_PER_CALL, MAX_TRADES_PER_LOT
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.wire.cutting import LotAction, MatchCutter, close_call, cut_closes
from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.orders import Bid, order_domain, own_key_calldata
from p2p_energy.wire.readings import MeterKey, reading_domain
from p2p_energy.wire.records import CloseCall, GroupClose, Lot, MatchCall

__all__ = [
    "DEPOSIT",
    "ERC20_TRANSFER_REFERENCE",
    "GasModelError",
    "GasReport",
    "gas_tables",
    "measure_gas",
    "run_gas_report",
]

SLOT_LENGTH = 900
#: A day: every shape's lots, matched first, are settled together after the last one's slot ends.
GRACE_PERIOD = 86_400
#: Token base units each account gets in its balance: far more than it spends.
BALANCE = 10**6 * 10**8
#: Gas worth of native coin (QTUM on Qtum) given to each account that sends transactions.
_GAS_PER_SENDER = 5_000_000
#: Gas limit of a small set-up transaction sent in bulk (setTrader).
_SMALL_GAS = 150_000
#: Transactions per bulk send: qtumd v27.1 refused every sendtocontract after the 501st of one round
#: ("map::at"; seen on regtest with one transaction per sender), so bulk set-up goes in smaller phases.
_BULK = 250


class GasRunError(P2PEnergyError):
    """A transaction of the gas run failed, or a call did not do what its shape says."""


def meter_key(meter_id: int) -> MeterKey:
    return MeterKey(keccak(text=f"p2p-energy gas meter {meter_id}"))


def _key(label: str) -> bytes:
    return keccak(text=f"p2p-energy gas {label}")


def needs_trader(account: Account) -> bool:
    """True where `ecrecover` of the account's key is not the account's address (Qtum): it names the key."""
    assert account.private_key is not None
    return key_address(account.private_key).lower() != account.address.lower()


@dataclass(frozen=True)
class _Matched:
    """A shape's lots as matched: its groups, and the gas and number of its matchOrders calls."""

    groups: list[GroupClose]
    gas: int
    calls: int


@dataclass
class _GasRun:
    """One measurement run: whole transactions through `measure`, batch calls through `batch`."""

    market: Market
    admin: Account
    progress: Callable[[str], None]
    operations: dict[str, int] = field(default_factory=dict)
    per_item: dict[str, int] = field(default_factory=dict)
    calls: list[CallFigure] = field(default_factory=list)

    @property
    def chain(self) -> ChainBackend:
        return self.market.chain

    @property
    def escrow(self) -> str:
        return self.market.addresses.escrow

    def view(self, contract: str, function: str, *args: Any) -> int:
        return int(self.market.view(contract, function, *args))

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
        _require_ok(outcomes, "set-up")

    def batch(self, name: str, call: MatchCall | CloseCall, expected: dict[str, int]) -> tuple[int, list[Event]]:
        """Send one matchOrders or closeLots call as the matcher and record its figure; its gas and its events.

        Its gas limit is the model's value, as the runner sends it. Where that is not enough (the call runs out
        of gas: the model is below what the call uses, or below what it needs before its refunds), the call is
        sent again with the node's estimate, so that the receipt still tells what it uses, and its figure says
        so. Raises GasRunError unless the call emitted exactly `expected` of those events and skipped nothing
        (the shape is then what its name says)."""
        function = "matchOrders" if isinstance(call, MatchCall) else "closeLots"
        data = call.calldata
        figure = CallFigure.of(name, call, 0)
        outcome = self.chain.send([Call(function, self.admin, self.escrow, data, figure.model)])[0]
        if not outcome.ok:  # raises CallReverted (decoded) where the call fails whatever its gas
            gas = self.chain.estimate_gas(self.admin, self.escrow, data)
            figure = replace(figure, ran_out=True)
            outcome = self.chain.send([Call(function, self.admin, self.escrow, data, gas)])[0]
        _require_ok([outcome], f"{function} ({name})")
        events = _events(self.market, outcome)
        seen = {event: sum(1 for e in events if e.name == event) for event in expected}
        skipped = [e for e in events if e.name in _SKIPS]
        if seen != expected or skipped:
            raise GasRunError(
                f"{function} {name!r} did not do what its shape says: {seen}, expected {expected}"
                + (f"; it skipped: {skipped[0].name} {skipped[0].args}" if skipped else "")
            )
        settled = {int(e.args["lotKey"]) for e in events if e.name == "LotSettled"}
        if isinstance(call, CloseCall):
            trades = sum(len(lot.trades) for g in call.groups for lot in g.lots if lot.key in settled)
            figure = replace(figure, settled_trades=trades)
        self.calls.append(replace(figure, gas=outcome.gas_used))
        return outcome.gas_used, events


#: Events that say a call left something undone.
_SKIPS = ("OrderSkipped", "FillSkipped", "LotSkipped", "GroupSkipped")


def _require_ok(outcomes: Sequence[Outcome], what: str) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise GasRunError(f"{len(failed)} {what} transactions of the gas run failed; first: {failed[0].error}")


def _events(market: Market, outcome: Outcome) -> list[Event]:
    """The escrow's decoded events of `outcome`."""
    escrow = market.addresses.escrow.lower()
    decoded = (market.codec.decode_log(log) for log in outcome.logs)
    return [e for e in decoded if e is not None and e.address.lower() == escrow]


# ------------------------------------------------------------------ the run


def measure_gas(
    chain: ChainBackend,
    compiled: CompilationResult,
    admin: Account,
    trades_per_lot: int = 4,
    progress: Callable[[str], None] = lambda _: None,
    *,
    quick: bool = False,
) -> GasReport:
    """Run the measurement on a fresh chain whose time `chain` can move; see the module docstring.

    Raises GasModelError (with the report) when the gas model is below a receipt."""
    if not 1 <= trades_per_lot <= MAX_TRADES_PER_LOT:
        raise UsageError(
            f"trades per lot must be between 1 and {MAX_TRADES_PER_LOT} (the escrow's lot limit), got {trades_per_lot}"
        )
    deployed = deploy_market(
        chain, compiled, admin, genesis=chain.latest_block().timestamp, slot_length=SLOT_LENGTH,
        grace_period=GRACE_PERIOD,
    )  # fmt: skip
    market = Market(chain, market_codec(compiled), MarketAddresses.of({n: d.address for n, d in deployed.items()}))
    run = _GasRun(market, admin, progress)
    run.operations.update({f"deploy {name}": d.gas_used for name, d in deployed.items()})
    plan = GasPlan.quick(trades_per_lot) if quick else GasPlan.full(trades_per_lot)
    sellers = [chain.account(_key(f"seller {i}")) for i in range(plan.sellers)]
    buyers = [chain.account(_key(f"buyer {i}")) for i in range(plan.buyers)]
    depositor = chain.account(_key("depositor"))
    progress(f"funding {len(sellers) + len(buyers)} accounts")
    funded = _fund(run, sellers + buyers, depositor)
    progress(f"registering {len(sellers)} meters")
    _register(run, sellers)
    progress("placing standing orders")
    shapes = Shapes(plan, sellers, buyers, order_domain(chain.chain_id, market.addresses.escrow))
    _place_orders(run, shapes, depositor)
    progress("matching")
    shapes.first_slot = run.view("EnergyEscrow", "currentSlot") + 2
    matched = _match(run, shapes)
    progress("closing")
    end = run.view("EnergyEscrow", "slotEnd", shapes.next_slot - 1)
    chain.advance_to(end)
    settlement = [_close(run, shape, matched[shape.matched], settle=True) for shape in shapes.closes()]
    progress("refunding, cancelling, withdrawing and paying out")
    chain.advance_to(end + GRACE_PERIOD)
    settlement += [_close(run, shape, matched[shape.matched], settle=False) for shape in shapes.refunds()]
    _leave(run, depositor, funded)
    report = GasReport(
        compiled.settings.evm_version, trades_per_lot, run.operations, run.per_item,
        shapes.match_items(run.calls), shapes.close_items(run.calls), run.calls, settlement,
        chain.block_gas_limit, quick=quick,
    )  # fmt: skip
    report.check_model()
    return report


def _fund(run: _GasRun, traders: list[Account], depositor: Account) -> list[str]:
    """Native coin for every account that sends; the balances (depositFor, the first call of 200 measured);
    deposit and setTrader by `depositor`; setTrader of every trader whose key needs naming (Qtum). The accounts
    funded by depositFor, in order (at least 200: filler accounts where there are fewer traders)."""
    chain, admin, escrow = run.chain, run.admin, run.escrow
    senders = [depositor, *(a for a in traders if needs_trader(a))]
    _require_ok(chain.fund(admin, {a.address: chain.gas_price * _GAS_PER_SENDER for a in senders}), "funding")
    funded = [a.address for a in traders]
    funded += [chain.account(_key(f"payee {i}")).address for i in range(MAX_DEPOSITS_PER_CALL - len(funded))]
    run.measure(None, admin, "EnergyToken", "mint", admin.address, BALANCE * (len(funded) + 1))
    run.measure(ERC20_TRANSFER_REFERENCE, admin, "EnergyToken", "transfer", depositor.address, BALANCE)
    run.measure(None, admin, "EnergyToken", "approve", escrow, 2**256 - 1)
    for start in range(0, len(funded), MAX_DEPOSITS_PER_CALL):
        chunk = funded[start : start + MAX_DEPOSITS_PER_CALL]
        label = DEPOSIT_FOR if start == 0 else None
        gas = run.measure(label, admin, "EnergyEscrow", "depositFor", chunk, [BALANCE] * len(chunk))
        if label is not None:
            run.per_item[PER_DEPOSIT] = gas // len(chunk)
    run.measure(None, depositor, "EnergyToken", "approve", escrow, BALANCE)
    run.measure(DEPOSIT, depositor, "EnergyEscrow", "deposit", BALANCE)
    run.measure(SET_TRADER, depositor, "EnergyEscrow", "setTrader", _trader(depositor))
    named = [(a, "EnergyEscrow", "setTrader", (_trader(a),)) for a in traders if needs_trader(a)]
    if named:
        run.progress(f"naming the order keys of {len(named)} accounts (setTrader)")
        run.send_all(named)
    return funded


def _trader(account: Account) -> str:
    """The `ecrecover` address of the key that signs `account`'s orders: its own."""
    assert account.private_key is not None
    return key_address(account.private_key)


def _register(run: _GasRun, sellers: list[Account]) -> None:
    """Meter i + 1 for seller i, bound to the escrow: the first two alone (registerMeter), the next 200 in one
    measured registerMeters call, the rest in calls of 200; filler meters (owned by the operator) where there
    are fewer sellers than that."""
    escrow, admin = run.escrow, run.admin
    count = max(len(sellers), 2 + MAX_METERS_PER_CALL)

    def row(meter: int) -> tuple[int, str, str]:
        owner = sellers[meter - 1].address if meter <= len(sellers) else admin.address
        return meter, owner, meter_key(meter).address

    run.measure(REGISTER_FIRST_METER, admin, "MeterRegistry", "registerMeter", *row(1), escrow)
    run.measure(REGISTER_METER, admin, "MeterRegistry", "registerMeter", *row(2), escrow)
    for start in range(3, count + 1, MAX_METERS_PER_CALL):
        rows = [row(m) for m in range(start, min(start + MAX_METERS_PER_CALL, count + 1))]
        label = REGISTER_METERS if start == 3 else None
        ids, owners, signers = (list(column) for column in zip(*rows, strict=True))
        gas = run.measure(label, admin, "MeterRegistry", "registerMeters", ids, owners, signers, escrow)
        if label is not None:
            run.per_item[PER_METER] = gas // len(rows)


def _place_orders(run: _GasRun, shapes: Shapes, depositor: Account) -> None:
    """An empty matchOrders call, k bids alone and k asks alone (measured shapes), then every other standing
    order (the depositor's bid among them) in as few calls as the bounds allow."""
    run.batch("empty call", MatchCall((), ()), {})
    bids, asks = shapes.bids(), shapes.asks()
    k = shapes.plan.k
    run.batch(f"orders only: {k} bids", MatchCall(tuple(bids[:k]), ()), {"BidPlaced": k})
    run.batch(f"orders only: {k} asks", MatchCall(tuple(asks[:k]), ()), {"AskPlaced": k})
    rest = [*bids[k:], shapes.bid_of(depositor), *asks[k:]]
    calls = shapes.order_calls(rest)
    for number, chunk in enumerate(calls, start=1):
        placed = sum(1 for o in chunk if isinstance(o.order, Bid))
        expected = {"BidPlaced": placed, "AskPlaced": len(chunk) - placed}
        run.batch(f"set-up: standing orders, call {number} of {len(calls)}", MatchCall(tuple(chunk), ()), expected)


def _match(run: _GasRun, shapes: Shapes) -> dict[str, _Matched]:
    """Every shape's lots matched, each shape in calls of its own; its groups by shape."""
    matched = {}
    for name, lots, cut in shapes.matches():
        calls = MatchCutter({}).cut(lots) if cut else [MatchCall((), tuple(lots))]
        groups: list[GroupClose] = []
        gas = 0
        for number, call in enumerate(calls, start=1):
            label = name if len(calls) == 1 else f"{name}: call {number} of {len(calls)}"
            used, events = run.batch(label, call, {"Traded": sum(len(lot.trades) for lot in call.lots)})
            groups += group_closes(call, [{**e.args, "event": e.name} for e in events])
            gas += used
        matched[name] = _Matched(groups, gas, len(calls))
    return matched


def _close(run: _GasRun, shape: CloseShape, matched: _Matched, *, settle: bool) -> SettlementFigure:
    """Close a shape's groups as cut_closes cuts them: settled against its sellers' readings (what `shape` says
    each lot delivered), or refunded; its settlement figure."""

    def action(lot: Lot) -> LotAction:
        return LotAction(True, shape.exported(lot)) if settle else LotAction(False)

    domain = reading_domain(run.chain.chain_id, run.market.addresses.registry)
    cuts = cut_closes(matched.groups, action)
    gas = settled = 0
    for number, cut in enumerate(cuts, start=1):
        call = close_call(cut, readings_for(cut, action, meter_key, domain, shape.span))
        label = shape.name if len(cuts) == 1 else f"{shape.name}: call {number} of {len(cuts)}"
        closed = sum(len(g.lots) for g in cut.groups)
        expected = {"LotSettled": closed if settle else 0, "LotRefunded": 0 if settle else closed}
        gas += run.batch(label, call, expected)[0]
        settled += run.calls[-1].settled_trades
    lots = [lot for g in matched.groups for lot in g.lots]
    trades = sum(len(lot.trades) for lot in lots)
    return SettlementFigure(shape.name, len(lots), trades, settled, matched.gas, gas, matched.calls, len(cuts))


def _leave(run: _GasRun, depositor: Account, funded: list[str]) -> None:
    """cancelOrders and withdraw by the depositor; payOut of 200 funded accounts (each with a balance)."""
    run.measure(CANCEL_ORDERS, depositor, "EnergyEscrow", "cancelOrders", 0)
    balance = run.view("EnergyEscrow", "balanceOf", depositor.address)
    run.measure(WITHDRAW, depositor, "EnergyEscrow", "withdraw", balance)
    paid = funded[:MAX_DEPOSITS_PER_CALL]
    gas = run.measure(PAY_OUT, run.admin, "EnergyEscrow", "payOut", paid)
    run.per_item[PER_PAYOUT] = gas // len(paid)
    # The order keys of accounts that named none (Qtum households, named by the operator in one call).
    keys = own_key_calldata([_key(f"own key {i}") for i in range(MAX_KEYS_PER_CALL)])
    gas = run.measure(NAME_OWN_KEYS, run.admin, "EnergyEscrow", "nameOwnKeys", keys)
    run.per_item[PER_OWN_KEY] = gas // MAX_KEYS_PER_CALL


# ---------------------------------------------------------------- entry points


def run_gas_report(
    backend: str, programs: NodePrograms, compiled: CompilationResult, trades_per_lot: int = 4, **kwargs: Any
) -> GasReport:
    """Measure on a fresh local node of the `backend` kind (anvil with `compiled`'s EVM target; a qtumd regtest
    node, where every trading account names its order key with setTrader first, as Qtum needs)."""
    with backend_kind(backend).fresh(programs, market_codec(compiled)) as fresh:
        try:
            report = measure_gas(fresh.chain, compiled, fresh.admin, trades_per_lot, **kwargs)
        except GasModelError as failed:
            failed.report = replace(failed.report, chain=fresh.label)
            raise
        return replace(report, chain=fresh.label)
