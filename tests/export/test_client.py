"""The typed client on a real anvil: views as Python values, transactions' events as dataclasses."""

import pytest

from p2p_energy.client import Market
from p2p_energy.client.events import (
    AskPlaced,
    Deposited,
    GroupMatched,
    LotSettled,
    MeterRegistered,
    Traded,
    Transfer,
)
from p2p_energy.client.market import AskView, MeterOwner, Reverted
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.wire.cutting import LotAction, close_call, cut_closes
from p2p_energy.wire.orders import Ask, Bid, sign_order
from p2p_energy.wire.readings import MeterKey, Reading
from p2p_energy.wire.records import GroupClose, Lot, MatchCall, Trade
from tests.local_chain import mine_at

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

PRICE, WH, DELIVERED = 20_000_000, 500, 400


@pytest.fixture(scope="module")
def market(exported_market):
    return Market.load(exported_market.web3(), exported_market.out / "deployment-31337.json")


@pytest.fixture(scope="module")
def accounts(exported_market):
    operator, seller, buyer = exported_market.chain.accounts[:3]
    return operator, seller, buyer


def test_views_return_python_values(market, accounts):
    operator = accounts[0].address
    assert market.token.balance_of(operator) == 0
    assert isinstance(market.escrow.current_slot(), int)


def test_a_view_that_reverts_raises_the_decoded_error(market):
    with pytest.raises(Reverted, match=r"^meterOwner\(999,\) reverted: UnknownMeter\(meterId=999\)$"):
        market.registry.meter_owner(999)


def test_a_deposit_returns_its_events_as_dataclasses(market, accounts):
    operator, buyer = accounts[0].address, accounts[2].address
    market.token.mint(buyer, 1_000, sender=operator)
    market.token.approve(market.escrow.address, 1_000, sender=buyer)
    sent = market.escrow.deposit(1_000, sender=buyer)
    assert sent.events == (Deposited(buyer, 1_000), Transfer(buyer, market.escrow.address, 1_000))
    market.escrow.withdraw(1_000, sender=buyer)


def test_a_call_that_would_revert_raises_the_decoded_error_and_sends_nothing(market, accounts):
    buyer = accounts[2].address
    with pytest.raises(Reverted, match=r"^withdraw would revert: .*nothing was sent$"):
        market.escrow.withdraw(10**12, sender=buyer)


def test_a_trade_matched_and_closed_through_the_wire_format_decodes_into_traded_and_lot_settled(
    market, accounts, exported_market
):
    operator, seller, buyer = accounts
    meter = MeterKey(bytes(range(1, 33)))
    registered = market.registry.register_meter(7, seller.address, meter.address, market.escrow.address,
                                                sender=operator.address)  # fmt: skip
    assert MeterRegistered(7, seller.address, meter.address, market.escrow.address) in registered.events
    assert market.registry.meter_owner(7) == MeterOwner(seller.address, True)
    cost = trade_cost(WH, PRICE)
    market.token.mint(buyer.address, cost, sender=operator.address)
    market.token.approve(market.escrow.address, cost, sender=buyer.address)
    market.escrow.deposit(cost, sender=buyer.address)
    slot, domain = market.escrow.current_slot() + 2, market.escrow.order_domain()
    orders = (
        sign_order(bytes.fromhex(seller.private_key[2:]), domain, Ask(seller.address, 7, PRICE, WH, WH, slot)),
        sign_order(bytes.fromhex(buyer.private_key[2:]), domain, Bid(buyer.address, PRICE, WH, slot)),
    )
    lot = Lot(7, slot, seller.address, (Trade(buyer.address, WH, PRICE),))
    matched = market.escrow.match_orders(MatchCall(orders, (lot,)), sender=operator.address)
    assert [e for e in matched.events if isinstance(e, Traded | GroupMatched)] == [
        Traded(lot.key, buyer.address, WH, PRICE),
        GroupMatched(slot, 0, 1),
    ]
    mine_at(exported_market.web3(), market.escrow.slot_end(slot))
    reading = meter.sign(market.registry.reading_domain(), Reading(7, slot, (DELIVERED,)))
    (cut,) = cut_closes([GroupClose(slot, 0, (lot,))], lambda _: LotAction(settle=True, exported_wh=DELIVERED))
    closed = market.escrow.close_lots(close_call(cut, [reading]), sender=operator.address)
    (settled,) = [e for e in closed.events if isinstance(e, LotSettled)]
    assert (settled.lot_key, settled.seller, settled.sold_wh, settled.delivered_wh) == (
        lot.key,
        seller.address,
        WH,
        400,
    )
    assert settled.paid == cost * DELIVERED // WH


def place_ask(market, operator, seller, meter_id):
    """`seller`'s meter registered as `meter_id` and its signed standing ask placed by the operator."""
    meter = MeterKey(bytes([meter_id]) * 32)
    market.registry.register_meter(meter_id, seller.address, meter.address, market.escrow.address,
                                   sender=operator.address)  # fmt: skip
    until = market.escrow.current_slot() + 10
    ask = Ask(seller.address, meter_id, PRICE, 300, 100, until)
    signed = sign_order(bytes.fromhex(seller.private_key[2:]), market.escrow.order_domain(), ask)
    return market.escrow.match_orders(MatchCall((signed,), ()), sender=operator.address), until


def test_a_standing_ask_reads_back_as_a_dataclass(market, accounts, exported_market):
    seller = exported_market.chain.accounts[3]  # its own seller: an older ask of the same seller would be stale
    _, until = place_ask(market, accounts[0], seller, 8)
    assert market.escrow.ask_of(seller.address) == AskView(8, PRICE, 300, 100, until)


def test_the_markets_events_over_blocks_decode_in_chain_order(market, accounts, exported_market):
    seller = exported_market.chain.accounts[4]  # its own seller, as above
    sent, until = place_ask(market, accounts[0], seller, 9)
    events = market.events(sent.block - 1, sent.block)
    seller, escrow = seller.address, market.escrow.address
    assert events[-2:] == (
        MeterRegistered(9, seller, MeterKey(bytes([9]) * 32).address, escrow),
        AskPlaced(seller, 9, PRICE, 300, 100, until),
    )
