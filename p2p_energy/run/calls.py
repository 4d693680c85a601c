"""The transactions a run sends, built from the plan and the books: one function per kind.

Each builder returns every call of its kind that is due; a resumed run
drops those the chain already holds (:meth:`p2p_energy.run.replay.Resumption.unsent`),
so every builder gives the same calldata for the same plan and books.
Batches keep to the contracts' per-call limits (:mod:`p2p_energy.limits`), a
Qtum transaction's size and a gas bound (:mod:`p2p_energy.wire.cutting`).
The operator sends everything (on Qtum it names the households' own order
keys with nameOwnKeys) but the setTrader of a household that signs its
orders with a key other than its account's (node-held accounts), and pays
its gas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from p2p_energy.chain.backend import Call
from p2p_energy.limits import MAX_DEPOSITS_PER_CALL, MAX_KEYS_PER_CALL, MAX_METERS_PER_CALL
from p2p_energy.run.books import Books
from p2p_energy.run.ledger import Lot as LedgerLot
from p2p_energy.run.state import RunSetup
from p2p_energy.wire.cutting import CloseCut, LotAction, call_gas, close_call, cut_closes
from p2p_energy.wire.orders import own_key_calldata
from p2p_energy.wire.readings import SignedReading
from p2p_energy.wire.records import CloseCall, GroupClose, Lot, MatchCall, Trade

# Gas limits per call, generous: unused gas is not charged. A few times the
# measured cost (see `p2p-energy gas`), so a slow path never runs out.
GAS = {
    "mint": 120_000,
    "approve": 100_000,
    "setTrader": 100_000,
}


def gas_deposits(n: int) -> int:
    return 80_000 + 40_000 * n


def gas_meters(n: int) -> int:
    return 80_000 + 80_000 * n


def gas_keys(n: int) -> int:
    return 60_000 + 40_000 * n


def gas_payouts(n: int) -> int:
    return 80_000 + 60_000 * n


def _fitting(size: int, gas: Callable[[int], int], block_gas: int) -> int:
    """The most items (at most `size`) one call may carry so that its gas limit fits a block."""
    while size > 1 and gas(size) > block_gas:
        size -= 1
    return size


def _chunks(items: Sequence[object], size: int) -> Iterator[range]:
    for start in range(0, len(items), size):
        yield range(start, min(start + size, len(items)))


def setup_calls(setup: RunSetup) -> tuple[list[Call], list[Call]]:
    """The set-up in two phases. First the operator mints the households' funding to itself and approves the
    escrow for it once, registers the meter of every household that exports (registerMeters in batches, each
    meter bound to this escrow: its readings prove nothing to another), and names the order keys of households
    whose own key's `ecrecover` address is not their address (Qtum: nameOwnKeys, from their public keys); a
    household that signs with another key names it itself (setTrader: node-held accounts). Then the operator
    deposits each household's funding (depositFor in batches), which needs the mint and the approval mined
    before it: a Qtum block does not keep one sender's transactions in the order sent."""
    a, admin, households = setup.addresses, setup.admin, setup.households
    funding = setup.scenario.prices.funding
    total = funding * len(households)
    block_gas = setup.chain.block_gas_limit
    first = [
        Call("mint", admin, a.token, setup.encode("mint", admin.address, total), GAS["mint"]),
        Call("approve", admin, a.token, setup.encode("approve", a.escrow, total), GAS["approve"]),
    ]
    sellers = [h for h in households if setup.exports(h.index)]
    for rows in _chunks(sellers, _fitting(MAX_METERS_PER_CALL, gas_meters, block_gas)):
        meters = [sellers[i] for i in rows]
        data = setup.encode(
            "registerMeters",
            [h.meter_id for h in meters],
            [h.account.address for h in meters],
            [h.meter_key.address for h in meters],
            a.escrow,
        )
        first.append(Call("registerMeters", admin, a.registry, data, gas_meters(len(rows))))
    # A household whose order key is its account's own key (Qtum: the same key, another address) is named by the
    # operator from its public key (nameOwnKeys), so it sends nothing; one that signs with another key names it.
    own = [h for h in households if h.needs_trader and not h.names_trader_itself]
    for rows in _chunks(own, _fitting(MAX_KEYS_PER_CALL, gas_keys, block_gas)):
        data = setup.encode("nameOwnKeys", own_key_calldata([own[i].trader_key for i in rows]))
        first.append(Call("nameOwnKeys", admin, a.escrow, data, gas_keys(len(rows))))
    for h in households:
        if h.names_trader_itself:
            first.append(Call("setTrader", h.account, a.escrow, setup.encode("setTrader", h.trader), GAS["setTrader"]))
    deposits = []
    for rows in _chunks(households, _fitting(MAX_DEPOSITS_PER_CALL, gas_deposits, block_gas)):
        accounts = [households[i].account.address for i in rows]
        data = setup.encode("depositFor", accounts, [funding] * len(rows))
        deposits.append(Call("depositFor", admin, a.escrow, data, gas_deposits(len(rows))))
    return first, deposits


def match_calls(setup: RunSetup, calls: Sequence[MatchCall]) -> list[Call]:
    """The operator's matchOrders calls of one round (see :func:`p2p_energy.run.matching.match_schedule`)."""
    return [Call("matchOrders", setup.admin, setup.addresses.escrow, c.calldata, call_gas(c)) for c in calls]


