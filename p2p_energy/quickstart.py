"""The first end-to-end job: compile, start a local chain, deploy and fund the token.

It proves the whole pipeline (solc-js -> artifacts -> anvil -> the chain backend) on a
fresh machine; the simulation grows out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import LocalChain
from p2p_energy.chain.market import Market, MarketAddresses, deploy_contract
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
