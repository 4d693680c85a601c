"""Qtum mainnet's clock on regtest (`--block-time 32`): blocks only on the beats of a 32 s clock, the demo's
rounds measured against it with anvil's outcome, and a day whose matches cannot be mined in time refused."""

import subprocess
import sys
from pathlib import Path

import pytest

from p2p_energy.chain.market import market_codec
from p2p_energy.run.target import TargetOptions
from tests.simulating import simulate_quietly

PROJECT = Path(__file__).resolve().parents[2]
DEMO = PROJECT / "scenarios" / "demo.toml"
CLI = Path(sys.executable).parent / "p2p-energy"
MAINNET_BLOCK_S = 32


@pytest.fixture(scope="module")
def on_mainnet_clock(node, tmp_path_factory):
    target = TargetOptions(backend="qtum", rpc_url=node.url.with_credentials, block_time=MAINNET_BLOCK_S)
    return simulate_quietly(DEMO, target, tmp_path_factory.mktemp("qtum-32s"))


@pytest.fixture(scope="module")
def on_anvil(tmp_path_factory):
    return simulate_quietly(DEMO, TargetOptions(simulation=True), tmp_path_factory.mktemp("anvil"))


def _outcome(result) -> list[tuple]:
    return sorted(
        (t.slot, t.seller, t.buyer, t.wh, t.price_per_kwh, t.cost, t.paid, t.refunded, t.outcome) for t in result.trades
    )


def test_a_backend_on_a_32_second_clock_mines_only_on_its_beats(node, compiled):
    backend = node.backend(market_codec(compiled), block_time=MAINNET_BLOCK_S)
    start = backend.clock
    backend.advance_to(start + 1)
    backend.advance_to(start + MAINNET_BLOCK_S + 1)
    assert backend.latest_block().timestamp == start + 2 * MAINNET_BLOCK_S


def test_the_demo_on_mainnets_clock_passes_every_check(on_mainnet_clock):
    assert [name for name, ok in on_mainnet_clock.checks.items() if not ok] == []


def test_the_demo_on_mainnets_clock_settles_the_same_trades_as_on_anvil(on_mainnet_clock, on_anvil):
    assert _outcome(on_mainnet_clock) == _outcome(on_anvil)


def test_every_round_on_mainnets_clock_is_mined_on_a_beat_within_a_block_time_per_transaction(on_mainnet_clock):
    clock = on_mainnet_clock.clock
    assert clock.block_time_s == MAINNET_BLOCK_S and clock.rounds
    for r in clock.rounds:
        # On a beat of the clock at or after sending (a beat may fall on the sending time itself).
        assert 0 <= r.wait_s <= MAINNET_BLOCK_S * r.transactions, r


def test_the_summary_says_how_many_rounds_were_late_and_the_share_of_block_capacity(on_mainnet_clock):
    figures = on_mainnet_clock.to_json()["clock"]
    assert figures["rounds_late"] == 0
    assert figures["rounds_sent"] == len(on_mainnet_clock.clock.rounds)
    day_capacity = 6 * 3600 / MAINNET_BLOCK_S * 40_000_000  # the demo is 24 slots of 900 s
    assert figures["block_capacity_share"] == pytest.approx(on_mainnet_clock.totals().gas / day_capacity)


def test_a_day_whose_matches_cannot_be_mined_before_trading_closes_is_refused_in_one_line(node, tmp_path):
    out = tmp_path / "out"
    completed = subprocess.run(
        [str(CLI), "simulate", str(DEMO), "--backend", "qtum", "--rpc-url", node.url.with_credentials,
         "--block-time", "600", "--out", str(out), "--deployments", str(tmp_path / "deployments")],
        capture_output=True, text=True, timeout=300, check=False, cwd=PROJECT,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be mined before trading closes" in lines[0], completed.stderr
    assert "slots of 1260 s or more would work" in lines[0]
    assert not (out / "summary.json").exists()
