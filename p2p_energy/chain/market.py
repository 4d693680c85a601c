"""The market's three contracts on any chain backend: deploy them, read them, send to them.

Addresses come from receipts (Qtum derives them differently from Ethereum,
so they are never predicted). Calls are encoded and results decoded with
one :class:`~p2p_energy.chain.abi.AbiCodec` over the three ABIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p2p_energy.chain.abi import AbiCodec, encode_constructor
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import Call, CallReverted, ChainBackend, Deployed, Outcome
from p2p_energy.errors import UsageError
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.units import TOKEN_NAME, TOKEN_SYMBOL

#: The contracts of one market, in deployment order.
MARKET_CONTRACTS = ("EnergyToken", "MeterRegistry", "EnergyEscrow")


def market_codec(compiled: CompilationResult) -> AbiCodec:
    """One codec over the ABIs of the market's contracts."""
    return AbiCodec(*(compiled[name].abi for name in MARKET_CONTRACTS))


@dataclass(frozen=True)
class MarketAddresses:
    token: str
    registry: str
    escrow: str

    def as_dict(self) -> dict[str, str]:
        return {"EnergyToken": self.token, "MeterRegistry": self.registry, "EnergyEscrow": self.escrow}

    @classmethod
    def of(cls, by_name: dict[str, str]) -> MarketAddresses:
        return cls(by_name["EnergyToken"], by_name["MeterRegistry"], by_name["EnergyEscrow"])


@dataclass(frozen=True)
class Market:
    """The deployed market as one backend sees it."""

    chain: ChainBackend
    codec: AbiCodec
    addresses: MarketAddresses

    def address(self, contract: str) -> str:
        return self.addresses.as_dict()[contract]

    def view(self, contract: str, function: str, *args: Any) -> Any:
        """The (first) value `function(*args)` of `contract` returns."""
        data = self.chain.call(self.address(contract), self.codec.encode(function, *args))
        return self.codec.decode_result(function, data)[0]

    def transact(self, sender: Account, contract: str, function: str, *args: Any, label: str | None = None) -> Outcome:
        """Send one call and wait for it; raises CallReverted (the decoded custom error) if it fails."""
        to, data = self.address(contract), self.codec.encode(function, *args)
        gas = self.chain.estimate_gas(sender, to, data)
        outcome = self.chain.send([Call(label or function, sender, to, data, gas)])[0]
        if not outcome.ok:
            raise CallReverted(function, outcome.error or "reverted on chain", outcome.tx_hash)
        return outcome


def deploy_contract(
    chain: ChainBackend, compiled: CompilationResult, name: str, sender: Account, *args: Any
) -> Deployed:
    """Deploy one compiled contract with constructor `args`."""
    artifact = compiled[name]
    return chain.deploy(name, artifact.bytecode, encode_constructor(artifact.abi, *args), sender)


def deploy_market(
    chain: ChainBackend,
    compiled: CompilationResult,
    admin: Account,
    *,
    genesis: int,
    slot_length: int,
    grace_period: int,
) -> dict[str, Deployed]:
    """Deploy EnergyToken, MeterRegistry and EnergyEscrow; `admin` gets every role and is the escrow's matcher (the
    only account that may submit orders and fills)."""
    if slot_length <= 0:
        raise UsageError(f"slot length must be positive, got {slot_length} s")
    if grace_period <= 0:
        # settlement is open from slot end until slot end + grace: with 0 it never is
        raise UsageError(f"grace period must be at least 1 s (with 0 no lot can be settled), got {grace_period} s")
    token = deploy_contract(chain, compiled, "EnergyToken", admin, TOKEN_NAME, TOKEN_SYMBOL, admin.address)
    registry = deploy_contract(chain, compiled, "MeterRegistry", admin, admin.address, genesis, slot_length)
    escrow = deploy_contract(
        chain, compiled, "EnergyEscrow", admin, token.address, registry.address, grace_period, admin.address
    )
    return {"EnergyToken": token, "MeterRegistry": registry, "EnergyEscrow": escrow}
