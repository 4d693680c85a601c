"""`brownie run deploy`: deploy the market on brownie's network, or reuse the recorded one.

Thin over p2p_energy: the contracts are compiled by p2p_energy's compiler
(not brownie's, whose metadata differs) so the record is the one
`p2p-energy deploy` reads and writes, under `deployments/` of the project.
The deployer is brownie's first account when brownie holds its key; its
development accounts on anvil are unlocked node accounts without a key in
Python, so there the deployer is anvil's first dev account, whose key is
public (used only on chain id 31337). P2P_ENERGY_PRIVATE_KEY overrides both.
P2P_EVM picks the EVM target as in brownie-config.yaml (default cancun).
"""

import os
from pathlib import Path

from brownie import accounts
from brownie.network.web3 import web3

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ANVIL_CHAIN_ID, ANVIL_FIRST_DEV_KEY
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import market_codec
from p2p_energy.errors import UsageError
from p2p_energy.networks import DEFAULT_EVM_VERSION
from p2p_energy.run.deployment_record import (
    DEFAULT_DIRECTORY,
    DEFAULT_GRACE_PERIOD_S,
    DEFAULT_SLOT_LENGTH_S,
    network_for_chain_id,
)
from p2p_energy.run.deployments import DeploymentRequest, deploy_or_reuse
from p2p_energy.run.target import PRIVATE_KEY_ENV
from p2p_energy.solidity.compiler import CompilationResult, Compiler
from p2p_energy.solidity.toolchain import find_toolchain


def deployer_key(chain_id: int) -> str:
    """The key of the account that deploys: see the module docstring for the order."""
    key = os.environ.get(PRIVATE_KEY_ENV)
    if not key and len(accounts) > 0:
        key = getattr(accounts[0], "private_key", None)  # LocalAccount has one; node-unlocked Account not
    if key:
        return str(key)
    if chain_id == ANVIL_CHAIN_ID:
        return ANVIL_FIRST_DEV_KEY
    raise UsageError(f"no key for the deployer: add an account to brownie or set ${PRIVATE_KEY_ENV}")


def market_on_brownie() -> tuple[CompilationResult, EvmBackend, DeploymentRequest]:
    """The compiled contracts, a backend over brownie's network and the request for the recorded market."""
    toolchain = find_toolchain(Path.cwd())
    compiled = Compiler.for_project(toolchain, os.environ.get("P2P_EVM", DEFAULT_EVM_VERSION)).compile()
    chain = EvmBackend(web3, market_codec(compiled))
    request = DeploymentRequest(
        network=network_for_chain_id(chain.chain_id),
        slot_length_s=DEFAULT_SLOT_LENGTH_S,
        grace_period_s=DEFAULT_GRACE_PERIOD_S,
        directory=toolchain.root / DEFAULT_DIRECTORY,
    )
    return compiled, chain, request


def main() -> None:
    compiled, chain, request = market_on_brownie()
    try:
        record, _, reused = deploy_or_reuse(
            chain, compiled, Account.from_hex(deployer_key(chain.chain_id)), request, progress=print
        )
    finally:
        chain.close()  # brownie's chain automines again
    print(("reused" if reused else "deployed") + f" on chain {record.chain_id}:")
    for name, address in record.addresses.items():
        print(f"{name:<14} {address}  tx {record.tx_hashes[name]}")
