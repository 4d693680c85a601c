"""The EVM JSON-RPC chain backend: sign, send in JSON-RPC batches, mine, collect.

A simulated day is tens of thousands of transactions, so the runner never
sends one and waits for it. It hands a whole phase (every offer of a slot,
every take, every batch of readings) to :meth:`EvmBackend.send`, which

- takes calldata encoded once per function (:class:`p2p_energy.chain.abi.AbiCodec`),
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

Accounts the node holds (:meth:`Account.held_by_node`, e.g. through Qtum's Janus) go out
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

import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from p2p_energy.chain.abi import AbiCodec, hex_data
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import (
    BlockRef,
    Call,
    CallReverted,
    Deployed,
    MinedTransaction,
    NodeGone,
    Outcome,
    SendError,
    SendStats,
)
from p2p_energy.chain.evm_pool import WITHDRAWN, PoolRepair
from p2p_energy.chain.evm_scan import mined_transactions
from p2p_energy.chain.legacy_tx import sign_legacy
from p2p_energy.chain.rpc import is_anvil, redacted_url
from p2p_energy.chain.rpc_batches import EVM_MAX_BODY_BYTES, cut_batches, request_bytes
from p2p_energy.chain.transport import node_answers

#: Most requests in one JSON-RPC batch (batches are cut by bytes first: chain/rpc_batches.py).
_RPC_BATCH = 250
#: Most transactions in one locally mined block (see EvmBackend.send).
_LOCAL_BLOCK_TXS = 500
_RECEIPT_POLL_S = 0.2
#: Blocks per eth_getLogs request.
_LOG_BLOCKS = 1_000
#: Gas of a plain value transfer.
_TRANSFER_GAS = 21_000
#: Gas headroom over eth_estimateGas for a deployment; estimates can fall short by a little
#: when storage refunds or warm/cold access differ at inclusion time.
GAS_MARGIN_PERCENT = 20


class EvmBackend(PoolRepair):
    """A :class:`~p2p_energy.chain.backend.ChainBackend` over Ethereum JSON-RPC; see the module docstring.

    `can_mine` (default: the node is anvil) makes this backend mine blocks
    itself at the times the caller asks for, with the node's automine off.
    """

    def __init__(
        self,
        w3: Web3,
        codec: AbiCodec,
        *,
        gas_price: int | None = None,
        can_mine: bool | None = None,
        batched: bool = True,
        receipt_timeout_s: float = 300.0,
    ):
        self.w3 = w3
        self.codec = codec
        with node_answers(self.url):
            self._gas_price = int(w3.eth.gas_price) if gas_price is None else gas_price
            self._can_mine = is_anvil(w3) if can_mine is None else can_mine
            self._chain_id = int(w3.eth.chain_id)
        self.batched = batched
        self.receipt_timeout_s = receipt_timeout_s
        self._stats = SendStats()
        self._nonces: dict[str, int] = {}
        self._clock = 0  # the latest block timestamp: read at the start, then the last one this backend asked for
        self._automine_was_on = False
        latest = self._rpc("eth_getBlockByNumber", ["latest", False])
        self._block_gas_limit = int(str(latest["gasLimit"]), 16)
        #: Where we mine a chain with a base fee, every block keeps the base fee the chain started with:
        #: full blocks would raise it above the price our transactions were signed with (a Qtum-like floor).
        self._base_fee = int(str(latest["baseFeePerGas"]), 16) if self._can_mine and "baseFeePerGas" in latest else 0
        if self._can_mine:
            self._automine_was_on = bool(self._rpc("anvil_getAutomine", []))
            self._rpc("evm_setAutomine", [False])
            self._clock = self.latest_block().timestamp  # a chain restarted from saved state is ahead of 0
            self._pin_base_fee()

    def account(self, private_key: bytes) -> Account:
        """The account of a key we hold: its keccak address, signed for here."""
        return Account.from_key(private_key)

    def native_address(self, account: Account) -> str:
        return account.address

    def close(self) -> None:
        """Give the node back as it was found: automine on again if it was on (a chain the user shares)."""
        if self._automine_was_on:
            self._automine_was_on = False
            # A node that is gone has nothing to restore; its going is reported by whoever noticed it.
            with contextlib.suppress(NodeGone, OSError, SendError):
                self._rpc("evm_setAutomine", [True])

    @property
    def url(self) -> str:
        return redacted_url(str(getattr(self.w3.provider, "endpoint_uri", "")))

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def gas_price(self) -> int:
        return self._gas_price

    @property
    def fee_currency(self) -> tuple[str, int]:
        return ("ETH", 18)

    @property
    def can_mine(self) -> bool:
        return self._can_mine

    @property
    def block_time(self) -> int | None:
        """None: a block is mined when a phase needs one (where we mine), or whenever the node mines."""
        return None

    @property
    def stats(self) -> SendStats:
        return self._stats

    @property
    def block_gas_limit(self) -> int:
        return self._block_gas_limit

    # --------------------------------------------------------------- RPC

    def _rpc(self, method: str, params: list[Any]) -> Any:
        with node_answers(self.url):
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise SendError(f"{method} failed: {response['error'].get('message', response['error'])}")
        return response.get("result")

    def _batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Raw JSON-RPC batch, sent in bodies within the node's size limit; each answer is
        {'result': ...} or {'error': ...}."""
        answers: list[dict[str, Any]] = []
        sizes = [request_bytes(method, params) for method, params in requests]
        for batch in cut_batches(sizes, EVM_MAX_BODY_BYTES, _RPC_BATCH):
            chunk = [requests[i] for i in batch]
            with node_answers(self.url):
                response = self.w3.provider.make_batch_request(chunk)  # type: ignore[attr-defined]
            if not isinstance(response, list):
                raise SendError(f"the node refused a batch request: {dict(response).get('error', response)}")
            answers.extend(dict(r) for r in response)
        return answers

    def call(self, to: str, data: bytes, block: str | int = "latest") -> bytes:
        """An eth_call; raises SendError with the decoded error if it reverts."""
        tag = block if isinstance(block, str) else hex(block)
        result = self._batch([("eth_call", [{"to": to, "data": hex_data(data)}, tag])])[0]
        if "error" in result:
            raise SendError(f"call to {to} failed: {self._error_text(result['error'])}")
        return bytes.fromhex(str(result["result"])[2:])

    def calls(self, requests: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Many eth_calls against the latest block in JSON-RPC batches."""
        answers = self._batch([("eth_call", [{"to": to, "data": hex_data(data)}, "latest"]) for to, data in requests])
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
        with node_answers(self.url):
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
        """Every transaction from `senders` in blocks `first_block`..latest, in chain order, with its receipt."""
        return mined_transactions(self._batch, {s.lower() for s in senders}, first_block, self.latest_block().number)

    def _load_nonces(self, senders: Iterable[Account]) -> None:
        missing = sorted({s.address for s in senders} - self._nonces.keys())
        answers = self._batch([("eth_getTransactionCount", [a, "pending"]) for a in missing])
        for address, answer in zip(missing, answers, strict=True):
            if "error" in answer:
                raise SendError(f"cannot read the nonce of {address}: {self._error_text(answer['error'])}")
            self._nonces[address] = int(str(answer["result"]), 16)

    def send(
        self, calls: Sequence[Call], *, timestamp: int | None = None, on_sent: Callable[[int], None] | None = None
    ) -> list[Outcome]:
        """Send `calls`, get them mined (from `timestamp` on, on a local chain), return their outcomes in order.

        Unbatched (`batched=False`), each transaction is sent alone and waited
        for (its own block on a local chain): the one-transaction-per-action
        path the benchmark compares with.
        """
        if not self.batched:
            return [o for call in calls for o in self._run([call], timestamp, on_sent)]
        if not self._can_mine:
            return self._run(calls, timestamp, on_sent)
        return [o for chunk in self._blocks(calls) for o in self._run(chunk, timestamp, on_sent)]

    def _blocks(self, calls: Sequence[Call]) -> list[Sequence[Call]]:
        """`calls` split into the blocks we mine: each within the block gas limit (by gas limits, so that
        every transaction of a block is included) and at most _LOCAL_BLOCK_TXS transactions, since anvil
        builds a block's receipts in time quadratic in its transactions (4,000 take 2.4 s, 250 take 0.01 s)."""
        blocks: list[Sequence[Call]] = []
        start, gas = 0, 0
        for index, call in enumerate(calls):
            if index > start and (index - start >= _LOCAL_BLOCK_TXS or gas + call.gas > self._block_gas_limit):
                blocks.append(calls[start:index])
                start, gas = index, 0
            gas += call.gas
        if start < len(calls):
            blocks.append(calls[start:])
        return blocks

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
            todo = [i for i, why in refused_now.items() if why == WITHDRAWN]
            if not todo or attempt == 1:
                break
            for i in todo:
                del refused[i]
        sent = [h for h in hashes if h is not None]
        if on_sent is not None:
            on_sent(len(sent))
        self._stats.transactions += len(sent)
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
        self._stats.signing_s += signed - started
        answers = self._batch([requests[i] for i in todo])
        self._stats.sending_s += time.perf_counter() - signed
        refused: dict[int, str] = {}
        for i, answer in zip(todo, answers, strict=True):
            if "error" in answer:
                refused[i] = self._error_text(answer["error"])
                hashes[i] = None
            else:
                hashes[i] = str(answer["result"])
        return refused

    def _request(self, call: Call, nonce: int) -> tuple[str, list[Any]]:
        if call.sender.held:
            tx = {
                "from": call.sender.address,
                **({"to": call.to} if call.to else {}),
                "data": hex_data(call.data),
                "gas": hex(call.gas),
                "gasPrice": hex(self._gas_price),
                "value": hex(call.value),
                "nonce": hex(nonce),
            }
            return ("eth_sendTransaction", [tx])
        raw = sign_legacy(call.sender, nonce, self._gas_price, call.gas, call.to, call.data, self._chain_id, call.value)
        return ("eth_sendRawTransaction", ["0x" + raw.hex()])

    def _mine_and_collect(self, hashes: list[str], timestamp: int | None) -> dict[str, dict[str, Any]]:
        receipts: dict[str, dict[str, Any]] = {}
        if not hashes:
            return receipts
        wanted = set(hashes)
        started = time.perf_counter()
        if self._can_mine:
            next_time = None if timestamp is None else max(timestamp, self._clock + 1)
            stalled = 0
            while wanted - receipts.keys():
                if next_time is not None:
                    self._rpc("evm_setNextBlockTimestamp", [next_time])
                    self._clock = next_time
                    next_time += 1
                self._mine_one()
                self._stats.blocks += 1
                mined = time.perf_counter()
                block = self._rpc("eth_getBlockReceipts", ["latest"]) or []
                self._stats.receipts_s += time.perf_counter() - mined
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
        self._stats.mining_s += time.perf_counter() - started
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
            if self._can_mine:  # out of the pool, so that the account's next transactions are not stuck behind it
                self._rpc("anvil_removePoolTransactions", [call.sender.address])
            self._nonces.pop(call.sender.address, None)  # re-read from the chain next time
            return Outcome(call, tx_hash, -1, error=dropped or "not mined (dropped)")
        status = int(str(receipt["status"]), 16)
        block = int(str(receipt["blockNumber"]), 16)
        outcome = Outcome(call, tx_hash, status, int(str(receipt["gasUsed"]), 16), block, tuple(receipt["logs"]))
        if status == 1:
            return outcome
        return Outcome(call, tx_hash, status, outcome.gas_used, block, (), self.explain_revert(call, block, tx_hash))

    def _mine_one(self) -> None:
        self._rpc("evm_mine", [])
        self._pin_base_fee()

    def _pin_base_fee(self) -> None:
        """The next block's base fee back to the chain's first one: the pool checks a transaction's
        price against it as soon as it arrives, so it is set again after every block."""
        if self._base_fee:
            self._rpc("anvil_setNextBlockBaseFeePerGas", [hex(self._base_fee)])

    def explain_revert(self, call: Call, block: int, tx_hash: str) -> str:
        """Why `call` reverted: the revert data from a call trace where the node has one
        (anvil, geth; else the trace anvil stored when it mined the transaction, which
        needs no old state: a chain that prunes its history, or was restarted from a
        state file, still has it), else its replay on the parent block (which lacks the
        block's own time and earlier transactions), decoded."""
        trace = self._batch([("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])])[0]
        output = trace.get("result", {}).get("output") if "result" in trace else None
        if not (isinstance(output, str) and len(output) >= 10):
            stored = self._batch([("trace_transaction", [tx_hash])])[0].get("result")
            output = (stored[0].get("result") or {}).get("output") if isinstance(stored, list) and stored else None
        if isinstance(output, str) and len(output) >= 10:
            return self.codec.decode_error(output)
        tx = {"from": call.sender.address, "to": call.to, "data": hex_data(call.data), "gas": hex(call.gas)}
        answer = self._batch([("eth_call", [tx, hex(block - 1)])])[0]
        if "error" in answer:
            data = answer["error"].get("data")
            if not (isinstance(data, str) and data.startswith("0x") and len(data) >= 10):
                why = self._error_text(answer["error"])
                return f"reverted; the node cannot replay it on block {block - 1} to say why ({why})"
            return self._error_text(answer["error"]) + " (replayed on the parent block)"
        return "reverted in its block but not on replay (out of gas, or it depended on an earlier transaction)"

    def fund(self, funder: Account, amounts: Mapping[str, int]) -> list[Outcome]:
        """Give each address its amount of wei for gas: anvil_setBalance where this backend mines (no
        transactions), else one value transfer each from `funder`, labelled "fund"."""
        if self._can_mine:
            answers = self._batch([("anvil_setBalance", [a, hex(wei)]) for a, wei in amounts.items()])
            errors = [a["error"] for a in answers if "error" in a]
            if errors:
                raise SendError(f"anvil_setBalance failed: {self._error_text(errors[0])}")
            return []
        return self.send([Call("fund", funder, a, b"", _TRANSFER_GAS, wei) for a, wei in amounts.items()])

    def estimate_gas(self, sender: Account, to: str, data: bytes) -> int:
        """eth_estimateGas with GAS_MARGIN_PERCENT headroom; raises CallReverted with the decoded error."""
        tx = {"from": sender.address, "data": hex_data(data), **({"to": to} if to else {})}
        answer = self._batch([("eth_estimateGas", [tx])])[0]
        if "error" in answer:
            raise CallReverted(self.codec.function_of(data) or "the transaction", self._error_text(answer["error"]))
        return int(str(answer["result"]), 16) * (100 + GAS_MARGIN_PERCENT) // 100

    def deploy(self, name: str, bytecode: str, constructor_args: bytes, sender: Account) -> Deployed:
        """Create contract `name`; its address is read from the receipt (Qtum derives addresses
        differently from Ethereum, so they are never predicted). Raises CallReverted."""
        data = bytes.fromhex(bytecode.removeprefix("0x")) + constructor_args
        try:
            gas = self.estimate_gas(sender, "", data)
        except CallReverted as exc:
            raise CallReverted(f"deploy {name}", exc.reason) from None
        # The estimate's headroom must not make a creation that fits a block too big for one (small blocks).
        gas = min(gas, self.block_gas_limit)
        outcome = self.send([Call(f"deploy {name}", sender, "", data, gas)])[0]
        if not outcome.ok or outcome.tx_hash is None:
            raise CallReverted(f"deploy {name}", outcome.error or "reverted on chain", outcome.tx_hash)
        receipt = self._rpc("eth_getTransactionReceipt", [outcome.tx_hash])
        address = receipt.get("contractAddress") if receipt else None
        if not address:
            raise CallReverted(f"deploy {name}", "the receipt names no contract address", outcome.tx_hash)
        return Deployed(name, str(to_checksum_address(address)), outcome.tx_hash, outcome.block, outcome.gas_used)

    def code_at(self, address: str) -> bytes:
        return bytes.fromhex(str(self._rpc("eth_getCode", [address, "latest"]))[2:])

    def logs(self, addresses: Collection[str], first_block: int) -> list[dict[str, Any]]:
        """Every log of `addresses` from `first_block` on (`eth_getLogs` in windows of blocks)."""
        last = self.latest_block().number
        windows = [
            ("eth_getLogs", [{"address": sorted(addresses), "fromBlock": hex(start), "toBlock": hex(end)}])
            for start in range(first_block, last + 1, _LOG_BLOCKS)
            for end in [min(start + _LOG_BLOCKS - 1, last)]
        ]
        found: list[dict[str, Any]] = []
        for answer in self._batch(windows):
            if "error" in answer:
                raise SendError(f"cannot read logs: {self._error_text(answer['error'])}")
            found.extend(answer["result"])
        return found

    def advance_to(self, timestamp: int) -> None:
        """Make chain time reach `timestamp`: mine an empty block locally, else wait for the chain."""
        if self._can_mine:
            if timestamp > self.latest_timestamp():
                self._clock = timestamp
                self._rpc("evm_setNextBlockTimestamp", [timestamp])
                self._mine_one()
                self._stats.blocks += 1
            return
        while self.latest_timestamp() < timestamp:
            time.sleep(1.0)
