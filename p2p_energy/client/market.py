"""The three contracts over web3.py: views with Python types, transactions with decoded events.

Transactions go out with `eth_sendTransaction` from `sender` (or
`w3.eth.default_account`): an account the node holds, or one a web3.py
signing middleware holds the key of. Each waits for its receipt; a reverted
one raises :class:`Reverted`, as does a call the node's gas estimate
or a view finds reverting (the contract's error decoded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxParams

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.client.events import Event, EventDecoder
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.wire.cutting import call_gas
from p2p_energy.wire.eip712 import Eip712Domain
from p2p_energy.wire.orders import order_domain
from p2p_energy.wire.readings import reading_domain
from p2p_energy.wire.records import CloseCall, MatchCall


class Reverted(P2PEnergyError):
    """A call or transaction reverted; the message names the contract's decoded error."""


@dataclass(frozen=True)
class Sent:
    """A mined transaction and the market's events it emitted, in log order."""

    tx_hash: str
    block: int
    gas_used: int
    events: tuple[Event, ...]


@dataclass(frozen=True)
class MeterOwner:
    owner: str
    active: bool


@dataclass(frozen=True)
class AccountView:
    """An account's escrow balance, standing bid, and the Wh it bought in the latest slot it bought in."""

    balance: int
    bid_price: int
    bid_wh: int
    bid_until: int
    last_slot: int
    last_wh: int


@dataclass(frozen=True)
class AskView:
    """A seller's standing ask (all zero if none)."""

    meter_id: int
    min_price: int
    max_wh: int
    min_wh: int
    until: int


@dataclass(frozen=True)
class _Contract:
    """One contract: its web3 Contract and the decoder of the whole market's events."""

    contract: Contract
    decoder: EventDecoder

    @property
    def address(self) -> ChecksumAddress:
        return self.contract.address

    @property
    def w3(self) -> Web3:
        return self.contract.w3

    def _view(self, function: str, *args: Any) -> Any:
        try:
            return self.contract.functions[function](*args).call()
        except ContractLogicError as exc:
            raise Reverted(f"{function}{tuple(args)} reverted: {self._reason(exc)}") from None

    def _transact(self, function: str, *args: Any, sender: str | None) -> Sent:
        call: ContractFunction = self.contract.functions[function](*args)
        try:
            tx_hash = call.transact(self._from(sender))
        except ContractLogicError as exc:  # the node's gas estimate ran into a revert: nothing was sent
            raise Reverted(f"{function} would revert: {self._reason(exc)}; nothing was sent") from None
        return self._wait(tx_hash, function)

    def _reason(self, exc: ContractLogicError) -> str:
        return self.decoder.codec.decode_error(exc.data) if isinstance(exc.data, str) else str(exc.message)

    def _send_data(self, label: str, data: bytes, gas: int, sender: str | None) -> Sent:
        params: TxParams = {**self._from(sender), "to": self.address, "data": data, "gas": gas}
        return self._wait(self.w3.eth.send_transaction(params), label)

    def _from(self, sender: str | None) -> TxParams:
        chosen = sender if sender is not None else self.w3.eth.default_account
        if not isinstance(chosen, str):
            raise UsageError("no sender: pass sender=ADDRESS or set w3.eth.default_account")
        return {"from": Web3.to_checksum_address(chosen)}

    def _wait(self, tx_hash: bytes, label: str) -> Sent:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        hex_hash = "0x" + bytes(tx_hash).hex()
        if receipt["status"] != 1:
            raise Reverted(f"{label} reverted in transaction {hex_hash}")
        events = self.decoder.decode_all(receipt["logs"])  # type: ignore[arg-type]
        return Sent(hex_hash, receipt["blockNumber"], receipt["gasUsed"], events)


class EnergyToken(_Contract):
    """The ERC20 payment token (NRG, 8 decimals)."""

    def balance_of(self, account: str) -> int:
        return int(self._view("balanceOf", account))

    def total_supply(self) -> int:
        return int(self._view("totalSupply"))

    def mint(self, to: str, amount: int, *, sender: str | None = None) -> Sent:
        return self._transact("mint", to, amount, sender=sender)

    def approve(self, spender: str, amount: int, *, sender: str | None = None) -> Sent:
        return self._transact("approve", spender, amount, sender=sender)

    def transfer(self, to: str, amount: int, *, sender: str | None = None) -> Sent:
        return self._transact("transfer", to, amount, sender=sender)


