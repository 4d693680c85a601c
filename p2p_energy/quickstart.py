"""The first end-to-end jobs: deploy and fund the token; one trade through the market.

`run_quickstart` (`p2p-energy demo`, `brownie run token`) proves the whole pipeline
(solc-js -> artifacts -> anvil -> the chain backend) on a fresh machine.
`run_trade` (`brownie run trade`) takes one trade through every step of the
market's interface: deposit, signed ask and bid, matchOrders, settleLots with
the meter's signed reading, withdraw; the simulation does the same at scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import LocalChain
from p2p_energy.chain.backend import Outcome
from p2p_energy.chain.market import Market, MarketAddresses, deploy_contract
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.orders import order_domain
from p2p_energy.domain.settlement import trade_cost
from p2p_energy.errors import P2PEnergyError
from p2p_energy.market_calls import CallLimits, SlotMatch, Trade, lot_proof, needs_trader, trader_of
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.units import TOKEN_DECIMALS, TOKEN_NAME, TOKEN_SYMBOL, base_units_to_tokens

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
    """One trade on the market's new interface: the operator registers `seller`'s meter (the next free id
    from `meter_id`); the buyer deposits (the operator mints it the tokens); seller and buyer name their
    order keys where the chain needs it (setTrader, Qtum); the seller's signed ask and the buyer's signed
    bid are matched (matchOrders, sent by the operator) for a slot after next; after the slot the meter's
    signed reading settles the lot (settleLots: 400 of the 500 Wh delivered, so the buyer gets a fifth back);
    both withdraw their balances. `seller` and `buyer` must hold their keys here (they sign orders)."""
    chain = market.chain
    steps: list[TradeStep] = []

    def send(name: str, sender: Account, contract: str, function: str, *args: Any) -> Outcome:
        outcome = market.transact(sender, contract, function, *args, label=name)
        steps.append(TradeStep(name, sender.address, outcome.tx_hash or "", outcome.gas_used))
        return outcome

    funded = chain.fund(operator, {a.address: chain.gas_price * _GAS_FOR_FEES for a in (seller, buyer)})
    if not all(o.ok for o in funded):
        raise P2PEnergyError(f"funding the seller and the buyer failed: {funded[0].error}")
    while int(market.view("MeterRegistry", "meterInfo", meter_id), 16):  # its owner
        meter_id += 1  # a market reused from an earlier run: ids are never reused
    send("registerMeter", operator, "MeterRegistry", "registerMeter", meter_id, seller.address, meter.address)
    cost = trade_cost(TRADE_WH, TRADE_PRICE_PER_KWH)
    send("mint", operator, "EnergyToken", "mint", buyer.address, cost)
    send("approve", buyer, "EnergyToken", "approve", market.addresses.escrow, cost)
    send("deposit", buyer, "EnergyEscrow", "deposit", cost)
    for account in (seller, buyer):
        if needs_trader(account):
            send("setTrader", account, "EnergyEscrow", "setTrader", trader_of(account))
    slot = int(market.view("EnergyEscrow", "currentSlot")) + 2
    trade = Trade(meter_id, seller, buyer, TRADE_WH, TRADE_PRICE_PER_KWH)
    match = SlotMatch(order_domain(chain.chain_id, market.addresses.escrow), slot, [trade])
    (args,) = match.calls(CallLimits(1, 1, 1))
    send("matchOrders", operator, "EnergyEscrow", "matchOrders", *args)
    chain.advance_to(int(market.view("EnergyEscrow", "slotEnd", slot)))
    reading = Reading(meter_id, slot, DELIVERED_WH)
    proof = lot_proof(meter, reading_domain(chain.chain_id, market.addresses.registry), reading, match.lots()[meter_id])
    settled = send("settleLots", operator, "EnergyEscrow", "settleLots", [proof])
    (lot,) = [e for e in map(market.codec.decode_log, settled.logs) if e is not None and e.name == "LotSettled"]
    for account in (seller, buyer):
        balance = int(market.view("EnergyEscrow", "balanceOf", account.address))
        if balance:
            send("withdraw", account, "EnergyEscrow", "withdraw", balance)
    return TradeResult(
        meter_id, slot, TRADE_WH, cost, lot.args["deliveredWh"], lot.args["paid"], lot.args["refunded"], steps
    )
