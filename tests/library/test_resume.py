"""Resuming a run whose process died: the chain is intact, the runner's memory is gone.

Real anvil chains and the real run loop on a small scenario with an offline
meter and an attacker. The run is stopped by an exception from its progress
callback (as a crash or Ctrl-C would stop it) and resumed by a new chain
backend from the run record; its totals must equal those of an uninterrupted run on a
fresh chain. When the chain's time passed slots while the run was down, their
matches are skipped and listed, and the books still match the chain.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.market import Market, MarketAddresses
from p2p_energy.domain.scenario import parse_scenario
from p2p_energy.records.run_records import RunResult
from p2p_energy.run.context import MarketTiming, Progress, RunContext, RunFailed
from p2p_energy.run.loop import run_simulation
from p2p_energy.run.resume import RunRecord
from tests.local_chain import deploy_local_market, first_account, local_backend, mine_at

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SLOT_LENGTH = 900
GRACE = 1_800


class Crash(Exception):
    """Stands in for whatever stops the runner's process."""


@pytest.fixture(scope="module")
def scenario():
    data = {
        "seed": 11,
        "slots": 6,
        "start_hour": 10.0,
        "households": [
            {"name": "solar", "count": 3, "pv_kwp": [4.0, 7.0], "load_kwh_per_day": 5.0},
            {"name": "home", "count": 3, "load_kwh_per_day": [8.0, 12.0]},
        ],
        "faults": {
            "offline": [{"household": "solar-002", "slots": [2, 3]}],
            "attacker": {"forged_readings": 2, "replayed_readings": 3},
        },
    }
    return parse_scenario(data, Path("resume.toml"))


@dataclass
class Deployment:
    """A market on a local chain; each run reaches it through a chain backend of its own."""

    chain: LocalChain
    compiled: object
    addresses: MarketAddresses
    admin: Account
    genesis: int

    def run(self, scenario, record: Path, *, resume=False, progress=None) -> RunResult:
        backend = local_backend(self.chain, self.compiled, gas_price=0)
        try:
            return run_simulation(
                RunContext(
                    scenario,
                    market=Market(backend, backend.codec, self.addresses),
                    admin=self.admin,
                    timing=MarketTiming(self.genesis, SLOT_LENGTH, GRACE),
                    progress=progress or Progress(),
                    record_path=record,
                    resume=resume,
                )
            )
        finally:
            backend.close()


def deployment(chain: LocalChain, compiled) -> Deployment:
    market = deploy_local_market(chain, compiled, slot_length=SLOT_LENGTH, grace_period=GRACE, gas_price=0)
    market.chain.close()
    genesis = market.view("MeterRegistry", "genesis")
    return Deployment(chain, compiled, market.addresses, first_account(chain), genesis)


@pytest.fixture
def market(toolchain, compile_for):
    options = ChainOptions(accounts=1, base_fee_wei=0, block_gas_limit=1_000_000_000)
    with LocalChain(toolchain.anvil, options) as chain:
        yield deployment(chain, compile_for("cancun"))


@pytest.fixture(scope="module")
def uninterrupted(toolchain, compile_for, scenario, tmp_path_factory) -> RunResult:
    with LocalChain(toolchain.anvil, ChainOptions(accounts=1, base_fee_wei=0)) as chain:
        market = deployment(chain, compile_for("cancun"))
        return market.run(scenario, tmp_path_factory.mktemp("uninterrupted") / "run.json")


def crash_at(phase: str) -> Progress:
    def maybe_crash(now: str) -> None:
        if now == phase:
            raise Crash(phase)

    return Progress(phase=maybe_crash)


def net_tokens(result: RunResult) -> dict[str, int]:
    return {h.name: h.net_tokens for h in result.households}


@pytest.mark.parametrize("phase", ["funding households and registering meters", "slot 3/6", "paying out balances"])
def test_a_run_whose_process_died_resumes_to_the_totals_of_an_uninterrupted_run(
    market, scenario, uninterrupted, tmp_path, phase
):
    record = tmp_path / "run.json"
    with pytest.raises(Crash):
        market.run(scenario, record, progress=crash_at(phase))
    resumed = market.run(scenario, record, resume=True)
    assert resumed.totals() == uninterrupted.totals()
    assert net_tokens(resumed) == net_tokens(uninterrupted)
    assert resumed.attacks == uninterrupted.attacks


def test_a_resumed_run_sends_no_transaction_twice(market, scenario, uninterrupted, tmp_path):
    record = tmp_path / "run.json"
    with pytest.raises(Crash):
        market.run(scenario, record, progress=crash_at("slot 4/6"))
    resumed = market.run(scenario, record, resume=True)
    assert resumed.failures == []
    assert resumed.totals().transactions == uninterrupted.totals().transactions


def test_matches_of_slots_that_started_while_the_run_was_down_are_skipped_and_listed(market, scenario, tmp_path):
    record = tmp_path / "run.json"
    with pytest.raises(Crash):
        market.run(scenario, record, progress=crash_at("slot 2/6"))
    start_of_slot_3 = market.genesis + (RunRecord.load(record).c0 + 3) * SLOT_LENGTH
    mine_at(market.chain.web3(), start_of_slot_3 + 1)  # the chain was down past the start of slot 3
    with pytest.raises(RunFailed) as failed:
        market.run(scenario, record, resume=True)
    result = failed.value.result
    skipped = [line for line in result.failures if "planned matchOrders calls not sent" in line]
    assert [line.split(":")[0] for line in skipped] == ["slot 2", "slot 3"]
    assert result.checks["every planned match was sent"] is False
    assert result.checks["household token balances match the books"] is True
    assert result.checks["escrow holds nothing for this run at the end"] is True
