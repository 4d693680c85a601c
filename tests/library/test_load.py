"""Load: over 2,000 mixed transactions from 51 accounts at once through the runner's sending path.

25 sellers (each with a meter) and 25 buyers trade through 20 delivery
slots on a real anvil. Every account deposits its own tokens first. Per slot
the operator, the escrow's matcher, matches each seller's lot in a call of
its own (the first calls place the signed standing asks and bids: 25
transactions of one account a slot), every seller closes its lot of two
slots before itself with its meter's signed reading (`closeLots`, the lot's
trades read back from the `Traded` events in chain order: anyone may close
a lot), and every household withdraws a little; at the end everyone
withdraws everything. Each phase goes to `EvmBackend.send` as one batch,
many transactions per account, so nonces, batching and block building are
all under load. Then the chain is checked: the escrow's invariants, the
token supply, each trade closed exactly once by the settlement rule (every
account ends with the tokens the rule gives it), and each account's nonces
consecutive.
"""

from collections import Counter
from dataclasses import dataclass

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call, Outcome
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.wire.cutting import call_gas
from p2p_energy.wire.orders import Ask, Bid, order_domain, sign_order
from p2p_energy.wire.readings import MeterKey, Reading, reading_domain
from p2p_energy.wire.records import CloseCall, GroupClose, Lot, MatchCall, Trade, credited_by, lot_key, lot_of_key
from tests.local_chain import deploy_local_market, first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SELLERS = 25
BUYERS = 25
SLOTS = 20
#: Each buyer buys from sellers j, j + 1 and j + 2 in every slot: each seller sells three trades a slot.
TRADES_PER_BUYER = 3
SLOT_LENGTH = 900
WH_PER_TRADE = 500
PRICE = 25_000_000  # 0.25 NRG per kWh
FUNDING = 10**12
MAX_UINT256 = 2**256 - 1
GAS = 400_000
#: What every household withdraws each slot, and keeps until the end.
DRIP = 1


def exported_per_slot(seller: int) -> int:
    """Sellers below 10 deliver less than the 1,500 Wh they sell per slot (paid pro rata), the rest all of it."""
    return 1_050 + 50 * seller


@dataclass
class Load:
    outcomes: list[Outcome]
    sent_by: Counter
    sender: EvmBackend
    codec: AbiCodec
    escrow: str
    token: str
    sellers: list[Account]
    buyers: list[Account]
    minted: int
    logs: list
    first_block: int

    @property
    def accounts(self) -> list[Account]:
        return self.sellers + self.buyers


def buyers_of(seller: int) -> list[int]:
    """Buyer j buys from sellers j, j + 1 and j + 2: seller k sells to buyers k - 2, k - 1 and k, in that order."""
    return sorted((seller - n) % BUYERS for n in range(TRADES_PER_BUYER))


