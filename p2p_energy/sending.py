"""Sending many transactions at once: encode, sign, send in JSON-RPC batches, mine, collect.

A simulated day is tens of thousands of transactions, so the runner never
sends one and waits for it. It hands a whole phase (every offer of a slot,
every take, every batch of readings) to :meth:`TxSender.run`, which

- encodes calldata from the ABI once per function (:class:`AbiCodec`),
- signs legacy (type 0) EIP-155 transactions with coincurve, keeping one
  nonce counter per account (a test checks the bytes against eth-account),
- sends them in JSON-RPC batches, all transactions of one account in nonce
  order,
- on a local anvil with automine off, mines the block itself at the chain
  time the runner asks for (repeating while the block gas limit leaves
  transactions pending); on any other node it waits for the receipts,
- fetches receipts per block (`eth_getBlockReceipts`) or in batches, and
  replays each reverted transaction as an `eth_call` on its parent block to
  decode the custom error.

Accounts the node holds (:class:`NodeAccount`, e.g. Qtum's Janus) go out
through `eth_sendTransaction` in the same batches: Janus does not accept
Ethereum raw transactions.

Nonces are never reused: if the node refuses a transaction, the account's
later transactions of the same batch are withdrawn from a local node's pool
(`anvil_dropTransaction`) and its counter is set back to the refused nonce;
on other nodes the run stops with :class:`SendError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import coincurve
import rlp  # type: ignore[import-untyped]
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from p2p_energy.contracts import decode_revert
from p2p_energy.errors import P2PEnergyError, UsageError

_RPC_BATCH = 250
_RECEIPT_POLL_S = 0.2


class SendError(P2PEnergyError):
    """The node refused transactions or never included them."""


# ------------------------------------------------------------------ accounts


@dataclass
class KeyAccount:
    """An account whose key we hold: transactions are signed here."""

    private_key: bytes
    address: str = ""
    _key: coincurve.PrivateKey | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if len(self.private_key) != 32:
            raise UsageError(f"a private key is 32 bytes (64 hex digits), got {len(self.private_key)} bytes")
        try:
            self._key = coincurve.PrivateKey(self.private_key)
        except ValueError as exc:
            raise UsageError(f"not a valid secp256k1 private key: {exc}") from None
        self.address = str(Account.from_key(self.private_key).address)

    @classmethod
    def from_hex(cls, private_key: str) -> KeyAccount:
        try:
            return cls(bytes.fromhex(private_key.removeprefix("0x")))
        except ValueError:
            raise UsageError("not a valid private key: expected 64 hex digits") from None

    def sign(self, nonce: int, gas_price: int, gas: int, to: str, data: bytes, chain_id: int, value: int = 0) -> bytes:
        """The raw bytes of a signed legacy EIP-155 transaction."""
        assert self._key is not None
        to_bytes = bytes.fromhex(to[2:])
        unsigned = rlp.encode([nonce, gas_price, gas, to_bytes, value, data, chain_id, 0, 0])
        signature = self._key.sign_recoverable(keccak(unsigned), hasher=None)
        v = signature[64] + 35 + 2 * chain_id
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
        return bytes(rlp.encode([nonce, gas_price, gas, to_bytes, value, data, v, r, s]))


@dataclass(frozen=True)
class NodeAccount:
    """An account the node holds and signs for (`eth_sendTransaction`)."""

    address: str


Sender = KeyAccount | NodeAccount


# ---------------------------------------------------------------------- ABI


def _abi_type(item: dict[str, Any]) -> str:
    kind = str(item["type"])
    if not kind.startswith("tuple"):
        return kind
    return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]


@dataclass(frozen=True)
class EventData:
    name: str
    address: str
    args: dict[str, Any]


class AbiCodec:
    """Calldata encoding and log decoding for a set of ABIs, prepared once."""

    def __init__(self, *abis: list[dict[str, Any]]):
        self.abi = [item for abi in abis for item in abi]
        self._functions: dict[str, tuple[bytes, list[str]]] = {}
        self._events: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
        for item in self.abi:
            types = [_abi_type(i) for i in item.get("inputs", [])]
            signature = f"{item.get('name')}({','.join(types)})"
            if item["type"] == "function":
                self._functions[item["name"]] = (keccak(text=signature)[:4], types)
            elif item["type"] == "event":
                self._events[keccak(text=signature)] = (item["name"], item["inputs"])

    def encode(self, function: str, *args: Any) -> bytes:
        selector, types = self._functions[function]
        return selector + abi_encode(types, list(args))

    def decode_result(self, function: str, output_types: Sequence[str], data: bytes) -> tuple[Any, ...]:
        return tuple(abi_decode(list(output_types), data))

    def decode_log(self, log: dict[str, Any]) -> EventData | None:
        topics = [bytes.fromhex(_hex(t)[2:]) for t in log["topics"]]
        if not topics or topics[0] not in self._events:
            return None
        name, inputs = self._events[topics[0]]
        indexed = [i for i in inputs if i.get("indexed")]
        plain = [i for i in inputs if not i.get("indexed")]
        args: dict[str, Any] = {}
        for item, topic in zip(indexed, topics[1:], strict=True):
            args[item["name"]] = abi_decode([_abi_type(item)], topic)[0]
        values = abi_decode([_abi_type(i) for i in plain], bytes.fromhex(_hex(log["data"])[2:]))
        args.update({i["name"]: v for i, v in zip(plain, values, strict=True)})
        return EventData(name, Web3.to_checksum_address(log["address"]), args)

    def decode_error(self, data: str) -> str:
        return decode_revert(self.abi, data)


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


# ------------------------------------------------------------- transactions


@dataclass(frozen=True)
class Call:
    """One transaction to send: `label` names the operation for gas accounting."""

    label: str
    sender: Sender
    to: str
    data: bytes
    gas: int
    value: int = 0
    tag: Any = None


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


@dataclass
class SendStats:
    """Where the time of the sending path goes (seconds) and how much was sent."""

    transactions: int = 0
    blocks: int = 0
    signing_s: float = 0.0
    sending_s: float = 0.0
    mining_s: float = 0.0
    receipts_s: float = 0.0


class TxSender:
    """Sends phases of transactions to one chain; see the module docstring."""

    def __init__(
        self,
        w3: Web3,
        codec: AbiCodec,
        *,
        gas_price: int,
        local_mining: bool,
        batched: bool = True,
        receipt_timeout_s: float = 300.0,
    ):
        self.w3 = w3
        self.codec = codec
        self.gas_price = gas_price
        self.local_mining = local_mining
        self.batched = batched
        self.receipt_timeout_s = receipt_timeout_s
        self.chain_id = int(w3.eth.chain_id)
        self.stats = SendStats()
        self._nonces: dict[str, int] = {}
        self._clock = 0  # the last block timestamp this sender asked for
        if local_mining:
            self._rpc("evm_setAutomine", [False])

    # --------------------------------------------------------------- RPC

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise SendError(f"{method} failed: {response['error'].get('message', response['error'])}")
        return response.get("result")

    def _batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Raw JSON-RPC batch; each answer is {'result': ...} or {'error': ...}."""
        answers: list[dict[str, Any]] = []
        for start in range(0, len(requests), _RPC_BATCH):
            chunk = list(requests[start : start + _RPC_BATCH])
            response = self.w3.provider.make_batch_request(chunk)  # type: ignore[attr-defined]
            if not isinstance(response, list):
                raise SendError(f"the node refused a batch request: {dict(response).get('error', response)}")
            answers.extend(dict(r) for r in response)
        return answers

    def call(self, to: str, data: bytes, block: str | int = "latest") -> bytes:
        """An eth_call; raises SendError with the decoded error if it reverts."""
        tag = block if isinstance(block, str) else hex(block)
        result = self._batch([("eth_call", [{"to": to, "data": _hex(data)}, tag])])[0]
        if "error" in result:
            raise SendError(f"call to {to} failed: {self._error_text(result['error'])}")
        return bytes.fromhex(str(result["result"])[2:])

    def calls(self, requests: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Many eth_calls against the latest block in JSON-RPC batches."""
        answers = self._batch([("eth_call", [{"to": to, "data": _hex(data)}, "latest"]) for to, data in requests])
        out = []
        for (to, _), answer in zip(requests, answers, strict=True):
            if "error" in answer:
                raise SendError(f"call to {to} failed: {self._error_text(answer['error'])}")
            out.append(bytes.fromhex(str(answer["result"])[2:]))
        return out

    def _error_text(self, error: dict[str, Any]) -> str:
        data = error.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            return self.codec.decode_error(data)
        return str(error.get("message", error))

    # ---------------------------------------------------------- sending

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _load_nonces(self, senders: Iterable[Sender]) -> None:
        missing = sorted({s.address for s in senders} - self._nonces.keys())
        answers = self._batch([("eth_getTransactionCount", [a, "pending"]) for a in missing])
        for address, answer in zip(missing, answers, strict=True):
            if "error" in answer:
                raise SendError(f"cannot read the nonce of {address}: {self._error_text(answer['error'])}")
            self._nonces[address] = int(str(answer["result"]), 16)

    def run(
        self, calls: Sequence[Call], *, timestamp: int | None = None, on_sent: Callable[[int], None] | None = None
    ) -> list[Outcome]:
        """Send `calls`, get them mined (from `timestamp` on, on a local chain), return their outcomes in order.

        Unbatched (`batched=False`), each transaction is sent alone and waited
        for (its own block on a local chain): the one-transaction-per-action
        path the benchmark compares with.
        """
        if self.batched:
            return self._run(calls, timestamp, on_sent)
        return [o for call in calls for o in self._run([call], timestamp, on_sent)]

    def _run(
        self, calls: Sequence[Call], timestamp: int | None, on_sent: Callable[[int], None] | None
    ) -> list[Outcome]:
        if not calls:
            return []
        started = time.perf_counter()
        self._load_nonces(c.sender for c in calls)
        requests: list[tuple[str, list[Any]]] = []
        nonces: list[int] = []
        for call in calls:
            nonce = self._nonces[call.sender.address]
            self._nonces[call.sender.address] = nonce + 1
            nonces.append(nonce)
            requests.append(self._request(call, nonce))
        signed = time.perf_counter()
        self.stats.signing_s += signed - started
        answers = self._batch(requests)
        self.stats.sending_s += time.perf_counter() - signed
        hashes: list[str | None] = []
        refused: dict[int, str] = {}
        for index, answer in enumerate(answers):
            if "error" in answer:
                refused[index] = self._error_text(answer["error"])
                hashes.append(None)
            else:
                hashes.append(str(answer["result"]))
        if refused:
            self._withdraw_after_refusal(calls, nonces, hashes, refused)
        if on_sent is not None:
            on_sent(len(calls) - len(refused))
        self.stats.transactions += len(calls) - len(refused)
        receipts = self._mine_and_collect([h for h in hashes if h is not None], timestamp)
        return [
            self._outcome(call, tx_hash, receipts, refused.get(i))
            for i, (call, tx_hash) in enumerate(zip(calls, hashes, strict=True))
        ]

    def _request(self, call: Call, nonce: int) -> tuple[str, list[Any]]:
        if isinstance(call.sender, NodeAccount):
            tx = {
                "from": call.sender.address,
                "to": call.to,
                "data": _hex(call.data),
                "gas": hex(call.gas),
                "gasPrice": hex(self.gas_price),
                "value": hex(call.value),
                "nonce": hex(nonce),
            }
            return ("eth_sendTransaction", [tx])
        raw = call.sender.sign(nonce, self.gas_price, call.gas, call.to, call.data, self.chain_id, call.value)
        return ("eth_sendRawTransaction", ["0x" + raw.hex()])

    def _withdraw_after_refusal(
        self, calls: Sequence[Call], nonces: list[int], hashes: list[str | None], refused: dict[int, str]
    ) -> None:
        """A refused transaction leaves a nonce gap: take back its account's later ones."""
        first_refused: dict[str, int] = {}
        for index in sorted(refused):
            first_refused.setdefault(calls[index].sender.address, nonces[index])
        for index, call in enumerate(calls):
            address = call.sender.address
            if address not in first_refused or nonces[index] <= first_refused[address] or hashes[index] is None:
                continue
            if not self.local_mining:
                first = min(refused)
                raise SendError(
                    f"the node refused {calls[first].label} from {calls[first].sender.address} ({refused[first]}); "
                    f"later transactions of {address} are pending with a nonce gap: restart with --resume"
                )
            self._rpc("anvil_dropTransaction", [hashes[index]])
            refused[index] = "withdrawn: an earlier transaction of the same account was refused"
            hashes[index] = None
        for address, nonce in first_refused.items():
            self._nonces[address] = nonce

    def _mine_and_collect(self, hashes: list[str], timestamp: int | None) -> dict[str, dict[str, Any]]:
        receipts: dict[str, dict[str, Any]] = {}
        if not hashes:
            return receipts
        wanted = set(hashes)
        started = time.perf_counter()
        if self.local_mining:
            next_time = None if timestamp is None else max(timestamp, self._clock + 1)
            stalled = 0
            while wanted - receipts.keys():
                if next_time is not None:
                    self._rpc("evm_setNextBlockTimestamp", [next_time])
                    self._clock = next_time
                    next_time += 1
                self._rpc("evm_mine", [])
                self.stats.blocks += 1
                mined = time.perf_counter()
                block = self._rpc("eth_getBlockReceipts", ["latest"]) or []
                self.stats.receipts_s += time.perf_counter() - mined
                found = {str(r["transactionHash"]): r for r in block if str(r["transactionHash"]) in wanted}
                receipts.update(found)
                stalled = 0 if found else stalled + 1
                if stalled >= 3:
                    break  # the rest will not be mined: reported as dropped
        else:
            deadline = time.monotonic() + self.receipt_timeout_s
            while (missing := sorted(wanted - receipts.keys())) and time.monotonic() < deadline:
                answers = self._batch([("eth_getTransactionReceipt", [h]) for h in missing])
                for tx_hash, answer in zip(missing, answers, strict=True):
                    if answer.get("result"):
                        receipts[tx_hash] = answer["result"]
                if wanted - receipts.keys():
                    time.sleep(_RECEIPT_POLL_S)
        self.stats.mining_s += time.perf_counter() - started
        return receipts

    def _outcome(
        self, call: Call, tx_hash: str | None, receipts: dict[str, dict[str, Any]], refusal: str | None
    ) -> Outcome:
        if tx_hash is None:
            return Outcome(call, None, -1, error=f"refused by the node: {refusal}")
        receipt = receipts.get(tx_hash)
        if receipt is None:
            if self.local_mining:
                self._rpc("anvil_dropTransaction", [tx_hash])
                self._nonces.pop(call.sender.address, None)  # re-read from the chain next time
            return Outcome(call, tx_hash, -1, error="not mined (dropped)")
        status = int(str(receipt["status"]), 16)
        block = int(str(receipt["blockNumber"]), 16)
        outcome = Outcome(call, tx_hash, status, int(str(receipt["gasUsed"]), 16), block, tuple(receipt["logs"]))
        if status == 1:
            return outcome
        return Outcome(call, tx_hash, status, outcome.gas_used, block, (), self.explain_revert(call, block, tx_hash))

    def explain_revert(self, call: Call, block: int, tx_hash: str) -> str:
        """Why `call` reverted: the revert data from a call trace where the node has one
        (anvil, geth), else its replay on the parent block (which lacks the block's own
        time and earlier transactions), decoded."""
        trace = self._batch([("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])])[0]
        output = trace.get("result", {}).get("output") if "result" in trace else None
        if isinstance(output, str) and len(output) >= 10:
            return self.codec.decode_error(output)
        tx = {"from": call.sender.address, "to": call.to, "data": _hex(call.data), "gas": hex(call.gas)}
        answer = self._batch([("eth_call", [tx, hex(block - 1)])])[0]
        if "error" in answer:
            return self._error_text(answer["error"]) + " (replayed on the parent block)"
        return "reverted in its block but not on replay (out of gas, or it depended on an earlier transaction)"

    def fund_locally(self, addresses: Sequence[str], wei: int) -> None:
        """Give `addresses` native coin for gas on a local anvil (anvil_setBalance)."""
        answers = self._batch([("anvil_setBalance", [a, hex(wei)]) for a in addresses])
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise SendError(f"anvil_setBalance failed: {self._error_text(errors[0])}")

    def advance_to(self, timestamp: int) -> None:
        """Make chain time reach `timestamp`: mine an empty block locally, else wait for the chain."""
        if self.local_mining:
            if timestamp > self.latest_timestamp():
                self._clock = timestamp
                self._rpc("evm_setNextBlockTimestamp", [timestamp])
                self._rpc("evm_mine", [])
                self.stats.blocks += 1
            return
        while self.latest_timestamp() < timestamp:
            time.sleep(1.0)
