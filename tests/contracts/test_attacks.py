"""Attacks on the market, one test each, named for the attack: the hardening list of issue 13
(docs/gas-design.md, "Hardening") first, then what else a submitter, settler or seller might try.

Costs at conftest's PRICE (23,456.789 base units per Wh), worked out by hand: cost = ceil(wh x price / 1,000).
"""

import brownie
from eth_utils.crypto import keccak
from p2p_energy.domain.meters import MeterKey
from p2p_energy.domain.orders import Bid

from p2p_energy.domain.keys import key_address
from tests.contracts.conftest import FUNDS, GRACE, OTHER_METER, PRICE, SELLER_METER, error, fill, key_of, lot_trade

# ceil(1,234 x 23,456.789) = ceil(28,945,677.626) = 28,945,678
COST_1234 = 28_945_678
ZERO = brownie.ZERO_ADDRESS


# ------------------------------------------------------------ the hardening list of issue 13


def test_front_running_the_meters_reading_gains_the_front_runner_nothing(
    escrow, trade, proof, goto, stranger, seller, buyer, admin
):
    trade(1_234)
    goto(2, 100)
    # the front-runner copies the meter's reading from the runner's pending batch and settles first:
    # there is no reading to record ahead of anyone, the lot is paid by the rule, and the runner's batch skips it
    lot = proof(SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)], 500)
    escrow.settleLots([lot], {"from": stranger})
    tx = escrow.settleLots([lot], {"from": admin})
    # paid = floor(28,945,678 x 500 / 1,234) = floor(11,728,394.65) = 11,728,394
    assert (escrow.balanceOf(stranger), escrow.balanceOf(seller), "LotSkipped" in tx.events) == (0, 11_728_394, True)


def test_closing_one_lot_ahead_of_the_runners_batch_does_not_revert_the_batch(
    escrow, trade, proof, goto, stranger, admin, seller2, buyer, buyer2
):
    trade(1_234)
    trade(1_234, by=buyer2, meter=OTHER_METER)
    goto(2, 100)
    batch = [
        proof(SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)], 1_234),
        proof(OTHER_METER, 1, [lot_trade(buyer2, 1_234, COST_1234)], 1_234),
    ]
    escrow.settleLots(batch[:1], {"from": stranger})
    escrow.settleLots(batch, {"from": admin})
    assert (escrow.balanceOf(seller2), escrow.totalLocked()) == (COST_1234, 0)


def test_overcharging_a_bid_above_its_signed_max_price_reverts(ask, bid, match, buyer):
    asks, bids = [ask(1_000, price=PRICE)], [bid(buyer, 1_000, price=PRICE)]
    with brownie.reverts(error("PriceOutsideOrders", 0, PRICE + 1, PRICE, PRICE)):
        match(asks, bids, [fill(0, 0, 1_000, PRICE + 1)])


def test_replaying_a_bid_in_another_slot_reverts(ask, bid, match, buyer):
    with brownie.reverts(error("WrongSlot", 1, 2)):
        match([ask(1_000, slot=2)], [bid(buyer, 1_000, slot=1)], [fill(0, 0, 1_000)], slot=2)


def test_locking_a_buyers_tokens_for_a_slot_months_ahead_reverts(registry, trade, next_block_at):
    slot = 10_000  # 9,000,000 s (104 days) after genesis
    now = registry.slotStart(2)
    next_block_at(now)
    with brownie.reverts(error("SlotTooFar", slot, registry.slotStart(slot), now + 7 * 24 * 3600)):
        trade(1_000, slot=slot)


def test_dust_fills_of_one_wh_below_the_sellers_minimum_revert(ask, bid, match, buyer):
    with brownie.reverts(error("FillTooSmall", 0, 1, 100)):
        match([ask(1_000, min_wh=100)], [bid(buyer, 1_000)], [fill(0, 0, 1)] * 10)


def parameter_names(parameters):
    """Every parameter name in an ABI list, struct members included."""
    for parameter in parameters:
        yield parameter["name"]
        yield from parameter_names(parameter.get("components", []))


def test_consumption_never_reaches_the_chain(registry, escrow):
    # a reading carries the slot's export only; no function or event of either contract takes an import figure
    reading = next(i for i in registry.abi if i.get("name") == "exportProven")["inputs"][0]
    names = {n.lower() for c in (registry, escrow) for item in c.abi for n in parameter_names(item.get("inputs", []))}
    assert ([c["name"] for c in reading["components"]], {n for n in names if "import" in n}) == (
        ["meterId", "slot", "exportedWh"],
        set(),
    )


def test_an_escrow_whose_lots_could_never_be_settled_cannot_be_deployed(EnergyEscrow, token, registry, admin):
    with brownie.reverts(error("InvalidGracePeriod")):
        EnergyEscrow.deploy(token, registry, 0, {"from": admin})


def test_a_registry_nobody_administers_cannot_be_deployed(MeterRegistry, admin, chain):
    with brownie.reverts(error("ZeroAdmin")):
        MeterRegistry.deploy(ZERO, chain[-1].timestamp, 900, {"from": admin})


