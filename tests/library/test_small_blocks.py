"""The runner fits whatever node it is given: small blocks, a base fee, transactions left pending."""

from dataclasses import replace
from pathlib import Path

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.run.target import TargetOptions
from tests.local_chain import first_account, local_backend
from tests.simulating import simulate_quietly

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: Far below what a phase of street.toml needs (and just above what deploying the escrow takes), so that
#: matches, deposits and meter registrations are cut into calls that fit and each phase spans several full
#: blocks: on a chain with a base fee, full blocks raise it above the gas price the run's transactions carry.
SMALL_BLOCK_GAS = 4_000_000
WINDOW = 8


def _simulate(toolchain, chain, scenario, folder):
    target = TargetOptions(rpc_url=chain.url, private_key=chain.accounts[0].private_key)
    return simulate_quietly(scenario, target, folder)


@pytest.fixture(scope="module")
def small_blocks(toolchain, tmp_path_factory):
    options = ChainOptions(accounts=2, block_gas_limit=SMALL_BLOCK_GAS, base_fee_wei=10**9)
    with LocalChain(toolchain.anvil, options) as chain:
        street = load_scenario(toolchain.root / "scenarios" / "street.toml")
        # Rounds of 8 slots: more than one block of matches, so a round's calls are cut to fit.
        scenario = replace(street, chain=replace(street.chain, window_slots=WINDOW, grace_period_s=4 * 3600))
        yield chain, _simulate(toolchain, chain, scenario, tmp_path_factory.mktemp("small-blocks"))


#: The one event these tests read from the escrow.
ESCROW_EVENTS = [
    {
        "anonymous": False,
        "name": "Traded",
        "type": "event",
        "inputs": [
            {"indexed": True, "name": "lotKey", "type": "uint96"},
            {"indexed": True, "name": "buyer", "type": "address"},
            {"indexed": False, "name": "wh", "type": "uint24"},
            {"indexed": False, "name": "pricePerKWh", "type": "uint48"},
        ],
    }
]


def test_a_run_on_small_blocks_with_a_base_fee_passes_every_check(small_blocks):
    _, result = small_blocks
    assert [name for name, ok in result.checks.items() if not ok] == []


def test_no_block_of_the_run_is_over_the_block_gas_limit(small_blocks):
    chain, _ = small_blocks
    w3 = chain.web3()
    latest = w3.eth.block_number
    assert all(w3.eth.get_block(n)["gasUsed"] <= SMALL_BLOCK_GAS for n in range(1, latest + 1))


def test_a_rounds_matches_and_the_deposits_are_cut_into_calls_that_fit_a_block(small_blocks):
    _, result = small_blocks
    calls = {g.operation: g.transactions for g in result.gas}
    rounds = len({s.slot // WINDOW for s in result.slots if s.trades})
    assert calls["matchOrders"] > rounds
    assert calls["depositFor"] > 1


def test_the_base_fee_stays_where_the_chain_started_while_the_run_mines(small_blocks):
    chain, _ = small_blocks
    w3 = chain.web3()
    assert {w3.eth.get_block(n)["baseFeePerGas"] for n in range(2, w3.eth.block_number + 1)} == {10**9}


def test_each_lot_is_matched_in_one_call_even_when_a_slot_takes_several(small_blocks):
    chain, result = small_blocks
    w3 = chain.web3()
    escrow = w3.eth.contract(address=result.deployment["EnergyEscrow"], abi=ESCROW_EVENTS)
    calls_of_lot: dict[int, set[bytes]] = {}
    for event in escrow.events.Traded.get_logs(from_block=0):
        calls_of_lot.setdefault(event["args"]["lotKey"], set()).add(bytes(event["transactionHash"]))
    assert calls_of_lot and all(len(calls) == 1 for calls in calls_of_lot.values())


def test_settle_pending_drops_what_an_interrupted_run_left_in_the_pool(toolchain, compile_for, tmp_path: Path):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2, base_fee_wei=0)) as chain:
        backend = local_backend(chain, compile_for("cancun"))  # automine off: a sent transaction stays pending
        sender = first_account(chain)
        w3 = chain.web3()
        raw = sign_legacy(sender, 0, 0, 21_000, chain.accounts[1].address, b"", backend.chain_id, 1)
        w3.eth.send_raw_transaction(raw)
        said = backend.settle_pending([sender.address])
        assert said.startswith("1 transactions were pending, never mined: dropped")
        assert w3.eth.get_transaction_count(sender.address, "pending") == 0
