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
and its counter is set back to the refused nonce; on other nodes the run
stops with :class:`SendError`. (anvil keeps a transaction behind a nonce gap
in its queue, where `anvil_dropTransaction` does not reach it, so the
account's whole pool is cleared and its transactions before the gap are sent
again: the same signed bytes, the same hashes.)

Retries are made only where they cannot spend a nonce twice or repeat an
effect: withdrawn transactions are signed again once with the freed nonces;
a transaction sent but not mined (dropped from the pool, or stuck) goes out
once more with the same bytes and nonce if the chain has not used that
nonce, and never if it has. A refused or reverted transaction is not sent
again: its outcome says why (the node's message, the decoded custom error).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import coincurve
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from p2p_energy.chain.contracts import decode_revert
from p2p_energy.errors import P2PEnergyError, UsageError

_RPC_BATCH = 250
#: Most transactions in one locally mined block (see TxSender.run).
_LOCAL_BLOCK_TXS = 500
_RECEIPT_POLL_S = 0.2
_WITHDRAWN = "withdrawn: an earlier transaction of the same account was refused"
#: A node's answer to a transaction it holds already (geth: "already known"; anvil: "already imported").
_ALREADY_KNOWN = re.compile(r"already (known|imported)", re.IGNORECASE)
#: Blocks read per JSON-RPC batch when a resumed run reads its transactions back.
_SCAN_BLOCKS = 50


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
        unsigned = _rlp_list(nonce, gas_price, gas, to_bytes, value, data, chain_id, 0, 0)
        signature = self._key.sign_recoverable(keccak(unsigned), hasher=None)
        v = signature[64] + 35 + 2 * chain_id
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
        return _rlp_list(nonce, gas_price, gas, to_bytes, value, data, v, r, s)


def _rlp_list(*items: int | bytes) -> bytes:
    """RLP of a flat list of unsigned integers and byte strings, as `rlp.encode` gives it
    (which infers a serializer per item and costs half of a transaction's signing time)."""
    payload = b"".join(
        _rlp_bytes(i.to_bytes((i.bit_length() + 7) // 8, "big") if isinstance(i, int) else i) for i in items
    )
    return _rlp_length(len(payload), 0xC0) + payload


def _rlp_bytes(data: bytes) -> bytes:
    if len(data) == 1 and data[0] < 0x80:
        return data
    return _rlp_length(len(data), 0x80) + data


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


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
        self._selectors: dict[bytes, str] = {}
        self._events: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
        self._layouts: dict[bytes, _EventLayout] = {}
        self._checksummed: dict[str, str] = {}
        for item in self.abi:
            types = [_abi_type(i) for i in item.get("inputs", [])]
            signature = f"{item.get('name')}({','.join(types)})"
            if item["type"] == "function":
                self._functions[item["name"]] = (keccak(text=signature)[:4], types)
                self._selectors[keccak(text=signature)[:4]] = item["name"]
            elif item["type"] == "event":
                self._events[keccak(text=signature)] = (item["name"], item["inputs"])
                self._layouts[keccak(text=signature)] = _EventLayout.of(item["inputs"])

    def encode(self, function: str, *args: Any) -> bytes:
        selector, types = self._functions[function]
        return selector + abi_encode(types, list(args))

    def function_of(self, data: bytes) -> str | None:
        """The name of the function `data` calls, None if no ABI here has its selector."""
        return self._selectors.get(bytes(data[:4]))

    def decode_arguments(self, function: str, data: bytes) -> tuple[Any, ...]:
        """The arguments of calldata `data` that calls `function`."""
        return tuple(abi_decode(self._functions[function][1], bytes(data[4:])))

    def decode_log(self, log: dict[str, Any]) -> EventData | None:
        topics = [bytes.fromhex(_hex(t)[2:]) for t in log["topics"]]
        if not topics or topics[0] not in self._events:
            return None
        name = self._events[topics[0]][0]
        layout = self._layouts[topics[0]]
        data = bytes.fromhex(_hex(log["data"])[2:])
        indexed = _static_values(layout.indexed_types, b"".join(topics[1:]), exact=True)
        plain = _static_values(layout.plain_types, data)
        if indexed is None or plain is None:  # beyond the fast path: eth_abi decides (and raises)
            indexed = [abi_decode([t], topic)[0] for t, topic in zip(layout.indexed_types, topics[1:], strict=True)]
            plain = list(abi_decode(list(layout.plain_types), data))
        args = dict(zip(layout.indexed_names, indexed, strict=True))
        args.update(zip(layout.plain_names, plain, strict=True))
        for key in layout.address_names:  # checksummed, as web3 gives them and as our accounts spell them
            args[key] = self._checksum(args[key])
        return EventData(name, self._checksum(str(log["address"])), args)

    def _checksum(self, address: str) -> str:
        """Web3.to_checksum_address, remembered: a run sees a few thousand addresses in 100,000s of logs."""
        known = self._checksummed.get(address)
        if known is None:
            known = self._checksummed[address] = Web3.to_checksum_address(address)
        return known

    def decode_error(self, data: str) -> str:
        return decode_revert(self.abi, data)


@dataclass(frozen=True)
class _EventLayout:
    """An event's inputs split into topics and data, with their canonical types."""

    indexed_names: tuple[str, ...]
    indexed_types: tuple[str, ...]
    plain_names: tuple[str, ...]
    plain_types: tuple[str, ...]
    address_names: tuple[str, ...]

    @classmethod
    def of(cls, inputs: list[dict[str, Any]]) -> _EventLayout:
        indexed = [i for i in inputs if i.get("indexed")]
        plain = [i for i in inputs if not i.get("indexed")]
        return cls(
            tuple(i["name"] for i in indexed),
            tuple(_abi_type(i) for i in indexed),
            tuple(i["name"] for i in plain),
            tuple(_abi_type(i) for i in plain),
            tuple(i["name"] for i in inputs if i["type"] == "address"),
        )


def _static_values(types: Sequence[str], data: bytes, *, exact: bool = False) -> list[Any] | None:
    """Values of static elementary types read straight from their 32-byte words, as eth_abi
    decodes them (addresses in lower case, trailing data ignored unless `exact`).

    None for any other type or for a word eth_abi refuses (non-zero padding): eth_abi then
    decides. It is exact but slow, and a city-scale day decodes over 100,000 logs.
    """
    if len(data) < 32 * len(types) or (exact and len(data) != 32 * len(types)):
        return None
    values: list[Any] = []
    for index, kind in enumerate(types):
        word = data[32 * index : 32 * index + 32]
        if kind == "address":
            if any(word[:12]):
                return None
            values.append("0x" + word[12:].hex())
        elif kind == "bool":
            if any(word[:31]) or word[31] > 1:
                return None
            values.append(word[31] == 1)
        elif kind == "bytes32":
            values.append(word)
        elif kind.startswith("uint") and kind[4:].isdigit():
            value = int.from_bytes(word, "big")
            if value >> int(kind[4:]):
                return None
            values.append(value)
        else:
            return None
    return values


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


@dataclass(frozen=True)
class MinedTransaction:
    """A transaction found in a block, with what its receipt says (see :meth:`TxSender.mined_transactions`)."""

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
        self._clock = 0  # the latest block timestamp: read at the start, then the last one this sender asked for
        if local_mining:
            self._rpc("evm_setAutomine", [False])
            self._clock = self.latest_block().timestamp  # a chain restarted from saved state is ahead of 0

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

    @property
    def clock(self) -> int:
        """The latest block time this sender knows of (on a local chain: the chain's, as it mines itself)."""
        return self._clock

    def latest_block(self) -> BlockRef:
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        return BlockRef(int(str(block["number"]), 16), str(block["hash"]), int(str(block["timestamp"]), 16))

    def block_hash(self, number: int) -> str | None:
        """The hash of block `number`, None if the chain has no such block."""
        block = self._rpc("eth_getBlockByNumber", [hex(number), False])
        return None if block is None else str(block["hash"])

    def mined_transactions(self, senders: Collection[str], first_block: int) -> list[MinedTransaction]:
        """Every transaction from `senders` in blocks `first_block`..latest, in chain order, with its receipt.

        Plain `eth_getBlockByNumber` and `eth_getTransactionReceipt` in batches,
        so any node serves it; the cost grows with the blocks scanned.
        """
        wanted = {s.lower() for s in senders}
        last = self.latest_block().number
        found: list[dict[str, Any]] = []
        for start in range(first_block, last + 1, _SCAN_BLOCKS):
            numbers = range(start, min(start + _SCAN_BLOCKS, last + 1))
            for answer in self._batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers]):
                if "error" in answer or not answer.get("result"):
                    raise SendError(f"cannot read a block of the run: {answer.get('error', 'no such block')}")
                found.extend(tx for tx in answer["result"]["transactions"] if str(tx["from"]).lower() in wanted)
        receipts = self._batch([("eth_getTransactionReceipt", [tx["hash"]]) for tx in found])
        mined = []
        for tx, answer in zip(found, receipts, strict=True):
            receipt = answer.get("result")
            if not receipt:
                raise SendError(f"the node has transaction {tx['hash']} in a block but no receipt for it")
            mined.append(
                MinedTransaction(
                    tx_hash=str(tx["hash"]),
                    sender=str(tx["from"]),
                    to=str(tx.get("to") or ""),
                    data=bytes.fromhex(str(tx.get("input") or tx.get("data") or "0x")[2:]),
                    gas=int(str(tx["gas"]), 16),
                    value=int(str(tx["value"]), 16),
                    nonce=int(str(tx["nonce"]), 16),
                    status=int(str(receipt["status"]), 16),
                    gas_used=int(str(receipt["gasUsed"]), 16),
                    block=int(str(receipt["blockNumber"]), 16),
                    logs=tuple(receipt["logs"]),
                )
            )
        return mined

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
        if not self.batched:
            return [o for call in calls for o in self._run([call], timestamp, on_sent)]
        if not self.local_mining:
            return self._run(calls, timestamp, on_sent)
        # anvil builds a block's receipts in time quadratic in its transactions
        # (4,000 take 2.4 s, 250 take 0.01 s): mine a big phase as several blocks.
        size = _LOCAL_BLOCK_TXS
        chunks = [calls[start : start + size] for start in range(0, len(calls), size)]
        return [o for chunk in chunks for o in self._run(chunk, timestamp, on_sent)]

    def _run(
        self, calls: Sequence[Call], timestamp: int | None, on_sent: Callable[[int], None] | None
    ) -> list[Outcome]:
        if not calls:
            return []
        count = len(calls)
        requests: list[tuple[str, list[Any]]] = [("", [])] * count
        nonces = [0] * count
        hashes: list[str | None] = [None] * count
        refused: dict[int, str] = {}
        # Transactions withdrawn because an earlier one of their account was refused never
        # reached a block, and their nonces are handed out again: sending them once more is safe.
        todo = list(range(count))
        for attempt in range(2):
            refused_now = self._sign_and_send(calls, todo, requests, nonces, hashes)
            if refused_now:
                self._withdraw_after_refusal(calls, nonces, requests, hashes, refused_now)
            refused.update(refused_now)
            todo = [i for i, why in refused_now.items() if why == _WITHDRAWN]
            if not todo or attempt == 1:
                break
            for i in todo:
                del refused[i]
        sent = [h for h in hashes if h is not None]
        if on_sent is not None:
            on_sent(len(sent))
        self.stats.transactions += len(sent)
        receipts = self._mine_and_collect(sent, timestamp)
        dropped: dict[int, str] = {}
        missing = [i for i, tx_hash in enumerate(hashes) if tx_hash is not None and tx_hash not in receipts]
        if missing:
            receipts.update(self._send_dropped_again(calls, missing, requests, nonces, hashes, dropped, timestamp))
        return [
            self._outcome(call, tx_hash, receipts, refused.get(i), dropped.get(i))
            for i, (call, tx_hash) in enumerate(zip(calls, hashes, strict=True))
        ]

    def _sign_and_send(
        self,
        calls: Sequence[Call],
        todo: Sequence[int],
        requests: list[tuple[str, list[Any]]],
        nonces: list[int],
        hashes: list[str | None],
    ) -> dict[int, str]:
        """Sign calls[todo] with the next nonces of their accounts and send them in batches; the refusals."""
        started = time.perf_counter()
        self._load_nonces(calls[i].sender for i in todo)
        for i in todo:
            address = calls[i].sender.address
            nonces[i] = self._nonces[address]
            self._nonces[address] = nonces[i] + 1
            requests[i] = self._request(calls[i], nonces[i])
        signed = time.perf_counter()
        self.stats.signing_s += signed - started
        answers = self._batch([requests[i] for i in todo])
        self.stats.sending_s += time.perf_counter() - signed
        refused: dict[int, str] = {}
        for i, answer in zip(todo, answers, strict=True):
            if "error" in answer:
                refused[i] = self._error_text(answer["error"])
                hashes[i] = None
            else:
                hashes[i] = str(answer["result"])
        return refused

    def _send_dropped_again(
        self,
        calls: Sequence[Call],
        missing: Sequence[int],
        requests: Sequence[tuple[str, list[Any]]],
        nonces: Sequence[int],
        hashes: list[str | None],
        dropped: dict[int, str],
        timestamp: int | None,
    ) -> dict[str, dict[str, Any]]:
        """Sent but not mined: each goes out once more, the same signed bytes with the same nonce, if the
        chain has not used that nonce; one whose nonce is used (by another transaction) is never sent again.
        Returns the receipts found; `dropped` gets why each of the rest was not mined."""
        addresses = sorted({calls[i].sender.address for i in missing})
        answers = self._batch([("eth_getTransactionCount", [a, "latest"]) for a in addresses])
        used: dict[str, int] = {}
        for address, answer in zip(addresses, answers, strict=True):
            if "error" in answer:
                raise SendError(f"cannot read the nonce of {address}: {self._error_text(answer['error'])}")
            used[address] = int(str(answer["result"]), 16)
        receipts: dict[str, dict[str, Any]] = {}
        late = [i for i in missing if nonces[i] < used[calls[i].sender.address]]
        answers = self._batch([("eth_getTransactionReceipt", [hashes[i]]) for i in late])
        for i, answer in zip(late, answers, strict=True):
            if answer.get("result"):
                receipts[str(hashes[i])] = answer["result"]  # mined after all
            else:
                dropped[i] = (
                    f"not mined: nonce {nonces[i]} of {calls[i].sender.address} was used by another transaction; "
                    "not sent again"
                )
        again = sorted(
            (i for i in missing if nonces[i] >= used[calls[i].sender.address]),
            key=lambda i: (calls[i].sender.address, nonces[i]),
        )
        if not again:
            return receipts
        if self.local_mining:  # clear what is stuck in the pool first, then send it again in nonce order
            for address in sorted({calls[i].sender.address for i in again}):
                self._rpc("anvil_removePoolTransactions", [address])
        resent: list[str] = []
        for i, answer in zip(again, self._batch([requests[i] for i in again]), strict=True):
            if "error" not in answer:
                hashes[i] = str(answer["result"])
            elif not _ALREADY_KNOWN.search(str(answer["error"].get("message", ""))):
                dropped[i] = (
                    f"not mined, and refused when sent again with the same nonce {nonces[i]}: "
                    f"{self._error_text(answer['error'])}"
                )
                continue
            resent.append(str(hashes[i]))
        receipts.update(self._mine_and_collect(resent, timestamp))
        for i in again:
            if hashes[i] not in receipts:
                dropped.setdefault(i, f"not mined, even when sent again once with the same nonce {nonces[i]}")
        return receipts

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
        self,
        calls: Sequence[Call],
        nonces: list[int],
        requests: Sequence[tuple[str, list[Any]]],
        hashes: list[str | None],
        refused: dict[int, str],
    ) -> None:
        """A refused transaction leaves a nonce gap: take back its account's later ones."""
        first_refused: dict[str, int] = {}
        for index in sorted(refused):
            first_refused.setdefault(calls[index].sender.address, nonces[index])
        gapped: set[str] = set()
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
            gapped.add(address)
            refused[index] = _WITHDRAWN
            hashes[index] = None
        for address in sorted(gapped):
            # Behind the gap they are queued, out of anvil_dropTransaction's reach: clear the
            # account's pool, then send its transactions before the gap again.
            self._rpc("anvil_removePoolTransactions", [address])
            before_gap = [i for i, call in enumerate(calls) if call.sender.address == address and hashes[i] is not None]
            again = self._batch([requests[i] for i in before_gap])
            for index, answer in zip(before_gap, again, strict=True):
                if "error" in answer or str(answer["result"]) != hashes[index]:
                    raise SendError(
                        f"{calls[index].label} from {address} could not be sent again after clearing the pool: "
                        f"{self._error_text(answer['error']) if 'error' in answer else 'another hash'}"
                    )
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
        self,
        call: Call,
        tx_hash: str | None,
        receipts: dict[str, dict[str, Any]],
        refusal: str | None,
        dropped: str | None,
    ) -> Outcome:
        if tx_hash is None:
            return Outcome(call, None, -1, error=f"refused by the node: {refusal}")
        receipt = receipts.get(tx_hash)
        if receipt is None:
            if self.local_mining:  # out of the pool, so that the account's next transactions are not stuck behind it
                self._rpc("anvil_removePoolTransactions", [call.sender.address])
            self._nonces.pop(call.sender.address, None)  # re-read from the chain next time
            return Outcome(call, tx_hash, -1, error=dropped or "not mined (dropped)")
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
            data = answer["error"].get("data")
            if not (isinstance(data, str) and data.startswith("0x") and len(data) >= 10):
                why = self._error_text(answer["error"])
                return f"reverted; the node cannot replay it on block {block - 1} to say why ({why})"
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
