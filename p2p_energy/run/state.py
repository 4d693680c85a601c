"""The fixed facts of one run: who takes part, the plan, and the market's clock on chain.

Made once when a run starts (:func:`p2p_energy.run.loop.run_simulation`)
and never changed: the phases read it, and what they learn from the chain
goes into the books (:class:`p2p_energy.run.books.Books`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import coincurve
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import ChainBackend
from p2p_energy.chain.market import Market, MarketAddresses
from p2p_energy.domain.eip712 import Eip712Domain, Signature
from p2p_energy.domain.keys import account_label, key_address, seed_key
from p2p_energy.domain.market import SlotMarket
from p2p_energy.domain.meters import MeterKey, Reading, reading_domain
from p2p_energy.domain.orders import order_domain
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.context import MarketTiming


@dataclass(frozen=True)
class Household:
    """A household of the run: its account, its meter, and the key that signs its orders.

    `trader_key` is the account's own key where we hold it, else (an account the node holds)
    the key the seed gives the household's account; where its `ecrecover` address is not the
    account's address (Qtum's HASH160 addresses, node-held accounts) the account names it
    with `setTrader` in the set-up (:attr:`needs_trader`).
    """

    index: int
    name: str
    account: Account
    meter_id: int
    meter_key: MeterKey
    trader_key: bytes

    @property
    def trader(self) -> str:
        """The `ecrecover` address of the key that signs this household's orders."""
        return key_address(self.trader_key)

    @property
    def needs_trader(self) -> bool:
        return self.trader.lower() != self.account.address.lower()


def household_account(chain: ChainBackend, seed: int, name: str) -> Account:
    """The trading account of `name` in a run with `seed` on `chain` (simulation only: the seed gives the key)."""
    return chain.account(seed_key(seed, account_label(name)))


def trader_key(account: Account, seed: int, name: str) -> bytes:
    """The key that signs `name`'s orders: the account's own key, or the seed's where the node holds the account."""
    return account.private_key if account.private_key is not None else seed_key(seed, account_label(name))


@lru_cache(maxsize=4096)
def _signer(private_key: bytes) -> coincurve.PrivateKey:
    return coincurve.PrivateKey(private_key)


@lru_cache(maxsize=16)
def _separator(domain: Eip712Domain) -> bytes:
    return domain.separator()


def sign_typed(private_key: bytes, domain: Eip712Domain, struct_hash: bytes) -> Signature:
    """The EIP-2098 compact signature of a struct in `domain`, as :func:`p2p_energy.domain.eip712.sign_digest`
    gives it, with the key's coincurve object and the domain separator made once (a city-sized day signs
    tens of thousands of orders and readings)."""
    digest = keccak(b"\x19\x01" + _separator(domain) + struct_hash)
    signed = _signer(private_key).sign_recoverable(digest, hasher=None)
    s = int.from_bytes(signed[32:64], "big")
    return Signature(signed[:32], (s | (signed[64] << 255)).to_bytes(32, "big"))


@dataclass(frozen=True)
class RunSetup:
    """One run's participants and plan on one market: fixed for the whole run."""

    scenario: Scenario
    plan: EnergyPlan
    markets: list[SlotMarket]
    market: Market
    admin: Account
    attacker: Account
    households: list[Household]
    timing: MarketTiming
    #: The chain slot of scenario slot 0.
    c0: int
    #: EIP-712 domains: the registry's (meter readings) and the escrow's (orders).
    readings: Eip712Domain = field(init=False)
    orders: Eip712Domain = field(init=False)
    meter_row: dict[int, int] = field(init=False)
    row_by_address: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        chain_id = self.chain.chain_id
        object.__setattr__(self, "readings", reading_domain(chain_id, self.addresses.registry))
        object.__setattr__(self, "orders", order_domain(chain_id, self.addresses.escrow))
        object.__setattr__(self, "meter_row", {h.meter_id: h.index for h in self.households})
        object.__setattr__(self, "row_by_address", {h.account.address.lower(): h.index for h in self.households})

    @property
    def chain(self) -> ChainBackend:
        return self.market.chain

    @property
    def addresses(self) -> MarketAddresses:
        return self.market.addresses

    def slot_start(self, chain_slot: int) -> int:
        return self.timing.slot_start(chain_slot)

    def encode(self, function: str, *args: Any) -> bytes:
        return self.market.codec.encode(function, *args)

    def reading_online(self, row: int, slot: int) -> bool:
        """True when household `row`'s meter signs its reading of scenario `slot` (it is not offline then)."""
        return not self.scenario.faults.is_offline(self.households[row].name, slot)

    def reading(self, row: int, slot: int) -> tuple[Reading, Signature]:
        """Household `row`'s meter reading of scenario `slot` (its actual export), signed by the meter."""
        h = self.households[row]
        reading = Reading(h.meter_id, self.c0 + slot, int(self.plan.export_wh[row, slot]))
        return reading, sign_typed(h.meter_key.private_key, self.readings, reading.struct_hash())