def wire_lot(setup: RunSetup, books: Books, lot: LedgerLot) -> Lot:
    """A lot of the books as the escrow is given it: its trades in match order."""
    households, trades = setup.households, books.ledger.trades
    sold = tuple(
        Trade(households[t.buyer].account.address, t.wh, t.price_per_kwh) for t in (trades[n] for n in lot.trades)
    )
    return Lot(lot.meter_id, setup.c0 + lot.slot, households[lot.seller].account.address, sold)


def group_closes(setup: RunSetup, books: Books, lots: Sequence[LedgerLot]) -> list[GroupClose]:
    """The groups of `lots`, each with all its lots (open or not) in the group's order."""
    ledger = books.ledger
    keys = sorted({lot.group for lot in lots if lot.group is not None})
    return [
        GroupClose(
            slot, number, tuple(wire_lot(setup, books, ledger.lots[key]) for key in ledger.groups[(slot, number)])
        )
        for slot, number in keys
    ]


def close_calls(setup: RunSetup, books: Books, at: int) -> list[Call]:
    """The operator's closeLots transactions at chain time `at` (see :func:`closings`)."""
    escrow = setup.addresses.escrow
    return [
        Call("closeLots", setup.admin, escrow, call.calldata, call_gas(call)) for call in closings(setup, books, at)
    ]


def closings(setup: RunSetup, books: Books, at: int) -> list[CloseCall]:
    """closeLots for every group with an open lot that can close at chain time `at`: settled where its slot is
    over, its settlement window open and its meter signed its reading (unless a reading of it proved nothing
    before: revoked meters); refunded where its grace period is over."""
    actions: dict[tuple[int, int], LotAction] = {}
    for lot in books.ledger.open_lots():
        ends = setup.slot_start(setup.c0 + lot.slot + 1)
        if at >= ends + setup.timing.grace_period:
            actions[lot.key] = LotAction(settle=False)
        elif at >= ends and setup.reading_online(lot.seller, lot.slot) and lot.key not in books.unprovable:
            actions[lot.key] = LotAction(settle=True, exported_wh=int(setup.plan.export_wh[lot.seller, lot.slot]))
    if not actions:
        return []

    def action(lot: Lot) -> LotAction | None:
        return actions.get((lot.meter_id, lot.slot - setup.c0))

    due = [books.ledger.lots[key] for key in actions]
    cuts = cut_closes(group_closes(setup, books, due), action, setup.bounds)
    return [close_call(cut, readings_of(setup, cut, action)) for cut in cuts]


def readings_of(setup: RunSetup, cut: CloseCut, action: Callable[[Lot], LotAction | None]) -> list[SignedReading]:
    """The meters' readings a closing call needs: per seller, one per run of consecutive slots from its first to
    its last lot settled in the call, split where its meter was offline (it signs nothing for those slots)."""
    slots: dict[int, list[int]] = {}
    for group in cut.groups:
        for lot in group.lots:
            what = action(lot)
            if what is not None and what.settle:
                slots.setdefault(setup.meter_row[lot.meter_id], []).append(lot.slot - setup.c0)
    readings = []
    for row, wanted in sorted(slots.items()):
        run: list[int] = []
        for slot in [*range(min(wanted), max(wanted) + 1), None]:
            if slot is not None and setup.reading_online(row, slot):
                run.append(slot)
                continue
            if run:
                readings.append(setup.reading(row, range(run[0], run[-1] + 1)))
            run = []
    return readings


def payout_calls(setup: RunSetup, balances: list[int]) -> list[Call]:
    """The operator's payOut of every household with a balance in the escrow (`balances` in household order), in
    batches: each household gets its whole balance, to its own address."""
    paid = [h.account.address for h, balance in zip(setup.households, balances, strict=True) if balance > 0]
    block_gas = setup.chain.block_gas_limit
    calls = []
    for rows in _chunks(paid, _fitting(MAX_DEPOSITS_PER_CALL, gas_payouts, block_gas)):
        accounts = [paid[i] for i in rows]
        data = setup.encode("payOut", accounts)
        calls.append(Call("payOut", setup.admin, setup.addresses.escrow, data, gas_payouts(len(rows))))
    return calls


#: Gas added to each account's planned gas for the coin it is funded with: room for fees beyond gas (a
#: Qtum transaction pays its size too) and for the slowest path of every call.
FUNDING_MARGIN_GAS = 2_000_000
#: Gas one transaction's fee beyond its gas may cost, counted per planned transaction.
TX_FEE_GAS = 100_000
#: Gas of one attack: a closeLots of one group with a forged or replayed reading.
ATTACK_GAS = 2_000_000


def planned_gas(setup: RunSetup, attacks: int) -> dict[str, int]:
    """The gas limits of every transaction each household (and the attacker, with `attacks` attempts) will send
    in the run, plus a margin: what its coin for fees must cover (on Qtum a transaction locks its whole gas limit
    x price until the refund matures 2,000 blocks later). Households send only setTrader, where they sign their
    orders with a key other than their account's (the operator names their own keys and pays them out); the
    attacker sends its attacks."""
    gas = {}
    for h in setup.households:
        if h.names_trader_itself:
            gas[h.account.address] = GAS["setTrader"] + TX_FEE_GAS
    gas[setup.attacker.address] = attacks * (ATTACK_GAS + TX_FEE_GAS)
    return {address: used + FUNDING_MARGIN_GAS for address, used in gas.items() if used}
