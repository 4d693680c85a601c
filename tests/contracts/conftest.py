"""The contract suite's market: token, registry and escrow deployed once per module, and helpers that
build every call through p2p_energy.wire (signed orders, readings, MatchCall and CloseCall streams).

Slot 0 is under way from deployment on, so slot 1 is the first slot open for fills. Meters 1 and 2
(sellers `seller` and `seller2`) sell through `escrow`; `matcher` is the escrow's matcher. Both
buyers start with FUNDS in their escrow balances (the operator's depositFor), nothing in their wallets.
Nothing is placed: a test places the standing orders it needs inside its matchOrders call, or asks
for the `standing` fixture (an ask per meter, a bid per buyer, all until slot UNTIL).
"""

import functools
import gc
import importlib
import time
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3.exceptions import TransactionNotFound

from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.orders import Ask, Bid, order_domain, order_records, sign_order
from p2p_energy.wire.readings import MeterKey, Reading, reading_domain
from p2p_energy.wire.records import SKIP_REASONS, AccountList, CloseCall, GroupClose, Lot, MatchCall, Trade

DECIMALS = 8
INITIAL = 1_000 * 10**DECIMALS
SLOT_LENGTH = 900
GRACE = 3_600
GRACE_SLOTS = GRACE // SLOT_LENGTH
FUNDS = 100 * 10**DECIMALS
# Prices per kWh in base units. A fill at PRICE costs 23,456.789 units per Wh, so a cost or a pro-rata
# payout is almost never a whole number and the tests see which way the contract rounds. The standing
# ask's floor is below it and the standing bid's limit above it, so each edge can be tested alone.
PRICE = 23_456_789
ASK_PRICE = 20_000_000
BID_PRICE = 30_000_000
ASK_WH = 10_000  # the standing ask's Wh per slot
BID_WH = 5_000  # the standing bid's Wh per slot
UNTIL = 96  # the standing orders' last slot
SELLER_METER = 1
OTHER_METER = 2
CROWD = 65  # sellers of the `crowd` fixture: one more than a group's lots
CROWD_METER = 101
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


#: IMeterRegistry.Unproven's members in order: why a reading proves nothing (or nothing from some slot on).
UNPROVEN = ("None", "UnknownMeter", "OtherMarket", "BadSignature", "Revoked")


def error(name, *args):
    """A custom error as brownie renders a revert: `Name: arg, arg` (addresses in lower case, bytesN as Python
    bytes)."""
    rendered = (str(bytes(a)) if isinstance(a, bytes) else str(a) for a in args)
    return f"{name}: " + ", ".join(r.lower() if r.startswith("0x") else r for r in rendered)


def plain(value):
    """A view's return value as plain Python: tuples of ints, strings and bytes (brownie's own types compare
    with plain tuples only in part)."""
    if isinstance(value, list | tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, int):
        return int(value)
    return str(value) if isinstance(value, str) else value


def events(tx, name):
    """tx.events[name] as a list, empty where there is none (brownie's events have no .get)."""
    return list(tx.events[name]) if name in tx.events else []


def fill_skips(tx):
    """(lot key, buyer, reason name) of every FillSkipped event of `tx`."""
    return [(e["lotKey"], e["buyer"], SKIP_REASONS[e["reason"]]) for e in events(tx, "FillSkipped")]


def trades_of(tx):
    """(lot key, buyer, Wh, price) of every Traded event of `tx`."""
    return [(e["lotKey"], e["buyer"], e["wh"], e["pricePerKWh"]) for e in events(tx, "Traded")]


def order_skips(tx):
    """(account, reason name) of every OrderSkipped event of `tx`."""
    return [(e["account"], SKIP_REASONS[e["reason"]]) for e in events(tx, "OrderSkipped")]


def lot_skips(tx):
    """(lot key, reason name) of every LotSkipped event of `tx`."""
    return [(e["lotKey"], SKIP_REASONS[e["reason"]]) for e in events(tx, "LotSkipped")]


def meter_key(meter_id):
    return MeterKey(keccak(text=f"test meter {meter_id}"))


