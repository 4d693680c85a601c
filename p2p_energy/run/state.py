"""The fixed facts of one run: who takes part, the plan, and the market's clock on chain.

Made once when a run starts (:func:`p2p_energy.run.loop.run_simulation`)
and never changed: the phases read it, and what they learn from the chain
goes into the books (:class:`p2p_energy.run.books.Books`) instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import ChainBackend
from p2p_energy.chain.market import Market, MarketAddresses
from p2p_energy.domain.keys import account_label, seed_key
from p2p_energy.domain.market import SlotMarket
from p2p_energy.domain.meters import MeterKey, ReadingDomain
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.context import MarketTiming


@dataclass(frozen=True)
class Household:
    index: int
    name: str
    account: Account
    meter_id: int
    meter_key: MeterKey


def household_account(chain: ChainBackend, seed: int, name: str) -> Account:
    """The trading account of `name` in a run with `seed` on `chain` (simulation only: the seed gives the key)."""
    return chain.account(seed_key(seed, account_label(name)))


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
    domain: ReadingDomain = field(init=False)
    meter_row: dict[int, int] = field(init=False)
    row_by_address: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain", ReadingDomain(self.chain.chain_id, self.addresses.registry))
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
