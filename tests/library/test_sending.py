"""The batched sending path (p2p_energy.chain.evm) against eth-account, web3 and a real anvil."""

from dataclasses import replace

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.logs import DISCARD

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.contracts import ContractClient, Signer, deploy_market
from p2p_energy.chain.evm import AbiCodec, Call, KeyAccount, NodeAccount, TxSender
from p2p_energy.domain.meters import MeterKey
from p2p_energy.run.deployments import MARKET_CONTRACTS, default_genesis

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BLOCK_GAS_LIMIT = 30_000_000
SLOT = 900
GRACE = 1_800
NRG = 10**8

uint32 = st.integers(0, 2**32 - 1)
uint64 = st.integers(0, 2**64 - 1)
uint256 = st.integers(0, 2**256 - 1)
address = st.binary(min_size=20, max_size=20).map(to_checksum_address)


def account(label: str) -> KeyAccount:
    """A fresh account of this test module (nonce 0 on a new chain)."""
    return KeyAccount(keccak(text=f"test_sending:{label}"))


# ------------------------------------------------------------------ no chain


@settings(database=None, deadline=None, max_examples=60)
@given(
    key=st.integers(1, SECP256K1_ORDER - 1).map(lambda k: k.to_bytes(32, "big")),
    nonce=st.integers(0, 2**64 - 2),
    gas_price=st.integers(0, 2**80),
    gas=st.integers(21_000, 2**63),
    to=address,
    data=st.binary(max_size=300),
    chain_id=st.integers(1, 2**32),
    value=st.integers(0, 2**120),
)
def test_key_account_signs_the_same_bytes_as_eth_account(key, nonce, gas_price, gas, to, data, chain_id, value):
    ours = KeyAccount(key).sign(nonce, gas_price, gas, to, data, chain_id, value)
    tx = {
        "nonce": nonce,
        "gasPrice": gas_price,
        "gas": gas,
        "to": to,
        "value": value,
        "data": data,
        "chainId": chain_id,
    }
    assert ours == bytes(Account.sign_transaction(tx, key).raw_transaction)


@pytest.fixture(scope="module")
def compiled(compile_for):
    return compile_for("cancun")


@pytest.fixture(scope="module")
def codec(compiled):
    return AbiCodec(*(compiled[name].abi for name in MARKET_CONTRACTS))


@pytest.fixture(scope="module")
def escrow_abi(compiled):
    return Web3().eth.contract(abi=compiled["EnergyEscrow"].abi)


@pytest.fixture(scope="module")
def registry_abi(compiled):
    return Web3().eth.contract(abi=compiled["MeterRegistry"].abi)


def web3_calldata(contract, function, *args):
    return bytes.fromhex(contract.encode_abi(function, args=list(args))[2:])


@settings(database=None, deadline=None, max_examples=40)
@given(takes=st.lists(st.tuples(uint256, uint64), max_size=8))
def test_take_offers_calldata_equals_web3s(codec, escrow_abi, takes):
    assert codec.encode("takeOffers", takes) == web3_calldata(escrow_abi, "takeOffers", takes)


@settings(database=None, deadline=None, max_examples=40)
@given(lots=st.lists(st.tuples(uint32, uint64), max_size=8))
def test_settle_lots_calldata_equals_web3s(codec, escrow_abi, lots):
    assert codec.encode("settleLots", lots) == web3_calldata(escrow_abi, "settleLots", lots)


@settings(database=None, deadline=None, max_examples=40)
@given(
    signed=st.lists(
        st.tuples(st.tuples(uint32, uint64, uint64, uint64), st.binary(min_size=65, max_size=65)), max_size=6
    )
)
def test_submit_readings_calldata_equals_web3s(codec, registry_abi, signed):
    readings, signatures = [r for r, _ in signed], [s for _, s in signed]
    expected = web3_calldata(registry_abi, "submitReadings", readings, signatures)
    assert codec.encode("submitReadings", readings, signatures) == expected


# --------------------------------------------------------------- on anvil


@pytest.fixture(scope="module")
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=3, block_gas_limit=BLOCK_GAS_LIMIT, base_fee_wei=0)) as c:
        yield c


@pytest.fixture(scope="module")
def market(chain, compiled):
    """Deployed with web3 while anvil still automines (a TxSender switches that off)."""
    w3 = chain.web3()
    admin = Signer.from_key(chain.accounts[0].private_key)
    return deploy_market(
        ContractClient(w3), compiled, admin, genesis=default_genesis(w3), slot_length=SLOT, grace_period=GRACE
    )


@pytest.fixture
def sender(chain, market, codec):
    w3 = chain.web3()
    yield TxSender(w3, codec, gas_price=0, local_mining=True)
    w3.provider.make_request("evm_setAutomine", [True])


@pytest.fixture
def admin(chain):
    return KeyAccount.from_hex(chain.accounts[0].private_key)


def later(sender, seconds=10):
    return sender.latest_timestamp() + seconds


def test_a_batch_from_several_accounts_is_mined_in_one_block_at_the_asked_time(sender, market, codec, admin):
    holders = [account(f"holder-{i}") for i in range(3)]
    token = market.token.address
    calls = [Call("mint", admin, token, codec.encode("mint", h.address, NRG), 120_000) for h in holders]
    calls += [Call("approve", h, token, codec.encode("approve", market.escrow.address, 1), 100_000) for h in holders]
    at = later(sender, 600)
    outcomes = sender.run(calls, timestamp=at)
    assert [o.status for o in outcomes] == [1] * len(calls)
    assert len({o.block for o in outcomes}) == 1
    assert sender.w3.eth.get_block(outcomes[0].block)["timestamp"] == at


