"""An honest transaction that reverts mid-run is listed in the run's failures, with its decoded error, and sent once.

A real anvil and the real run loop: a second operator revokes a seller's meter
at the start of slot 2 (mined in a block of its own), so that seller's later
offers revert on chain with MeterNotActive. The run must end in RunFailed
whose result names each of those offers (what, from whom, which transaction,
why), and must not have sent any of them twice.
"""

import re
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.domain.keys import account_label, seed_key
from p2p_energy.domain.market import clear_all
from p2p_energy.domain.profiles import simulate_energy
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.run.context import MarketTiming, Progress, RunContext, RunFailed
from p2p_energy.run.loop import run_simulation
from tests.library.conftest import deploy_local_market, first_account

REVOKED_AT = "slot 2/4"


@pytest.fixture(scope="module")
def scenario():
    households = [
        {"name": "solar", "count": 2, "pv_kwp": 6.0, "load_kwh_per_day": 4.0},
        {"name": "home", "count": 2, "load_kwh_per_day": 10.0},
    ]
    return parse_scenario({"seed": 3, "slots": 4, "start_hour": 11.0, "households": households}, Path("revoked.toml"))


@pytest.fixture(scope="module")
def failed(toolchain, compile_for, scenario, tmp_path_factory) -> RunFailed:
    compiled = compile_for("cancun")
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(toolchain.anvil, options) as chain:
        w3 = chain.web3()
        admin = first_account(chain)
        market = deploy_local_market(chain, compiled, slot_length=900, grace_period=1_800, gas_price=0)
        genesis = market.view("MeterRegistry", "genesis")
        operator = Account.from_key(keccak(text="second operator"))
        role = market.view("MeterRegistry", "OPERATOR_ROLE")
        market.transact(admin, "MeterRegistry", "grantRole", role, operator.address)
        registry = market.address("MeterRegistry")

        def revoke_seller_meter(phase: str) -> None:
            if phase != REVOKED_AT:
                return
            nonce = w3.eth.get_transaction_count(operator.address)
            data = market.codec.encode("revokeMeter", 1)  # solar-001's meter: the first id of a fresh registry's block
            raw = sign_legacy(operator, nonce, 0, 200_000, registry, data, market.chain.chain_id)
            w3.provider.make_request("eth_sendRawTransaction", ["0x" + raw.hex()])
            latest = int(w3.eth.get_block("latest")["timestamp"])
            w3.provider.make_request("evm_setNextBlockTimestamp", [latest + 1])
            w3.provider.make_request("evm_mine", [])

        with pytest.raises(RunFailed) as caught:
            run_simulation(
                RunContext(
                    scenario,
                    market=market,
                    admin=admin,
                    timing=MarketTiming(genesis, 900, 1_800),
                    progress=Progress(phase=revoke_seller_meter),
                    record_path=tmp_path_factory.mktemp("run") / "run.json",
                )
            )
        market.chain.close()
        return caught.value


def offers_after_the_revocation(scenario) -> int:
    markets = clear_all(scenario, simulate_energy(scenario))
    return sum(1 for slot in (2, 3) for offer in markets[slot].offers if offer.seller == 0)


def test_the_run_fails_its_check_that_every_honest_transaction_succeeded(failed):
    assert failed.result.checks["every honest transaction succeeded"] is False


def test_each_reverted_offer_is_listed_with_sender_transaction_and_decoded_error(failed, scenario):
    seller = Account.from_key(seed_key(scenario.seed, account_label("solar-001"))).address
    pattern = re.compile(rf"postOffer from {seller} reverted \(tx 0x[0-9a-f]{{64}}\): MeterNotActive\(meterId=1\)")
    listed = [line for line in failed.result.failures if pattern.fullmatch(line)]
    assert offers_after_the_revocation(scenario) > 0
    assert len(listed) == offers_after_the_revocation(scenario)


def test_each_listed_failure_is_a_different_transaction(failed):
    hashes = [re.search(r"\(tx (0x[0-9a-f]{64})\)", line).group(1) for line in failed.result.failures if "(tx " in line]
    assert hashes
    assert len(hashes) == len(set(hashes))
