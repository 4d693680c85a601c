"""The chain seam: what everything above the chain needs from one, and nothing else.

Deployments, the run loop, the gas measurement, the benchmark and the
quick start talk to a chain only through :class:`ChainBackend`. A backend
sends *phases* of contract calls at once and returns what became of each
(:class:`Outcome`, with the receipt's logs, or the decoded custom error of a
revert); it deploys compiled code and reads the address from the receipt;
it answers views (`call`), reads the run's own transactions back for a
resume, and tells the chain's id and time. Whether it can move the chain's
time by mining blocks itself is a capability the caller asks about
(:attr:`ChainBackend.can_mine`): a local anvil can, a public node cannot and
the run waits for real time instead.

The first implementation is :class:`p2p_energy.chain.evm.EvmBackend` (any
Ethereum JSON-RPC node: anvil, geth, Qtum's Janus). A Qtum-native backend
(qtumd's `createcontract`/`sendtocontract`/`callcontract`) goes beside it
and implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from p2p_energy.chain.accounts import Account
from p2p_energy.errors import P2PEnergyError


class ChainError(P2PEnergyError):
    """The chain could not be started, reached or stopped."""


class NodeGone(ChainError):
    """The node stopped answering (connection refused, reset or timed out); `cause` names how."""

    def __init__(self, url: str, cause: str):
        super().__init__(f"the node at {url} stopped answering ({cause})")
        self.url = url
        self.cause = cause


class SendError(P2PEnergyError):
    """The node refused transactions or never included them."""


class InsufficientFunds(SendError):
    """A sender lacks the coin for the fees of a phase; nothing of the phase was sent."""

    def __init__(self, message: str, address: str, lacking: str):
        super().__init__(message)
        #: The sender's hex address (what the contracts see) and the amount it lacks, in the chain's coin.
        self.address = address
        self.lacking = lacking


class CallReverted(P2PEnergyError):
    """A view call or a deployment reverted; `reason` is the decoded custom error."""

    def __init__(self, action: str, reason: str, tx_hash: str | None = None):
        self.action = action
        self.reason = reason
        self.tx_hash = tx_hash
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{action} reverted{where}: {reason}")


@dataclass(frozen=True)
class Call:
    """One transaction to send: `label` names the operation for gas accounting."""

    label: str
    sender: Account
    to: str
    data: bytes
    gas: int
    value: int = 0


@dataclass(frozen=True)
class Outcome:
    """What became of a :class:`Call`: included (status 1 or 0) or refused/dropped (status -1)."""

    call: Call
    tx_hash: str | None
    status: int
    gas_used: int = 0
    block: int = 0
    logs: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 1


@dataclass(frozen=True)
class Deployed:
    """A contract created by a transaction: its address comes from the receipt, never predicted."""

    name: str
    address: str
    tx_hash: str
    block: int
    gas_used: int


@dataclass(frozen=True)
class MinedTransaction:
    """A transaction found in a block, with what its receipt says (see :meth:`ChainBackend.mined_transactions`)."""

    tx_hash: str
    sender: str
    to: str
    data: bytes
    gas: int
    value: int
    nonce: int
    status: int
    gas_used: int
    block: int
    logs: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    timestamp: int


@dataclass
class SendStats:
    """Where the time of the sending path goes (seconds) and how much was sent."""

    transactions: int = 0
    blocks: int = 0
    signing_s: float = 0.0
    sending_s: float = 0.0
    mining_s: float = 0.0
    receipts_s: float = 0.0


class ChainBackend(Protocol):
    """A chain as the tools above it see it; see the module docstring."""

    @property
    def url(self) -> str:
        """Where the node answers (for messages; no secrets)."""
        ...

    @property
    def chain_id(self) -> int: ...

    @property
    def gas_price(self) -> int:
        """The gas price every transaction pays, in the chain's smallest unit per gas."""
        ...

    @property
    def block_gas_limit(self) -> int: ...

    @property
    def fee_currency(self) -> tuple[str, int]:
        """The coin fees are paid in and its decimals (gas_price counts its smallest unit)."""
        ...

    @property
    def can_mine(self) -> bool:
        """True when this backend mines blocks itself at the times it chooses (a local anvil)."""
        ...

    @property
    def block_time(self) -> int | None:
        """Seconds between blocks where they come on a fixed clock (Qtum's `--block-time`), else None."""
        ...

    @property
    def clock(self) -> int:
        """The latest block time this backend knows of (where it mines: the chain's, as it mines itself)."""
        ...

    @property
    def stats(self) -> SendStats: ...

    def account(self, private_key: bytes) -> Account:
        """The account of a key we hold, with the address this chain gives it as `msg.sender`
        (keccak on Ethereum-style chains, HASH160 on Qtum)."""
        ...

    def close(self) -> None:
        """Give the node back as it was found (e.g. anvil's automine)."""
        ...

    def native_address(self, account: Account) -> str:
        """How the chain's own tools name `account` (base58 on Qtum; the hex address elsewhere)."""
        ...

    def deploy(self, name: str, bytecode: str, constructor_args: bytes, sender: Account) -> Deployed:
        """Create a contract from `bytecode` + ABI-encoded `constructor_args`; raises CallReverted on failure."""
        ...

    def estimate_gas(self, sender: Account, to: str, data: bytes) -> int:
        """The gas a transaction would use now; raises CallReverted (decoded) if it would revert."""
        ...

    def send(self, calls: Sequence[Call], *, timestamp: int | None = None) -> list[Outcome]:
        """Send `calls`, get them mined (from `timestamp` on, where this backend mines), outcomes in order."""
        ...

    def call(self, to: str, data: bytes, block: str | int = "latest") -> bytes:
        """A view call; raises SendError with the decoded error if it reverts."""
        ...

    def calls(self, requests: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Many view calls against the latest block."""
        ...

    def code_at(self, address: str) -> bytes: ...

    def latest_block(self) -> BlockRef: ...

    def block_hash(self, number: int) -> str | None:
        """The hash of block `number`, None if the chain has no such block."""
        ...

    def logs(self, addresses: Collection[str], first_block: int) -> list[dict[str, Any]]:
        """Every log of `addresses` in blocks `first_block`..latest, in chain order, shaped as Ethereum's
        `eth_getLogs` gives them: address, topics and data, and the transactionHash and blockNumber (0x hex)."""
        ...

    def mined_transactions(self, senders: Collection[str], first_block: int) -> list[MinedTransaction]:
        """Every transaction from `senders` in blocks `first_block`..latest, in chain order, with its receipt."""
        ...

    def settle_pending(self, senders: Collection[str]) -> str:
        """Bring the node's pool of transactions from `senders` to rest before a resume reads the chain
        (an interrupted run may have left some unmined); says what became of them ("" if none). Where this
        backend mines, they are dropped (EVM: their nonces are free again and the run sends them
        anew) or mined (Qtum: a transaction cannot be taken back); elsewhere it waits for them."""
        ...

    def explain_revert(self, call: Call, block: int, tx_hash: str) -> str:
        """Why a mined `call` reverted: its custom error, decoded."""
        ...

    def advance_to(self, timestamp: int) -> None:
        """Make chain time reach `timestamp`: mine where this backend can, else wait for the chain."""
        ...

    def fund(self, funder: Account, amounts: Mapping[str, int]) -> list[Outcome]:
        """Give each address its amount of native coin for fees (the chain's smallest unit): minted where
        the chain allows it (no transactions, no outcomes), else sent from `funder` (label "fund")."""
        ...