class MeterRegistry(_Contract):
    """Meters, the escrow each sells through, what their signed readings prove."""

    def reading_domain(self) -> Eip712Domain:
        """The EIP-712 domain meters sign their readings in (`wire.readings.MeterKey.sign`)."""
        return reading_domain(self.w3.eth.chain_id, self.address)

    def meter_owner(self, meter_id: int) -> MeterOwner:
        owner, active = self._view("meterOwner", meter_id)
        return MeterOwner(str(owner), bool(active))

    def register_meter(self, meter_id: int, owner: str, signer: str, market: str, *, sender: str | None = None) -> Sent:
        return self._transact("registerMeter", meter_id, owner, signer, market, sender=sender)

    def revoke_meter(self, meter_id: int, *, sender: str | None = None) -> Sent:
        return self._transact("revokeMeter", meter_id, sender=sender)


class EnergyEscrow(_Contract):
    """Balances, standing orders, matchOrders, closeLots, payOut."""

    def order_domain(self) -> Eip712Domain:
        """The EIP-712 domain bids and asks are signed in (`wire.orders.sign_order`)."""
        return order_domain(self.w3.eth.chain_id, self.address)

    def balance_of(self, account: str) -> int:
        return int(self._view("balanceOf", account))

    def account_of(self, account: str) -> AccountView:
        return AccountView(*self._view("accountOf", account))

    def ask_of(self, account: str) -> AskView:
        return AskView(*self._view("askOf", account))

    def current_slot(self) -> int:
        return int(self._view("currentSlot"))

    def slot_end(self, slot: int) -> int:
        return int(self._view("slotEnd", slot))

    def deposit(self, amount: int, *, sender: str | None = None) -> Sent:
        return self._transact("deposit", amount, sender=sender)

    def withdraw(self, amount: int, *, sender: str | None = None) -> Sent:
        return self._transact("withdraw", amount, sender=sender)

    def set_trader(self, signer: str, *, sender: str | None = None) -> Sent:
        return self._transact("setTrader", signer, sender=sender)

    def pay_out(self, accounts: list[str], *, sender: str | None = None) -> Sent:
        return self._transact("payOut", accounts, sender=sender)

    def match_orders(self, call: MatchCall, *, sender: str | None = None) -> Sent:
        """Place signed orders and match lots (the matcher only), packed by the wire format."""
        return self._send_data("matchOrders", call.calldata, call_gas(call), sender)

    def close_lots(self, call: CloseCall, *, sender: str | None = None) -> Sent:
        """Settle lots with signed readings, or refund them after the grace period, packed by the wire format."""
        return self._send_data("closeLots", call.calldata, call_gas(call), sender)


@dataclass(frozen=True)
class Market:
    """The market's three contracts on one chain."""

    token: EnergyToken
    registry: MeterRegistry
    escrow: EnergyEscrow

    @classmethod
    def at(cls, w3: Web3, addresses: dict[str, str], abis: dict[str, list[dict[str, Any]]]) -> Market:
        """The market at `addresses` (by contract name) with these ABIs."""
        contracts = {
            name: w3.eth.contract(address=Web3.to_checksum_address(addresses[name]), abi=abis[name])
            for name in ("EnergyToken", "MeterRegistry", "EnergyEscrow")
        }
        decoder = EventDecoder(AbiCodec(*(abis[name] for name in contracts)))
        return cls(
            EnergyToken(contracts["EnergyToken"], decoder),
            MeterRegistry(contracts["MeterRegistry"], decoder),
            EnergyEscrow(contracts["EnergyEscrow"], decoder),
        )

    def events(self, from_block: int, to_block: int | str = "latest") -> tuple[Event, ...]:
        """The market's events (all three contracts') in these blocks, decoded, in chain order."""
        w3 = self.escrow.w3
        addresses = [self.token.address, self.registry.address, self.escrow.address]
        logs = w3.eth.get_logs({"address": addresses, "fromBlock": from_block, "toBlock": to_block})  # type: ignore[typeddict-item]
        return self.escrow.decoder.decode_all(logs)  # type: ignore[arg-type]

    @classmethod
    def load(cls, w3: Web3, deployment: str | Path) -> Market:
        """The market an exported `deployment-<chain id>.json` names (UsageError if it is another chain's)."""
        data = json.loads(Path(deployment).read_text())
        if data["chain_id"] != w3.eth.chain_id:
            raise UsageError(f"{deployment} is of chain {data['chain_id']}, the node's is {w3.eth.chain_id}")
        contracts = data["contracts"]
        return cls.at(w3, {n: c["address"] for n, c in contracts.items()}, {n: c["abi"] for n, c in contracts.items()})
