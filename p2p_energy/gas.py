"""Gas per operation of the market contracts, measured on a real local anvil.

One run deploys the market, registers meters, posts one offer per meter for
slot 1, has buyers take each offer in `trades_per_lot` parts, records the
meters' signed readings, then settles single lots, batches of 1, 10 and
100 lots (those below the largest) and the largest batch one call may
settle (set by the escrow's per-call bounds on lots and trades), refunds a
lot whose meter sent no reading, and withdraws. Every figure is the
`gasUsed` of a real receipt (after refunds), so a change that costs gas
shows up here.

"Gas per settled trade" divides a settlement call's gas by the trades it
closed. Settling a slot also needs the meter's reading of that slot (the
previous slot's reading is already on chain in steady state), so the report
also gives the figure with one batched reading per lot added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from p2p_energy.chain.abi import EventData
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call, ChainBackend
from p2p_energy.chain.market import Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.chain.qtumd import QtumNode
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.limits import MAX_LOTS_PER_CALL, MAX_TAKES_PER_CALL, MAX_TRADES_PER_CALL, MAX_TRADES_PER_LOT
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.units import SATOSHI_PER_QTUM

SLOT_LENGTH = 900
GRACE_PERIOD = 3_600
PRICE_PER_KWH = 25_000_000  # 0.25 NRG
WH_PER_TRADE = 1_000
BATCH_SIZES = (1, 10, 100)
_SELLERS = 3
_BUYERS = 8
#: Readings per batched submitReadings: a steady-state batch size, half the registry's MAX_READINGS_PER_CALL,
#: so that the per-reading figure matches what a run's batches (scenario readings_per_tx, at most 100) pay.
_READINGS_PER_CALL = 100
_TAKES_PER_CALL = MAX_TAKES_PER_CALL
#: The meter whose lot is settled alone (settleLot), and the one whose lot is refunded.
_SETTLE_SINGLE = 1
#: QTUM for fees given to each account of the gas run on Qtum (every transaction locks gas limit x price).
_QTUM_PER_ACCOUNT = 1_000
_REFUND_METER = 2
#: Gas limit of a bulk set-up transaction (meter registration, offer): a few times its cost.
_SETUP_GAS = 300_000
#: A plain ERC20 transfer transaction, the yardstick for "cheap".
ERC20_TRANSFER_REFERENCE = "token transfer (ERC20)"
TAKE_ONE = "take 1 offer"
TAKE_TEN = "take 10 offers"
SETTLE_ONE = "settle 1 lot (settleLot)"
REFUND_ONE = "refund 1 lot (refundLot)"
WITHDRAW = "withdraw"


@dataclass(frozen=True)
class BatchFigure:
    """One settlement call: how many lots and trades it closed and what it cost."""

    lots: int
    trades: int
    gas: int
    reading_gas_per_lot: int

    @property
    def gas_per_trade(self) -> int:
        return self.gas // self.trades

    @property
    def gas_per_trade_with_readings(self) -> int:
        return (self.gas + self.lots * self.reading_gas_per_lot) // self.trades


@dataclass(frozen=True)
class GasReport:
    evm_version: str
    trades_per_lot: int
    operations: dict[str, int] = field(default_factory=dict)
    batches: list[BatchFigure] = field(default_factory=list)
    #: Why the last (largest) batch is not larger: the escrow's per-call bound that stopped it.
    largest_batch_bound: str = ""
    block_gas_limit: int = 0

    @property
    def largest_batch(self) -> BatchFigure:
        return self.batches[-1]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["batches"] = [
            {
                **asdict(b),
                "gas_per_trade": b.gas_per_trade,
                "gas_per_trade_with_readings": b.gas_per_trade_with_readings,
            }
            for b in self.batches
        ]
        return data


def _meter_key(meter_id: int) -> MeterKey:
    return MeterKey(keccak(text=f"p2p-energy gas meter {meter_id}"))


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class _GasRun:
    """One measurement run: measured transactions go through `send`, bulk set-up through `send_all`."""

    market: Market
    admin: Account
    sellers: list[Account]
    buyers: list[Account]
    trades_per_lot: int
    operations: dict[str, int] = field(default_factory=dict)

    @property
    def chain(self) -> ChainBackend:
        return self.market.chain

    def send(self, label: str | None, sender: Account, contract: str, function: str, *args: Any) -> int:
        """One measured transaction (recorded under `label` the first time); its gas used."""
        gas = self.market.transact(sender, contract, function, *args).gas_used
        if label is not None and label not in self.operations:
            self.operations[label] = gas
        return gas

    def send_all(self, calls: Sequence[tuple[Account, str, str, tuple[Any, ...]]]) -> list[EventData]:
        """(sender, contract, function, args) calls at once; their events."""
        market = self.market
        outcomes = self.chain.send(
            [Call(f, s, market.address(c), market.codec.encode(f, *args), _SETUP_GAS) for s, c, f, args in calls]
        )
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise P2PEnergyError(f"{len(failed)} set-up transactions of the gas run failed: {failed[0].error}")
        return [e for o in outcomes for e in map(market.codec.decode_log, o.logs) if e is not None]


def measure_gas(
    chain: ChainBackend,
    compiled: CompilationResult,
    accounts: Sequence[Account],
    trades_per_lot: int = 4,
    progress: Callable[[str], None] = lambda _: None,
) -> GasReport:
    """Run the measurement on a fresh chain whose time `chain` can move; see the module docstring."""
    if not 1 <= trades_per_lot <= MAX_TRADES_PER_LOT:
        raise UsageError(
            f"trades per lot must be between 1 and {MAX_TRADES_PER_LOT} (the escrow's lot limit), got {trades_per_lot}"
        )
    if len(accounts) < 1 + _SELLERS + _BUYERS:
        raise UsageError(f"the gas run needs {1 + _SELLERS + _BUYERS} funded accounts")
    admin = accounts[0]
    deployed = deploy_market(
        chain,
        compiled,
        admin,
        genesis=chain.latest_block().timestamp,
        slot_length=SLOT_LENGTH,
        grace_period=GRACE_PERIOD,
    )
    market = Market(chain, market_codec(compiled), MarketAddresses.of({n: d.address for n, d in deployed.items()}))
    run = _GasRun(
        market,
        admin,
        list(accounts[1 : 1 + _SELLERS]),
        list(accounts[1 + _SELLERS : 1 + _SELLERS + _BUYERS]),
        trades_per_lot,
    )
    run.operations.update({f"deploy {name}": d.gas_used for name, d in deployed.items()})
    progress("funding buyers")
    _fund_buyers(run)
    largest, bound = _largest_batch(trades_per_lot)
    meter_ids, batch_meters = _meters(largest)
    progress(f"registering {len(meter_ids)} meters")
    _register(run, meter_ids)
    progress("posting and taking offers")
    _trade(run, meter_ids)
    progress("recording readings")
    reading_gas_per_lot = _readings(run, meter_ids)
    progress("settling")
    run.send(SETTLE_ONE, admin, "EnergyEscrow", "settleLot", _SETTLE_SINGLE, 1)
    batches = []
    for meters in batch_meters:
        gas = run.send(
            f"settle batch of {len(meters)} lots", admin, "EnergyEscrow", "settleLots", [(m, 1) for m in meters]
        )
        batches.append(BatchFigure(len(meters), len(meters) * trades_per_lot, gas, reading_gas_per_lot))
    progress("refunding and withdrawing")
    chain.advance_to(int(market.view("MeterRegistry", "slotEnd", 1)) + GRACE_PERIOD)
    run.send(REFUND_ONE, admin, "EnergyEscrow", "refundLot", _REFUND_METER, 1)
    run.send(WITHDRAW, run.sellers[0], "EnergyEscrow", "withdraw")
    # A batch over the block gas limit would have failed to send above: the bound is the escrow's.
    return GasReport(
        compiled.settings.evm_version, trades_per_lot, run.operations, batches, bound, chain.block_gas_limit
    )


def _fund_buyers(run: _GasRun) -> None:
    funds = 10**6 * 10**8
    run.send(None, run.admin, "EnergyToken", "mint", run.admin.address, funds)
    run.send(ERC20_TRANSFER_REFERENCE, run.admin, "EnergyToken", "transfer", run.buyers[0].address, 10**8)
    for buyer in run.buyers:
        run.send(None, run.admin, "EnergyToken", "mint", buyer.address, funds)
        run.send(None, buyer, "EnergyToken", "approve", run.market.addresses.escrow, 2**256 - 1)


def _meters(largest: int) -> tuple[list[int], list[list[int]]]:
    """Meter ids: one settled alone, one refunded, then one per settled lot of each batch."""
    batch_meters: list[list[int]] = []
    next_id = _REFUND_METER + 1
    for size in sorted({*(size for size in BATCH_SIZES if size < largest), largest}):
        batch_meters.append(list(range(next_id, next_id + size)))
        next_id += size
    return list(range(1, next_id)), batch_meters


def _owner(run: _GasRun, meter: int) -> Account:
    return run.sellers[meter % _SELLERS]


def _register(run: _GasRun, meter_ids: list[int]) -> None:
    args = {m: (m, _owner(run, m).address, _meter_key(m).address) for m in meter_ids}
    run.send("register meter", run.admin, "MeterRegistry", "registerMeter", *args[meter_ids[0]])
    run.send_all([(run.admin, "MeterRegistry", "registerMeter", args[m]) for m in meter_ids[1:]])


def _trade(run: _GasRun, meter_ids: list[int]) -> None:
    first = meter_ids[0]
    offer_args = {m: (m, 1, run.trades_per_lot * WH_PER_TRADE, PRICE_PER_KWH) for m in meter_ids}
    offer_of = {first: int(run.market.view("EnergyEscrow", "nextOfferId"))}
    run.send("post offer", _owner(run, first), "EnergyEscrow", "postOffer", *offer_args[first])
    posted = run.send_all([(_owner(run, m), "EnergyEscrow", "postOffer", offer_args[m]) for m in meter_ids[1:]])
    offer_of.update({e.args["meterId"]: e.args["offerId"] for e in posted if e.name == "OfferPosted"})
    # A first part of every offer (so that "10 offers" are 10 different ones), then the other parts.
    parts = [(offer_of[m], WH_PER_TRADE) for m in meter_ids]
    parts += [(offer_of[m], WH_PER_TRADE) for m in meter_ids for _ in range(run.trades_per_lot - 1)]
    run.send(TAKE_ONE, run.buyers[0], "EnergyEscrow", "takeOffers", [parts[0]])
    run.send(TAKE_TEN, run.buyers[1], "EnergyEscrow", "takeOffers", parts[1:11])
    for index, chunk in enumerate(_chunks(parts[11:], _TAKES_PER_CALL)):
        run.send(None, run.buyers[(index + 2) % _BUYERS], "EnergyEscrow", "takeOffers", list(chunk))


def _readings(run: _GasRun, meter_ids: list[int]) -> int:
    """Submit the readings of slots 0 and 1 (every meter but the refunded one); gas per batched reading."""
    market = run.market
    run.chain.advance_to(int(market.view("MeterRegistry", "slotEnd", 1)))
    domain = ReadingDomain(run.chain.chain_id, market.addresses.registry)
    exported = run.trades_per_lot * WH_PER_TRADE  # every meter delivers what it sold
    readings = [
        (Reading(m, slot, 0, 10_000 + (exported if slot == 1 else 0)), m)
        for m in meter_ids
        if m != _REFUND_METER
        for slot in (0, 1)
    ]
    reading, meter = readings[0]
    signature = _meter_key(meter).sign(domain, reading)
    run.send("submit 1 reading", run.admin, "MeterRegistry", "submitReading", reading.as_tuple(), signature)
    gas_per_reading = 0
    for chunk in _chunks(readings[1:], _READINGS_PER_CALL):
        tuples, signatures = [r.as_tuple() for r, _ in chunk], [_meter_key(m).sign(domain, r) for r, m in chunk]
        gas = run.send(None, run.admin, "MeterRegistry", "submitReadings", tuples, signatures)
        if len(chunk) == _READINGS_PER_CALL:
            gas_per_reading = gas // len(chunk)
            run.operations[f"submit {_READINGS_PER_CALL} readings, per reading"] = gas_per_reading
    return gas_per_reading


def _largest_batch(trades_per_lot: int) -> tuple[int, str]:
    """Lots in the largest settleLots call the escrow accepts, and the bound that sets it."""
    if MAX_LOTS_PER_CALL * trades_per_lot <= MAX_TRADES_PER_CALL:
        return MAX_LOTS_PER_CALL, f"{MAX_LOTS_PER_CALL} lots per call"
    return MAX_TRADES_PER_CALL // trades_per_lot, f"{MAX_TRADES_PER_CALL} trades per call"


def run_gas_report(anvil_path: Path, compiled: CompilationResult, trades_per_lot: int = 4, **kwargs: Any) -> GasReport:
    """Measure on a fresh anvil with the hardfork of `compiled`'s EVM target."""
    options = ChainOptions(evm_version=compiled.settings.evm_version, accounts=1 + _SELLERS + _BUYERS)
    with LocalChain(anvil_path, options) as local:
        chain = local.backend(market_codec(compiled))
        accounts = [Account.from_hex(a.private_key) for a in local.accounts]
        return measure_gas(chain, compiled, accounts, trades_per_lot, **kwargs)


def run_gas_report_on_qtum(
    qtumd: Path, compiled: CompilationResult, trades_per_lot: int = 4, **kwargs: Any
) -> GasReport:
    """Measure on a fresh qtumd regtest node: the same operations, through qtumd's own contract RPC."""
    with QtumNode(qtumd) as node:
        chain = node.backend(market_codec(compiled))
        admin = chain.wallet_account(node.miner)
        others = [chain.account(keccak(text=f"p2p-energy gas account {i}")) for i in range(_SELLERS + _BUYERS)]
        funded = chain.fund(admin, {a.address: _QTUM_PER_ACCOUNT * SATOSHI_PER_QTUM for a in others})
        if not all(o.ok for o in funded):
            raise P2PEnergyError(f"funding the gas run's accounts failed: {funded[0].error}")
        return measure_gas(chain, compiled, [admin, *others], trades_per_lot, **kwargs)
