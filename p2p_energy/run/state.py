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
from p2p_energy.domain.keys import account_label, meter_label, seed_key
from p2p_energy.domain.market import SlotMarket
from p2p_energy.domain.profiles import EnergyPlan
from p2p_energy.domain.scenario import Scenario
from p2p_energy.run.context import MarketTiming
from p2p_energy.wire.cutting import MAX_CALL_GAS, CallBounds
from p2p_energy.wire.eip712 import Eip712Domain, key_address
from p2p_energy.wire.orders import needs_trader, order_domain
from p2p_energy.wire.readings import MeterKey, Reading, SignedReading, reading_domain


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
        return needs_trader(self.account.address, self.trader_key)

    @property
    def names_trader_itself(self) -> bool:
        """True where the household sends setTrader: its order key needs naming and is not its account's own key
        (node-held accounts). An own key that needs naming (Qtum) the operator names with nameOwnKeys."""
        return self.needs_trader and self.account.private_key != self.trader_key


def household_account(chain: ChainBackend, seed: int, name: str) -> Account:
    """The trading account of `name` in a run with `seed` on `chain` (simulation only: the seed gives the key)."""
    return chain.account(seed_key(seed, account_label(name)))


def simulated_meter_key(seed: int, household: str) -> MeterKey:
    """The signing key of `household`'s meter in a simulation run with `seed`: keccak(f"{seed}:{household}").

    For simulations only: anyone who knows the seed knows every key (see domain.keys.seed_key).
    """
    return MeterKey(seed_key(seed, meter_label(household)))


def trader_key(account: Account, seed: int, name: str) -> bytes:
    """The key that signs `name`'s orders: the account's own key, or the seed's where the node holds the account."""
    return account.private_key if account.private_key is not None else seed_key(seed, account_label(name))


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

    @property
    def bounds(self) -> CallBounds:
        """What one batch call may carry on this chain: a Qtum transaction's bytes, and the gas bound or, on a chain
        of smaller blocks, what is left of a block once the call's own transaction is counted."""
        return CallBounds(gas=min(MAX_CALL_GAS, self.chain.block_gas_limit * 9 // 10))

    def reading_online(self, row: int, slot: int) -> bool:
        """True when household `row`'s meter signs its reading of scenario `slot` (it is not offline then)."""
        return not self.scenario.faults.is_offline(self.households[row].name, slot)

    def exports(self, row: int) -> bool:
        """True when household `row`'s meter exports in some slot: only such meters are registered to sell."""
        return bool(self.plan.export_wh[row].any())

    def reading(self, row: int, slots: range) -> SignedReading:
        """Household `row`'s meter reading of scenario `slots` (its actual export in each), signed by the meter."""
        h = self.households[row]
        exported = tuple(int(self.plan.export_wh[row, slot]) for slot in slots)
        return h.meter_key.sign(self.readings, Reading(h.meter_id, self.c0 + slots.start, exported))
