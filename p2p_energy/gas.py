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
from typing import Any

from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.types import TxReceipt

from p2p_energy.chain.anvil import ChainOptions, LocalChain, mine_at
from p2p_energy.chain.contracts import ContractClient, Signer, deploy_market
from p2p_energy.chain.evm import AbiCodec, Call, EventData, KeyAccount, TxSender
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.solidity.compiler import CompilationResult

SLOT_LENGTH = 900
GRACE_PERIOD = 3_600
PRICE_PER_KWH = 25_000_000  # 0.25 NRG
WH_PER_TRADE = 1_000
BATCH_SIZES = (1, 10, 100)
_SELLERS = 3
_BUYERS = 8
_READINGS_PER_CALL = 100
_TAKES_PER_CALL = 100
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


@dataclass
class _Bench:
    """State of one measurement run: measured transactions go through `send`, bulk set-up through `send_all`."""

    client: ContractClient
    codec: AbiCodec
    operations: dict[str, int]
    _keys: dict[str, KeyAccount] = field(default_factory=dict)

    def send(self, label: str | None, function: Any, signer: Signer) -> TxReceipt:
        receipt = self.client.transact(function, signer)
        if label is not None and label not in self.operations:
            self.operations[label] = int(receipt["gasUsed"])
        return receipt

    def send_all(self, calls: Sequence[tuple[Signer, str, str, tuple[Any, ...]]], gas: int) -> list[EventData]:
        """(signer, contract, function, args) calls at once in JSON-RPC batches; their events."""
        sender = TxSender(self.client.w3, self.codec, gas_price=self.client.gas_price(), local_mining=False)
        outcomes = sender.run([Call(f, self._key(s), to, self.codec.encode(f, *args), gas) for s, to, f, args in calls])
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise P2PEnergyError(f"{len(failed)} set-up transactions of the gas run failed: {failed[0].error}")
        for signer, *_ in calls:
            signer.next_nonce = None  # the sender counted nonces of its own: read them again
        return [e for o in outcomes for e in map(self.codec.decode_log, o.logs) if e is not None]

    def _key(self, signer: Signer) -> KeyAccount:
        if signer.address not in self._keys:
            assert signer.account is not None
            self._keys[signer.address] = KeyAccount(bytes(signer.account.key))
        return self._keys[signer.address]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def measure_gas(
    chain: LocalChain,
    compiled: CompilationResult,
    trades_per_lot: int = 4,
    progress: Callable[[str], None] = lambda _: None,
) -> GasReport:
    """Run the measurement on a fresh local chain; see the module docstring."""
    if not 1 <= trades_per_lot <= 50:
        raise UsageError(f"trades per lot must be between 1 and 50 (the escrow's lot limit), got {trades_per_lot}")
    w3 = chain.web3()
    client = ContractClient(w3)
    accounts = [Signer.from_key(a.private_key) for a in chain.accounts]
    if len(accounts) < 1 + _SELLERS + _BUYERS:
        raise UsageError(f"the gas run needs {1 + _SELLERS + _BUYERS} funded accounts")
    admin, sellers, buyers = accounts[0], accounts[1 : 1 + _SELLERS], accounts[1 + _SELLERS : 1 + _SELLERS + _BUYERS]

    genesis = int(w3.eth.get_block("latest")["timestamp"])
    market = deploy_market(client, compiled, admin, genesis=genesis, slot_length=SLOT_LENGTH, grace_period=GRACE_PERIOD)
    token, registry, escrow = market.token, market.registry, market.escrow
    codec = AbiCodec(*(compiled[name].abi for name in ("EnergyToken", "MeterRegistry", "EnergyEscrow")))
    bench = _Bench(client, codec, {})
    for name, receipt in market.receipts.items():
        bench.operations[f"deploy {name}"] = int(receipt["gasUsed"])

    progress("funding buyers")
    funds = 10**6 * 10**8
    bench.send(None, token.functions.mint(admin.address, funds), admin)
    bench.send(ERC20_TRANSFER_REFERENCE, token.functions.transfer(buyers[0].address, 10**8), admin)
    for buyer in buyers:
        bench.send(None, token.functions.mint(buyer.address, funds), admin)
        bench.send(None, token.functions.approve(escrow.address, 2**256 - 1), buyer)

    # Meters: one per settled lot in each batch, one settled alone, one refunded.
    largest, bound = _largest_batch(escrow, trades_per_lot)
    settle_single, refund_meter = 1, 2
    batch_meters: list[list[int]] = []
    next_id = 3
    for size in sorted({*(size for size in BATCH_SIZES if size < largest), largest}):
        batch_meters.append(list(range(next_id, next_id + size)))
        next_id += size
    meter_ids = list(range(1, next_id))
    owner_of = {m: sellers[m % _SELLERS] for m in meter_ids}

    progress(f"registering {len(meter_ids)} meters")
    first, rest = meter_ids[0], meter_ids[1:]
    register_args = {m: (m, owner_of[m].address, _meter_key(m).address) for m in meter_ids}
    bench.send("register meter", registry.functions.registerMeter(*register_args[first]), admin)
    bench.send_all([(admin, registry.address, "registerMeter", register_args[m]) for m in rest], _SETUP_GAS)

    progress("posting offers")
    offer_args = {m: (m, 1, trades_per_lot * WH_PER_TRADE, PRICE_PER_KWH) for m in meter_ids}
    offer_of = {first: int(escrow.functions.nextOfferId().call())}
    bench.send("post offer", escrow.functions.postOffer(*offer_args[first]), owner_of[first])
    posted = bench.send_all([(owner_of[m], escrow.address, "postOffer", offer_args[m]) for m in rest], _SETUP_GAS)
    offer_of.update({e.args["meterId"]: e.args["offerId"] for e in posted if e.name == "OfferPosted"})

    progress("taking offers")
    # A first part of every offer (so that "10 offers" are 10 different ones), then the other parts.
    parts = [(offer_of[m], WH_PER_TRADE) for m in meter_ids]
    parts += [(offer_of[m], WH_PER_TRADE) for m in meter_ids for _ in range(trades_per_lot - 1)]
    bench.send(TAKE_ONE, escrow.functions.takeOffers([parts[0]]), buyers[0])
    bench.send(TAKE_TEN, escrow.functions.takeOffers(parts[1:11]), buyers[1])
    for index, chunk in enumerate(_chunks(parts[11:], _TAKES_PER_CALL)):
        bench.send(None, escrow.functions.takeOffers(list(chunk)), buyers[(index + 2) % _BUYERS])

    progress("recording readings")
    mine_at(w3, int(registry.functions.slotEnd(1).call()))
    domain = ReadingDomain(w3.eth.chain_id, registry.address)
    exported = trades_per_lot * WH_PER_TRADE  # every meter delivers what it sold
    readings = [
        (Reading(m, slot, 0, 10_000 + (exported if slot == 1 else 0)), m)
        for m in meter_ids
        if m != refund_meter
        for slot in (0, 1)
    ]
    first_reading, first_meter = readings[0]
    bench.send(
        "submit 1 reading",
        registry.functions.submitReading(first_reading.as_tuple(), _meter_key(first_meter).sign(domain, first_reading)),
        admin,
    )
    reading_gas_per_lot = 0
    for chunk in _chunks(readings[1:], _READINGS_PER_CALL):
        call = registry.functions.submitReadings(
            [r.as_tuple() for r, _ in chunk], [_meter_key(m).sign(domain, r) for r, m in chunk]
        )
        receipt = bench.send(None, call, admin)
        if len(chunk) == _READINGS_PER_CALL:
            reading_gas_per_lot = int(receipt["gasUsed"]) // len(chunk)
            bench.operations[f"submit {_READINGS_PER_CALL} readings, per reading"] = reading_gas_per_lot

    progress("settling")
    bench.send(SETTLE_ONE, escrow.functions.settleLot(settle_single, 1), admin)
    batches = []
    for meters in batch_meters:
        receipt = bench.send(None, escrow.functions.settleLots([(m, 1) for m in meters]), admin)
        batches.append(
            BatchFigure(len(meters), len(meters) * trades_per_lot, int(receipt["gasUsed"]), reading_gas_per_lot)
        )
        bench.operations[f"settle batch of {len(meters)} lots"] = int(receipt["gasUsed"])

    progress("refunding and withdrawing")
    mine_at(w3, int(registry.functions.slotEnd(1).call()) + GRACE_PERIOD)
    bench.send(REFUND_ONE, escrow.functions.refundLot(refund_meter, 1), admin)
    bench.send(WITHDRAW, escrow.functions.withdraw(), sellers[0])
    # A batch over the block gas limit would have failed to send above: the bound is the escrow's.
    block_gas_limit = int(w3.eth.get_block("latest")["gasLimit"])
    return GasReport(chain.options.evm_version, trades_per_lot, bench.operations, batches, bound, block_gas_limit)


def _largest_batch(escrow: Contract, trades_per_lot: int) -> tuple[int, str]:
    """Lots in the largest settleLots call the escrow accepts, and the bound that sets it."""
    max_lots = int(escrow.functions.MAX_LOTS_PER_CALL().call())
    max_trades = int(escrow.functions.MAX_TRADES_PER_CALL().call())
    if max_lots * trades_per_lot <= max_trades:
        return max_lots, f"{max_lots} lots per call"
    return max_trades // trades_per_lot, f"{max_trades} trades per call"


def run_gas_report(anvil_path: Any, compiled: CompilationResult, trades_per_lot: int = 4, **kwargs: Any) -> GasReport:
    """Measure on a fresh anvil with the hardfork of `compiled`'s EVM target."""
    options = ChainOptions(evm_version=compiled.settings.evm_version, accounts=1 + _SELLERS + _BUYERS)
    with LocalChain(anvil_path, options) as chain:
        return measure_gas(chain, compiled, trades_per_lot, **kwargs)
