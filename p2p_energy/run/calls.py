"""The transactions a run sends, built from the plan and the books: one function per kind.

Each builder returns every call of its kind that is due; a resumed run
drops those the chain already holds (:meth:`p2p_energy.run.replay.Resumption.unsent`).
Batches keep to the contracts' per-call limits (:mod:`p2p_energy.limits`)
and the scenario's batch sizes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from p2p_energy.chain.backend import Call
from p2p_energy.domain.meters import Reading
from p2p_energy.limits import MAX_TRADES_PER_CALL
from p2p_energy.run.books import Books
from p2p_energy.run.state import RunSetup

MAX_UINT256 = 2**256 - 1

# Gas limits per call, generous: unused gas is not charged. A few times the
# measured cost (see `p2p-energy gas`), so a slow path never runs out.
GAS = {
    "mint": 120_000,
    "approve": 100_000,
    "registerMeter": 200_000,
    "postOffer": 200_000,
    "withdraw": 150_000,
}


def gas_take(n: int) -> int:
    return 150_000 + 150_000 * n


def gas_readings(n: int) -> int:
    return 100_000 + 80_000 * n


def gas_lots(lots: int, trades: int) -> int:
    return 100_000 + 80_000 * lots + 40_000 * trades


def _fitting(size: int, gas: Callable[[int], int], block_gas: int) -> int:
    """The most items (at most `size`) one call may carry so that its gas limit fits a block."""
    while size > 1 and gas(size) > block_gas:
        size -= 1
    return size


def setup_calls(setup: RunSetup) -> list[Call]:
    """Per household: its funding minted, its meter registered, the escrow approved."""
    a, funding = setup.addresses, setup.scenario.prices.funding
    calls = []
    for h in setup.households:
        register = setup.encode("registerMeter", h.meter_id, h.account.address, h.meter_key.address)
        calls.append(Call("mint", setup.admin, a.token, setup.encode("mint", h.account.address, funding), GAS["mint"]))
        calls.append(Call("registerMeter", setup.admin, a.registry, register, GAS["registerMeter"]))
        calls.append(
            Call("approve", h.account, a.token, setup.encode("approve", a.escrow, MAX_UINT256), GAS["approve"])
        )
    return calls


def reading_calls(setup: RunSetup, books: Books, slot: int) -> list[Call]:
    """The meters' readings of `slot`, where settlement needs them.

    A lot of slot s settles on the readings of s - 1 and s, so a meter's
    reading goes on chain when its household sold in this slot or the next:
    on-chain readings cost gas, and most meters sell in few slots of a day.
    """
    selling = {lot.seller for lot in books.ledger.lots.values() if lot.slot in (slot, slot + 1)}
    readings: list[tuple[tuple[int, int, int, int], bytes]] = []
    for h in setup.households:
        if h.index not in selling or (slot >= 0 and setup.scenario.faults.is_offline(h.name, slot)):
            continue
        if (h.index, slot) in books.readings_ok:
            continue  # on chain already (a resumed run)
        imported, exported = setup.plan.registers(h.index, slot)
        reading = Reading(h.meter_id, setup.c0 + slot, imported, exported)
        readings.append((reading.as_tuple(), h.meter_key.sign(setup.domain, reading)))
    size = _fitting(setup.scenario.chain.readings_per_tx, gas_readings, setup.chain.block_gas_limit)
    calls = []
    for start in range(0, len(readings), size):
        chunk = readings[start : start + size]
        data = setup.encode("submitReadings", [r for r, _ in chunk], [s for _, s in chunk])
        calls.append(
            Call("submitReadings", setup.admin, setup.addresses.registry, data, gas_readings(len(chunk)), tag=slot)
        )
    return calls


def offer_calls(setup: RunSetup, slot: int) -> list[Call]:
    calls = []
    for offer in setup.markets[slot].offers:
        h = setup.households[offer.seller]
        data = setup.encode("postOffer", h.meter_id, setup.c0 + slot, offer.wh, offer.price_per_kwh)
        calls.append(
            Call("postOffer", h.account, setup.addresses.escrow, data, GAS["postOffer"], tag=(slot, offer.index))
        )
    return calls


def take_calls(setup: RunSetup, books: Books, slot: int) -> list[Call]:
    """One takeOffers per buyer (more when its takes exceed the scenario's batch size)."""
    by_buyer: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for take in setup.markets[slot].takes:
        offer_id = books.offer_ids.get((slot, take.offer_index))
        if offer_id is not None:
            by_buyer[take.buyer].append((offer_id, take.wh))
    size = _fitting(setup.scenario.chain.takes_per_tx, gas_take, setup.chain.block_gas_limit)
    calls = []
    for buyer, takes in sorted(by_buyer.items()):
        account = setup.households[buyer].account
        for start in range(0, len(takes), size):
            chunk = takes[start : start + size]
            data = setup.encode("takeOffers", chunk)
            calls.append(Call("takeOffers", account, setup.addresses.escrow, data, gas_take(len(chunk))))
    return calls


def _lot_calls(setup: RunSetup, label: str, lots: list[tuple[int, int, int]]) -> list[Call]:
    """settleLots/refundLots calls over (meter, chain slot, trades), within the per-call bounds."""
    calls: list[Call] = []
    chunk: list[tuple[int, int]] = []
    trades = 0

    def close_chunk() -> None:
        data = setup.encode(label, chunk)
        calls.append(Call(label, setup.admin, setup.addresses.escrow, data, gas_lots(len(chunk), trades)))

    # A call's gas limit must fit a block, whatever the node's block gas limit (anvil's default 30M, Qtum's 40M).
    block_gas = setup.chain.block_gas_limit
    for meter, chain_slot, n in lots:
        full = len(chunk) >= setup.scenario.chain.lots_per_tx or trades + n > MAX_TRADES_PER_CALL
        if chunk and (full or gas_lots(len(chunk) + 1, trades + n) > block_gas):
            close_chunk()
            chunk, trades = [], 0
        chunk.append((meter, chain_slot))
        trades += n
    if chunk:
        close_chunk()
    return calls


def settle_calls(setup: RunSetup, books: Books, at: int) -> list[Call]:
    """settleLots for every open lot whose settlement window is open at `at` and whose readings are on chain."""
    due = []
    for lot in books.ledger.open_lots():
        chain_slot = setup.c0 + lot.slot
        ends = setup.slot_start(chain_slot + 1)
        if ends <= at < ends + setup.timing.grace_period and books.delivery_known(lot.seller, lot.slot):
            due.append((lot.meter_id, chain_slot, len(lot.trades)))
    return _lot_calls(setup, "settleLots", sorted(due))


def refund_calls(setup: RunSetup, books: Books, at: int) -> list[Call]:
    """refundLots for every open lot whose grace period is over at `at`."""
    due = []
    for lot in books.ledger.open_lots():
        chain_slot = setup.c0 + lot.slot
        if at >= setup.slot_start(chain_slot + 1) + setup.timing.grace_period:
            due.append((lot.meter_id, chain_slot, len(lot.trades)))
    return _lot_calls(setup, "refundLots", sorted(due))


def withdraw_calls(setup: RunSetup, credits: list[int]) -> list[Call]:
    """withdraw for every household with a credit (`credits` in household order)."""
    data = setup.encode("withdraw")
    return [
        Call("withdraw", h.account, setup.addresses.escrow, data, GAS["withdraw"])
        for h, credit in zip(setup.households, credits, strict=True)
        if credit > 0
    ]


#: Gas added to each account's planned gas for the coin it is funded with: room for fees beyond gas (a
#: Qtum transaction pays its size too) and for the slowest path of every call.
FUNDING_MARGIN_GAS = 2_000_000
#: Gas one transaction's fee beyond its gas may cost, counted per planned transaction.
TX_FEE_GAS = 100_000


def planned_gas(setup: RunSetup, attacks: int) -> dict[str, int]:
    """The gas limits of every transaction each household (and the attacker, with `attacks` readings)
    will send in the run, plus a margin: what its coin for fees must cover (on Qtum a transaction
    locks its whole gas limit x price until the refund matures 2,000 blocks later)."""
    gas = {h.account.address: GAS["approve"] + GAS["withdraw"] + 2 * TX_FEE_GAS for h in setup.households}
    size = _fitting(setup.scenario.chain.takes_per_tx, gas_take, setup.chain.block_gas_limit)
    for market in setup.markets:
        for offer in market.offers:
            gas[setup.households[offer.seller].account.address] += GAS["postOffer"] + TX_FEE_GAS
        takes: dict[int, int] = defaultdict(int)
        for take in market.takes:
            takes[take.buyer] += 1
        for buyer, count in takes.items():
            full, rest = divmod(count, size)
            calls = [size] * full + ([rest] if rest else [])
            gas[setup.households[buyer].account.address] += sum(gas_take(n) + TX_FEE_GAS for n in calls)
    gas[setup.attacker.address] = attacks * (gas_readings(1) + TX_FEE_GAS)
    return {address: used + FUNDING_MARGIN_GAS for address, used in gas.items()}