def test_a_reverting_call_comes_back_with_status_0_and_the_decoded_custom_error(sender, market, codec):
    nobody = account("no credit")
    (outcome,) = sender.run([Call("withdraw", nobody, market.escrow.address, codec.encode("withdraw"), 150_000)])
    assert outcome.status == 0
    assert outcome.error is not None
    assert outcome.error.lower() == f"NothingToWithdraw(account={nobody.address})".lower()


def mined_nonces(w3, outcomes):
    return sorted(int(w3.eth.get_transaction(o.tx_hash)["nonce"]) for o in outcomes if o.ok)


@pytest.mark.parametrize(
    ("why", "gas", "value"),
    [("gas limit above the block gas limit", BLOCK_GAS_LIMIT + 1, 1), ("more value than the balance", 21_000, 10**30)],
)
def test_a_refused_transaction_leaves_no_nonce_gap_and_no_nonce_is_used_twice(sender, why, gas, value):
    payer, payee = account(f"payer {why}"), account("payee").address
    sender.fund_locally([payer.address], 10**18)
    pay = Call("pay", payer, payee, b"", 21_000, 1)
    refused = Call("refused", payer, payee, b"", gas, value)
    # The one behind the gap may be withdrawn or sent again with the freed nonce: either way the outcomes tell.
    first = sender.run([pay, refused, replace(pay, label="behind the gap")], timestamp=later(sender))
    assert [o.status for o in first[:2]] == [1, -1]
    second = sender.run([pay, pay], timestamp=later(sender))
    assert [o.status for o in second] == [1, 1]
    w3 = sender.w3
    ok = [o for o in first + second if o.ok]
    assert mined_nonces(w3, ok) == list(range(len(ok)))
    assert w3.eth.get_transaction_count(payer.address) == len(ok)  # nothing ran that was reported as not sent
    assert w3.eth.get_balance(payee) - w3.eth.get_balance(payee, first[0].block - 1) == len(ok)


def test_unbatched_sending_puts_each_transaction_in_its_own_block(chain, market, codec):
    w3 = chain.web3()
    one_by_one = TxSender(w3, codec, gas_price=0, local_mining=True, batched=False)
    try:
        payer, payee = account("one by one"), account("payee").address
        one_by_one.fund_locally([payer.address], 10**18)
        outcomes = one_by_one.run([Call("pay", payer, payee, b"", 21_000, 1)] * 3, timestamp=later(one_by_one))
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    blocks = [o.block for o in outcomes]
    assert [o.status for o in outcomes] == [1, 1, 1]
    assert blocks == [blocks[0], blocks[0] + 1, blocks[0] + 2]


def test_a_node_account_sends_through_eth_send_transaction(sender, chain, market, codec):
    unlocked = NodeAccount(chain.accounts[2].address)  # no key on our side: anvil signs
    data = codec.encode("approve", market.escrow.address, 5)
    (outcome,) = sender.run([Call("approve", unlocked, market.token.address, data, 100_000)])
    assert outcome.status == 1
    assert sender.w3.eth.get_transaction(outcome.tx_hash)["from"] == unlocked.address
    assert market.token.functions.allowance(unlocked.address, market.escrow.address).call() == 5


# ------------------------------------------------------------- decode_log


@pytest.fixture(scope="module")
def trade(chain, market, codec):
    """A meter, an offer for the slot after next and a take of part of it: the two outcomes."""
    w3 = chain.web3()
    sender = TxSender(w3, codec, gas_price=0, local_mining=True)
    admin, seller, buyer = KeyAccount.from_hex(chain.accounts[0].private_key), account("seller"), account("buyer")
    meter_id = 77
    escrow, token, registry = market.escrow.address, market.token.address, market.registry.address
    meter = MeterKey(keccak(text="test_sending:meter"))
    register = codec.encode("registerMeter", meter_id, seller.address, meter.address)
    setup = [
        Call("registerMeter", admin, registry, register, 200_000),
        Call("mint", admin, token, codec.encode("mint", buyer.address, NRG), 120_000),
        Call("approve", buyer, token, codec.encode("approve", escrow, NRG), 100_000),
    ]
    try:
        now = later(sender)
        assert all(o.ok for o in sender.run(setup, timestamp=now))
        slot = (now - market.registry.functions.genesis().call()) // SLOT + 2
        price = 12 * NRG // 100
        post = Call("postOffer", seller, escrow, codec.encode("postOffer", meter_id, slot, 500, price), 200_000)
        (posted,) = sender.run([post], timestamp=now + 1)
        offer_id = codec.decode_log(posted.logs[0]).args["offerId"]
        take = Call("take", buyer, escrow, codec.encode("takeOffers", [(offer_id, 200)]), 300_000)
        (taken,) = sender.run([take], timestamp=now + 2)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    assert posted.ok and taken.ok
    return posted, taken


@pytest.mark.parametrize(("event", "which"), [("OfferPosted", 0), ("TradeOpened", 1)])
def test_decode_log_reads_an_event_of_a_real_receipt_as_web3_does(chain, market, codec, trade, event, which):
    outcome = trade[which]
    receipt = chain.web3().eth.get_transaction_receipt(outcome.tx_hash)
    (expected,) = getattr(market.escrow.events, event)().process_receipt(receipt, errors=DISCARD)
    decoded = [codec.decode_log(log) for log in outcome.logs]
    (ours,) = [e for e in decoded if e is not None and e.name == event]
    assert ours.address == expected["address"]
    assert ours.args == dict(expected["args"])
