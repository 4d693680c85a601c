"""The first end-to-end jobs: deploy and fund the token; one trade through the market.

`run_quickstart` (`p2p-energy demo`, `brownie run token`) proves the whole pipeline
(solc-js -> artifacts -> anvil -> the chain backend) on a fresh machine.
`run_trade` (`brownie run trade`) takes one trade through every step of the
market's interface: a meter registered for the escrow, a deposit, a signed
standing ask and bid placed and matched by the matcher (matchOrders), the lot
closed with the meter's signed reading (closeLots), a withdrawal and a payout;
the simulation does the same at scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import LocalChain
from p2p_energy.chain.backend import Call, CallReverted, Outcome
from p2p_energy.chain.market import Market, MarketAddresses, deploy_contract
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.errors import P2PEnergyError
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.units import TOKEN_DECIMALS, TOKEN_NAME, TOKEN_SYMBOL, base_units_to_tokens
from p2p_energy.wire.cutting import LotAction, call_gas, close_call, cut_closes
from p2p_energy.wire.eip712 import key_address
from p2p_energy.wire.orders import Ask, Bid, needs_trader, order_domain, sign_order
from p2p_energy.wire.readings import MeterKey, Reading, reading_domain
from p2p_energy.wire.records import CloseCall, GroupClose, Lot, MatchCall, Trade

#: Tokens minted to each funded account by the quickstart.
GRANT_TOKENS = 1_000


@dataclass(frozen=True)
class TokenBalance:
    address: str
    base_units: int

    @property
    def tokens(self) -> str:
        return base_units_to_tokens(self.base_units)


@dataclass(frozen=True)
class QuickstartResult:
    chain_url: str
    chain_id: int
    token_address: str
    deploy_tx: str
    deploy_gas: int
    balances: list[TokenBalance]


def run_quickstart(chain: LocalChain, compiled: CompilationResult, holders: int = 3) -> QuickstartResult:
    """Deploy EnergyToken from account 0 and mint to the next `holders` accounts."""
    backend = chain.backend(AbiCodec(compiled["EnergyToken"].abi))
    admin = Account.from_hex(chain.accounts[0].private_key)
    deployed = deploy_contract(backend, compiled, "EnergyToken", admin, TOKEN_NAME, TOKEN_SYMBOL, admin.address)
    token = Market(backend, backend.codec, MarketAddresses(deployed.address, "", ""))
    funded = [a.address for a in chain.accounts[1 : 1 + holders]]
    for address in funded:
        token.transact(admin, "EnergyToken", "mint", address, GRANT_TOKENS * 10**TOKEN_DECIMALS)
    balances = [TokenBalance(a, int(token.view("EnergyToken", "balanceOf", a))) for a in funded]
    return QuickstartResult(
        chain_url=chain.url,
        chain_id=backend.chain_id,
        token_address=deployed.address,
        deploy_tx=deployed.tx_hash,
        deploy_gas=deployed.gas_used,
        balances=balances,
    )


# ------------------------------------------------------------------ one trade through the market

#: The quick start's trade: 500 Wh at 0.20 NRG per kWh, of which the meter proves 400 Wh delivered.
TRADE_WH = 500
TRADE_PRICE_PER_KWH = 20 * 10**TOKEN_DECIMALS // 100
DELIVERED_WH = 400
#: Native coin for the seller's and the buyer's fees, in gas: a handful of small transactions.
_GAS_FOR_FEES = 2_000_000


@dataclass(frozen=True)
class TradeStep:
    """One transaction of the quick start's trade."""

    name: str
    sender: str
    tx_hash: str
    gas: int


@dataclass(frozen=True)
class TradeResult:
    """One trade through the market, end to end, and what each of its transactions cost."""

    meter_id: int
    slot: int
    wh: int
    cost: int
    delivered_wh: int
    paid: int
    refunded: int
    steps: list[TradeStep]


