import pytest
from eth_utils.crypto import keccak

from p2p_energy.domain.meters import MeterKey, Reading, ReadingDomain

DECIMALS = 8
INITIAL = 1_000 * 10**DECIMALS
SLOT_LENGTH = 900
GRACE = 1_800
# 0.23456789 NRG per kWh in base units: 23,456.789 per Wh, so a cost or a pro-rata payout is
# almost never a whole number and the fixed-case tests see which way the contracts round.
PRICE = 23_456_789
BUYER_FUNDS = 100 * 10**DECIMALS
SELLER_METER = 1
OTHER_METER = 2


def meter_key(meter_id: int) -> MeterKey:
    return MeterKey(keccak(text=f"test meter {meter_id}"))


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
def stranger(accounts):
    return accounts[9]


@pytest.fixture(scope="module")
def token(EnergyToken, admin):
    token = EnergyToken.deploy("Energy Token", "NRG", admin, {"from": admin})
    token.mint(admin, INITIAL, {"from": admin})
    return token


@pytest.fixture(scope="module")
def registry(MeterRegistry, admin, chain):
    # Slot 0 is under way from deployment on, so slot 1 is the first one open for offers.
    return MeterRegistry.deploy(admin, chain[-1].timestamp, SLOT_LENGTH, {"from": admin})


@pytest.fixture(scope="module")
def escrow(EnergyEscrow, token, registry, admin, seller, seller2, buyer, buyer2):
    escrow = EnergyEscrow.deploy(token, registry, GRACE, {"from": admin})
    registry.registerMeter(SELLER_METER, seller, meter_key(SELLER_METER).address, {"from": admin})
    registry.registerMeter(OTHER_METER, seller2, meter_key(OTHER_METER).address, {"from": admin})
    for account in (buyer, buyer2):
        token.mint(account, BUYER_FUNDS, {"from": admin})
        token.approve(escrow, 2**256 - 1, {"from": account})
    return escrow


@pytest.fixture(scope="module")
def domain(registry, chain):
    return ReadingDomain(chain.id, registry.address)


@pytest.fixture(scope="module")
def sign(domain):
    """sign(meter_id, slot, import_wh, export_wh) -> (reading tuple, signature) for the registry."""

    def sign(meter_id, slot, import_wh, export_wh, key=None, on=None):
        reading = Reading(meter_id, slot, import_wh, export_wh)
        signature = (key or meter_key(meter_id)).sign(on or domain, reading)
        return reading.as_tuple(), signature

    return sign


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
def goto(mine_at, registry):
    """goto(slot, offset=0): mine a block at the start of `slot` plus `offset` seconds."""

    def goto(slot, offset=0):
        mine_at(registry.slotStart(slot) + offset)

    return goto


@pytest.fixture(scope="module")
def deliver(registry, sign, chain, mine_at, stranger):
    """deliver(meter_id, slot, exported_wh): after `slot` ends, record the readings of
    `slot - 1` and `slot` so that the registry knows the meter exported `exported_wh`."""

    def deliver(meter_id, slot, exported_wh, base_wh=10_000):
        if chain[-1].timestamp < registry.slotEnd(slot):
            mine_at(registry.slotEnd(slot))
        before = sign(meter_id, slot - 1, 0, base_wh)
        after = sign(meter_id, slot, 0, base_wh + exported_wh)
        return registry.submitReadings([before[0], after[0]], [before[1], after[1]], {"from": stranger})

    return deliver


@pytest.fixture(scope="module")
def offer(escrow, seller):
    """offer(wh, slot=1, price=PRICE, meter_id=SELLER_METER, by=seller) -> offer id."""

    def offer(wh, slot=1, price=PRICE, meter_id=SELLER_METER, by=None):
        return escrow.postOffer(meter_id, slot, wh, price, {"from": by or seller}).return_value

    return offer


@pytest.fixture(scope="module")
def take(escrow, buyer):
    """take((offer_id, wh), ..., by=buyer) -> transaction."""

    def take(*takes, by=None):
        return escrow.takeOffers(list(takes), {"from": by or buyer})

    return take
