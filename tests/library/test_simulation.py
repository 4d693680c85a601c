"""Whole runs of the shipped scenarios on a real anvil, checked against the chain itself.

Each run goes through runs.simulate_scenario against a chain this module
starts (via its RPC URL), so the chain is still there afterwards to be asked.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from p2p_energy.chain.anvil import ChainOptions, LocalChain, chain_options
from p2p_energy.domain.scenario import Scenario, load_scenario
from p2p_energy.limits import trade_id
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.context import Progress
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import LOCAL_BLOCK_GAS_LIMIT, TargetOptions
from p2p_energy.wire.records import CloseCall, GroupClose, Lot, Trade, lot_of_key

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

QTUM_MIN_GAS_PRICE_WEI = 40 * 10**10  # 40 sat/gas; through Janus 1 satoshi is 10^10 wei


def simulation_chain(toolchain, accounts=2):
    """A local chain as `simulate` starts one: roomy blocks, no base fee."""
    options = ChainOptions(accounts=accounts, block_gas_limit=LOCAL_BLOCK_GAS_LIMIT, base_fee_wei=0)
    return LocalChain(toolchain.anvil, options)


def run(toolchain, chain, scenario: Scenario, deployments: Path, **options) -> RunResult:
    network = options.pop("network", None)
    target = TargetOptions(
        rpc_url=chain.url, network=network, private_key=chain.accounts[0].private_key, evm_version=scenario.chain.evm
    )
    return simulate_scenario(
        toolchain, scenario, SimulateOptions(target, deployments, **options), Progress(), lambda _: None
    )


def scenario_file(toolchain, name):
    return load_scenario(toolchain.root / "scenarios" / f"{name}.toml")


def contract(chain, compiled, result, name):
    return chain.web3().eth.contract(address=result.deployment[name], abi=compiled[name].abi)


@pytest.fixture(scope="module")
def compiled(compile_for):
    return compile_for("cancun")


# -------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo(toolchain, tmp_path_factory):
    with simulation_chain(toolchain) as chain:
        yield chain, run(toolchain, chain, scenario_file(toolchain, "demo"), tmp_path_factory.mktemp("deployments"))


def test_demo_passes_every_check(demo):
    _, result = demo
    assert result.checks and all(result.checks.values()), result.totals().checks_failed


def test_demo_households_hold_on_chain_the_tokens_the_report_says(demo, compiled):
    chain, result = demo
    token = contract(chain, compiled, result, "EnergyToken")
    on_chain = {h.name: token.functions.balanceOf(h.address).call() for h in result.households}
    assert on_chain == {h.name: h.tokens_end for h in result.households}


def test_demo_lot_events_add_up_to_the_reports_totals(demo, compiled):
    chain, result = demo
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    settled = escrow.events.LotSettled.get_logs(from_block=0)
    totals = result.totals()
    assert totals.trades > 0
    assert sum(e["args"]["paid"] for e in settled) == totals.tokens_paid
    assert totals.tokens_escrowed - sum(e["args"]["paid"] for e in settled) == totals.tokens_refunded
    assert len(settled) == len({(t.meter_id, t.slot) for t in result.trades})


def test_demo_traded_events_match_each_trade_record_in_lot_order(demo, compiled):
    chain, result = demo
    traded = contract(chain, compiled, result, "EnergyEscrow").events.Traded.get_logs(from_block=0)
    by_lot: dict[int, list] = {}
    for event in traded:
        by_lot.setdefault(event["args"]["lotKey"], []).append(event["args"])
    names = {h.address: h.name for h in result.households}
    on_chain = {
        trade_id(*lot_of_key(key), index): (names[a["buyer"]], a["wh"], a["pricePerKWh"])
        for key, trades in by_lot.items()
        for index, a in enumerate(trades)
    }
    assert on_chain == {t.trade_id: (t.buyer, t.wh, t.price_per_kwh) for t in result.trades}


def test_demo_records_each_trade_with_the_matchorders_transaction_and_block_that_made_it(demo):
    chain, result = demo
    web3 = chain.web3()
    made = {(t.tx_hash, t.block) for t in result.trades}
    receipts = {tx: web3.eth.get_transaction_receipt(tx) for tx, _ in made}
    assert all(receipts[tx]["blockNumber"] == block and receipts[tx]["status"] == 1 for tx, block in made)
    calls = {(c.tx_hash, c.block): c.operation for c in result.calls}
    assert {calls[ref] for ref in made} == {"matchOrders"}


def test_demo_records_each_trade_with_the_closelots_transaction_that_closed_its_lot(demo):
    _, result = demo
    calls = {(c.tx_hash, c.block): c.operation for c in result.calls}
    assert {calls[(t.close_tx_hash, t.close_block)] for t in result.trades} == {"closeLots"}


def test_demo_records_every_transaction_it_sent_with_its_hash_and_block(demo):
    chain, result = demo
    web3 = chain.web3()
    assert len(result.calls) == result.totals().transactions
    assert all(web3.eth.get_transaction_receipt(c.tx_hash)["blockNumber"] == c.block for c in result.calls)


def test_demo_traded_events_can_be_filtered_by_buyer(demo, compiled):
    chain, result = demo
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    buyer = next(h for h in result.households if h.bought_wh)
    mine = escrow.events.Traded.get_logs(from_block=0, argument_filters={"buyer": buyer.address})
    assert len(mine) == sum(1 for t in result.trades if t.buyer == buyer.name) > 0


def test_demo_leaves_nothing_locked_or_in_balances_in_the_escrow(demo, compiled):
    chain, result = demo
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    token = contract(chain, compiled, result, "EnergyToken")
    assert escrow.functions.totalLocked().call() == 0
    assert escrow.functions.totalBalances().call() == 0
    assert token.functions.balanceOf(escrow.address).call() == 0


def test_demo_funds_every_household_by_the_operators_deposits(toolchain, demo, compiled):
    chain, result = demo
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    deposited = escrow.events.Deposited.get_logs(from_block=0)
    funding = scenario_file(toolchain, "demo").prices.funding
    assert sorted((e["args"]["account"], e["args"]["amount"]) for e in deposited) == sorted(
        (h.address, funding) for h in result.households
    )
    operator = chain.accounts[0].address
    senders = {chain.web3().eth.get_transaction(e["transactionHash"])["from"] for e in deposited}
    assert senders == {operator}
    assert contract(chain, compiled, result, "EnergyToken").functions.balanceOf(operator).call() == 0
    assert {g.operation: g.transactions for g in result.gas}["depositFor"] == 1


def test_demo_households_send_nothing_the_operator_pays_them_out(demo, compiled):
    chain, result = demo
    operations = {g.operation: g.transactions for g in result.gas}
    assert "setTrader" not in operations and "withdraw" not in operations  # their own keys sign their orders
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    paid = {e["args"]["account"] for e in escrow.events.Withdrawn.get_logs(from_block=0)}
    assert paid == {h.address for h in result.households if h.tokens_end}
    w3, households = chain.web3(), {h.address for h in result.households}
    senders = {
        tx["from"] for n in range(1, w3.eth.block_number + 1) for tx in w3.eth.get_block(n, True)["transactions"]
    }
    assert not senders & households


def test_a_group_that_is_closed_is_skipped_by_a_closing_call_not_reverted(demo, compiled):
    chain, result = demo
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    group = escrow.events.GroupMatched.get_logs(from_block=0)[0]["args"]
    trade = result.trades[0]
    names = {h.name: h.address for h in result.households}
    lot = Lot(trade.meter_id, trade.chain_slot, names[trade.seller], (Trade(names[trade.buyer], trade.wh, 1),))
    call = CloseCall((GroupClose(group["slot"], group["group"], (lot,)),), (), {}, frozenset())
    w3 = chain.web3()
    sender = chain.accounts[1].address
    tx = w3.eth.send_transaction({"from": sender, "to": escrow.address, "data": call.calldata, "gasPrice": 0})
    w3.provider.make_request("evm_mine", [])
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    skipped = escrow.events.GroupSkipped().process_receipt(receipt)
    assert [(e["args"]["slot"], e["args"]["group"]) for e in skipped] == [(group["slot"], group["group"])]


# ------------------------------------------------------------------ faults


@pytest.fixture(scope="module")
def faults_chain(toolchain):
    with simulation_chain(toolchain) as chain:
        yield chain


@pytest.fixture(scope="module")
def faults_deployments(tmp_path_factory):
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="module")
def faults(toolchain, faults_chain, faults_deployments):
    return run(toolchain, faults_chain, scenario_file(toolchain, "faults"), faults_deployments)


@pytest.fixture(scope="module")
def faults_again(toolchain, faults_chain, faults_deployments, faults):
    """A second run of faults.toml on the same chain (reusing its market)."""
    return run(toolchain, faults_chain, scenario_file(toolchain, "faults"), faults_deployments)


#: Every attack's reading proves nothing: the escrow leaves the lot open (LotSkipped, Unproven) and goes on.
EXPECTED_REJECTIONS = {
    kind: {"skipped: Unproven"}
    for kind in (
        "forged reading",
        "replayed reading (the meter's reading of another slot)",
        "replayed reading (signature moved to another slot)",
        "replayed reading (another meter's reading)",
        "replayed reading (signed for another chain id)",
        "replayed reading (signed for another deployment)",
    )
}


def test_faults_passes_every_check(faults):
    assert faults.checks and all(faults.checks.values()), faults.totals().checks_failed


def test_faults_every_attack_is_submitted_and_rejected(toolchain, faults):
    attacker = scenario_file(toolchain, "faults").faults.attacker
    assert sum(a.submitted for a in faults.attacks) == attacker.forged_readings + attacker.replayed_readings
    assert [a.rejected for a in faults.attacks] == [a.submitted for a in faults.attacks]


def test_faults_attacks_are_rejected_because_their_readings_prove_nothing(faults):
    assert {a.kind for a in faults.attacks} == set(EXPECTED_REJECTIONS)
    for attack in faults.attacks:
        assert set(attack.reasons) == EXPECTED_REJECTIONS[attack.kind], (attack.kind, attack.reasons)


def test_faults_attacks_were_closings_by_the_attacker_that_closed_nothing(faults_chain, compiled, faults):
    escrow = contract(faults_chain, compiled, faults, "EnergyEscrow")
    w3 = faults_chain.web3()
    operator, households = faults_chain.accounts[0].address, {h.address for h in faults.households}
    by_others = [
        tx
        for number in range(1, w3.eth.block_number + 1)
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]
        if tx["to"] == escrow.address and tx["from"] != operator
    ]
    assert len(by_others) == sum(a.submitted for a in faults.attacks)
    assert not {tx["from"] for tx in by_others} & households
    for tx in by_others:
        receipt = w3.eth.get_transaction_receipt(tx["hash"])
        assert receipt["status"] == 1 and escrow.decode_function_input(tx["input"])[0].fn_name == "closeLots"
        assert not escrow.events.LotSettled().process_receipt(receipt)
        assert escrow.events.LotSkipped().process_receipt(receipt)


def test_faults_offline_meter_lots_are_refunded_in_full_and_its_other_lots_settle(toolchain, faults):
    offline = scenario_file(toolchain, "faults").faults.offline
    # A lot needs only the reading of its own slot: the offline slots' lots are refunded, no others.
    dark = [t for t in faults.trades if any(t.seller == o.household and o.covers(t.slot) for o in offline)]
    assert dark, "the offline household sold nothing during its outage: the scenario no longer tests this"
    assert [(t.outcome, t.paid) for t in dark] == [("refunded", 0)] * len(dark)
    lit = [t for t in faults.trades if any(t.seller == o.household for o in offline) and t not in dark]
    assert lit and {t.outcome for t in lit} == {"settled"}


def test_faults_under_delivering_seller_is_paid_less_than_price_times_taken(toolchain, faults):
    (under,) = scenario_file(toolchain, "faults").faults.under_delivery
    settled = [t for t in faults.trades if t.seller == under.household and t.outcome == "settled"]
    assert settled
    assert sum(t.paid for t in settled) < sum(t.cost for t in settled)
    assert next(h for h in faults.households if h.name == under.household).delivered_wh < sum(t.wh for t in settled)


def chain_free(trades):
    """Trades without the fields that depend on the chain (ids, chain slots, meter ids)."""
    return [(t.slot, t.seller, t.buyer, t.wh, t.price_per_kwh, t.cost, t.paid, t.refunded, t.outcome) for t in trades]


def test_faults_same_seed_gives_the_same_trades(faults, faults_again):
    assert faults_again.trades != faults.trades  # other meter ids and chain slots: really a second run
    assert chain_free(faults_again.trades) == chain_free(faults.trades)


def test_faults_second_run_on_the_same_chain_reuses_the_market_and_passes_every_check(faults, faults_again):
    assert faults_again.deployment == faults.deployment
    assert all(faults_again.checks.values()), faults_again.totals().checks_failed


# ----------------------------------------------------- node-held accounts


@pytest.fixture(scope="module")
def node_run(toolchain, tmp_path_factory):
    scenario = scenario_file(toolchain, "demo")
    with simulation_chain(toolchain, accounts=len(scenario.households) + 2) as chain:
        result = run(toolchain, chain, scenario, tmp_path_factory.mktemp("deployments"), node_accounts=True)
        yield chain, result


def test_node_held_accounts_run_demo_with_every_check_passed(node_run):
    _, result = node_run
    assert all(result.checks.values()), result.totals().checks_failed


def test_node_held_accounts_are_the_households(node_run):
    chain, result = node_run
    held = {a.address for a in chain.accounts[1:]}
    assert {h.address for h in result.households} <= held


def test_node_held_accounts_name_their_order_keys_with_set_trader(node_run, compiled):
    chain, result = node_run
    escrow = contract(chain, compiled, result, "EnergyEscrow")
    named = {e["args"]["account"] for e in escrow.events.TraderSet.get_logs(from_block=0)}
    assert named == {h.address for h in result.households}
    assert {g.operation: g.transactions for g in result.gas}["setTrader"] == len(result.households)


# ------------------------------------------------------- qtum-regtest


@pytest.fixture(scope="module")
def qtum_run(toolchain, tmp_path_factory):
    demo_scenario = scenario_file(toolchain, "demo")
    scenario = replace(demo_scenario, chain=replace(demo_scenario.chain, profile="qtum-regtest"))
    with LocalChain(toolchain.anvil, chain_options("qtum-regtest", accounts=2)) as chain:
        result = run(toolchain, chain, scenario, tmp_path_factory.mktemp("deployments"), network="qtum-regtest")
        yield chain, result


def test_qtum_regtest_profile_runs_demo_with_every_check_passed(qtum_run):
    _, result = qtum_run
    assert result.chain_id == 8890
    assert all(result.checks.values()), result.totals().checks_failed


def test_qtum_regtest_profile_pays_40_satoshi_per_gas(qtum_run):
    chain, _ = qtum_run
    w3 = chain.web3()
    prices = {
        int(tx["gasPrice"])
        for number in range(1, w3.eth.block_number + 1)
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]
    }
    assert prices == {QTUM_MIN_GAS_PRICE_WEI}
