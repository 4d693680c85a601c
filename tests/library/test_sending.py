"""The batched sending path (p2p_energy.chain.evm.EvmBackend) against eth-account, web3 and a real anvil."""

from dataclasses import replace

import pytest
from eth_account import Account as EthAccount
from eth_utils import keccak, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.logs import DISCARD

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.chain.market import MARKET_CONTRACTS, Market, MarketAddresses, deploy_market
from p2p_energy.run.deployments import default_genesis
from p2p_energy.wire.cutting import call_gas
from p2p_energy.wire.orders import Ask, Bid, order_domain, sign_order
from p2p_energy.wire.readings import MeterKey
from p2p_energy.wire.records import MATCH_ORDERS, Lot, MatchCall, abi_call
from p2p_energy.wire.records import Trade as WireTrade
from tests.local_chain import first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BLOCK_GAS_LIMIT = 30_000_000
SLOT = 900
GRACE = 1_800
NRG = 10**8

uint32 = st.integers(0, 2**32 - 1)
uint64 = st.integers(0, 2**64 - 1)
uint256 = st.integers(0, 2**256 - 1)
address = st.binary(min_size=20, max_size=20).map(to_checksum_address)


def account(label: str) -> Account:
    """A fresh account of this test module (nonce 0 on a new chain)."""
    return Account.from_key(keccak(text=f"test_sending:{label}"))


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
def test_sign_legacy_signs_the_same_bytes_as_eth_account(key, nonce, gas_price, gas, to, data, chain_id, value):
    ours = sign_legacy(Account.from_key(key), nonce, gas_price, gas, to, data, chain_id, value)
    tx = {
        "nonce": nonce,
        "gasPrice": gas_price,
        "gas": gas,
        "to": to,
        "value": value,
        "data": data,
        "chainId": chain_id,
    }
    assert ours == bytes(EthAccount.sign_transaction(tx, key).raw_transaction)


@settings(database=None, deadline=None, max_examples=30)
@given(key=st.integers(1, SECP256K1_ORDER - 1).map(lambda k: k.to_bytes(32, "big")))
def test_an_account_has_the_address_eth_account_gives_its_key(key):
    assert Account.from_key(key).address == EthAccount.from_key(key).address


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


uint16 = st.integers(0, 2**16 - 1)
uint96 = st.integers(0, 2**96 - 1)
bytes32 = st.binary(min_size=32, max_size=32)
signature = st.tuples(bytes32, bytes32)
lot_trades = st.tuples(uint32, uint64, st.lists(st.tuples(address, uint64, uint96), max_size=4))


@settings(database=None, deadline=None, max_examples=40)
@given(
    streams=st.tuples(st.binary(max_size=200), st.integers(0, 2**16), st.binary(max_size=200), st.binary(max_size=200))
)
def test_a_batch_calls_calldata_from_the_wire_format_equals_web3s(codec, escrow_abi, streams):
    expected = web3_calldata(escrow_abi, "matchOrders", *streams)
    assert codec.encode("matchOrders", *streams) == expected == abi_call(MATCH_ORDERS, *streams)


@settings(database=None, deadline=None, max_examples=40)
@given(meters=st.lists(st.tuples(uint32, address, address), max_size=6), market=address)
def test_register_meters_calldata_equals_web3s(codec, registry_abi, meters, market):
    ids, owners, signers = [m[0] for m in meters], [m[1] for m in meters], [m[2] for m in meters]
    expected = web3_calldata(registry_abi, "registerMeters", ids, owners, signers, market)
    assert codec.encode("registerMeters", ids, owners, signers, market) == expected


# --------------------------------------------------------------- on anvil


@pytest.fixture(scope="module")
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=3, block_gas_limit=BLOCK_GAS_LIMIT, base_fee_wei=0)) as c:
        yield c


def automine(w3) -> bool:
    return bool(w3.provider.make_request("anvil_getAutomine", [])["result"])


@pytest.fixture(scope="module")
def market(chain, compiled, codec):
    """Deployed through a backend of its own, closed afterwards: anvil automines again between tests."""
    backend = EvmBackend(chain.web3(), codec, gas_price=0, can_mine=True)
    try:
        deployed = deploy_market(
            backend,
            compiled,
            first_account(chain),
            genesis=default_genesis(backend),
            slot_length=SLOT,
            grace_period=GRACE,
        )
    finally:
        backend.close()
    return MarketAddresses.of({name: d.address for name, d in deployed.items()})


