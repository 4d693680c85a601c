"""The contract suite's market: token, registry and escrow deployed once per module, and helpers
that sign orders and readings the way the runner does (p2p_energy.domain.orders and .meters).

Slot 0 is under way from deployment on, so slot 1 is the first slot open for orders. Both buyers
start with FUNDS in their escrow balances (the operator's depositFor), nothing in their wallets;
buyer's address is below buyer2's, so bids listed [buyer, buyer2] are in the order matchOrders wants.
"""

import functools

import coincurve
import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.orders import Ask, Bid, LotTrade, order_domain, sign_order

DECIMALS = 8
INITIAL = 1_000 * 10**DECIMALS
SLOT_LENGTH = 900
GRACE = 3_600
# 0.23456789 NRG per kWh in base units: 23,456.789 per Wh, so a cost or a pro-rata payout is
# almost never a whole number and the fixed-case tests see which way the contracts round.
PRICE = 23_456_789
FUNDS = 100 * 10**DECIMALS
SELLER_METER = 1
OTHER_METER = 2
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


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


def recovered(domain, signed, signature):
    """The address `ecrecover` yields for `signature` (an (r, vs) tuple) over `signed` (an order or a Reading)
    in `domain`: what a contract names as `recovered` when it refuses a signature."""
    r, vs = (int.from_bytes(bytes(word), "big") for word in signature)
    compact = r.to_bytes(32, "big") + (vs & (2**255 - 1)).to_bytes(32, "big") + bytes([vs >> 255])
    public = coincurve.PublicKey.from_signature_and_message(compact, domain.digest(signed.struct_hash()), hasher=None)
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[12:])


def lot_of(escrow, meter, slot):
    """escrow.lotOf as plain (commitment bytes, sold Wh, trades): (bytes(24), 0, 0) unless the lot is open."""
    commitment, sold_wh, trades = escrow.lotOf(meter, slot)
    return (bytes(commitment), int(sold_wh), int(trades))


def account_of(escrow, account):
    """escrow.accountOf as plain (balance, slot of the latest matched bid, Wh of it matched)."""
    balance, bid_slot, bid_wh = escrow.accountOf(account)
    return (int(balance), int(bid_slot), int(bid_wh))


def lot_trade(buyer, wh, cost):
    """A LotTrade tuple: how settleLots and refundLots are given a trade."""
    return LotTrade(str(buyer), wh, cost).as_tuple()


def fill(ask, bid, wh, price=PRICE):
    """A Fill tuple: `wh` of ask number `ask` to bid number `bid` at `price`."""
    return (ask, bid, wh, price)


def error(name, *args):
    """A custom error as brownie renders a revert: `Name: arg, arg` (addresses in lower case)."""
    rendered = (str(a) for a in args)
    return f"{name}: " + ", ".join(r.lower() if r.startswith("0x") else r for r in rendered)


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
def buyer2(accounts, buyer):
    assert int(str(buyer), 16) < int(str(accounts[3]), 16), "bids must be sorted by account"
    return accounts[3]


@pytest.fixture(scope="module")
def seller2(accounts):
    return accounts[4]


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
def escrow(EnergyEscrow, token, registry, admin, seller, seller2, buyer, buyer2):
    escrow = EnergyEscrow.deploy(token, registry, GRACE, {"from": admin})
    registry.registerMeters(
        [SELLER_METER, OTHER_METER],
        [seller, seller2],
        [meter_key(SELLER_METER).address, meter_key(OTHER_METER).address],
        {"from": admin},
    )
    token.approve(escrow, 2**256 - 1, {"from": admin})
    escrow.depositFor([buyer, buyer2], [FUNDS, FUNDS], {"from": admin})
    return escrow


@pytest.fixture(scope="module")
def owners(seller, seller2):
    """meter id -> the account that owns it."""
    return {SELLER_METER: seller, OTHER_METER: seller2}


@pytest.fixture(scope="module")
def orders(escrow, chain):
    """The escrow's EIP-712 domain."""
    return order_domain(chain.id, escrow.address)


@pytest.fixture(scope="module")
def readings(registry, chain):
    """The registry's EIP-712 domain."""
    return reading_domain(chain.id, registry.address)


@pytest.fixture(scope="module")
def ask(orders, owners):
    """ask(wh, slot=1, meter=SELLER_METER, min_wh=1, price=PRICE, key=owner's) -> a SignedAsk tuple."""

    def ask(wh, slot=1, meter=SELLER_METER, min_wh=1, price=PRICE, key=None):
        order = Ask(meter, slot, wh, min_wh, price)
        signature = sign_order(key or key_of(owners[meter]), orders, order)
        return (order.as_tuple(), signature.as_tuple())

    return ask


@pytest.fixture(scope="module")
def bid(orders):
    """bid(account, max_wh, slot=1, price=PRICE, key=account's) -> a SignedBid tuple."""

    def bid(account, max_wh, slot=1, price=PRICE, key=None):
        order = Bid(str(account), slot, max_wh, price)
        signature = sign_order(key or key_of(account), orders, order)
        return (order.as_tuple(), signature.as_tuple())

    return bid


@pytest.fixture(scope="module")
def match(escrow, stranger):
    """match(asks, bids, fills, slot=1): matchOrders sent by a stranger (anyone may)."""

    def match(asks, bids, fills, slot=1):
        return escrow.matchOrders(slot, asks, bids, fills, {"from": stranger})

    return match


@pytest.fixture(scope="module")
def trade(ask, bid, match, buyer):
    """trade(wh, by=buyer, price=PRICE, slot=1, meter=SELLER_METER): one ask and one bid of `wh`, one fill."""

    def trade(wh, by=None, price=PRICE, slot=1, meter=SELLER_METER):
        asks, bids = [ask(wh, slot, meter, price=price)], [bid(by or buyer, wh, slot, price)]
        return match(asks, bids, [fill(0, 0, wh, price)], slot)

    return trade


@pytest.fixture(scope="module")
def reading(readings):
    """reading(meter, slot, exported_wh, key=the meter's, domain=the registry's) -> (Reading tuple, Signature tuple)."""

    def reading(meter, slot, exported_wh, key=None, domain=None):
        signed = Reading(meter, slot, exported_wh)
        signature = (key or meter_key(meter)).sign(domain or readings, signed)
        return (signed.as_tuple(), signature.as_tuple())

    return reading


@pytest.fixture(scope="module")
def proof(reading):
    """proof(meter, slot, trades, exported_wh, **reading options) -> a LotProof tuple."""

    def proof(meter, slot, trades, exported_wh, **options):
        return ((meter, slot, trades), *reading(meter, slot, exported_wh, **options))

    return proof


@pytest.fixture(scope="module")
def settle(escrow, proof, stranger):
    """settle(meter, slot, trades, exported_wh): settleLots of one lot, sent by a stranger."""

    def settle(meter, slot, trades, exported_wh):
        return escrow.settleLots([proof(meter, slot, trades, exported_wh)], {"from": stranger})

    return settle


@pytest.fixture(scope="module")
def mine_at(chain, web3):
    """mine_at(timestamp): mine the next block at `timestamp` (which must be in the future).

    brownie 1.22's chain.mine(timestamp=...) sends a request anvil rejects, so
    this asks anvil directly."""

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
