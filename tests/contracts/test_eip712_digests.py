"""The hand-built EIP-712 of p2p_energy.domain (orders, meters) against the contracts' own digest views,
and against eth-account's generic encode_typed_data for one example of each type."""

from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from p2p_energy.domain.meters import READING_TYPEHASH, Reading
from p2p_energy.domain.orders import ASK_TYPEHASH, BID_TYPEHASH, Ask, Bid, LotTrade, commitment

from tests.contracts.conftest import PRICE, SELLER_METER

# Awkward values that fill their fields unevenly, so a field encoded at the wrong width or place shows.
ASK = Ask(meter_id=4_000_000_007, slot=2**40 + 3, wh=12_345, min_wh=77, min_price_per_kwh=2**90 + 12_345)
BID_SLOT, BID_WH, BID_PRICE = 2**33 + 5, 98_765, PRICE
READING = Reading(meter_id=SELLER_METER, slot=2**50 + 11, exported_wh=2**63 + 17)
DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
TYPES = {
    "Ask": [
        {"name": "meterId", "type": "uint32"},
        {"name": "slot", "type": "uint64"},
        {"name": "wh", "type": "uint64"},
        {"name": "minWh", "type": "uint64"},
        {"name": "minPricePerKWh", "type": "uint96"},
    ],
    "Bid": [
        {"name": "account", "type": "address"},
        {"name": "slot", "type": "uint64"},
        {"name": "maxWh", "type": "uint64"},
        {"name": "maxPricePerKWh", "type": "uint96"},
    ],
    "Reading": [
        {"name": "meterId", "type": "uint32"},
        {"name": "slot", "type": "uint64"},
        {"name": "exportedWh", "type": "uint64"},
    ],
}


def eth_account_digest(domain, primary_type, message):
    """What eth-account's generic typed-data code says a key signs."""
    signable = encode_typed_data(
        full_message={
            "types": {"EIP712Domain": DOMAIN_TYPE, primary_type: TYPES[primary_type]},
            "primaryType": primary_type,
            "domain": {
                "name": domain.name,
                "version": domain.version,
                "chainId": domain.chain_id,
                "verifyingContract": domain.contract,
            },
            "message": message,
        }
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def test_ask_digest_equals_the_escrows(escrow, orders):
    assert bytes(escrow.askDigest(ASK.as_tuple())) == orders.digest(ASK.struct_hash())


def test_bid_digest_equals_the_escrows(escrow, orders, buyer):
    bid = Bid(str(buyer), BID_SLOT, BID_WH, BID_PRICE)
    assert bytes(escrow.bidDigest(bid.as_tuple())) == orders.digest(bid.struct_hash())


def test_reading_digest_equals_the_registrys(registry, readings):
    assert bytes(registry.readingDigest(READING.as_tuple())) == readings.digest(READING.struct_hash())


def test_commitment_equals_the_escrows_commitment_of(escrow, buyer, buyer2):
    trades = [LotTrade(str(buyer), 1_234, 28_945_678), LotTrade(str(buyer2), 1, 2**96 - 1), LotTrade(str(buyer), 7, 1)]
    assert bytes(escrow.commitmentOf([t.as_tuple() for t in trades])) == commitment(trades)


def test_commitment_of_no_trades_is_zero_like_a_closed_lot(escrow):
    assert bytes(escrow.commitmentOf([])) == bytes(24) == commitment([])


def test_type_hashes_equal_the_contracts(escrow, registry):
    assert (bytes(escrow.ASK_TYPEHASH()), bytes(escrow.BID_TYPEHASH())) == (ASK_TYPEHASH, BID_TYPEHASH)
    assert bytes(registry.READING_TYPEHASH()) == READING_TYPEHASH


def test_order_domain_is_the_one_the_escrow_reports(escrow, orders):
    _, name, version, chain_id, contract, _, _ = escrow.eip712Domain()
    assert (name, version, chain_id, contract) == (orders.name, orders.version, orders.chain_id, orders.contract)


def test_reading_domain_is_the_one_the_registry_reports(registry, readings):
    _, name, version, chain_id, contract, _, _ = registry.eip712Domain()
    ours = readings
    assert (name, version, chain_id, contract) == (ours.name, ours.version, ours.chain_id, ours.contract)


def test_ask_digest_equals_eth_accounts_encode_typed_data(orders):
    message = dict(zip(("meterId", "slot", "wh", "minWh", "minPricePerKWh"), ASK.as_tuple(), strict=True))
    assert orders.digest(ASK.struct_hash()) == eth_account_digest(orders, "Ask", message)


def test_bid_digest_equals_eth_accounts_encode_typed_data(orders, buyer):
    bid = Bid(str(buyer), BID_SLOT, BID_WH, BID_PRICE)
    message = dict(zip(("account", "slot", "maxWh", "maxPricePerKWh"), bid.as_tuple(), strict=True))
    assert orders.digest(bid.struct_hash()) == eth_account_digest(orders, "Bid", message)


def test_reading_digest_equals_eth_accounts_encode_typed_data(readings):
    message = dict(zip(("meterId", "slot", "exportedWh"), READING.as_tuple(), strict=True))
    assert readings.digest(READING.struct_hash()) == eth_account_digest(readings, "Reading", message)
