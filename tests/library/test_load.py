"""Load: over 2,000 mixed transactions from 50 accounts at once through the runner's sending path.

25 sellers (each with a meter) and 25 buyers trade through 13 delivery slots
on a real anvil: per slot every seller posts two offers and submits its
meter's signed reading, every buyer takes two offers (two transactions) and
settles one lot; every few slots everyone with a credit withdraws. Each
phase goes to `EvmBackend.send` as one batch, many transactions per account, so
nonces, batching and block building are all under load. Then the chain is
checked: the escrow's invariants, the token supply, each trade closed
exactly once by the settlement rule, and each account's nonces consecutive.
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
from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain
from p2p_energy.domain.settlement import settle_lot
from tests.library.conftest import deploy_local_market, first_account

SELLERS = 25
BUYERS = 25
SLOTS = 13
SLOT_LENGTH = 900
WH_PER_OFFER = 500
PRICE = 25_000_000  # 0.25 NRG per kWh
FUNDING = 10**12
MAX_UINT256 = 2**256 - 1
GAS = 400_000


def exported_per_slot(seller: int) -> int:
    """Sellers below 10 deliver less than the 1,000 Wh they sell per slot (paid pro rata), the rest all of it."""
    return 600 + 40 * seller


@dataclass
class Load:
    outcomes: list[Outcome]
    sent_by: Counter
    sender: EvmBackend
    codec: AbiCodec
    escrow: str
    token: str
    accounts: list[Account]
    minted: int
    logs: list
    first_block: int


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
    domain = ReadingDomain(sender.chain_id, registry)
    first_block = sender.latest_block().number + 1

    setup = [Call("mint", operator, token, codec.encode("mint", a.address, FUNDING), GAS) for a in sellers + buyers]
    setup += [
        Call(
            "registerMeter", operator, registry, codec.encode("registerMeter", i + 1, s.address, meters[i].address), GAS
        )
        for i, s in enumerate(sellers)
    ]
    setup += [Call("approve", a, token, codec.encode("approve", escrow, MAX_UINT256), GAS) for a in sellers + buyers]
    assert all(o.ok for o in sender.send(setup))

    c0 = (sender.clock - genesis) // SLOT_LENGTH + 2
    outcomes: list[Outcome] = []

    def send(calls: list[Call], at: int) -> list[Outcome]:
        done = sender.send(calls, timestamp=at)
        outcomes.extend(done)
        return done

    for tick in range(SLOTS + 2):
        chain_slot = c0 + tick
        block_a = genesis + chain_slot * SLOT_LENGTH - SLOT_LENGTH // 2
        calls = []
        for i, seller in enumerate(sellers):
            read_slot = chain_slot - 2  # ended half a slot ago; c0 - 2 is the baseline
            exported = (read_slot - (c0 - 2)) * exported_per_slot(i)
            reading = Reading(i + 1, read_slot, 0, exported)
            data = codec.encode("submitReading", reading.as_tuple(), meters[i].sign(domain, reading))
            calls.append(Call("submitReading", seller, registry, data, GAS))
            if tick < SLOTS:
                offer = codec.encode("postOffer", i + 1, chain_slot, WH_PER_OFFER, PRICE)
                calls += [Call("postOffer", seller, escrow, offer, GAS, tag=(i, n)) for n in range(2)]
        posted = send(calls, block_a)
        offer_ids = {}
        for outcome in posted:
            for log in outcome.logs:
                event = codec.decode_log(log)
                if event is not None and event.name == "OfferPosted":
                    offer_ids[outcome.call.tag] = event.args["offerId"]
        calls = []
        for j, buyer in enumerate(buyers):
            if tick < SLOTS:
                for seller, n in ((j, 0), ((j + 1) % SELLERS, 1)):
                    take = codec.encode("takeOffers", [(offer_ids[(seller, n)], WH_PER_OFFER)])
                    calls.append(Call("takeOffers", buyer, escrow, take, GAS))
            if tick >= 2:  # slot chain_slot - 2: both its readings are on chain now
                settle = codec.encode("settleLots", [(j + 1, chain_slot - 2)])
                calls.append(Call("settleLots", buyer, escrow, settle, GAS))
        send(calls, block_a + 1)
        if tick % 4 == 3 or tick == SLOTS + 1:
            everyone = sellers + buyers
            answers = sender.calls([(escrow, codec.encode("creditOf", a.address)) for a in everyone])
            calls = [
                Call("withdraw", a, escrow, codec.encode("withdraw"), GAS)
                for a, credit in zip(everyone, answers, strict=True)
                if int.from_bytes(credit[:32], "big")
            ]
            send(calls, block_a + 2)
    logs = sender.logs([escrow], first_block)
    sent_by = Counter(o.call.sender.address for o in outcomes)
    return Load(outcomes, sent_by, sender, codec, escrow, token, sellers + buyers, FUNDING * 50, logs, first_block)


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
    assert set(Counter(o.call.label for o in load.outcomes)) == {
        "submitReading",
        "postOffer",
        "takeOffers",
        "settleLots",
        "withdraw",
    }


def test_every_transaction_succeeded(load):
    failed = [(o.call.label, o.error) for o in load.outcomes if not o.ok]
    assert not failed


def test_the_escrow_holds_exactly_what_is_locked_plus_credited(load):
    held = uint(load, load.token, "balanceOf", load.escrow)
    assert held == uint(load, load.escrow, "totalLocked") + uint(load, load.escrow, "totalCredited")


def test_after_the_last_withdrawal_the_escrow_holds_nothing(load):
    assert uint(load, load.token, "balanceOf", load.escrow) == 0


def test_the_token_supply_is_what_was_minted(load):
    assert uint(load, load.token, "totalSupply") == load.minted
    assert sum(uint(load, load.token, "balanceOf", a.address) for a in load.accounts) == load.minted


def test_every_trade_closed_exactly_once(load):
    opened = {e.args["tradeId"] for e in events(load, "TradeOpened")}
    closed = Counter(e.args["tradeId"] for e in events(load, "TradeClosed"))
    assert len(opened) == SLOTS * BUYERS * 2
    assert set(closed) == opened
    assert set(closed.values()) == {1}


def test_every_lot_paid_its_trades_by_the_settlement_rule(load):
    cost = {e.args["tradeId"]: e.args["cost"] for e in events(load, "TradeOpened")}
    closes = {e.args["tradeId"]: (e.args["paid"], e.args["refunded"]) for e in events(load, "TradeClosed")}
    for lot in events(load, "LotSettled"):
        meter, slot = lot.args["meterId"], lot.args["slot"]
        trades = sorted(t for t in cost if t >> 32 == (meter << 64) | slot)
        rule = settle_lot([cost[t] for t in trades], lot.args["soldWh"], exported_per_slot(meter - 1))
        assert [closes[t] for t in trades] == list(zip(rule.paid, rule.refunded, strict=True))


def test_each_accounts_nonces_on_chain_are_consecutive_from_zero(load):
    mined = load.sender.mined_transactions([a.address for a in load.accounts], load.first_block)
    nonces: dict[str, list[int]] = {}
    for tx in mined:
        nonces.setdefault(tx.sender.lower(), []).append(tx.nonce)
    for account in load.accounts:
        sent = load.sent_by[account.address] + 1  # and its approve in the set-up
        assert nonces[account.address.lower()] == list(range(sent))