def run_load(chain, compiled) -> Load:
    market = deploy_local_market(chain, compiled, slot_length=SLOT_LENGTH, grace_period=3_600, gas_price=0)
    genesis = market.view("MeterRegistry", "genesis")
    codec = market.codec
    token, registry, escrow = market.addresses.token, market.addresses.registry, market.addresses.escrow
    sender = market.chain
    assert isinstance(sender, EvmBackend)
    operator = first_account(chain)
    sellers = [Account.from_key(keccak(text=f"load:seller:{i}")) for i in range(SELLERS)]
    buyers = [Account.from_key(keccak(text=f"load:buyer:{i}")) for i in range(BUYERS)]
    meters = [MeterKey(keccak(text=f"load:meter:{i}")) for i in range(SELLERS)]
    orders = order_domain(sender.chain_id, escrow)
    readings = reading_domain(sender.chain_id, registry)
    first_block = sender.latest_block().number + 1

    everyone = sellers + buyers
    setup = [Call("mint", operator, token, codec.encode("mint", a.address, FUNDING), GAS) for a in everyone]
    ids, owners, signers = [i + 1 for i in range(SELLERS)], [s.address for s in sellers], [m.address for m in meters]
    register = codec.encode("registerMeters", ids, owners, signers, escrow)
    setup.append(Call("registerMeters", operator, registry, register, GAS * 10))
    assert all(o.ok for o in sender.send(setup))
    approve = [Call("approve", a, token, codec.encode("approve", escrow, MAX_UINT256), GAS) for a in everyone]
    deposit = [Call("deposit", a, escrow, codec.encode("deposit", FUNDING), GAS) for a in everyone]
    assert all(o.ok for o in sender.send(approve + deposit))

    c0 = (sender.clock - genesis) // SLOT_LENGTH + 2
    until = c0 + SLOTS
    per_slot = WH_PER_TRADE * TRADES_PER_BUYER
    asks = [
        sign_order(s.private_key, orders, Ask(s.address, i + 1, PRICE, per_slot, WH_PER_TRADE, until))
        for i, s in enumerate(sellers)
    ]
    bids = [sign_order(b.private_key, orders, Bid(b.address, PRICE, per_slot, until)) for b in buyers]
    placed: set[str] = set()
    outcomes: list[Outcome] = []
    lots: dict[int, Lot] = {}  # lot key -> the lot as the chain's Traded events give it

    def send(calls: list[Call], at: int) -> list[Outcome]:
        done = sender.send(calls, timestamp=at)
        outcomes.extend(done)
        return done

    def orders_for(k: int) -> tuple:
        wanted = [(sellers[k].address, asks[k]), *((buyers[j].address, bids[j]) for j in buyers_of(k))]
        new = tuple(order for who, order in wanted if who not in placed)
        placed.update(who for who, _ in wanted)
        return new

    for tick in range(SLOTS + 2):
        chain_slot = c0 + tick
        block_a = genesis + chain_slot * SLOT_LENGTH - SLOT_LENGTH // 2
        calls = []
        if tick < SLOTS:
            for k, seller in enumerate(sellers):  # a call per lot, in meter order: the slot's group k is seller k's lot
                trades = tuple(Trade(buyers[j].address, WH_PER_TRADE, PRICE) for j in buyers_of(k))
                call = MatchCall(orders_for(k), (Lot(k + 1, chain_slot, seller.address, trades),))
                calls.append(Call("matchOrders", operator, escrow, call.calldata, call_gas(call)))
        matched_from = sender.latest_block().number + 1
        send(calls, block_a)
        for log in sender.logs([escrow], matched_from):
            event = codec.decode_log(log)
            if event is not None and event.name == "Traded":
                meter, slot = lot_of_key(event.args["lotKey"])
                trade = Trade(event.args["buyer"], event.args["wh"], event.args["pricePerKWh"])
                old = lots.get(event.args["lotKey"])
                sold = (*old.trades, trade) if old else (trade,)
                lots[event.args["lotKey"]] = Lot(meter, slot, sellers[meter - 1].address, sold)
        calls = []
        if tick >= 2:  # slot chain_slot - 2 ended one and a half slots ago: each seller closes its own lot
            read_slot = chain_slot - 2
            for i, seller in enumerate(sellers):
                lot = lots[lot_key(i + 1, read_slot)]
                reading = meters[i].sign(readings, Reading(i + 1, read_slot, (exported_per_slot(i),)))
                credited = frozenset(credited_by(lot, exported_per_slot(i)))
                close = CloseCall((GroupClose(read_slot, i, (lot,)),), (reading,), {lot.key: 0}, credited)
                calls.append(Call("closeLots", seller, escrow, close.calldata, call_gas(close)))
        send(calls, block_a + 1)
        last = tick == SLOTS + 1
        answers = sender.calls([(escrow, codec.encode("balanceOf", a.address)) for a in everyone])
        balances = [int.from_bytes(answer[:32], "big") for answer in answers]
        calls = [
            Call("withdraw", a, escrow, codec.encode("withdraw", balance if last else DRIP), GAS)
            for a, balance in zip(everyone, balances, strict=True)
            if balance > 0
        ]
        send(calls, block_a + 2)
    logs = sender.logs([escrow], first_block)
    sent_by = Counter(o.call.sender.address for o in outcomes)
    return Load(outcomes, sent_by, sender, codec, escrow, token, sellers, buyers, FUNDING * 50, logs, first_block)


