"""The transactions a run sends, built from the plan and the books: one function per kind.

Each builder returns every call of its kind that is due; a resumed run
drops those the chain already holds (:meth:`p2p_energy.run.replay.Resumption.unsent`),
so every builder gives the same calldata for the same plan and books.
Batches keep to the contracts' per-call limits (:mod:`p2p_energy.limits`),
the scenario's batch size for lots, and the node's block gas limit. The
operator sends everything but the households' own `setTrader` and
`withdraw` (and pays its gas).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from p2p_energy.chain.backend import Call
from p2p_energy.domain.orders import LotTrade
from p2p_energy.limits import (
    MAX_DEPOSITS_PER_CALL,
    MAX_LOTS_PER_CALL,
    MAX_METERS_PER_CALL,
    MAX_TRADES_PER_CALL,
    MAX_TRADES_PER_LOT,
)
from p2p_energy.run.books import Books
from p2p_energy.run.encoding import MAX_CALLDATA_BYTES, Lot, LotProof, lots_size, refund_lots, settle_lots
from p2p_energy.run.ledger import Lot as LedgerLot
from p2p_energy.run.matching import slot_match_calls
from p2p_energy.run.state import RunSetup

# Gas limits per call, generous: unused gas is not charged. A few times the
# measured cost (see `p2p-energy gas`), so a slow path never runs out.
GAS = {
    "mint": 120_000,
    "approve": 100_000,
    "setTrader": 100_000,
    "withdraw": 150_000,
}


def gas_deposits(n: int) -> int:
    return 80_000 + 40_000 * n


def gas_meters(n: int) -> int:
    return 80_000 + 80_000 * n


def gas_lots(lots: int, trades: int) -> int:
    """settleLots/refundLots: a lot with its reading about 25k, a trade 6k (settlement, more where it credits)."""
    return 100_000 + 60_000 * lots + 20_000 * trades


def _fitting(size: int, gas: Callable[[int], int], block_gas: int) -> int:
    """The most items (at most `size`) one call may carry so that its gas limit fits a block."""
    while size > 1 and gas(size) > block_gas:
        size -= 1
    return size


def _chunks(items: Sequence[object], size: int) -> Iterator[range]:
    for start in range(0, len(items), size):
        yield range(start, min(start + size, len(items)))


def setup_calls(setup: RunSetup) -> tuple[list[Call], list[Call]]:
    """The set-up in two phases. First the operator mints the households' funding to itself and approves
    the escrow for it once, registers every meter (registerMeters in batches), and each household whose
    key's `ecrecover` address is not its own names it (setTrader: Qtum, node-held accounts). Then the
    operator deposits each household's funding (depositFor in batches), which needs the mint and the
    approval mined before it: a Qtum block does not keep one sender's transactions in the order sent."""
    a, admin, households = setup.addresses, setup.admin, setup.households
    funding = setup.scenario.prices.funding
    total = funding * len(households)
    block_gas = setup.chain.block_gas_limit
    first = [
        Call("mint", admin, a.token, setup.encode("mint", admin.address, total), GAS["mint"]),
        Call("approve", admin, a.token, setup.encode("approve", a.escrow, total), GAS["approve"]),
    ]
    for rows in _chunks(households, _fitting(MAX_METERS_PER_CALL, gas_meters, block_gas)):
        meters = [households[i] for i in rows]
        data = setup.encode(
            "registerMeters",
            [h.meter_id for h in meters],
            [h.account.address for h in meters],
            [h.meter_key.address for h in meters],
        )
        first.append(Call("registerMeters", admin, a.registry, data, gas_meters(len(rows))))
    for h in households:
        if h.needs_trader:
            first.append(Call("setTrader", h.account, a.escrow, setup.encode("setTrader", h.trader), GAS["setTrader"]))
    deposits = []
    for rows in _chunks(households, _fitting(MAX_DEPOSITS_PER_CALL, gas_deposits, block_gas)):
        accounts = [households[i].account.address for i in rows]
        data = setup.encode("depositFor", accounts, [funding] * len(rows))
        deposits.append(Call("depositFor", admin, a.escrow, data, gas_deposits(len(rows))))
    return first, deposits


def match_calls(setup: RunSetup, slot: int) -> list[Call]:
    """The operator's matchOrders calls for scenario `slot` (see :mod:`p2p_energy.run.matching`); each
    tagged (slot, round): a call of round n must be mined after those of round n - 1."""
    selector = setup.encode("matchOrders", 0, [], [], [])[:4]
    return [
        Call("matchOrders", setup.admin, setup.addresses.escrow, match.data, match.gas, tag=(slot, match.round))
        for match in slot_match_calls(setup, slot, selector)
    ]


def lot_of(setup: RunSetup, books: Books, lot: LedgerLot) -> Lot:
    """A lot of the books as the escrow is given it: its trades in match order."""
    ledger, households = books.ledger, setup.households
    trades = tuple(
        LotTrade(households[t.buyer].account.address, t.wh, t.cost) for t in (ledger.trades[n] for n in lot.trades)
    )
    return Lot(lot.meter_id, setup.c0 + lot.slot, trades)