def test_splitting_a_purchase_into_tiny_fills_never_makes_energy_free(escrow, EnergyEscrow, ask, bid, match, buyer):
    # 10 fills of 1 Wh at 999 per kWh: each ceil(0.999) = 1, so 10 units, where rounding down would give 0
    match([ask(10, price=999)], [bid(buyer, 10, price=999)], [fill(0, 0, 1, 999)] * 10)
    natspec = EnergyEscrow._build["natspec"]["methods"]
    notice = next(v["notice"] for k, v in natspec.items() if k.startswith("matchOrders("))
    assert (escrow.balanceOf(buyer), "ceil(wh * pricePerKWh / 1000): rounded up" in notice) == (FUNDS - 10, True)


# ------------------------------------------------------------ more attacks


def test_spending_a_buyers_balance_with_a_bid_it_did_not_sign_reverts(ask, bid, match, buyer, stranger):
    with brownie.reverts(error("InvalidOrderSignature", buyer, stranger, ZERO)):
        match([ask(1_000)], [bid(buyer, 1_000, key=key_of(stranger))], [fill(0, 0, 1_000)])


def test_selling_another_owners_meter_reverts(ask, bid, match, seller, buyer):
    with brownie.reverts(error("InvalidOrderSignature", seller, buyer, ZERO)):
        match([ask(1_000, key=key_of(buyer))], [bid(buyer, 1_000)], [fill(0, 0, 1_000)])


def test_a_trader_key_named_by_one_account_cannot_sign_for_another(escrow, ask, bid, match, buyer, buyer2):
    trader = bytes(31) + b"\x2a"
    escrow.setTrader(key_address(trader), {"from": buyer2})
    with brownie.reverts(error("InvalidOrderSignature", buyer, key_address(trader), ZERO)):
        match([ask(1_000)], [bid(buyer, 1_000, key=trader)], [fill(0, 0, 1_000)])


def test_raising_a_signed_bids_max_price_reverts(ask, bid, match, orders, buyer):
    signed, signature = bid(buyer, 1_000, price=PRICE)
    raised = Bid(*signed[:3], PRICE * 10)
    with brownie.reverts(revert_pattern=f"InvalidOrderSignature: {str(buyer).lower()}, 0x[0-9a-f]{{40}}, {ZERO}"):
        match([ask(1_000, price=PRICE * 10)], [(raised.as_tuple(), signature)], [fill(0, 0, 1_000, PRICE * 10)])


def test_selling_energy_of_a_revoked_meter_reverts(registry, trade, admin):
    registry.revokeMeter(SELLER_METER, {"from": admin})
    with brownie.reverts(error("MeterNotActive", SELLER_METER)):
        trade(1_000)


def test_inflating_a_lots_export_with_a_forged_reading_reverts(escrow, trade, proof, goto, stranger, buyer):
    trade(1_234)
    goto(2, 100)
    forger = MeterKey(keccak(text="the seller's own key, not its meter's"))
    lot = proof(SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)], 1_234, key=forger)
    with brownie.reverts(revert_pattern=f"InvalidMeterSignature: {SELLER_METER}, {forger.address.lower()}, 0x.+"):
        escrow.settleLots([lot], {"from": stranger})


def test_settling_a_lot_with_the_reading_of_a_better_slot_reverts(escrow, trade, proof, reading, goto, stranger, buyer):
    trade(1_234)
    goto(3, 100)
    better = reading(SELLER_METER, 2, 5_000)  # the meter exported 5,000 Wh in slot 2, and sold nothing then
    with brownie.reverts(error("ReadingOfOtherLot", SELLER_METER, 1, SELLER_METER, 2)):
        escrow.settleLots([((SELLER_METER, 1, [lot_trade(buyer, 1_234, COST_1234)]), *better)], {"from": stranger})


def test_redirecting_a_refund_to_the_settler_reverts(escrow, trade, settle, goto, stranger):
    trade(1_234)
    goto(2, 100)
    with brownie.reverts(error("TradesMismatch", SELLER_METER, 1)):
        settle(SELLER_METER, 1, [lot_trade(stranger, 1_234, COST_1234)], 0)


def test_refunding_a_settled_lot_pays_nothing_twice(escrow, trade, settle, next_block_at, stranger, seller, buyer):
    trade(1_234)
    trades = [lot_trade(buyer, 1_234, COST_1234)]
    next_block_at(escrow.slotEnd(1))
    settle(SELLER_METER, 1, trades, 1_234)
    next_block_at(escrow.slotEnd(1) + GRACE)
    escrow.refundLots([(SELLER_METER, 1, trades)], {"from": stranger})
    assert (escrow.balanceOf(seller), escrow.balanceOf(buyer)) == (COST_1234, FUNDS - COST_1234)


def test_withdrawing_tokens_locked_for_a_trade_reverts(escrow, trade, buyer):
    trade(1_234)
    # 10,000,000,000 - 28,945,678 = 9,971,054,322 free
    with brownie.reverts(error("InsufficientBalance", buyer, 9_971_054_322, FUNDS)):
        escrow.withdraw(FUNDS, {"from": buyer})
