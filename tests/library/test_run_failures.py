"""Others acting on the market in the middle of a run, on a real anvil with the real run loop.

A second operator revokes a seller's meter in the middle of slot 2 (mined in
a block of its own, before the run's tick 4): from that slot on its readings prove nothing (earlier
slots stay provable, so the seller keeps what it delivered before), its
later lots are refunded after the grace period, and the run ends in
RunFailed whose result names each reading that proved nothing; every other
check passes and nothing was sent twice.

Someone else closes one of the run's lots before the operator does (anyone
may, here with the meter's signed reading copied from nowhere but the
chain's own data): the operator's closing call skips that lot (LotSkipped,
not a revert), the books take its close from the chain's events, and the
run passes every check.
"""

import re
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.run.context import MarketTiming, Progress, RunContext, RunFailed
from p2p_energy.run.loop import run_simulation
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import simulated_meter_key
from p2p_energy.wire.readings import Reading, reading_domain
from p2p_energy.wire.records import SKIP_REASONS, CloseCall, GroupClose, Lot, Trade, credited_by, lot_of_key
from tests.local_chain import deploy_local_market, first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: The phase whose start revokes the meter: it runs before tick 4's blocks, while the chain's clock is at tick 3's
#: (half a slot before slot 3), so slot 2 is under way.
REVOKED_AT = "slot 4/4"
SETTLED_BY_OTHERS = 1  # the scenario slot of the lot someone else settles
SLOT_LENGTH = 900


@pytest.fixture(scope="module")
def scenario():
    households = [
        {"name": "solar", "count": 2, "pv_kwp": 6.0, "load_kwh_per_day": 4.0},
        {"name": "home", "count": 2, "load_kwh_per_day": 10.0},
    ]
    return parse_scenario({"seed": 5, "slots": 4, "start_hour": 11.0, "households": households}, Path("revoked.toml"))


def _send_and_mine(chain: LocalChain, sender: Account, to: str, data: bytes, timestamp: int) -> None:
    """A transaction of someone else's, mined alone at `timestamp` (the run's backend mines the rest)."""
    w3 = chain.web3()
    nonce = w3.eth.get_transaction_count(sender.address)
    raw = sign_legacy(sender, nonce, 0, 2_000_000, to, data, w3.eth.chain_id)
    w3.provider.make_request("eth_sendRawTransaction", ["0x" + raw.hex()])
    w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
    w3.provider.make_request("evm_mine", [])
    receipt = w3.eth.get_transaction_receipt(keccak(raw))
    assert receipt["status"] == 1


@pytest.fixture(scope="module")
def failed(toolchain, compile_for, scenario, tmp_path_factory) -> tuple[RunFailed, str]:
    compiled = compile_for("cancun")
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(toolchain.anvil, options) as chain:
        w3 = chain.web3()
        admin = first_account(chain)
        market = deploy_local_market(chain, compiled, slot_length=SLOT_LENGTH, grace_period=1_800, gas_price=0)
        genesis = market.view("MeterRegistry", "genesis")
        operator = Account.from_key(keccak(text="second operator"))
        role = market.view("MeterRegistry", "OPERATOR_ROLE")
        market.transact(admin, "MeterRegistry", "grantRole", role, operator.address)

        revoked: list[str] = []

        def revoke_seller_meter(phase: str) -> None:
            if phase == REVOKED_AT and not revoked:  # the ticks after the last slot are all "slot 4/4"
                revoked.append(phase)
                data = market.codec.encode("revokeMeter", 1)  # solar-001's meter: the first id of a fresh registry
                latest = int(w3.eth.get_block("latest")["timestamp"])
                _send_and_mine(chain, operator, market.address("MeterRegistry"), data, latest + 1)

        with pytest.raises(RunFailed) as caught:
            run_simulation(
                RunContext(
                    scenario,
                    market=market,
                    admin=admin,
                    timing=MarketTiming(genesis, SLOT_LENGTH, 1_800),
                    progress=Progress(phase=revoke_seller_meter),
                    record_path=tmp_path_factory.mktemp("run") / "run.json",
                )
            )
        market.chain.close()
        return caught.value, admin.address


