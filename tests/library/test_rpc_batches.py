"""JSON-RPC batches cut by bytes (p2p_energy.chain.rpc_batches): anvil's body limit, and batches within it."""

import itertools
import json

import pytest
import requests
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import HTTPProvider

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call, SendError
from p2p_energy.chain.rpc_batches import ANVIL_MAX_BODY_BYTES, cut_batches, request_bytes
from tests.local_chain import first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: Calldata of one large transaction: 150,000 zero bytes, 300 kB as hex (a matchOrders call is up to 95,000 bytes).
LARGE_DATA = bytes(150_000)
LARGE_GAS = 21_000 + 4 * len(LARGE_DATA)


@pytest.fixture(scope="module")
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=1)) as chain:
        yield chain


def _post_body_of(url: str, size: int) -> dict:
    """Post a batch of one eth_call whose hex data fills the body to exactly `size` bytes; the node's answer."""

    def body_with(data: str) -> str:
        call = {"to": "0x" + "00" * 19 + "01", "data": data}
        return json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}])

    body = body_with("0x" + "00" * ((size - len(body_with("0x"))) // 2))
    body += " " * (size - len(body))  # an odd filler: JSON allows trailing white space
    assert len(body) == size
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30).json()


def test_anvil_answers_a_body_of_its_limit(chain):
    answer = _post_body_of(chain.url, ANVIL_MAX_BODY_BYTES)
    assert answer == [{"jsonrpc": "2.0", "id": 1, "result": "0x"}]


def test_anvil_refuses_a_body_one_byte_over_its_limit(chain):
    answer = _post_body_of(chain.url, ANVIL_MAX_BODY_BYTES + 1)
    assert answer["error"]["code"] == -32600


@settings(database=None, deadline=None, max_examples=40)
@given(data_sizes=st.lists(st.integers(0, 400_000), min_size=1, max_size=40), limit=st.integers(900_000, 2_097_152))
def test_no_batch_cut_is_over_the_limit_as_web3_encodes_it(data_sizes, limit):
    provider = HTTPProvider("http://127.0.0.1:1")  # never connected: only its encoder is used
    provider.request_counter = itertools.count(10**15)  # ids of many digits, as in a long run
    batch = [("eth_sendRawTransaction", ["0x" + "ab" * size]) for size in data_sizes]
    cut = cut_batches([request_bytes(m, p) for m, p in batch], limit, 250)
    bodies = [provider.encode_batch_rpc_request([batch[i] for i in part]) for part in cut]
    assert [i for part in cut for i in part] == list(range(len(batch)))
    assert max(len(body) for body in bodies) <= limit


def test_a_batch_is_cut_where_the_next_request_would_pass_the_limit():
    assert cut_batches([400, 400, 400, 400], 1_000, 250) == [range(0, 2), range(2, 4)]


def test_a_batch_is_cut_at_its_largest_count_too():
    assert cut_batches([10] * 5, 1_000, 2) == [range(0, 2), range(2, 4), range(4, 5)]


def test_a_request_larger_than_the_limit_by_itself_is_refused_before_anything_is_sent():
    with pytest.raises(SendError, match="over the 1,000 bytes the node accepts"):
        cut_batches([100, 1_200], 1_000, 250)


def test_large_transactions_over_the_limit_together_are_sent_in_several_bodies_and_all_mined(chain):
    backend = chain.backend(AbiCodec())
    sender, to = first_account(chain), Account.from_key(keccak(text="test_rpc_batches:to")).address
    calls = [Call("large", sender, to, LARGE_DATA, LARGE_GAS) for _ in range(10)]
    assert sum(request_bytes("eth_sendRawTransaction", ["0x" + "00" * 150_100]) for _ in calls) > ANVIL_MAX_BODY_BYTES
    outcomes = backend.send(calls)
    backend.close()
    assert [o.status for o in outcomes] == [1] * 10
