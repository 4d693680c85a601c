"""The runner fits whatever node it is given: small blocks, a base fee, transactions left pending,
and matchOrders calls smaller than a slot's lots."""

from dataclasses import replace
from pathlib import Path

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.domain.scenario import load_scenario
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import LOCAL_BLOCK_GAS_LIMIT, TargetOptions
from tests.local_chain import first_account, local_backend

#: Far below what a phase of street.toml needs (and just above what deploying the escrow takes), so that
#: matches, deposits and meter registrations are cut into calls that fit and each phase spans several full
#: blocks: on a chain with a base fee, full blocks raise it above the gas price the run's transactions carry.
SMALL_BLOCK_GAS = 4_000_000
#: Fewer trades per matchOrders call than many lots of demo.toml have.
FEW_FILLS = 3


def _simulate(toolchain, chain, scenario, folder):
    target = TargetOptions(rpc_url=chain.url, private_key=chain.accounts[0].private_key)
    return simulate_scenario(toolchain, scenario, SimulateOptions(target, folder), Progress(), lambda _: None)


@pytest.fixture(scope="module")
def small_blocks(toolchain, tmp_path_factory):
    options = ChainOptions(accounts=2, block_gas_limit=SMALL_BLOCK_GAS, base_fee_wei=10**9)
    with LocalChain(toolchain.anvil, options) as chain:
        scenario = load_scenario(toolchain.root / "scenarios" / "street.toml")
        yield chain, _simulate(toolchain, chain, scenario, tmp_path_factory.mktemp("small-blocks"))


def trades(result):
    """The trades with their ids (a fresh chain's first run: the same chain slots and meter ids)."""
    return [(t.trade_id, t.slot, t.seller, t.buyer, t.wh, t.cost, t.paid, t.outcome) for t in result.trades]


@pytest.fixture(scope="module")
def few_fills(toolchain, tmp_path_factory):
    """demo.toml with at most FEW_FILLS trades per matchOrders call, and as it is, each on a chain of its own."""
    demo = load_scenario(toolchain.root / "scenarios" / "demo.toml")
    options = ChainOptions(accounts=2, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0)
    runs = []
    for scenario in (replace(demo, chain=replace(demo.chain, fills_per_tx=FEW_FILLS)), demo):
        with LocalChain(toolchain.anvil, options) as chain:
            runs.append(_simulate(toolchain, chain, scenario, tmp_path_factory.mktemp("few-fills")))
    return runs


def test_a_run_on_small_blocks_with_a_base_fee_passes_every_check(small_blocks):
    _, result = small_blocks
    assert [name for name, ok in result.checks.items() if not ok] == []


def test_no_block_of_the_run_is_over_the_block_gas_limit(small_blocks):
    chain, _ = small_blocks
    w3 = chain.web3()
    latest = w3.eth.block_number
    assert all(w3.eth.get_block(n)["gasUsed"] <= SMALL_BLOCK_GAS for n in range(1, latest + 1))


def test_a_slots_matches_deposits_and_meters_are_cut_into_calls_that_fit_a_block(small_blocks):
    _, result = small_blocks
    calls = {g.operation: g.transactions for g in result.gas}
    assert calls["matchOrders"] > len([s for s in result.slots if s.trades])
    assert calls["depositFor"] > 1 and calls["registerMeters"] > 1


def test_the_base_fee_stays_where_the_chain_started_while_the_run_mines(small_blocks):
    chain, _ = small_blocks
    w3 = chain.web3()
    assert {w3.eth.get_block(n)["baseFeePerGas"] for n in range(2, w3.eth.block_number + 1)} == {10**9}


def test_lots_with_more_trades_than_a_call_carries_are_matched_over_several_calls(few_fills):
    few, whole = few_fills
    assert max(len([t for t in few.trades if (t.meter_id, t.slot) == (m, s)]) for m, s in _lots(few)) > FEW_FILLS
    calls = {g.operation: g.transactions for g in few.gas}["matchOrders"]
    assert calls >= len(few.trades) // FEW_FILLS
    assert [name for name, ok in few.checks.items() if not ok] == []
    assert trades(few) == trades(whole)  # the same trades, in the same order within each lot


def _lots(result):
    return {(t.meter_id, t.slot) for t in result.trades}


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
