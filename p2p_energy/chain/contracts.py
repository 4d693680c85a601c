"""Deploy compiled contracts and send transactions to them through web3.

Transactions are signed locally with eth-account keys and sent as legacy
(type 0) transactions with an explicit gas price: that is what every EVM
chain accepts, Qtum included (it has no EIP-1559). Each :class:`Signer`
keeps its own nonce so a burst of transactions needs no nonce lookups.
A revert is raised as :class:`TransactionFailed` with the custom error
decoded against the contract's ABI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.solidity.compiler import CompilationResult, ContractArtifact

#: Gas headroom over eth_estimateGas; estimates can fall short by a little
#: when storage refunds or warm/cold access differ at inclusion time.
GAS_MARGIN_PERCENT = 20
_ERROR_STRING = "0x08c379a0"  # Error(string)
_PANIC = "0x4e487b71"  # Panic(uint256)


class TransactionFailed(P2PEnergyError):
    """A transaction reverted (or would revert); `reason` is the decoded error."""

    def __init__(self, action: str, reason: str, tx_hash: str | None = None):
        self.action = action
        self.reason = reason
        self.tx_hash = tx_hash
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{action} reverted{where}: {reason}")


@dataclass
class Signer:
    """An account that sends transactions and counts its own nonces.

    With a key (`account`) transactions are signed here; without one
    (`node_address`) the node signs them for an account it holds, through
    `eth_sendTransaction`: Qtum's Janus accepts only that.
    """

    account: LocalAccount | None
    next_nonce: int | None = None
    node_address: str | None = None

    @classmethod
    def from_key(cls, private_key: str) -> Signer:
        try:
            return cls(Account.from_key(private_key))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"not a valid private key (64 hex digits expected): {exc}") from None

    @classmethod
    def held_by_node(cls, address: str) -> Signer:
        return cls(None, node_address=Web3.to_checksum_address(address))

    @property
    def address(self) -> str:
        return str(self.account.address) if self.account is not None else str(self.node_address)

    def take_nonce(self, w3: Web3) -> int:
        if self.next_nonce is None:
            self.next_nonce = w3.eth.get_transaction_count(self.address, "pending")  # type: ignore[arg-type]
        nonce = self.next_nonce
        self.next_nonce += 1
        return nonce


def _error_signature(item: dict[str, Any]) -> str:
    types = ",".join(i["type"] for i in item.get("inputs", []))
    return f"{item['name']}({types})"


def decode_revert(abi: list[dict[str, Any]], data: str) -> str:
    """Readable form of revert data: `Name(arg=value, ...)`, Error(string) or Panic."""
    data = data if data.startswith("0x") else "0x" + data
    payload = bytes.fromhex(data[10:])
    if data.startswith(_ERROR_STRING):
        return str(abi_decode(["string"], payload)[0])
    if data.startswith(_PANIC):
        return f"Panic(0x{abi_decode(['uint256'], payload)[0]:02x})"
    for item in abi:
        if item.get("type") != "error":
            continue
        if "0x" + function_signature_to_4byte_selector(_error_signature(item)).hex() == data[:10]:
            values = abi_decode([i["type"] for i in item["inputs"]], payload)
            args = ", ".join(f"{i['name']}={_show(v)}" for i, v in zip(item["inputs"], values, strict=True))
            return f"{item['name']}({args})"
    return f"unknown error {data[:10]} (data {data})"


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


@dataclass
class ContractClient:
    """Sends deployments and calls for one web3 connection."""

    w3: Web3
    gas_price_wei: int | None = None
    receipt_timeout_s: float = 120.0
    _abi_by_address: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def gas_price(self) -> int:
        if self.gas_price_wei is None:
            self.gas_price_wei = int(self.w3.eth.gas_price)
        return self.gas_price_wei

    def at(self, artifact: ContractArtifact, address: str) -> Contract:
        """A binding to an already deployed contract; checks that code is there."""
        checksum = Web3.to_checksum_address(address)
        if not self.w3.eth.get_code(checksum):
            raise UsageError(f"no contract code at {checksum}: is this the right chain?")
        self._abi_by_address[checksum] = artifact.abi
        return self.w3.eth.contract(address=checksum, abi=artifact.abi)

    def deploy(self, artifact: ContractArtifact, signer: Signer, *args: Any) -> tuple[Contract, TxReceipt]:
        """Deploy `artifact`; the address comes from the receipt, never predicted."""
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(f"deploy {artifact.name}", factory.constructor(*args), signer, artifact.abi)
        address = receipt["contractAddress"]
        if address is None:
            raise TransactionFailed(f"deploy {artifact.name}", "the receipt names no contract address")
        self._abi_by_address[address] = artifact.abi
        return self.w3.eth.contract(address=address, abi=artifact.abi), receipt

    def transact(self, function: ContractFunction, signer: Signer) -> TxReceipt:
        """Send one call and wait for its receipt; raises on revert."""
        abi = self._abi_by_address.get(function.address, [])
        return self._send(f"{function.fn_name}", function, signer, abi)

    def _send(self, action: str, call: Any, signer: Signer, abi: list[dict[str, Any]]) -> TxReceipt:
        params: TxParams = {"from": signer.address, "gasPrice": Wei(self.gas_price())}
        try:
            gas = call.estimate_gas(params)
        except ContractCustomError as exc:
            raise TransactionFailed(action, decode_revert(abi, str(exc.data))) from None
        except ContractLogicError as exc:
            reason = decode_revert(abi, str(exc.data)) if exc.data else str(exc.message)
            raise TransactionFailed(action, reason) from None
        except Web3RPCError as exc:
            # e.g. "EVM error NotActivated": an opcode the chain's hardfork lacks
            detail = exc.args[0] if exc.args else exc
            reason = str(detail.get("message", detail)) if isinstance(detail, dict) else str(detail)
            raise TransactionFailed(action, reason) from None
        params["gas"] = gas * (100 + GAS_MARGIN_PERCENT) // 100
        params["nonce"] = Nonce(signer.take_nonce(self.w3))
        params["chainId"] = self.w3.eth.chain_id
        tx = call.build_transaction(params)
        if signer.account is None:
            tx_hash = self.w3.eth.send_transaction(tx)
        else:
            tx_hash = self.w3.eth.send_raw_transaction(signer.account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout_s, poll_latency=0.01)
        if receipt["status"] != 1:
            raise TransactionFailed(action, "reverted on chain", tx_hash.to_0x_hex())
        return receipt


@dataclass(frozen=True)
class MarketContracts:
    """The three deployed contracts of one market, with their deployment receipts."""

    token: Contract
    registry: Contract
    escrow: Contract
    receipts: dict[str, TxReceipt]


def deploy_market(
    client: ContractClient,
    compiled: CompilationResult,
    admin: Signer,
    *,
    genesis: int,
    slot_length: int,
    grace_period: int,
    token_name: str = "Energy Token",
    token_symbol: str = "NRG",
) -> MarketContracts:
    """Deploy EnergyToken, MeterRegistry and EnergyEscrow; `admin` gets every role.

    Addresses come from receipts (Qtum derives them differently from
    Ethereum, so they are never predicted).
    """
    if slot_length <= 0:
        raise UsageError(f"slot length must be positive, got {slot_length} s")
    if grace_period <= 0:
        # settlement is open from slot end until slot end + grace: with 0 it never is
        raise UsageError(f"grace period must be at least 1 s (with 0 no lot can be settled), got {grace_period} s")
    token, token_receipt = client.deploy(compiled["EnergyToken"], admin, token_name, token_symbol, admin.address)
    registry, registry_receipt = client.deploy(compiled["MeterRegistry"], admin, admin.address, genesis, slot_length)
    escrow, escrow_receipt = client.deploy(
        compiled["EnergyEscrow"], admin, token.address, registry.address, grace_period
    )
    receipts = {"EnergyToken": token_receipt, "MeterRegistry": registry_receipt, "EnergyEscrow": escrow_receipt}
    return MarketContracts(token, registry, escrow, receipts)
