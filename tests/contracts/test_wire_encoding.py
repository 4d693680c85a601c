"""p2p_energy.wire against the contracts: the one file of the suite that writes records by hand.

Digests against the contracts' digest views and eth-account's generic encode_typed_data; keys and compact
signatures against eth-account; each packed record written here from EscrowWords.sol's layout, compared
with the wire's bytes and accepted by the contract, which decodes it as documented; the groups' hash
chain; the storage words' bit layout; the Skip and Unproven enums.
"""

import brownie
import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from p2p_energy.wire.eip712 import key_address, sign_digest
from p2p_energy.wire.orders import ASK_TYPE, BID_TYPE, Ask, Bid, order_records, sign_order
from p2p_energy.wire.readings import READING_TYPE, Reading, reading_records
from p2p_energy.wire.records import (
    SKIP_REASONS,
    AccountList,
    CloseCall,
    GroupClose,
    MatchCall,
    abi_call,
    group_commitment,
    lot_key,
)
from tests.contracts.conftest import (
    BID_PRICE,
    FUNDS,
    PRICE,
    SELLER_METER,
    UNPROVEN,
    key_of,
    match_streams,
    meter_key,
    plain,
    trade,
)

# Awkward values filling their fields unevenly (and the top of each), so a field at the wrong width or place shows.
BID_VALUES = (2**48 - 2, 2**24 - 3, 2**32 - 5)  # maxPricePerKWh, maxWhPerSlot, untilSlot
ASK_VALUES = (4_000_000_007, 2**48 - 7, 12_345, 77, 2**32 - 11)  # meterId, minPrice, maxWh, minWh, untilSlot
READING_VALUES = (SELLER_METER, 2**31 + 11, (0, 1, 2**32 - 1, 123_456))
DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def be(value, size):
    """`value` as `size` big-endian bytes: how EscrowWords.sol writes every number of a record."""
    return value.to_bytes(size, "big")


def address(account):
    return bytes.fromhex(str(account)[2:])


