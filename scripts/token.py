"""`brownie run token`: deploy EnergyToken on brownie's network and fund a few accounts.

Thin over p2p_energy: the names and amounts come from p2p_energy.units and
p2p_energy.quickstart, so `brownie run token` and `p2p-energy demo` do the
same job.
"""

from brownie import EnergyToken, accounts

from p2p_energy.quickstart import GRANT_TOKENS, TokenBalance
from p2p_energy.units import TOKEN_DECIMALS, TOKEN_NAME, TOKEN_SYMBOL

HOLDERS = 3


def main() -> None:
    admin = accounts[0]
    token = EnergyToken.deploy(TOKEN_NAME, TOKEN_SYMBOL, admin, {"from": admin})
    for holder in accounts[1 : 1 + HOLDERS]:
        token.mint(holder, GRANT_TOKENS * 10**TOKEN_DECIMALS, {"from": admin})
    for holder in accounts[1 : 1 + HOLDERS]:
        balance = TokenBalance(holder.address, token.balanceOf(holder))
        print(f"{balance.address} {balance.tokens} {TOKEN_SYMBOL}")
