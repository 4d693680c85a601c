"""A resumed run sends only what the chain does not hold yet (run/replay.Resumption; nothing is sent here)."""

from collections import Counter

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import Call
from p2p_energy.run.replay import Resumption, call_key

OPERATOR = Account("0x" + "Ab" * 20)
ESCROW = "0x" + "Cd" * 20


def call(data: bytes, value: int = 0) -> Call:
    return Call("matchOrders", OPERATOR, ESCROW, data, 100_000, value)


def mined(*calls: Call) -> Resumption:
    return Resumption(Counter(call_key(c.sender.address, c.to, c.data, c.value) for c in calls))


def test_a_new_run_sends_every_call():
    calls = [call(b"\x01"), call(b"\x02")]
    assert Resumption().unsent(calls) == calls


def test_a_mined_call_is_not_sent_again_and_the_others_are():
    assert mined(call(b"\x01")).unsent([call(b"\x01"), call(b"\x02")]) == [call(b"\x02")]


def test_each_mined_copy_excuses_one_call_of_the_same_calldata():
    assert mined(call(b"\x01")).unsent([call(b"\x01"), call(b"\x01")]) == [call(b"\x01")]


def test_a_call_of_other_calldata_or_value_is_not_excused():
    assert mined(call(b"\x01")).unsent([call(b"\x01\x00"), call(b"\x01", value=1)]) == [
        call(b"\x01\x00"),
        call(b"\x01", value=1),
    ]


def test_addresses_are_matched_whatever_their_case():
    found = Resumption(Counter([call_key(OPERATOR.address.upper(), ESCROW.lower(), b"\x01", 0)]))
    assert found.unsent([call(b"\x01")]) == []


def test_a_mined_copy_is_used_up_once():
    found = mined(call(b"\x01"))
    assert (
        found.mined(call_key(OPERATOR.address, ESCROW, b"\x01", 0)),
        found.mined(call_key(OPERATOR.address, ESCROW, b"\x01", 0)),
    ) == (True, False)