def run_trade(
    market: Market, operator: Account, seller: Account, buyer: Account, meter: MeterKey, *, meter_id: int = 1
) -> TradeResult:
    """One trade on the market's interface: the operator registers `seller`'s meter for this escrow (the next
    free id from `meter_id`); the buyer deposits (the operator mints it the tokens); seller and buyer name their
    order keys where the chain needs it (setTrader, Qtum); the operator, the escrow's matcher, places the
    seller's signed standing ask and the buyer's signed standing bid and matches one trade for a slot after next
    (matchOrders); after the slot it closes the lot with the meter's signed reading (closeLots: 400 of the 500 Wh
    delivered, so the buyer gets a fifth back); the seller withdraws its balance and the operator pays the buyer
    out (payOut). `seller` and `buyer` must hold their keys here (they sign orders)."""
    chain, escrow = market.chain, market.addresses.escrow
    steps: list[TradeStep] = []

    def send(name: str, sender: Account, contract: str, function: str, *args: Any) -> Outcome:
        outcome = market.transact(sender, contract, function, *args, label=name)
        steps.append(TradeStep(name, sender.address, outcome.tx_hash or "", outcome.gas_used))
        return outcome

    funded = chain.fund(operator, {a.address: chain.gas_price * _GAS_FOR_FEES for a in (seller, buyer)})
    if not all(o.ok for o in funded):
        raise P2PEnergyError(f"funding the seller and the buyer failed: {funded[0].error}")
    while market.view("MeterRegistry", "meterInfo", meter_id) != _NO_OWNER:  # its owner
        meter_id += 1  # a market reused from an earlier run: ids are never reused
    send("registerMeter", operator, "MeterRegistry", "registerMeter", meter_id, seller.address, meter.address, escrow)
    cost = trade_cost(TRADE_WH, TRADE_PRICE_PER_KWH)
    send("mint", operator, "EnergyToken", "mint", buyer.address, cost)
    send("approve", buyer, "EnergyToken", "approve", escrow, cost)
    send("deposit", buyer, "EnergyEscrow", "deposit", cost)
    for account in (seller, buyer):
        if needs_trader(account.address, _key(account)):
            send("setTrader", account, "EnergyEscrow", "setTrader", key_address(_key(account)))
    slot = int(market.view("EnergyEscrow", "currentSlot")) + 2
    domain = order_domain(chain.chain_id, escrow)
    orders = (
        sign_order(_key(seller), domain, Ask(seller.address, meter_id, TRADE_PRICE_PER_KWH, TRADE_WH, TRADE_WH, slot)),
        sign_order(_key(buyer), domain, Bid(buyer.address, TRADE_PRICE_PER_KWH, TRADE_WH, slot)),
    )
    lot = Lot(meter_id, slot, seller.address, (Trade(buyer.address, TRADE_WH, TRADE_PRICE_PER_KWH),))
    _send_call(market, operator, "matchOrders", MatchCall(orders, (lot,)), steps)
    chain.advance_to(int(market.view("EnergyEscrow", "slotEnd", slot)))
    reading = meter.sign(
        reading_domain(chain.chain_id, market.addresses.registry), Reading(meter_id, slot, (DELIVERED_WH,))
    )
    settle = LotAction(settle=True, exported_wh=DELIVERED_WH)
    (cut,) = cut_closes([GroupClose(slot, 0, (lot,))], lambda _: settle)
    closed = _send_call(market, operator, "closeLots", close_call(cut, [reading]), steps)
    (settled,) = [e for e in map(market.codec.decode_log, closed.logs) if e is not None and e.name == "LotSettled"]
    balance = int(market.view("EnergyEscrow", "balanceOf", seller.address))
    send("withdraw", seller, "EnergyEscrow", "withdraw", balance)
    send("payOut", operator, "EnergyEscrow", "payOut", [buyer.address])
    paid = settled.args["paid"]
    return TradeResult(meter_id, slot, TRADE_WH, cost, settled.args["deliveredWh"], paid, cost - paid, steps)


_NO_OWNER = "0x0000000000000000000000000000000000000000"


def _key(account: Account) -> bytes:
    if account.private_key is None:
        raise P2PEnergyError(f"the node holds the key of {account.address}: its orders cannot be signed here")
    return account.private_key


def _send_call(
    market: Market, operator: Account, label: str, call: MatchCall | CloseCall, steps: list[TradeStep]
) -> Outcome:
    """Send a batch call built by the wire format (its calldata and modelled gas); raise if it reverts."""
    outcome = market.chain.send([Call(label, operator, market.addresses.escrow, call.calldata, call_gas(call))])[0]
    if not outcome.ok:
        raise CallReverted(label, outcome.error or "reverted on chain", outcome.tx_hash)
    steps.append(TradeStep(label, operator.address, outcome.tx_hash or "", outcome.gas_used))
    return outcome
