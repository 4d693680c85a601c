"""The packed records of matchOrders and closeLots, their account list and calldata, in Python alone
(tests/contracts checks the same bytes against the escrow)."""

import re
from pathlib import Path

import pytest
from eth_abi import decode, encode
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from p2p_energy.wire.orders import Ask, Bid, order_domain, sign_order
from p2p_energy.wire.readings import UNPROVEN
from p2p_energy.wire.records import (
    CLOSE_LOTS,
    MATCH_ORDERS,
    SKIP_REASONS,
    AccountList,
    CloseCall,
    GroupClose,
    Lot,
    MatchCall,
    Trade,
    abi_call,
    credited_by,
    group_commitment,
    lot_key,
    lot_of_key,
)

A, B, C, D = ("0x" + f"{n:02x}" * 20 for n in (0x10, 0x20, 0x30, 0x40))
ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def lot(meter=1, slot=9, seller=A, trades=((B, 100, 5), (C, 50, 5))):
    return Lot(meter, slot, seller, tuple(Trade(*t) for t in trades))


def test_a_lot_key_is_the_meter_above_a_64_bit_slot():
    assert lot_key(3, 7) == 3 << 64 | 7
    assert lot_of_key(lot_key(3, 7)) == (3, 7)


def test_the_account_list_puts_loaded_accounts_first_each_part_in_number_order():
    accounts = AccountList.of(loaded=[C, A], named=[D, A, B])
    assert accounts.loaded == (A.lower(), C.lower())
    assert accounts.named == (B.lower(), D.lower())
    assert accounts.data == bytes.fromhex(A[2:] + C[2:] + B[2:] + D[2:])
    assert accounts.index[D.lower()] == 3


def test_a_lot_of_one_price_carries_it_in_its_header_and_five_byte_trades():
    assert lot().price == 5
    assert lot().trades_size == 2 * 5


def test_a_lot_of_several_prices_carries_a_price_in_every_trade():
    mixed = lot(trades=((B, 100, 5), (C, 50, 6)))
    assert mixed.price == 0
    assert mixed.trades_size == 2 * 11


@pytest.mark.parametrize("trades", [0, 51])
def test_a_lot_has_one_to_fifty_trades(trades):
    with pytest.raises(ValueError, match="a lot has 1 to 50 trades"):
        Lot(1, 1, A, tuple(Trade(B, 10, 1) for _ in range(trades)))


def test_the_matches_stream_is_slot_header_lot_header_and_fills():
    call = MatchCall((), (lot(),))
    index = call.accounts.index
    stream = call.matches
    assert stream[:6] == (9).to_bytes(4, "big") + (1).to_bytes(2, "big")
    assert stream[6:15] == index[A.lower()].to_bytes(2, "big") + bytes([2]) + (5).to_bytes(6, "big")
    assert stream[15:] == (
        index[B.lower()].to_bytes(2, "big") + (100).to_bytes(3, "big") + index[C.lower()].to_bytes(2, "big")
        + (50).to_bytes(3, "big")
    )  # fmt: skip


def test_a_match_loads_its_buyers_and_bidders_and_only_names_its_sellers():
    bid = sign_order(b"\x01" * 32, order_domain(1, ESCROW), Bid(D, 9, 9, 9))
    ask = sign_order(b"\x02" * 32, order_domain(1, ESCROW), Ask(A, 1, 1, 9, 1, 9))
    accounts = MatchCall((bid, ask), (lot(),)).accounts
    assert set(accounts.loaded) == {B.lower(), C.lower(), D.lower()}
    assert accounts.named == (A.lower(),)


def test_a_close_credits_only_the_accounts_it_is_told_and_names_the_rest():
    group = GroupClose(9, 0, (lot(),))
    call = CloseCall((group,), (), {}, frozenset({A.lower()}))
    assert call.accounts.loaded == (A.lower(),)
    assert set(call.accounts.named) == {B.lower(), C.lower()}


def test_a_lot_settled_in_full_credits_its_seller_only():
    assert credited_by(lot(), 150) == {A.lower()}


def test_a_lot_delivered_short_credits_its_seller_and_every_buyer():
    assert credited_by(lot(), 149) == {A.lower(), B.lower(), C.lower()}


def test_a_lot_that_delivered_nothing_credits_every_buyer_and_not_the_seller():
    assert credited_by(lot(), 0) == {B.lower(), C.lower()}


def test_a_refunded_lot_credits_every_buyer():
    assert credited_by(lot(), None) == {B.lower(), C.lower()}


@given(st.lists(st.one_of(st.binary(max_size=300), st.integers(min_value=0, max_value=2**256 - 1)), max_size=6))
def test_calldata_is_the_abi_encoding_of_its_bytes_and_uint256_arguments(args):
    types = ["bytes" if isinstance(a, bytes) else "uint256" for a in args]
    signature = f"f({','.join(types)})"
    assert abi_call(signature, *args) == keccak(text=signature)[:4] + encode(types, args)


def test_a_match_calls_calldata_decodes_to_its_streams():
    call = MatchCall((), (lot(),))
    data = call.calldata
    assert data[:4] == keccak(text=MATCH_ORDERS)[:4]
    accounts, loaded, orders, matches = decode(["bytes", "uint256", "bytes", "bytes"], data[4:])
    assert (accounts, loaded, orders, matches) == (call.accounts.data, 2, b"", call.matches)


def test_a_close_calls_lot_header_names_its_reading_from_one():
    group = GroupClose(9, 3, (lot(),))
    call = CloseCall((group,), (), {lot().key: 0}, frozenset())
    stream = call.closes
    assert stream[:9] == (9).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([1])
    assert stream[9:24] == (
        (1).to_bytes(4, "big") + call.accounts.index[A.lower()].to_bytes(2, "big") + bytes([2])
        + (1).to_bytes(2, "big") + (5).to_bytes(6, "big")
    )  # fmt: skip
    assert call.calldata[:4] == keccak(text=CLOSE_LOTS)[:4]


def test_the_commitment_depends_on_every_lot_and_trade_and_their_order():
    first, second = lot(meter=1), lot(meter=2, trades=((D, 10, 7),))
    commitments = {
        group_commitment([first, second]),
        group_commitment([second, first]),
        group_commitment([first, lot(meter=2, trades=((D, 11, 7),))]),
        group_commitment([lot(trades=((C, 50, 5), (B, 100, 5))), second]),
    }
    assert len(commitments) == 4
    assert all(len(c) == 24 for c in commitments)


def test_a_group_holds_one_to_sixty_four_lots():
    with pytest.raises(ValueError, match="a group has 1 to 64 lots"):
        group_commitment([lot(meter=m) for m in range(1, 66)])


def _enum_members(source: str, name: str) -> tuple[str, ...]:
    """The members of `enum name { ... }` in a Solidity file, comments dropped."""
    text = (Path(__file__).parents[2] / source).read_text()
    body = re.search(r"enum " + name + r"\s*\{(.*?)\}", text, re.S)
    assert body is not None, f"no enum {name} in {source}"
    lines = [re.sub(r"//.*", "", line).strip() for line in body.group(1).splitlines()]
    return tuple(m.strip() for m in " ".join(lines).split(",") if m.strip())


def test_the_skip_reasons_are_the_escrows_enum_in_order():
    assert _enum_members("contracts/EnergyEscrow.sol", "Skip") == SKIP_REASONS


def test_the_unproven_reasons_are_the_registrys_enum_in_order():
    assert _enum_members("contracts/interfaces/IMeterRegistry.sol", "Unproven") == UNPROVEN
