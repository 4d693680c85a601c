"""The books keep what the chain's receipts say: each event into its own ledger or tally, failures as lines.

The receipts are made here, with logs encoded by eth-abi from the events' Solidity signatures (not by the
codec the books decode with), for demo.toml's households on the module's market (nothing is sent).
"""

import pytest
from eth_abi import encode
from eth_utils import keccak

from p2p_energy.chain.backend import Call, Outcome
from p2p_energy.run.books import Books


@pytest.fixture(scope="module")
def demo(make_setup):
    return make_setup("demo")


def log(address: str, signature: str, indexed: list[tuple[str, object]], data: list[tuple[str, object]]) -> dict:
    topics = [keccak(text=signature)] + [encode([kind], [value]) for kind, value in indexed]
    return {
        "address": address,
        "topics": topics,
        "data": encode([kind for kind, _ in data], [value for _, value in data]),
    }


def receipt(setup, *logs: dict, status: int = 1, label: str = "depositFor", gas: int = 50_000) -> Outcome:
    call = Call(label, setup.households[0].account, setup.addresses.escrow, b"", 100_000)
    return Outcome(call, "0x" + "ab" * 32, status, gas, 7, tuple(logs))


def moved(setup, event: str, row: int, amount: int) -> dict:
    account = setup.households[row].account.address
    return log(setup.addresses.escrow, f"{event}(address,uint256)", [("address", account)], [("uint256", amount)])


def test_a_deposit_is_booked_to_its_households_deposits_only(demo):
    books = Books()
    books.record(demo, [receipt(demo, moved(demo, "Deposited", 3, 1_000))])
    assert (dict(books.deposited), dict(books.withdrawn)) == ({3: 1_000}, {})


def test_a_withdrawal_is_booked_to_its_households_payouts_only(demo):
    books = Books()
    books.record(demo, [receipt(demo, moved(demo, "Withdrawn", 5, 700), label="payOut")])
    assert (dict(books.deposited), dict(books.withdrawn)) == ({}, {5: 700})


def test_deposits_of_one_household_add_up(demo):
    books = Books()
    books.record(demo, [receipt(demo, moved(demo, "Deposited", 2, 10)), receipt(demo, moved(demo, "Deposited", 2, 5))])
    assert dict(books.deposited) == {2: 15}


def test_an_account_that_is_no_household_of_the_run_is_not_booked(demo):
    stranger = log(
        demo.addresses.escrow, "Deposited(address,uint256)", [("address", "0x" + "12" * 20)], [("uint256", 9)]
    )
    books = Books()
    books.record(demo, [receipt(demo, stranger)])
    assert dict(books.deposited) == {}


def test_gas_is_tallied_per_operation_label(demo):
    books = Books()
    books.record(demo, [receipt(demo, gas=100), receipt(demo, gas=30), receipt(demo, label="payOut", gas=7)])
    assert {label: list(tally) for label, tally in books.gas.items()} == {"depositFor": [2, 130], "payOut": [1, 7]}


def test_a_reverted_transaction_books_a_failure_line_and_none_of_its_events(demo):
    books = Books()
    books.record(demo, [receipt(demo, moved(demo, "Deposited", 1, 50), status=0)])
    assert dict(books.deposited) == {} and len(books.tx_failures) == 1
    assert books.tx_failures[0].startswith("depositFor from ") and "reverted (tx 0xabab" in books.tx_failures[0]


def test_every_transaction_is_recorded_with_its_hash_and_block(demo):
    books = Books()
    books.record(demo, [receipt(demo), receipt(demo, status=0)])
    assert [(c.tx_hash, c.block, c.status) for c in books.calls] == [("0x" + "ab" * 32, 7, 1), ("0x" + "ab" * 32, 7, 0)]


def test_a_registered_meter_of_a_household_marks_its_row(demo):
    row = next(h.index for h in demo.households if demo.exports(h.index))
    meter = next(m for m, r in demo.meter_row.items() if r == row)
    owner = demo.households[row].account.address
    registered = log(
        demo.addresses.registry,
        "MeterRegistered(uint32,address,address,address)",
        [("uint32", meter), ("address", owner), ("address", demo.addresses.escrow)],
        [("address", owner)],
    )
    books = Books()
    books.record(demo, [receipt(demo, registered, label="registerMeters")])
    assert books.meters == {row}
