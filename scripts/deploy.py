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

from p2p_energy.chain.contracts import ContractClient, Signer
from p2p_energy.errors import UsageError
from p2p_energy.run.deployments import (
    ANVIL_CHAIN_ID,
    ANVIL_FIRST_DEV_KEY,
    DEFAULT_DIRECTORY,
    DEFAULT_GRACE_PERIOD_S,
    DEFAULT_SLOT_LENGTH_S,
    PRIVATE_KEY_ENV,
    deploy_or_reuse,
    network_for_chain_id,
)
from p2p_energy.solidity.compiler import DEFAULT_EVM_VERSION, Compiler, CompilerSettings
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


def main() -> None:
    toolchain = find_toolchain(Path.cwd())
    compiled = Compiler(
        toolchain,
        contracts_dir=toolchain.root / "contracts",
        cache_dir=toolchain.root / "build" / "p2p-energy-cache",
        settings=CompilerSettings(evm_version=os.environ.get("P2P_EVM", DEFAULT_EVM_VERSION)),
    ).compile()
    chain_id = int(web3.eth.chain_id)
    record, _, reused = deploy_or_reuse(
        ContractClient(web3),
        compiled,
        Signer.from_key(deployer_key(chain_id)),
        network=network_for_chain_id(chain_id),
        rpc_url=str(web3.provider.endpoint_uri),
        slot_length_s=DEFAULT_SLOT_LENGTH_S,
        grace_period_s=DEFAULT_GRACE_PERIOD_S,
        directory=toolchain.root / DEFAULT_DIRECTORY,
        progress=print,
    )
    print(("reused" if reused else "deployed") + f" on chain {record.chain_id}:")
    for name, address in record.addresses.items():
        print(f"{name:<14} {address}  tx {record.tx_hashes[name]}")