REVOKED_FROM = 2  # the scenario slot under way when the meter is revoked


def lots_of_the_revoked_meter(scenario) -> list[int]:
    """The scenario slots in which solar-001 sells."""
    markets = clear_all(scenario, simulate_energy(scenario))
    return [m.slot for m in markets if any(m.offers[t.offer_index].seller == 0 for t in m.takes)]


def test_the_run_fails_its_check_that_every_reading_proved_its_lot(failed):
    failed, _ = failed
    assert failed.result.checks["every meter reading the run sent proved its lot"] is False
    assert failed.result.checks["every honest transaction succeeded"] is True


def test_each_reading_that_proved_nothing_is_listed_once_with_its_meter_and_slot(failed, scenario):
    failed, _ = failed
    pattern = re.compile(r"meter 1's reading of slot (\d+) proved nothing to the escrow \(Unproven: .*\)")
    listed = [pattern.fullmatch(line) for line in failed.result.failures]
    refused = sorted(int(m.group(1)) for m in listed if m)
    assert refused and refused == sorted(set(refused))
    assert set(refused) == {slot for slot in lots_of_the_revoked_meter(scenario) if slot >= REVOKED_FROM}


def test_the_revoked_meters_earlier_lots_settled_and_its_later_ones_were_refunded(failed, scenario):
    failed, _ = failed
    slots = lots_of_the_revoked_meter(scenario)
    assert min(slots) < REVOKED_FROM <= max(slots), "the scenario no longer tests revocation between two lots"
    revoked = [t for t in failed.result.trades if t.meter_id == 1]
    assert {t.outcome for t in revoked if t.slot < REVOKED_FROM} == {"settled"}
    assert {t.outcome for t in revoked if t.slot >= REVOKED_FROM} == {"refunded"}


def test_the_books_still_match_the_chain(failed):
    failed, _ = failed
    checks = failed.result.checks
    assert checks["every trade closed exactly once by the settlement rule"] is True
    assert checks["household token balances match the books"] is True
    assert checks["every lot of the run is closed on chain"] is True


# --------------------------------------------------------- settled by others


def first_group_of(escrow, chain_slot: int) -> tuple[GroupClose, Lot]:
    """Group 0 of `chain_slot` as the chain's events give it (its lots in order, their trades), and its first lot."""
    grouped = next(e for e in escrow.events.GroupMatched.get_logs(from_block=0) if e["args"]["slot"] == chain_slot)
    receipt = escrow.w3.eth.get_transaction_receipt(grouped["transactionHash"])
    trades: dict[int, list[Trade]] = {}
    for event in escrow.events.Traded().process_receipt(receipt):
        key = event["args"]["lotKey"]
        if lot_of_key(key)[1] == chain_slot:
            trades.setdefault(key, []).append(
                Trade(event["args"]["buyer"], event["args"]["wh"], event["args"]["pricePerKWh"])
            )
    sellers = {e["args"]["meterId"]: e["args"]["account"] for e in escrow.events.AskPlaced.get_logs(from_block=0)}
    lots = [
        Lot(*lot_of_key(key), sellers[lot_of_key(key)[0]], tuple(sold))
        for key, sold in list(trades.items())[: grouped["args"]["lots"]]
    ]
    return GroupClose(chain_slot, grouped["args"]["group"], tuple(lots)), lots[0]