@pytest.fixture(scope="module")
def token_contract(chain, compiled, market):
    return chain.web3().eth.contract(address=market.token, abi=compiled["EnergyToken"].abi)


@pytest.fixture(scope="module")
def escrow_contract(chain, compiled, market):
    return chain.web3().eth.contract(address=market.escrow, abi=compiled["EnergyEscrow"].abi)


@pytest.fixture
def sender(chain, market, codec):
    backend = EvmBackend(chain.web3(), codec, gas_price=0, can_mine=True)
    yield backend
    backend.close()


@pytest.fixture
def admin(chain):
    return first_account(chain)


def later(sender, seconds=10):
    return sender.latest_timestamp() + seconds


def test_a_backend_that_mines_switches_automine_off_and_close_switches_it_back_on(chain, codec):
    w3 = chain.web3()
    assert automine(w3)
    backend = EvmBackend(w3, codec, gas_price=0, can_mine=True)
    assert not automine(w3)
    backend.close()
    assert automine(w3)


def test_close_leaves_automine_off_when_it_was_off(chain, codec):
    w3 = chain.web3()
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        EvmBackend(w3, codec, gas_price=0, can_mine=True).close()
        assert not automine(w3)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


def test_a_backend_that_does_not_mine_leaves_automine_alone(chain, codec):
    w3 = chain.web3()
    backend = EvmBackend(w3, codec, gas_price=0, can_mine=False)
    assert automine(w3)
    backend.close()
    assert automine(w3)


def test_a_batch_from_several_accounts_is_mined_in_one_block_at_the_asked_time(sender, market, codec, admin):
    holders = [account(f"holder-{i}") for i in range(3)]
    calls = [Call("mint", admin, market.token, codec.encode("mint", h.address, NRG), 120_000) for h in holders]
    calls += [Call("approve", h, market.token, codec.encode("approve", market.escrow, 1), 100_000) for h in holders]
    at = later(sender, 600)
    outcomes = sender.send(calls, timestamp=at)
    assert [o.status for o in outcomes] == [1] * len(calls)
    assert len({o.block for o in outcomes}) == 1
    assert sender.w3.eth.get_block(outcomes[0].block)["timestamp"] == at


def test_a_reverting_call_comes_back_with_status_0_and_the_decoded_custom_error(sender, market, codec):
    nobody = account("no balance")
    (outcome,) = sender.send([Call("withdraw", nobody, market.escrow, codec.encode("withdraw", 5), 150_000)])
    assert outcome.status == 0
    assert outcome.error is not None
    assert outcome.error.lower() == f"InsufficientBalance(account={nobody.address}, balance=0, needed=5)".lower()


def mined_nonces(w3, outcomes):
    return sorted(int(w3.eth.get_transaction(o.tx_hash)["nonce"]) for o in outcomes if o.ok)


@pytest.mark.parametrize(
    ("why", "gas", "value"),
    [("gas limit above the block gas limit", BLOCK_GAS_LIMIT + 1, 1), ("more value than the balance", 21_000, 10**30)],
)
def test_a_refused_transaction_leaves_no_nonce_gap_and_no_nonce_is_used_twice(sender, admin, why, gas, value):
    payer, payee = account(f"payer {why}"), account("payee").address
    sender.fund(admin, {payer.address: 10**18})
    pay = Call("pay", payer, payee, b"", 21_000, 1)
    refused = Call("refused", payer, payee, b"", gas, value)
    # The one behind the gap may be withdrawn or sent again with the freed nonce: either way the outcomes tell.
    first = sender.send([pay, refused, replace(pay, label="behind the gap")], timestamp=later(sender))
    assert [o.status for o in first[:2]] == [1, -1]
    second = sender.send([pay, pay], timestamp=later(sender))
    assert [o.status for o in second] == [1, 1]
    w3 = sender.w3
    ok = [o for o in first + second if o.ok]
    assert mined_nonces(w3, ok) == list(range(len(ok)))
    assert w3.eth.get_transaction_count(payer.address) == len(ok)  # nothing ran that was reported as not sent
    assert w3.eth.get_balance(payee) - w3.eth.get_balance(payee, first[0].block - 1) == len(ok)