@pytest.fixture(scope="module")
def load(toolchain, compile_for):
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(toolchain.anvil, options) as chain:
        yield run_load(chain, compile_for("cancun"))


def uint(load: Load, to: str, function: str, *args) -> int:
    return int.from_bytes(load.sender.call(to, load.codec.encode(function, *args))[:32], "big")


def events(load: Load, name: str) -> list:
    decoded = (load.codec.decode_log(log) for log in load.logs)
    return [e for e in decoded if e is not None and e.name == name]


def test_the_50_accounts_and_the_operator_sent_over_2000_mixed_transactions(load):
    assert len(load.sent_by) == 51
    assert sum(load.sent_by.values()) >= 2_000
    assert set(Counter(o.call.label for o in load.outcomes)) == {"matchOrders", "closeLots", "withdraw"}


def test_every_transaction_succeeded(load):
    failed = [(o.call.label, o.error) for o in load.outcomes if not o.ok]
    assert not failed


def test_the_escrow_holds_exactly_what_is_locked_plus_the_balances(load):
    held = uint(load, load.token, "balanceOf", load.escrow)
    assert held == uint(load, load.escrow, "totalLocked") + uint(load, load.escrow, "totalBalances")


def test_after_the_last_withdrawal_the_escrow_holds_nothing(load):
    assert uint(load, load.token, "balanceOf", load.escrow) == 0


def test_the_token_supply_is_what_was_minted(load):
    assert uint(load, load.token, "totalSupply") == load.minted
    assert sum(uint(load, load.token, "balanceOf", a.address) for a in load.accounts) == load.minted


def test_every_lot_was_settled_exactly_once_and_none_skipped(load):
    traded = Counter(e.args["lotKey"] for e in events(load, "Traded"))
    settled = Counter(e.args["lotKey"] for e in events(load, "LotSettled"))
    assert sum(traded.values()) == SLOTS * BUYERS * TRADES_PER_BUYER
    assert set(traded.values()) == {TRADES_PER_BUYER}
    assert set(settled) == set(traded)
    assert set(settled.values()) == {1}
    assert events(load, "LotSkipped") == []


def test_every_account_ends_with_the_tokens_the_settlement_rule_gives_it(load):
    expected = Counter({a.address: FUNDING for a in load.accounts})
    trades: dict[int, list] = {}
    for e in events(load, "Traded"):
        trades.setdefault(e.args["lotKey"], []).append(e.args)
    for lot in events(load, "LotSettled"):
        meter, _ = lot_of_key(lot.args["lotKey"])
        lot_trades = trades[lot.args["lotKey"]]
        costs = [trade_cost(t["wh"], t["pricePerKWh"]) for t in lot_trades]
        rule = settle_lot(costs, lot.args["soldWh"], exported_per_slot(meter - 1))
        assert lot.args["paid"] == rule.seller_payout
        expected[lot.args["seller"]] += rule.seller_payout
        for cost, trade, refunded in zip(costs, lot_trades, rule.refunded, strict=True):
            expected[trade["buyer"]] -= cost - refunded
    assert {a.address: uint(load, load.token, "balanceOf", a.address) for a in load.accounts} == dict(expected)


def test_each_accounts_nonces_on_chain_are_consecutive_from_zero(load):
    mined = load.sender.mined_transactions([a.address for a in load.accounts], load.first_block)
    nonces: dict[str, list[int]] = {}
    for tx in mined:
        nonces.setdefault(tx.sender.lower(), []).append(tx.nonce)
    for account in load.accounts:
        sent = load.sent_by[account.address] + 2  # and its approve and deposit in the set-up
        assert nonces[account.address.lower()] == list(range(sent))