def eth_account_digest(domain, struct_type, values):
    """What eth-account's generic typed-data code says a key signs."""
    fields = [{"name": n, "type": t} for n, t in struct_type.fields]
    signable = encode_typed_data(
        full_message={
            "types": {"EIP712Domain": DOMAIN_TYPE, struct_type.name: fields},
            "primaryType": struct_type.name,
            "domain": {
                "name": domain.name,
                "version": domain.version,
                "chainId": domain.chain_id,
                "verifyingContract": domain.contract,
            },
            "message": {
                n: list(v) if isinstance(v, tuple) else v for (n, _), v in zip(struct_type.fields, values, strict=True)
            },
        }
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def enum_members(contract, name):
    """The members of enum `name` in the AST of compiled contract `contract` (a name), in order."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("nodeType") == "EnumDefinition" and node.get("name") == name:
                yield [m["name"] for m in node["members"]]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return next(walk(brownie.project.get_loaded_projects()[0]._build.get(contract)["ast"]))


# ------------------------------------------------------------------ type hashes, digests


def test_the_wires_type_hashes_are_the_contracts(escrow, registry):
    assert (BID_TYPE.type_hash, ASK_TYPE.type_hash, READING_TYPE.type_hash) == (
        bytes(escrow.BID_TYPEHASH()),
        bytes(escrow.ASK_TYPEHASH()),
        bytes(registry.READING_TYPEHASH()),
    )


def test_a_bids_digest_is_the_escrows_bid_digest(escrow, orders_domain, buyer):
    bid = Bid(str(buyer), *BID_VALUES)
    assert orders_domain.digest(bid.struct_hash()) == bytes(escrow.bidDigest(buyer, *BID_VALUES))


def test_an_asks_digest_is_the_escrows_ask_digest(escrow, orders_domain, seller):
    ask = Ask(str(seller), *ASK_VALUES)
    assert orders_domain.digest(ask.struct_hash()) == bytes(escrow.askDigest(seller, *ASK_VALUES))


def test_a_readings_digest_is_the_registrys_reading_digest(registry, readings_domain):
    reading = Reading(*READING_VALUES)
    assert readings_domain.digest(reading.struct_hash()) == bytes(registry.readingDigest(READING_VALUES))


def test_a_bids_digest_is_eth_accounts(orders_domain, buyer):
    bid = Bid(str(buyer), *BID_VALUES)
    assert orders_domain.digest(bid.struct_hash()) == eth_account_digest(orders_domain, BID_TYPE, bid.values())


def test_an_asks_digest_is_eth_accounts(orders_domain, seller):
    ask = Ask(str(seller), *ASK_VALUES)
    assert orders_domain.digest(ask.struct_hash()) == eth_account_digest(orders_domain, ASK_TYPE, ask.values())


def test_a_readings_digest_is_eth_accounts(readings_domain):
    reading = Reading(*READING_VALUES)
    assert readings_domain.digest(reading.struct_hash()) == eth_account_digest(
        readings_domain, READING_TYPE, reading.values()
    )


def test_the_wires_domains_are_the_ones_the_contracts_report(escrow, registry, orders_domain, readings_domain):
    ours = [(d.name, d.version, d.chain_id, d.contract) for d in (orders_domain, readings_domain)]
    assert ours == [tuple(plain(c.eip712Domain())[1:5]) for c in (escrow, registry)]


# ------------------------------------------------------------------- keys and signatures


def test_key_address_is_eth_accounts_address_of_the_key(buyer):
    assert key_address(key_of(buyer)) == Account.from_key(key_of(buyer)).address == str(buyer)


def test_a_compact_signature_expands_to_one_eth_account_recovers_to_the_key(buyer):
    digest = keccak(text="anything")
    signature = sign_digest(key_of(buyer), digest)
    vs = int.from_bytes(signature.vs, "big")
    v, s = 27 + (vs >> 255), vs & (2**255 - 1)
    recovered = Account._recover_hash(digest, vrs=(v, int.from_bytes(signature.r, "big"), s))
    assert (recovered, s <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) == (str(buyer), True)


# --------------------------------------------------------------------------- records


def test_a_bid_record_is_tag_index_price_wh_until_and_signature(orders_domain, buyer):
    signed = sign_order(key_of(buyer), orders_domain, Bid(str(buyer), *BID_VALUES))
    price, wh, until = BID_VALUES
    by_hand = b"\x01" + be(3, 2) + be(price, 6) + be(wh, 3) + be(until, 4) + signed.signature.r + signed.signature.vs
    assert signed.record({str(buyer).lower(): 3}) == by_hand


def test_a_hand_made_bid_record_is_placed_as_its_fields_say(escrow, matcher, orders_domain, buyer):
    price, wh, until = BID_VALUES
    signed = sign_order(key_of(buyer), orders_domain, Bid(str(buyer), *BID_VALUES))
    record = b"\x01" + be(0, 2) + be(price, 6) + be(wh, 3) + be(until, 4) + signed.signature.r + signed.signature.vs
    escrow.matchOrders(address(buyer), 1, record, b"", {"from": matcher})
    view = escrow.accountOf(buyer)
    assert (view["bidPrice"], view["bidWh"], view["bidUntil"]) == BID_VALUES


def test_an_ask_record_is_tag_account_meter_price_wh_min_until_and_signature(orders_domain, seller):
    signed = sign_order(key_of(seller), orders_domain, Ask(str(seller), *ASK_VALUES))
    meter, price, max_wh, min_wh, until = ASK_VALUES
    fields = be(meter, 4) + be(price, 6) + be(max_wh, 3) + be(min_wh, 3) + be(until, 4)
    by_hand = b"\x02" + address(seller) + fields + signed.signature.r + signed.signature.vs
    assert signed.record({}) == by_hand


def test_a_hand_made_ask_record_is_placed_as_its_fields_say(escrow, matcher, orders_domain, seller):
    values = (SELLER_METER, *ASK_VALUES[1:])
    signed = sign_order(key_of(seller), orders_domain, Ask(str(seller), *values))
    meter, price, max_wh, min_wh, until = values
    fields = be(meter, 4) + be(price, 6) + be(max_wh, 3) + be(min_wh, 3) + be(until, 4)
    record = b"\x02" + address(seller) + fields + signed.signature.r + signed.signature.vs
    escrow.matchOrders(b"", 0, record, b"", {"from": matcher})
    assert plain(escrow.askOf(seller)) == values


def test_the_account_list_is_each_parts_addresses_in_increasing_order(buyer, buyer2, seller):
    loaded = sorted([address(buyer), address(buyer2)])
    assert AccountList.of([str(buyer2), str(buyer)], [str(seller)]).data == b"".join(loaded) + address(seller)


def test_a_matches_stream_is_slot_header_lot_header_and_fills(standing, lot, seller, buyer, buyer2):
    call = MatchCall((), (lot(trade(buyer, 1_234), trade(buyer2, 2**24 - 1), slot=7),))
    index = call.accounts.index
    b1, b2, s = (index[str(a).lower()] for a in (buyer, buyer2, seller))
    by_hand = be(7, 4) + be(1, 2) + be(s, 2) + be(2, 1) + be(PRICE, 6) + be(b1, 2) + be(1_234, 3) + be(b2, 2)
    assert call.matches == by_hand + be(2**24 - 1, 3)


def test_a_lot_whose_fills_have_their_own_prices_has_price_zero_and_priced_fills(standing, lot, seller, buyer):
    call = MatchCall((), (lot(trade(buyer, 5, PRICE), trade(buyer, 6, BID_PRICE)),))
    b, s = call.accounts.index[str(buyer).lower()], call.accounts.index[str(seller).lower()]
    fills = be(b, 2) + be(5, 3) + be(PRICE, 6) + be(b, 2) + be(6, 3) + be(BID_PRICE, 6)
    assert call.matches == be(1, 4) + be(1, 2) + be(s, 2) + be(2, 1) + be(0, 6) + fills


def test_a_hand_made_matches_stream_makes_the_fills_it_says(escrow, standing, matcher, buyer, seller):
    accounts = AccountList.of([str(buyer)], [str(seller)])
    matches = be(3, 4) + be(1, 2) + be(1, 2) + be(1, 1) + be(PRICE, 6) + be(0, 2) + be(1_234, 3)
    tx = escrow.matchOrders(accounts.data, 1, b"", matches, {"from": matcher})
    event = tx.events["Traded"]
    assert (event["lotKey"], event["buyer"], event["wh"], event["pricePerKWh"]) == (
        lot_key(SELLER_METER, 3),
        buyer,
        1_234,
        PRICE,
    )


def test_the_groups_commitment_is_the_hash_chain_of_its_lots_and_trades(escrow, standing, match, lot, buyer, buyer2):
    made = lot(trade(buyer, 1_234), trade(buyer2, 7, PRICE + 1))
    match(made)

    def link(previous, word):
        return keccak(previous + bytes(8) + be(word, 32))[:24]

    seller = int.from_bytes(address(made.seller), "big")
    chain = link(bytes(24), (1 << 255) | (SELLER_METER << 160) | seller)
    for wh, price, who in ((1_234, PRICE, buyer), (7, PRICE + 1, buyer2)):
        chain = link(chain, (wh << 208) | (price << 160) | int.from_bytes(address(who), "big"))
    assert chain == group_commitment([made]) == bytes(escrow.groupOf(1, 0)["commitment"])


def test_a_closes_stream_is_group_header_lot_header_and_trades(standing, lot, reading, buyer, seller):
    made = lot(trade(buyer, 1_234))
    call = CloseCall((GroupClose(1, 0, (made,)),), (reading(SELLER_METER, 1, 1_000),), {made.key: 0}, frozenset())
    b, s = call.accounts.index[str(buyer).lower()], call.accounts.index[str(seller).lower()]
    lot_header = be(SELLER_METER, 4) + be(s, 2) + be(1, 1) + be(1, 2) + be(PRICE, 6)
    assert call.closes == be(1, 4) + be(0, 4) + be(1, 1) + lot_header + be(b, 2) + be(1_234, 3)


def test_a_hand_made_closes_stream_settles_the_lot_it_names(
    escrow, standing, match, lot, reading, goto, stranger, buyer, seller
):
    match(lot(trade(buyer, 1_000)))
    goto(2, 100)
    accounts = AccountList.of([str(seller)], [str(buyer)])
    lot_header = be(SELLER_METER, 4) + be(0, 2) + be(1, 1) + be(1, 2) + be(PRICE, 6)
    closes = be(1, 4) + be(0, 4) + be(1, 1) + lot_header + be(1, 2) + be(1_000, 3)
    escrow.closeLots(accounts.data, 1, reading(SELLER_METER, 1, 1_000).record, closes, {"from": stranger})
    assert escrow.balanceOf(seller) == PRICE


def test_a_reading_record_is_meter_first_slot_slots_values_and_signature(reading):
    signed = reading(*READING_VALUES[:2], *READING_VALUES[2])
    meter, first, values = READING_VALUES
    by_hand = be(meter, 4) + be(first, 4) + be(len(values), 1) + b"".join(be(v, 4) for v in values)
    assert signed.record == by_hand + signed.signature.r + signed.signature.vs


def test_a_hand_made_reading_record_proves_the_slots_it_says(registry, escrow, readings_domain):
    signature = meter_key(SELLER_METER).sign(readings_domain, Reading(SELLER_METER, 40, (5, 6, 7))).signature
    record = be(SELLER_METER, 4) + be(40, 4) + be(3, 1) + be(5, 4) + be(6, 4) + be(7, 4) + signature.r + signature.vs
    (proof,) = registry.provenExports(record, {"from": str(escrow)})
    assert (proof >> 64, (proof >> 32) & 0xFF, proof & 0xFFFFFFFF) == (0, 0, 43)


def test_the_calls_calldata_is_the_abi_encoding_of_its_streams(escrow, standing, lot, buyer):
    call = MatchCall((), (lot(trade(buyer, 1_000)),))
    accounts, loaded, orders, matches = match_streams(call)
    selector = keccak(text="matchOrders(bytes,uint256,bytes,bytes)")[:4]
    assert call.calldata == selector + encode(
        ["bytes", "uint256", "bytes", "bytes"], [accounts, loaded, orders, matches]
    )


def test_abi_call_is_brownies_encoding_too(escrow):
    data = abi_call("closeLots(bytes,uint256,bytes,bytes)", b"\x01" * 21, 7, b"", b"\x02" * 33)
    assert data.hex() == escrow.closeLots.encode_input(b"\x01" * 21, 7, b"", b"\x02" * 33)[2:]


def test_order_records_join_the_records_in_order(orders_domain, buyer, seller):
    bid = sign_order(key_of(buyer), orders_domain, Bid(str(buyer), *BID_VALUES))
    ask = sign_order(key_of(seller), orders_domain, Ask(str(seller), *ASK_VALUES))
    index = {str(buyer).lower(): 0}
    assert order_records([bid, ask], index) == bid.record(index) + ask.record(index)


def test_reading_records_join_the_records_in_order(reading):
    one, two = reading(SELLER_METER, 1, 5), reading(SELLER_METER, 2, 6, 7)
    assert reading_records([one, two]) == one.record + two.record


# --------------------------------------------------------------------------- storage words


def storage_word(web3, contract, slot_of_mapping, key):
    position = keccak(be(int(str(key), 16), 32) + be(slot_of_mapping, 32))
    return int.from_bytes(web3.eth.get_storage_at(str(contract), position), "big")


def mapping_slot(web3, escrow, account, low_bits):
    """The storage slot of the escrow mapping whose word for `account` has `low_bits` in its low 96 bits."""
    return next(p for p in range(16) if storage_word(web3, escrow, p, account) & (2**96 - 1) == low_bits)


def test_an_accounts_word_is_balance_bid_price_wh_until_last_slot_and_last_wh(
    escrow, web3, match, lot, ask, bid, buyer
):
    match(lot(trade(buyer, 1_000), slot=3), orders=[ask(), bid(buyer, wh=4_321, price=BID_PRICE, until=77)])
    balance = FUNDS - PRICE
    word = storage_word(web3, escrow, mapping_slot(web3, escrow, buyer, balance), buyer)
    assert word == balance | BID_PRICE << 96 | 4_321 << 144 | 77 << 168 | 3 << 200 | 1_000 << 232


def test_an_asks_word_is_meter_min_price_max_wh_min_wh_and_until(escrow, web3, match, ask, seller):
    match(orders=[ask(wh=12_345, min_wh=67, price=8_901, until=77)])
    word = SELLER_METER | 8_901 << 32 | 12_345 << 80 | 67 << 104 | 77 << 128
    assert any(storage_word(web3, escrow, p, seller) == word for p in range(16))


# --------------------------------------------------------------------------- enums


def test_the_wires_skip_reasons_are_the_escrows_skip_enum():
    assert list(SKIP_REASONS) == enum_members("EnergyEscrow", "Skip")


def test_the_unproven_reasons_the_tests_decode_are_the_registrys_enum():
    assert list(UNPROVEN) == enum_members("IMeterRegistry", "Unproven")


@pytest.mark.parametrize(("meter_id", "slot"), [(1, 1), (2**32 - 1, 2**64 - 1), (7, 0)])
def test_the_wires_lot_key_is_meter_above_a_64_bit_slot(escrow, meter_id, slot):
    assert lot_key(meter_id, slot) == meter_id << 64 | slot == escrow.lotKey(meter_id, slot)
