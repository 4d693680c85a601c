"""`brownie run trade`: one trade through the market on brownie's network, every call of its interface.

Thin over p2p_energy (`quickstart.run_trade`): the market is the recorded one
(`brownie run deploy`'s, under `deployments/`) or deployed now, by the same
deployer (see scripts/deploy.py); the deployer, the market's operator and
the escrow's matcher, registers a meter for a seller, mints tokens to a
buyer, who deposits them; the operator places the seller's signed standing
ask and the buyer's signed standing bid and matches one trade
(`matchOrders`) for a slot after next; after that slot the meter's signed
reading settles the lot (`closeLots`; 400 of the 500 Wh delivered); the
seller withdraws its balance and the operator pays the buyer out
(`payOut`). The seller, the buyer and the meter have keys derived from fixed
labels (public: for development chains), since they sign orders and
readings here. On anvil the chain's clock is moved to the slot's end; on
any other chain the script waits for it (two slots).
"""

from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.quickstart import run_trade
from p2p_energy.run.deployments import deploy_or_reuse
from p2p_energy.units import base_units_to_tokens
from p2p_energy.wire.readings import MeterKey
from scripts.deploy import deployer_key, market_on_brownie


def _key(role: str) -> bytes:
    return keccak(text=f"p2p-energy brownie trade: {role}")


def main() -> None:
    compiled, chain, request = market_on_brownie()
    operator = Account.from_hex(deployer_key(chain.chain_id))
    try:
        _, market, _ = deploy_or_reuse(chain, compiled, operator, request, progress=print)
        seller, buyer = chain.account(_key("seller")), chain.account(_key("buyer"))
        result = run_trade(market, operator, seller, buyer, MeterKey(_key("meter")))
    finally:
        chain.close()  # brownie's chain automines again
    print(f"meter {result.meter_id}, slot {result.slot}: {result.wh} Wh for {base_units_to_tokens(result.cost)} NRG")
    for step in result.steps:
        print(f"{step.name:<14} {step.gas:>9,} gas  from {step.sender}  tx {step.tx_hash}")
    print(
        f"delivered {result.delivered_wh} Wh: seller paid {base_units_to_tokens(result.paid)} NRG, "
        f"buyer refunded {base_units_to_tokens(result.refunded)} NRG; seller withdrew, buyer paid out"
    )
