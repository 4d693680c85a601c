"""The trade quick start (`brownie run trade`): one trade through every call of the market, on a real anvil."""

import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.domain.settlement import settle_lot, trade_cost
from p2p_energy.quickstart import DELIVERED_WH, TRADE_PRICE_PER_KWH, TRADE_WH, run_trade
from p2p_energy.wire.readings import MeterKey
from tests.local_chain import deploy_local_market, first_account

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

STEPS = ["registerMeter", "mint", "approve", "deposit", "matchOrders", "closeLots", "withdraw", "payOut"]


def key(label):
    return keccak(text=f"test_quickstart:{label}")


@pytest.fixture(scope="module")
def traded(toolchain, compile_for):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=1)) as chain:
        market = deploy_local_market(chain, compile_for("cancun"))
        try:
            seller, buyer = Account.from_key(key("seller")), Account.from_key(key("buyer"))
            first = run_trade(market, first_account(chain), seller, buyer, MeterKey(key("meter")))
            again = run_trade(market, first_account(chain), seller, buyer, MeterKey(key("meter 2")))
            tokens = {a.address: int(market.view("EnergyToken", "balanceOf", a.address)) for a in (seller, buyer)}
            held = int(market.view("EnergyToken", "balanceOf", market.addresses.escrow))
            yield first, again, tokens, held, seller, buyer
        finally:
            market.chain.close()


def test_every_call_of_the_trade_succeeded_in_order(traded):
    first = traded[0]
    assert [s.name for s in first.steps] == STEPS
    assert all(s.gas > 0 and s.tx_hash for s in first.steps)


def test_the_lot_is_settled_by_the_settlement_rule(traded):
    first = traded[0]
    cost = trade_cost(TRADE_WH, TRADE_PRICE_PER_KWH)
    rule = settle_lot([cost], TRADE_WH, DELIVERED_WH)
    assert (first.cost, first.delivered_wh, first.paid, first.refunded) == (
        cost,
        DELIVERED_WH,
        *rule.paid,
        *rule.refunded,
    )


def test_the_seller_withdrew_and_the_buyer_was_paid_out_what_the_rule_gave_them_and_the_escrow_holds_nothing(traded):
    first, again, tokens, held, seller, buyer = traded
    assert tokens == {seller.address: first.paid + again.paid, buyer.address: first.refunded + again.refunded}
    assert held == 0


def test_a_second_run_on_the_same_market_takes_the_next_meter_id(traded):
    first, again = traded[0], traded[1]
    assert (first.meter_id, again.meter_id) == (1, 2)
    assert again.slot >= first.slot
