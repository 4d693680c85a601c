"""Others acting on the market in the middle of a run, on a real anvil with the real run loop.

A second operator revokes a seller's meter at the start of slot 2 (mined in
a block of its own): every later matchOrders call with that meter's ask
reverts on chain with MeterNotActive, and so does every settlement of its
open lots. The run must end in RunFailed whose result names each of those
calls (what, from whom, which transaction, why), and must not have sent
any of them twice.

Someone else settles one of the run's lots before the operator does (anyone
may, with the meter's signed reading): the operator's batch skips that lot
(LotSkipped, not a revert), the books take its close from the chain's
events, and the run passes every check.
"""

import re
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.domain.eip712 import sign_digest
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.meters import Reading, reading_domain, simulated_meter_key
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.run.context import MarketTiming, Progress, RunContext, RunFailed
from p2p_energy.run.loop import run_simulation
from p2p_energy.run.resume import RunRecord
from tests.local_chain import deploy_local_market, first_account

REVOKED_AT = "slot 2/4"
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

        def revoke_seller_meter(phase: str) -> None:
            if phase == REVOKED_AT:
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


def calls_naming_the_revoked_meter(scenario) -> dict[str, int]:
    """matchOrders calls with solar-001's ask (slots 2 and 3) and settlements of its lots (slots 0 and 1, each
    tried at both ticks of its settlement window: slot s at ticks s + 2 and s + 3 with a grace period of two slots)."""
    markets = clear_all(scenario, simulate_energy(scenario))
    selling = [any(market.offers[t.offer_index].seller == 0 for t in market.takes) for market in markets]
    return {"matchOrders": sum(selling[2:4]), "settleLots": 2 * sum(selling[0:2])}


def test_the_run_fails_its_check_that_every_honest_transaction_succeeded(failed):
    failed, _ = failed
    assert failed.result.checks["every honest transaction succeeded"] is False


def test_each_reverted_call_is_listed_with_sender_transaction_and_decoded_error(failed, scenario):
    failed, operator = failed
    pattern = re.compile(
        r"(matchOrders|settleLots) from (0x[0-9a-fA-F]{40}) reverted \(tx 0x[0-9a-f]{64}\): MeterNotActive\(meterId=1\)"
    )
    listed = [pattern.fullmatch(line) for line in failed.result.failures]
    assert all(listed), failed.result.failures
    assert {m.group(2) for m in listed} == {operator}
    expected = calls_naming_the_revoked_meter(scenario)
    assert expected["matchOrders"] > 0 and expected["settleLots"] > 0
    assert {label: sum(1 for m in listed if m.group(1) == label) for label in expected} == expected


def test_each_listed_failure_is_a_different_transaction(failed):
    failed, _ = failed
    hashes = [re.search(r"\(tx (0x[0-9a-f]{64})\)", line).group(1) for line in failed.result.failures if "(tx " in line]
    assert hashes
    assert len(hashes) == len(set(hashes))


def test_the_lots_the_revoked_meter_could_not_settle_were_refunded_and_the_books_still_match(failed):
    failed, _ = failed
    checks = failed.result.checks
    assert checks["every trade closed exactly once by the settlement rule"] is True
    assert checks["household token balances match the books"] is True
    assert checks["every lot of the run is closed on chain"] is True


# --------------------------------------------------------- settled by others


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
            chain_slot = c0 + SETTLED_BY_OTHERS
            traded = [e["args"] for e in escrow.events.Traded.get_logs(from_block=0)]
            (lot_key, *_) = sorted({a["lotKey"] for a in traded if a["lotKey"] & (2**64 - 1) == chain_slot})
            meter = lot_key >> 64
            row = meter - 1  # meter ids of a fresh registry's first run: row + 1
            trades = [(a["buyer"], a["wh"], a["cost"]) for a in traded if a["lotKey"] == lot_key]
            reading = Reading(meter, chain_slot, int(plan.export_wh[row, SETTLED_BY_OTHERS]))
            domain = reading_domain(market.chain.chain_id, market.address("MeterRegistry"))
            key = simulated_meter_key(scenario.seed, scenario.household_names[row])
            signature = sign_digest(key.private_key, domain.digest(reading.struct_hash()))
            proof = ((meter, chain_slot, trades), reading.as_tuple(), signature.as_tuple())
            data = market.codec.encode("settleLots", [proof])
            _send_and_mine(chain, stranger, escrow.address, data, genesis + (chain_slot + 1) * SLOT_LENGTH + 1)
            settled.append((meter, chain_slot))

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
        skipped = [(e["args"]["meterId"], e["args"]["slot"]) for e in escrow.events.LotSkipped.get_logs(from_block=0)]
        settlers = {
            chain.web3().eth.get_transaction(e["transactionHash"])["from"]: (e["args"]["meterId"], e["args"]["slot"])
            for e in escrow.events.LotSettled.get_logs(from_block=0)
            if (e["args"]["meterId"], e["args"]["slot"]) in settled
        }
        market.chain.close()
        return result, settled, skipped, settlers, stranger


def test_a_lot_someone_else_settled_first_is_skipped_by_the_operators_batch(settled_by_others):
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
