"""The first end-to-end job: compile, start a local chain, deploy and fund the token.

It proves the whole pipeline (solc-js -> artifacts -> anvil -> web3) on a
fresh machine; the simulation grows out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from p2p_energy.chain.anvil import ChainAccount, LocalChain
from p2p_energy.chain.contracts import ContractClient, Signer
from p2p_energy.solidity.compiler import CompilationResult

TOKEN_NAME = "Energy Token"
TOKEN_SYMBOL = "NRG"
TOKEN_DECIMALS = 8
#: Tokens minted to each funded account by the quickstart.
GRANT_TOKENS = 1_000


@dataclass(frozen=True)
class TokenBalance:
    address: str
    base_units: int

    @property
    def tokens(self) -> str:
        whole, frac = divmod(self.base_units, 10**TOKEN_DECIMALS)
        return f"{whole}.{frac:0{TOKEN_DECIMALS}d}"


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
    w3 = chain.web3()
    client = ContractClient(w3)
    admin = Signer.from_key(chain.accounts[0].private_key)
    token, receipt = client.deploy(compiled["EnergyToken"], admin, TOKEN_NAME, TOKEN_SYMBOL, admin.address)
    funded: list[ChainAccount] = chain.accounts[1 : 1 + holders]
    for account in funded:
        client.transact(token.functions.mint(account.address, GRANT_TOKENS * 10**TOKEN_DECIMALS), admin)
    balances = [TokenBalance(a.address, token.functions.balanceOf(a.address).call()) for a in funded]
    return QuickstartResult(
        chain_url=chain.url,
        chain_id=w3.eth.chain_id,
        token_address=token.address,
        deploy_tx=receipt["transactionHash"].to_0x_hex(),
        deploy_gas=receipt["gasUsed"],
        balances=balances,
    )
