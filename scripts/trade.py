"""`brownie run trade`: one trade through the market on brownie's network, every call of its interface.

Thin over p2p_energy (`quickstart.run_trade`): the market is the recorded one
(`brownie run deploy`'s, under `deployments/`) or deployed now, by the same
deployer (see scripts/deploy.py); the deployer, the market's operator,
registers a meter for a seller, mints tokens to a buyer, who deposits them;
the seller's signed ask and the buyer's signed bid are matched
(`matchOrders`) for a slot after next; after that slot the meter's signed
reading settles the lot (`settleLots`; 400 of the 500 Wh delivered); both
withdraw. The seller, the buyer and the meter have keys derived from fixed
labels (public: for development chains), since they sign orders and
readings here. On anvil the chain's clock is moved to the slot's end; on
any other chain the script waits for it (two slots).
"""

import os
from pathlib import Path

from brownie.network.web3 import web3
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import market_codec
from p2p_energy.domain.meters import MeterKey
from p2p_energy.networks import DEFAULT_EVM_VERSION
from p2p_energy.quickstart import run_trade
from p2p_energy.run.deployment_record import (
    DEFAULT_DIRECTORY,
    DEFAULT_GRACE_PERIOD_S,
    DEFAULT_SLOT_LENGTH_S,
    network_for_chain_id,
)
from p2p_energy.run.deployments import DeploymentRequest, deploy_or_reuse
from p2p_energy.solidity.compiler import Compiler
from p2p_energy.solidity.toolchain import find_toolchain
from p2p_energy.units import base_units_to_tokens
from scripts.deploy import deployer_key


def _key(role: str) -> bytes:
    return keccak(text=f"p2p-energy brownie trade: {role}")


def main() -> None:
    toolchain = find_toolchain(Path.cwd())
    compiled = Compiler.for_project(toolchain, os.environ.get("P2P_EVM", DEFAULT_EVM_VERSION)).compile()
    chain = EvmBackend(web3, market_codec(compiled))
    request = DeploymentRequest(
        network=network_for_chain_id(chain.chain_id),
        slot_length_s=DEFAULT_SLOT_LENGTH_S,
        grace_period_s=DEFAULT_GRACE_PERIOD_S,
        directory=toolchain.root / DEFAULT_DIRECTORY,
    )
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
        f"buyer refunded {base_units_to_tokens(result.refunded)} NRG; both withdrew"
    )