def test_where_the_backend_mines_fund_sets_the_balance_without_a_transaction(sender, admin):
    funded = account("funded")
    before = sender.w3.eth.get_transaction_count(admin.address)
    assert sender.fund(admin, {funded.address: 12_345}) == []
    assert sender.w3.eth.get_balance(funded.address) == 12_345
    assert sender.w3.eth.get_transaction_count(admin.address) == before


def test_unbatched_sending_puts_each_transaction_in_its_own_block(chain, admin, codec):
    one_by_one = EvmBackend(chain.web3(), codec, gas_price=0, can_mine=True, batched=False)
    try:
        payer, payee = account("one by one"), account("payee").address
        one_by_one.fund(admin, {payer.address: 10**18})
        outcomes = one_by_one.send([Call("pay", payer, payee, b"", 21_000, 1)] * 3, timestamp=later(one_by_one))
    finally:
        one_by_one.close()
    blocks = [o.block for o in outcomes]
    assert [o.status for o in outcomes] == [1, 1, 1]
    assert blocks == [blocks[0], blocks[0] + 1, blocks[0] + 2]


def test_a_node_account_sends_through_eth_send_transaction(sender, chain, market, codec, token_contract):
    unlocked = Account.held_by_node(chain.accounts[2].address)  # no key on our side: anvil signs
    assert unlocked.held and unlocked.private_key is None
    data = codec.encode("approve", market.escrow, 5)
    (outcome,) = sender.send([Call("approve", unlocked, market.token, data, 100_000)])
    assert outcome.status == 1
    assert sender.w3.eth.get_transaction(outcome.tx_hash)["from"] == unlocked.address
    assert token_contract.functions.allowance(unlocked.address, market.escrow).call() == 5


# ------------------------------------------------------------- decode_log


@pytest.fixture(scope="module")
def trade(chain, market, codec):
    """A meter, a buyer's deposit and one matched trade for the slot after next: the two outcomes."""
    sender = EvmBackend(chain.web3(), codec, gas_price=0, can_mine=True)
    view = Market(sender, codec, market)
    admin, seller, buyer = first_account(chain), account("seller"), account("buyer")
    meter_id = 77
    meter = MeterKey(keccak(text="test_sending:meter"))
    register = codec.encode("registerMeter", meter_id, seller.address, meter.address, market.escrow)
    setup = [
        Call("registerMeter", admin, market.registry, register, 200_000),
        Call("mint", admin, market.token, codec.encode("mint", buyer.address, NRG), 120_000),
        Call("approve", buyer, market.token, codec.encode("approve", market.escrow, NRG), 100_000),
    ]
    try:
        now = later(sender)
        assert all(o.ok for o in sender.send(setup, timestamp=now))
        deposit = Call("deposit", buyer, market.escrow, codec.encode("deposit", NRG), 200_000)
        (deposited,) = sender.send([deposit], timestamp=now + 1)
        slot = (now - view.view("MeterRegistry", "genesis")) // SLOT + 2
        price = 12 * NRG // 100
        domain = order_domain(sender.chain_id, market.escrow)
        orders = (
            sign_order(seller.private_key, domain, Ask(seller.address, meter_id, price, 200, 200, slot)),
            sign_order(buyer.private_key, domain, Bid(buyer.address, price, 200, slot)),
        )
        call = MatchCall(orders, (Lot(meter_id, slot, seller.address, (WireTrade(buyer.address, 200, price),)),))
        match = Call("matchOrders", admin, market.escrow, call.calldata, call_gas(call))
        (matched,) = sender.send([match], timestamp=now + 2)
    finally:
        sender.close()
    assert deposited.ok and matched.ok
    return deposited, matched


@pytest.mark.parametrize(("event", "which"), [("Deposited", 0), ("Traded", 1)])
def test_decode_log_reads_an_event_of_a_real_receipt_as_web3_does(chain, escrow_contract, codec, trade, event, which):
    outcome = trade[which]
    receipt = chain.web3().eth.get_transaction_receipt(outcome.tx_hash)
    (expected,) = getattr(escrow_contract.events, event)().process_receipt(receipt, errors=DISCARD)
    decoded = [codec.decode_log(log) for log in outcome.logs]
    (ours,) = [e for e in decoded if e is not None and e.name == event]
    assert ours.address == expected["address"]
    assert ours.args == dict(expected["args"])