@pytest.fixture(scope="module")
def settled_by_others(toolchain, compile_for, scenario, tmp_path_factory):
    """The run, with one lot of slot SETTLED_BY_OTHERS settled by a third party as soon as the slot ended."""
    compiled = compile_for("cancun")
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    record_path = tmp_path_factory.mktemp("run") / "run.json"
    with LocalChain(toolchain.anvil, options) as chain:
        admin = first_account(chain)
        market = deploy_local_market(chain, compiled, slot_length=SLOT_LENGTH, grace_period=1_800, gas_price=0)
        genesis = market.view("MeterRegistry", "genesis")
        escrow = chain.web3().eth.contract(address=market.address("EnergyEscrow"), abi=compiled["EnergyEscrow"].abi)
        stranger = Account.from_key(keccak(text="a stranger"))
        plan = simulate_energy(scenario)
        settled: list[tuple[int, int]] = []

        def settle_one_lot_first(phase: str) -> None:
            if phase != f"slot {SETTLED_BY_OTHERS + 2}/4":
                return
            c0 = RunRecord.load(record_path).c0
            group, lot = first_group_of(escrow, c0 + SETTLED_BY_OTHERS)
            row = lot.meter_id - 1  # meter ids of a fresh registry's first run: row + 1
            exported = int(plan.export_wh[row, SETTLED_BY_OTHERS])
            key = simulated_meter_key(scenario.seed, scenario.household_names[row])
            domain = reading_domain(market.chain.chain_id, market.address("MeterRegistry"))
            reading = key.sign(domain, Reading(lot.meter_id, lot.slot, (exported,)))
            call = CloseCall((group,), (reading,), {lot.key: 0}, frozenset(credited_by(lot, exported)))
            _send_and_mine(chain, stranger, escrow.address, call.calldata, genesis + (lot.slot + 1) * SLOT_LENGTH + 1)
            settled.append((lot.meter_id, lot.slot))

        result = run_simulation(
            RunContext(
                scenario,
                market=market,
                admin=admin,
                timing=MarketTiming(genesis, SLOT_LENGTH, 1_800),
                progress=Progress(phase=settle_one_lot_first),
                record_path=record_path,
            )
        )
        skipped = [
            lot_of_key(e["args"]["lotKey"])
            for e in escrow.events.LotSkipped.get_logs(from_block=0)
            if SKIP_REASONS[e["args"]["reason"]] == "NotOpen"
        ]
        skipped += [
            (lot.meter_id, lot.slot)
            for e in escrow.events.GroupSkipped.get_logs(from_block=0)
            for lot in [first_group_of(escrow, e["args"]["slot"])[1]]
        ]
        settlers = {
            chain.web3().eth.get_transaction(e["transactionHash"])["from"]: lot_of_key(e["args"]["lotKey"])
            for e in escrow.events.LotSettled.get_logs(from_block=0)
            if lot_of_key(e["args"]["lotKey"]) in settled
        }
        market.chain.close()
        return result, settled, skipped, settlers, stranger


def test_a_lot_someone_else_settled_first_is_skipped_by_the_operators_closing_call(settled_by_others):
    _, settled, skipped, settlers, stranger = settled_by_others
    assert len(settled) == 1
    assert skipped == settled
    assert settlers == {stranger.address: settled[0]}


def test_the_run_takes_the_lots_close_from_the_chain_and_passes_every_check(settled_by_others):
    result, settled, *_ = settled_by_others
    assert [name for name, ok in result.checks.items() if not ok] == []
    meter, chain_slot = settled[0]
    lot = [t for t in result.trades if (t.meter_id, t.chain_slot) == (meter, chain_slot)]
    assert lot and {t.outcome for t in lot} == {"settled"}


def test_the_trades_of_a_lot_someone_else_settled_name_that_strangers_transaction(settled_by_others):
    result, settled, *_ = settled_by_others
    lot = [t for t in result.trades if (t.meter_id, t.chain_slot) == settled[0]]
    closers = {(t.close_tx_hash, t.close_block) for t in lot}
    operators = {(c.tx_hash, c.block) for c in result.calls}
    assert len(closers) == 1 and closers.isdisjoint(operators) and closers != {("", 0)}