def _batches(setup: RunSetup, lots: list[Lot], *, settle: bool) -> Iterator[list[Lot]]:
    """`lots` in batches within the per-call bounds, a transaction's size and a block's gas."""
    chunk: list[Lot] = []
    trades = 0
    # A call's gas limit must fit a block, whatever the node's block gas limit (anvil's default 30M, Qtum's 40M).
    block_gas = setup.chain.block_gas_limit
    most = min(setup.scenario.chain.lots_per_tx, MAX_LOTS_PER_CALL)
    for lot in lots:
        n = len(lot.trades)
        full = len(chunk) >= most or trades + n > MAX_TRADES_PER_CALL
        large = lots_size(len(chunk) + 1, trades + n, settle=settle) > MAX_CALLDATA_BYTES
        if chunk and (full or large or gas_lots(len(chunk) + 1, trades + n) > block_gas):
            yield chunk
            chunk, trades = [], 0
        chunk.append(lot)
        trades += n
    if chunk:
        yield chunk


def _merit(setup: RunSetup, lots: list[LedgerLot]) -> list[LedgerLot]:
    """`lots` by slot, then their sellers' lowest ask (the order buyers took them in: lots that share buyers
    go into one batch, where a buyer's second refund credit costs far less), then meter."""
    asks: dict[tuple[int, int], int] = {}
    for slot in {lot.slot for lot in lots}:
        for offer in setup.markets[slot].offers:
            key = (slot, offer.seller)
            asks[key] = min(asks.get(key, offer.ask_per_kwh), offer.ask_per_kwh)
    return sorted(lots, key=lambda lot: (lot.slot, asks.get((lot.slot, lot.seller), 0), lot.meter_id))


def settle_calls(setup: RunSetup, books: Books, at: int) -> list[Call]:
    """settleLots for every open lot whose settlement window is open at `at` and whose meter signed its reading."""
    due = []
    for lot in books.ledger.open_lots():
        ends = setup.slot_start(setup.c0 + lot.slot + 1)
        if ends <= at < ends + setup.timing.grace_period and setup.reading_online(lot.seller, lot.slot):
            due.append(lot)
    selector = setup.encode("settleLots", [])[:4]
    calls = []
    for batch in _batches(setup, [lot_of(setup, books, lot) for lot in _merit(setup, due)], settle=True):
        proofs = [LotProof(lot, *setup.reading(setup.meter_row[lot.meter_id], lot.slot - setup.c0)) for lot in batch]
        data = settle_lots(selector, proofs)
        gas = gas_lots(len(batch), sum(len(lot.trades) for lot in batch))
        calls.append(Call("settleLots", setup.admin, setup.addresses.escrow, data, gas))
    return calls


def refund_calls(setup: RunSetup, books: Books, at: int) -> list[Call]:
    """refundLots for every open lot whose grace period is over at `at`."""
    due = [
        lot
        for lot in books.ledger.open_lots()
        if at >= setup.slot_start(setup.c0 + lot.slot + 1) + setup.timing.grace_period
    ]
    selector = setup.encode("refundLots", [])[:4]
    calls = []
    lots = [lot_of(setup, books, lot) for lot in sorted(due, key=lambda lot: lot.key)]
    for batch in _batches(setup, lots, settle=False):
        gas = gas_lots(len(batch), sum(len(lot.trades) for lot in batch))
        calls.append(Call("refundLots", setup.admin, setup.addresses.escrow, refund_lots(selector, batch), gas))
    return calls


def withdraw_calls(setup: RunSetup, balances: list[int]) -> list[Call]:
    """withdraw(balance) for every household with a balance in the escrow (`balances` in household order)."""
    return [
        Call("withdraw", h.account, setup.addresses.escrow, setup.encode("withdraw", balance), GAS["withdraw"])
        for h, balance in zip(setup.households, balances, strict=True)
        if balance > 0
    ]


#: Gas added to each account's planned gas for the coin it is funded with: room for fees beyond gas (a
#: Qtum transaction pays its size too) and for the slowest path of every call.
FUNDING_MARGIN_GAS = 2_000_000
#: Gas one transaction's fee beyond its gas may cost, counted per planned transaction.
TX_FEE_GAS = 100_000


def planned_gas(setup: RunSetup, attacks: int) -> dict[str, int]:
    """The gas limits of every transaction each household (and the attacker, with `attacks` readings)
    will send in the run, plus a margin: what its coin for fees must cover (on Qtum a transaction
    locks its whole gas limit x price until the refund matures 2,000 blocks later). Households send
    only their withdrawal and, where their key needs naming, setTrader; the operator sends the rest."""
    gas = {}
    for h in setup.households:
        trader = GAS["setTrader"] + TX_FEE_GAS if h.needs_trader else 0
        gas[h.account.address] = GAS["withdraw"] + TX_FEE_GAS + trader
    gas[setup.attacker.address] = attacks * (gas_lots(1, MAX_TRADES_PER_LOT) + TX_FEE_GAS)
    return {address: used + FUNDING_MARGIN_GAS for address, used in gas.items()}