@functools.cache
def _anvil_keys():
    """address -> private key of anvil's default accounts (brownie starts anvil without a mnemonic, so its
    accounts are anvil's, from anvil's well-known test mnemonic; brownie holds no keys for them)."""
    Account.enable_unaudited_hdwallet_features()
    derived = (Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(10))
    return {a.address: bytes(a.key) for a in derived}


def key_of(account):
    """The private key of one of brownie's accounts, as bytes."""
    try:
        return _anvil_keys()[str(account)]
    except KeyError:
        raise LookupError(f"{account} is not one of anvil's default accounts: no key for it") from None


def trade(buyer, wh, price=PRICE):
    return Trade(str(buyer), wh, price)


class UncheckedLot(Lot):
    """A Lot the planner never builds (no trades, or more than MAX_TRADES_PER_LOT), written by the wire's own
    code: to show that the contract bounds what p2p_energy.wire already refuses to build."""

    def __post_init__(self):
        pass


@dataclass(frozen=True)
class ListedMatchCall(MatchCall):
    """A MatchCall written against an account list of the test's choosing (the wire's own list is always
    right): to show what the escrow does with a list that leaves an account out or names it only."""

    listed: AccountList | None = None

    @property
    def accounts(self):
        return self.listed


@dataclass(frozen=True)
class ListedCloseCall(CloseCall):
    """A CloseCall written against an account list of the test's choosing."""

    listed: AccountList | None = None

    @property
    def accounts(self):
        return self.listed


def match_streams(call):
    """matchOrders' arguments for a MatchCall: (accounts, loaded, orders, matches)."""
    accounts = call.accounts
    return accounts.data, len(accounts.loaded), order_records(call.orders, accounts.index), call.matches


def close_streams(call):
    """closeLots' arguments for a CloseCall: (accounts, loaded, readings, closes)."""
    accounts = call.accounts
    return accounts.data, len(accounts.loaded), b"".join(r.record for r in call.readings), call.closes


def proofs_of(groups, readings):
    """lot key -> place among `readings` of the reading of its meter that covers its slot (the last one)."""
    proofs = {}
    for place, signed in enumerate(readings):
        for group in groups:
            for lot in group.lots:
                if lot.meter_id == signed.reading.meter_id and lot.slot in signed.reading.slots:
                    proofs[lot.key] = place
    return proofs


def everyone_in(groups):
    """Every seller and buyer of `groups`: the accounts a closing call may credit."""
    return frozenset(a for g in groups for lot in g.lots for a in (*lot.buyers, lot.seller.lower()))


