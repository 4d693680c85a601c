"""Load: over 2,000 mixed transactions from 50 accounts at once through the runner's sending path.

25 sellers (each with a meter) and 25 buyers trade through 20 delivery
slots on a real anvil. Every account deposits its own tokens first. Per slot
every buyer matches its three trades itself, one `matchOrders` call per
trade (its signed bid and the seller's signed ask, one fill: three
transactions), and every seller settles its lot of two slots before with
its meter's signed reading (`settleLots`, the lot's trades read back from
the `Traded` events in chain order); every few slots everyone withdraws.
Each phase goes to `EvmBackend.send` as one batch, many transactions per
account, so nonces, batching and block building are all under load. Then
the chain is checked: the escrow's invariants, the token supply, each trade
closed exactly once by the settlement rule (every account ends with the
tokens the rule gives it), and each account's nonces consecutive.
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
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.orders import LotTrade, order_domain
from p2p_energy.domain.settlement import settle_lot
from p2p_energy.market_calls import CallLimits, SlotMatch, Trade, lot_proof
from tests.local_chain import deploy_local_market, first_account

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


def lot_key(meter: int, slot: int) -> int:
    return (meter << 64) | slot


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
    setup.append(
        Call("registerMeters", operator, registry, codec.encode("registerMeters", ids, owners, signers), GAS * 10)
    )
    assert all(o.ok for o in sender.send(setup))
    approve = [Call("approve", a, token, codec.encode("approve", escrow, MAX_UINT256), GAS) for a in everyone]
    deposit = [Call("deposit", a, escrow, codec.encode("deposit", FUNDING), GAS) for a in everyone]
    assert all(o.ok for o in sender.send(approve + deposit))

    c0 = (sender.clock - genesis) // SLOT_LENGTH + 2
    outcomes: list[Outcome] = []
    lots: dict[int, list[LotTrade]] = {}  # lot key -> trades in chain order

    def send(calls: list[Call], at: int) -> list[Outcome]:
        done = sender.send(calls, timestamp=at)
        outcomes.extend(done)
        return done

    for tick in range(SLOTS + 2):
        chain_slot = c0 + tick
        block_a = genesis + chain_slot * SLOT_LENGTH - SLOT_LENGTH // 2
        calls = []
        if tick < SLOTS:
            trades = [
                Trade(s + 1, sellers[s], buyer, WH_PER_TRADE, PRICE)
                for j, buyer in enumerate(buyers)
                for s in ((j + n) % SELLERS for n in range(TRADES_PER_BUYER))
            ]
            # One fill per call, each sent by its buyer; the orders are signed for the whole slot.
            one_by_one = SlotMatch(orders, chain_slot, trades).calls(CallLimits(asks=1, bids=1, fills=1))
            for trade, args in zip(trades, one_by_one, strict=True):
                calls.append(Call("matchOrders", trade.buyer, escrow, codec.encode("matchOrders", *args), GAS))
        matched_from = sender.latest_block().number + 1
        send(calls, block_a)
        for log in sender.logs([escrow], matched_from):
            event = codec.decode_log(log)
            if event is not None and event.name == "Traded":
                lots.setdefault(event.args["lotKey"], []).append(
                    LotTrade(event.args["buyer"], event.args["wh"], event.args["cost"])
                )
        calls = []
        if tick >= 2:  # slot chain_slot - 2 ended one and a half slots ago
            read_slot = chain_slot - 2
            for i, seller in enumerate(sellers):
                reading = Reading(i + 1, read_slot, exported_per_slot(i))
                proof = lot_proof(meters[i], readings, reading, lots[lot_key(i + 1, read_slot)])
                calls.append(Call("settleLots", seller, escrow, codec.encode("settleLots", [proof]), GAS))
        if tick % 4 == 3 or tick == SLOTS + 1:
            # Settle first, then withdraw: everything at the end, before that what is above half the funding.
            send(calls, block_a + 1)
            keep = 0 if tick == SLOTS + 1 else FUNDING // 2
            answers = sender.calls([(escrow, codec.encode("balanceOf", a.address)) for a in everyone])
            balances = [int.from_bytes(answer[:32], "big") for answer in answers]
            calls = [
                Call("withdraw", a, escrow, codec.encode("withdraw", balance - keep), GAS)
                for a, balance in zip(everyone, balances, strict=True)
                if balance > keep
            ]
            send(calls, block_a + 2)
        else:
            send(calls, block_a + 1)
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


def test_the_50_accounts_sent_over_2000_mixed_transactions(load):
    assert len(load.sent_by) == 50
    assert sum(load.sent_by.values()) >= 2_000
    assert set(Counter(o.call.label for o in load.outcomes)) == {"matchOrders", "settleLots", "withdraw"}


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
    settled = Counter(lot_key(e.args["meterId"], e.args["slot"]) for e in events(load, "LotSettled"))
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
        meter, slot = lot.args["meterId"], lot.args["slot"]
        lot_trades = trades[lot_key(meter, slot)]
        rule = settle_lot([t["cost"] for t in lot_trades], lot.args["soldWh"], exported_per_slot(meter - 1))
        assert (lot.args["paid"], lot.args["refunded"]) == (rule.seller_payout, sum(rule.refunded))
        expected[lot.args["seller"]] += rule.seller_payout
        for trade, refunded in zip(lot_trades, rule.refunded, strict=True):
            expected[trade["buyer"]] -= trade["cost"] - refunded
    assert {a.address: uint(load, load.token, "balanceOf", a.address) for a in load.accounts} == dict(expected)


def test_each_accounts_nonces_on_chain_are_consecutive_from_zero(load):
    mined = load.sender.mined_transactions([a.address for a in load.accounts], load.first_block)
    nonces: dict[str, list[int]] = {}
    for tx in mined:
        nonces.setdefault(tx.sender.lower(), []).append(tx.nonce)
    for account in load.accounts:
        sent = load.sent_by[account.address] + 2  # and its approve and deposit in the set-up
        assert nonces[account.address.lower()] == list(range(sent))
