"""faults.toml on a real qtumd regtest node: every check passes, every attack is refused,
and the same seed settles the same trades, Wh and token amounts as on anvil."""

from pathlib import Path

import pytest

from p2p_energy.run.target import TargetOptions
from tests.simulating import simulate_quietly

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "faults.toml"


@pytest.fixture(scope="module")
def on_qtum(node, tmp_path_factory):
    target = TargetOptions(backend="qtum", rpc_url=node.url.with_credentials)
    return simulate_quietly(SCENARIO, target, tmp_path_factory.mktemp("qtum-records"))


@pytest.fixture(scope="module")
def on_anvil(tmp_path_factory):
    return simulate_quietly(SCENARIO, TargetOptions(simulation=True), tmp_path_factory.mktemp("anvil-records"))


def _outcome(result) -> list[tuple]:
    """The trades as the market sees them, without the ids (which follow the order trades were mined in)."""
    return sorted(
        (t.slot, t.seller, t.buyer, t.wh, t.price_per_kwh, t.cost, t.paid, t.refunded, t.outcome) for t in result.trades
    )


def test_every_check_of_the_chain_against_the_books_passes_on_qtum(on_qtum):
    assert [name for name, ok in on_qtum.checks.items() if not ok] == []


def test_every_forged_and_replayed_reading_is_refused_on_qtum(on_qtum):
    assert on_qtum.attacks and all(a.rejected == a.submitted for a in on_qtum.attacks)


def test_qtum_settles_the_same_trades_as_anvil(on_qtum, on_anvil):
    assert _outcome(on_qtum) == _outcome(on_anvil)


def test_qtum_leaves_every_household_the_same_tokens_as_anvil(on_qtum, on_anvil):
    assert [(h.name, h.tokens_end) for h in on_qtum.households] == [(h.name, h.tokens_end) for h in on_anvil.households]


def test_households_on_qtum_trade_from_hash160_addresses(on_qtum, on_anvil):
    assert {h.address for h in on_qtum.households}.isdisjoint({h.address for h in on_anvil.households})


def test_a_run_on_qtum_reports_its_gas_price_in_satoshi_and_fees_in_qtum(on_qtum):
    assert (on_qtum.gas_price, on_qtum.fee_currency, on_qtum.fee_decimals) == (40, "QTUM", 8)


def test_on_qtum_the_operator_names_every_households_order_key_in_one_call_and_on_anvil_none_is_named(
    on_qtum, on_anvil
):
    """ecrecover never gives a HASH160 address: on Qtum the operator names the households' own keys from their
    public keys (nameOwnKeys), and no household sends setTrader; on anvil no key needs naming."""
    on_qtum_calls = {g.operation: g.transactions for g in on_qtum.gas}
    assert on_qtum_calls["nameOwnKeys"] == 1 and "setTrader" not in on_qtum_calls
    assert not {"nameOwnKeys", "setTrader"} & {g.operation for g in on_anvil.gas}
    assert on_qtum.checks["every selling meter registered, every order key named and standing order placed"]