class _Polling:
    """brownie's transaction module as it sees `time`, polling every 10 ms instead of every second.

    anvil mines a transaction a few ms after taking it; when brownie asks for the receipt before that, it
    sleeps a whole second before asking again (about one transaction in fifty: ten seconds a run). Only
    how often brownie asks changes."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        time.sleep(min(seconds, 0.01))


class _PatientReceipts:
    """brownie's transaction module's web3, whose receipt lookups wait up to 5 s for the receipt.

    brownie takes a sender nonce past the transaction's, seen before its receipt, for a dropped transaction.
    anvil shows the nonce a moment before the receipt of a heavy transaction (a 6M-gas call: about one run in
    three of test_limits_edges); a local anvil mines every transaction within milliseconds, so waiting a little
    for the receipt turns that false "dropped" into the receipt."""

    def __init__(self, web3):
        self._web3 = web3

    def __getattr__(self, name):
        return getattr(self._web3, name)

    @property
    def eth(self):
        return _PatientEth(self._web3.eth)


class _PatientEth:
    def __init__(self, eth):
        self._eth = eth

    def __getattr__(self, name):
        return getattr(self._eth, name)

    def get_transaction_receipt(self, txid):
        deadline = time.monotonic() + 5
        while True:
            try:
                return self._eth.get_transaction_receipt(txid)
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)


@pytest.fixture(scope="session", autouse=True)
def quick_receipts():
    for module in ("brownie.network.transaction", "brownie.network.account"):
        importlib.import_module(module).time = _Polling()
    transaction = importlib.import_module("brownie.network.transaction")
    transaction.web3 = _PatientReceipts(transaction.web3)


@pytest.fixture(scope="session", autouse=True)
def frozen_heap():
    """brownie runs gc.collect() on every revert (each test's isolation); with the heap brownie, web3 and the
    compiled project leave behind moved out of the collector's sight, that takes a few ms instead of ~150."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def seller(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def buyer(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def buyer2(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def seller2(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def matcher(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def stranger(accounts):
    return accounts[9]


@pytest.fixture(scope="module")
def token(EnergyToken, admin):
    token = EnergyToken.deploy("Energy Token", "NRG", admin, {"from": admin})
    token.mint(admin, INITIAL, {"from": admin})
    return token


@pytest.fixture(scope="module")
def registry(MeterRegistry, admin, chain):
    return MeterRegistry.deploy(admin, chain[-1].timestamp, SLOT_LENGTH, {"from": admin})


@pytest.fixture(scope="module")
def escrow(EnergyEscrow, token, registry, admin, matcher, seller, seller2, buyer, buyer2):
    escrow = EnergyEscrow.deploy(token, registry, GRACE, matcher, {"from": admin})
    registry.registerMeters(
        [SELLER_METER, OTHER_METER],
        [seller, seller2],
        [meter_key(SELLER_METER).address, meter_key(OTHER_METER).address],
        escrow,
        {"from": admin},
    )
    token.approve(escrow, 2**256 - 1, {"from": admin})
    escrow.depositFor([buyer, buyer2], [FUNDS, FUNDS], {"from": admin})
    return escrow


@pytest.fixture
def rival(EnergyEscrow, token, registry, admin, matcher, buyer, buyer2):
    """A second escrow on the same registry and token, with the same matcher, its buyers funded like `escrow`'s;
    no meter is registered for it. Function-scoped: deploying it changes the chain."""
    rival = EnergyEscrow.deploy(token, registry, GRACE, matcher, {"from": admin})
    token.approve(rival, 2**256 - 1, {"from": admin})
    rival.depositFor([buyer, buyer2], [FUNDS, FUNDS], {"from": admin})
    return rival


@pytest.fixture(scope="module")
def owners(seller, seller2):
    """meter id -> the account that owns it."""
    return {SELLER_METER: seller, OTHER_METER: seller2}


@pytest.fixture(scope="module")
def orders_domain(escrow, chain):
    """The escrow's EIP-712 domain."""
    return order_domain(chain.id, escrow.address)


@pytest.fixture(scope="module")
def readings_domain(registry, chain):
    """The registry's EIP-712 domain."""
    return reading_domain(chain.id, registry.address)


@pytest.fixture(scope="module")
def bid(orders_domain):
    """bid(account, wh=BID_WH, price=BID_PRICE, until=UNTIL, key=account's, domain=the escrow's) -> a SignedOrder."""

    def bid(account, wh=BID_WH, price=BID_PRICE, until=UNTIL, key=None, domain=None):
        order = Bid(str(account), price, wh, until)
        return sign_order(key or key_of(account), domain or orders_domain, order)

    return bid


@pytest.fixture(scope="module")
def ask(orders_domain, owners):
    """ask(meter=SELLER_METER, wh=ASK_WH, min_wh=1, price=ASK_PRICE, until=UNTIL, account=the meter's owner,
    key=the account's, domain=the escrow's) -> a SignedOrder."""

    def ask(meter=SELLER_METER, wh=ASK_WH, min_wh=1, price=ASK_PRICE, until=UNTIL, account=None, key=None, domain=None):
        account = account or owners[meter]
        order = Ask(str(account), meter, price, wh, min_wh, until)
        return sign_order(key or key_of(account), domain or orders_domain, order)

    return ask


@pytest.fixture(scope="module")
def lot(owners):
    """lot(*trades, slot=1, meter=SELLER_METER, seller=the meter's owner) -> a wire Lot."""

    def lot(*trades, slot=1, meter=SELLER_METER, seller=None):
        return Lot(meter, slot, str(seller or owners[meter]), tuple(trades))

    return lot


@pytest.fixture(scope="module")
def match(escrow, matcher):
    """match(*lots, orders=(), sender=matcher, on=escrow): one matchOrders call built by wire.MatchCall."""

    def match(*lots, orders=(), sender=None, on=None):
        call = MatchCall(tuple(orders), tuple(lots))
        return (on or escrow).matchOrders(*match_streams(call), {"from": sender or matcher})

    return match


@pytest.fixture
def standing(escrow, match, ask, bid, owners, buyer, buyer2):
    """The standing orders most tests trade on: an ask per meter and a bid per buyer, until slot UNTIL.
    Function-scoped, as every fixture that changes the chain after deployment: a module-scoped one would run
    before the first test's snapshot and stay for the module's other tests."""
    match(orders=[ask(SELLER_METER), ask(OTHER_METER), bid(buyer), bid(buyer2)])
    return True


@dataclass(frozen=True)
class Household:
    """A seller of the crowd: its meter, its key (ecrecover gives its address) and its address."""

    meter: int
    key: bytes

    @property
    def address(self):
        return key_address(self.key)


@pytest.fixture(scope="module")
def crowd(escrow, registry, admin):
    """CROWD sellers beyond the fixture's two, one meter each (ids from CROWD_METER, above the others), registered
    for `escrow`: enough lots for one slot to fill a group and start the next. Registering is the only change it
    makes, the same for every test of a module."""
    households = [Household(CROWD_METER + i, keccak(text=f"crowd seller {i}")) for i in range(CROWD)]
    meters = [h.meter for h in households]
    signers = [meter_key(h.meter).address for h in households]
    registry.registerMeters(meters, [h.address for h in households], signers, escrow, {"from": admin})
    return households


@pytest.fixture(scope="module")
def reading(readings_domain):
    """reading(meter, first_slot, *exported_wh, key=the meter's, domain=the registry's) -> a SignedReading."""

    def reading(meter, first_slot, *exported_wh, key=None, domain=None):
        return (key or meter_key(meter)).sign(domain or readings_domain, Reading(meter, first_slot, exported_wh))

    return reading


@pytest.fixture(scope="module")
def close(escrow, stranger):
    """close(*groups, readings=(), credited=every seller and buyer, proofs=by meter and slot, sender=stranger,
    on=escrow): one closeLots call built by wire.CloseCall; unless `proofs` says otherwise (lot key -> place
    among `readings`), each lot is proved by the reading of its meter that covers its slot."""

    def close(*groups, readings=(), credited=None, proofs=None, sender=None, on=None):
        credited = everyone_in(groups) if credited is None else frozenset(str(a).lower() for a in credited)
        proofs = proofs_of(groups, readings) if proofs is None else proofs
        call = CloseCall(tuple(groups), tuple(readings), proofs, credited)
        return (on or escrow).closeLots(*close_streams(call), {"from": sender or stranger})

    return close


def group(*lots, number=0):
    """The GroupClose of `lots` (all of one slot) as group `number` of their slot."""
    return GroupClose(lots[0].slot, number, tuple(lots))


@pytest.fixture(scope="module")
def mine_at(chain, web3):
    """mine_at(timestamp): mine the next block at `timestamp` (which must be in the future).

    brownie 1.22's chain.mine(timestamp=...) sends a request anvil rejects, so this asks anvil directly."""

    def mine_at(timestamp):
        web3.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])
        chain.mine()

    return mine_at


@pytest.fixture(scope="module")
def next_block_at(web3):
    """next_block_at(timestamp): the next transaction's block carries exactly `timestamp`."""

    def next_block_at(timestamp):
        web3.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])

    return next_block_at


@pytest.fixture(scope="module")
def goto(mine_at, registry):
    """goto(slot, offset=0): mine a block at the start of `slot` plus `offset` seconds."""

    def goto(slot, offset=0):
        mine_at(registry.slotStart(slot) + offset)

    return goto
