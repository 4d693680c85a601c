"""The Qtum chain backend: qtumd's own contract RPC, no Ethereum adapter in between.

Qtum is a UTXO chain with an EVM on top. A contract call is a transaction
output (`OP_CALL`) paid from the sender's coins; `msg.sender` is the HASH160
of the sender's public key, not the keccak address. So this backend

- makes each account's address the HASH160 of its key
  (:meth:`QtumBackend.account`) and imports the key into the node's wallet
  (`importdescriptors`, one call for many keys), so the wallet can sign for it;
- sends with `sendtocontract ... SENDER` (base58 sender), deploys with
  `createcontract` (the address comes from the node's answer, never
  predicted), reads with `callcontract`, receipts with
  `gettransactionreceipt` (`excepted` for a revert), logs with `searchlogs`;
- decodes a revert by replaying the call with `callcontract` (a receipt
  carries no revert data): the replay runs on the current state, not on the
  block's;
- funds accounts with one `sendmany` (fees are paid in QTUM from each
  sender's own coins; Qtum refunds unused gas in the block's coinbase, which
  matures only 2,000 blocks later, so every transaction locks its whole gas
  limit x gas price);
- on a regtest node it controls (`can_mine`), moves time with `setmocktime`
  and mines with `generatetoaddress`, as anvil's mining does; elsewhere it
  waits for the network's blocks. With a block time (`--block-time 32`:
  mainnet's clock) it mines only on the beats of that clock, so a phase
  larger than a block (40,000,000 gas, as on mainnet) waits for the next
  beat, as it would on the real chain;
- gives the node's clock back to the wall clock when done (`close`).

The mempool takes at most `max_unconfirmed` transactions per sender (25 by
default on Qtum), and the wallet at most about 500 contract transactions
between blocks (:data:`MAX_CALLS_PER_ROUND`, measured): a phase is sent in
rounds that keep to both, each round mined (or waited for) before the next.
The regtest node this project starts raises the per-sender limit (see
:mod:`p2p_energy.chain.qtumd`).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from eth_utils.address import to_checksum_address

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import (
    BlockRef,
    Call,
    CallReverted,
    ChainError,
    Deployed,
    InsufficientFunds,
    MinedTransaction,
    Outcome,
    SendError,
    SendStats,
)
from p2p_energy.chain.qtum_keys import QtumKey, fromhexaddress
from p2p_energy.chain.qtum_rpc import QtumRpc, QtumRpcError
from p2p_energy.chain.qtum_scan import mined_contract_calls
from p2p_energy.networks import QTUM_BLOCK_GAS_LIMIT, NetworkPreset
from p2p_energy.units import SATOSHI_PER_QTUM, satoshi_to_qtum

#: Qtum's default mempool limit of unconfirmed transactions per sender (ancestors).
DEFAULT_MAX_UNCONFIRMED = 25
#: Contract transactions qtumd's wallet takes between two blocks: measured (v27.1, regtest, 2026-12-07) with
#: 700 and 1,100 senders of one `sendtocontract` each, nothing mined between: the first 501 went in, every
#: later one was refused with `map::at` and not broadcast; after one block the next 501 went in. A round
#: of at most 500 is mined (or waited for) before the next.
MAX_CALLS_PER_ROUND = 500
#: Gas limit of a contract creation: enough for the escrow (2.2M), well inside a block.
DEPLOY_GAS = 6_000_000
#: Headroom over callcontract's gasUsed for a transaction's gas limit, and the least limit a node relays.
GAS_MARGIN_PERCENT = 20
MIN_GAS_LIMIT = 30_000
#: Blocks with nothing new of ours after which the rest of a phase counts as dropped (where we mine).
_STALLED_BLOCKS = 3
_RECEIPT_POLL_S = 1.0
#: Outputs per funding transaction, and its fee (satoshi): generous for ~35 bytes an output.
_FUND_OUTPUTS = 500
#: What one transaction's fee beyond its gas may cost (satoshi): ~300 bytes at qtumd's fallback fee, x10.
_TX_FEE = 300_000
_FUND_FEE_BASE = 1_000_000
_FUND_FEE_PER_OUTPUT = 20_000


def _hex(address: str) -> str:
    """A 20-byte address as qtumd spells it: 40 lowercase hex digits, no 0x."""
    return address.removeprefix("0x").lower()


def _evm_log(log: dict[str, Any]) -> dict[str, Any]:
    """A qtumd log entry in the shape of an Ethereum log (0x hex), for the ABI codec."""
    return {
        "address": "0x" + str(log["address"]),
        "topics": ["0x" + str(t) for t in log["topics"]],
        "data": "0x" + str(log.get("data", "")),
    }


class QtumBackend:
    """A :class:`~p2p_energy.chain.backend.ChainBackend` over qtumd's wallet RPC; see the module docstring."""

    def __init__(
        self,
        rpc: QtumRpc,
        codec: AbiCodec,
        network: NetworkPreset,
        *,
        miner: str | None = None,
        gas_price_satoshi: int | None = None,
        max_unconfirmed: int = DEFAULT_MAX_UNCONFIRMED,
        receipt_timeout_s: float = 600.0,
        block_time: int | None = None,
    ):
        self.rpc = rpc
        self.codec = codec
        self.network = network
        #: The base58 address mined blocks pay to, where this backend mines (regtest it controls); else None.
        self.miner = miner
        self._gas_price = gas_price_satoshi if gas_price_satoshi is not None else network.min_gas_price_satoshi
        self.max_unconfirmed = max_unconfirmed
        self.receipt_timeout_s = receipt_timeout_s
        if block_time is not None and block_time <= 0:
            raise ValueError(f"block time must be a positive number of seconds, got {block_time}")
        self._block_time = block_time
        self._stats = SendStats()
        self._base58: dict[str, str] = {}  # lowercase hex -> base58
        self._pending_keys: list[QtumKey] = []
        #: Whether we pinned the node's clock (setmocktime): close() gives it back.
        self._moved_clock = False
        self._clock = self.latest_block().timestamp

    # ------------------------------------------------------------- properties

    @property
    def url(self) -> str:
        return self.rpc.url.public

    @property
    def chain_id(self) -> int:
        return self.network.chain_id

    @property
    def gas_price(self) -> int:
        """Satoshi per gas (40 is Qtum's minimum)."""
        return self._gas_price

    @property
    def block_gas_limit(self) -> int:
        return QTUM_BLOCK_GAS_LIMIT

    @property
    def fee_currency(self) -> tuple[str, int]:
        return ("QTUM", 8)

    @property
    def can_mine(self) -> bool:
        return self.miner is not None

    @property
    def clock(self) -> int:
        return self._clock

    @property
    def block_time(self) -> int | None:
        """Seconds between blocks where we mine on a fixed clock (`--block-time`: mainnet's 32 s), or the
        spacing expected of a network we wait for; None: blocks are mined when a phase needs one."""
        return self._block_time

    @property
    def stats(self) -> SendStats:
        return self._stats

    # --------------------------------------------------------------- accounts

    def account(self, private_key: bytes) -> Account:
        """The account of a key we hold: its address is the key's HASH160 (what `msg.sender` is on Qtum).
        The key goes into the node's wallet before this account's first transaction."""
        key = QtumKey(private_key)
        address = str(to_checksum_address(key.hash160_address))
        if _hex(address) not in self._base58:
            self._base58[_hex(address)] = key.qtum_address(self.network)
            self._pending_keys.append(key)
        return Account(address, private_key)

    def wallet_account(self, base58: str) -> Account:
        """An account of the node's wallet, by its base58 address."""
        address = "0x" + str(self.rpc.call("gethexaddress", base58))
        self._base58[_hex(address)] = base58
        return Account.held_by_node(address)

    def native_address(self, account: Account) -> str:
        return self.sender(account)

    def sender(self, account: Account) -> str:
        """The base58 address qtumd sends from for `account`."""
        return self._base58_of(account.address)

    def _base58_of(self, address: str) -> str:
        """The base58 form of a hex address: known for our accounts, else derived for this network."""
        return self._base58.get(_hex(address)) or fromhexaddress(_hex(address), self.network)

    def _import_keys(self) -> None:
        """Put the keys of new accounts into the wallet: one importdescriptors call (one rescan) for all."""
        if not self._pending_keys:
            return
        keys, self._pending_keys = self._pending_keys, []
        wifs = [k.to_wif(self.network) for k in keys]
        infos = self.rpc.batch([("getdescriptorinfo", [f"pkh({w})"]) for w in wifs])
        requests = [
            {"desc": f"pkh({w})#{info['result']['checksum']}", "timestamp": "now"}
            for w, info in zip(wifs, infos, strict=True)
        ]
        results = self.rpc.call("importdescriptors", requests)
        failed = [r for r in results if not r.get("success")]
        if failed:
            raise SendError(f"the node's wallet refused {len(failed)} keys: {failed[0].get('error')}")

    # ------------------------------------------------------------------ reads

    def call(self, to: str, data: bytes, block: str | int = "latest") -> bytes:
        """A view call on the current state (callcontract takes no block)."""
        return self.calls([(to, data)])[0]

    def calls(self, requests: Sequence[tuple[str, bytes]]) -> list[bytes]:
        answers = self.rpc.batch([("callcontract", [_hex(to), data.hex()]) for to, data in requests])
        out = []
        for (to, _), answer in zip(requests, answers, strict=True):
            if answer.get("error"):
                raise SendError(f"call to {to} failed: {answer['error'].get('message')}")
            result = answer["result"]["executionResult"]
            if result["excepted"] != "None":
                raise SendError(f"call to {to} failed: {self._why(result)}")
            out.append(bytes.fromhex(result["output"]))
        return out

    def _why(self, execution: dict[str, Any]) -> str:
        output = str(execution.get("output", ""))
        if len(output) >= 8:
            return self.codec.decode_error("0x" + output)
        return f"{execution['excepted']} {execution.get('exceptedMessage', '')}".strip()

    def estimate_gas(self, sender: Account, to: str, data: bytes) -> int:
        result = self.rpc.call("callcontract", _hex(to), data.hex(), self.sender(sender))["executionResult"]
        if result["excepted"] != "None":
            raise CallReverted(self.codec.function_of(data) or "the transaction", self._why(result))
        # gasUsed is after refunds (freed storage); the execution needs the refunded gas too until its end.
        needed = int(result["gasUsed"]) + int(result.get("gasRefunded", 0))
        return max(MIN_GAS_LIMIT, needed * (100 + GAS_MARGIN_PERCENT) // 100)

    def code_at(self, address: str) -> bytes:
        try:
            info = self.rpc.call("getaccountinfo", _hex(address))
        except QtumRpcError:
            return b""  # "Address does not exist"
        return bytes.fromhex(str(info.get("code", "")))

    def latest_block(self) -> BlockRef:
        header = self.rpc.call("getblockheader", self.rpc.call("getbestblockhash"))
        return BlockRef(int(header["height"]), "0x" + str(header["hash"]), int(header["time"]))

    def block_hash(self, number: int) -> str | None:
        try:
            return "0x" + str(self.rpc.call("getblockhash", number))
        except QtumRpcError:
            return None

    def logs(self, addresses: Collection[str], first_block: int) -> list[dict[str, Any]]:
        receipts = self.rpc.call("searchlogs", first_block, -1, {"addresses": sorted(_hex(a) for a in addresses)})
        return [
            {
                **_evm_log(log),
                "transactionHash": "0x" + str(receipt["transactionHash"]),
                "blockNumber": hex(int(receipt["blockNumber"])),
            }
            for receipt in receipts
            for log in receipt.get("log", [])
        ]

    def mined_transactions(self, senders: Collection[str], first_block: int) -> list[MinedTransaction]:
        """Every contract call from `senders` in blocks `first_block`..latest, in chain order."""
        return mined_contract_calls(self.rpc, {_hex(s) for s in senders}, first_block, _evm_log)

    def settle_pending(self, senders: Collection[str]) -> str:
        """qtumd keeps its pool across a restart and a wallet transaction cannot be taken back: where we
        mine, the pool is mined now (the read-back then sees those calls); elsewhere we wait for it."""
        pending = len(self.rpc.call("getrawmempool"))
        if not pending:
            return ""
        if self.can_mine:
            self._mine(None)
            return f"{pending} transactions were pending in qtumd's pool: mined now, and read back with the rest"
        deadline = time.monotonic() + self.receipt_timeout_s
        while self.rpc.call("getrawmempool") and time.monotonic() < deadline:
            time.sleep(_RECEIPT_POLL_S)
        return f"{pending} transactions were pending: waited until the network mined them"

    def explain_revert(self, call: Call, block: int, tx_hash: str) -> str:
        """The decoded custom error of a reverted call, from replaying it with callcontract on the current state."""
        result = self.rpc.call("callcontract", _hex(call.to), call.data.hex(), self.sender(call.sender), call.gas)
        execution = result["executionResult"]
        if execution["excepted"] == "None":
            return "reverted in its block but not on replay (it depended on the state of its block)"
        return self._why(execution) + " (replayed on the current state)"

    # ---------------------------------------------------------------- writing

    def deploy(self, name: str, bytecode: str, constructor_args: bytes, sender: Account) -> Deployed:
        self._import_keys()
        data = bytecode.removeprefix("0x") + constructor_args.hex()
        try:
            sent = self.rpc.call(
                "createcontract", data, DEPLOY_GAS, satoshi_to_qtum(self._gas_price), self.sender(sender)
            )
        except QtumRpcError as exc:
            raise CallReverted(f"deploy {name}", exc.message) from None
        receipts = self._collect({sent["txid"]}, None)
        receipt = receipts.get(sent["txid"])
        if receipt is None:
            raise CallReverted(f"deploy {name}", "not mined", "0x" + sent["txid"])
        if receipt["excepted"] != "None":
            raise CallReverted(f"deploy {name}", str(receipt["excepted"]), "0x" + sent["txid"])
        address = str(to_checksum_address("0x" + sent["address"]))
        return Deployed(name, address, "0x" + sent["txid"], int(receipt["blockNumber"]), int(receipt["gasUsed"]))

    def send(self, calls: Sequence[Call], *, timestamp: int | None = None) -> list[Outcome]:
        """Send `calls` in rounds of at most `max_unconfirmed` per sender, each round mined; outcomes in order."""
        self._import_keys()
        self._check_coins(calls)
        outcomes: list[Outcome | None] = [None] * len(calls)
        for round_ in self._rounds(calls):
            txids = self._submit(calls, round_, outcomes)
            receipts = self._collect(set(txids.values()), timestamp)
            for i, txid in txids.items():
                outcomes[i] = self._outcome(calls[i], txid, receipts.get(txid))
        return [o for o in outcomes if o is not None]

    def _check_coins(self, calls: Sequence[Call]) -> None:
        """Refuse (SendError, nothing sent) a phase whose senders lack the QTUM its gas limits lock."""
        needed: Counter[str] = Counter()
        for call in calls:
            needed[self.sender(call.sender)] += call.gas * self._gas_price + _TX_FEE
        coins = self.rpc.call("listunspent", 0, 9_999_999, sorted(needed))
        have: Counter[str] = Counter()
        for coin in coins:
            if coin.get("spendable"):
                have[coin["address"]] += int(Decimal(str(coin["amount"])) * SATOSHI_PER_QTUM)
        short = sorted((address, need - have[address]) for address, need in needed.items() if have[address] < need)
        if short:
            address, lacking = short[0]
            hex_address = "0x" + _hex(self._hex_of(address))
            raise InsufficientFunds(
                f"{address} ({hex_address}) lacks {satoshi_to_qtum(lacking)} QTUM for the fees of its next "
                f"{sum(1 for c in calls if self.sender(c.sender) == address)} transactions"
                + (f", and {len(short) - 1} more senders lack coins too" if len(short) > 1 else "")
                + "; nothing of this phase was sent: fund it and run again with --resume",
                hex_address,
                satoshi_to_qtum(lacking),
            )

    def _hex_of(self, base58: str) -> str:
        for hex_address, known in self._base58.items():
            if known == base58:
                return hex_address
        return str(self.rpc.call("gethexaddress", base58))

    def _rounds(self, calls: Sequence[Call]) -> list[list[int]]:
        """Indices of `calls` split so that no sender has more than max_unconfirmed in one round and no round
        more than MAX_CALLS_PER_ROUND calls; each sender's calls stay in the order given."""
        rounds: list[list[int]] = []
        seen: Counter[str] = Counter()
        for i, call in enumerate(calls):
            n = seen[call.sender.address]
            seen[call.sender.address] += 1
            place = n // self.max_unconfirmed
            while len(rounds) <= place:
                rounds.append([])
            rounds[place].append(i)
        return [
            r[start : start + MAX_CALLS_PER_ROUND] for r in rounds for start in range(0, len(r), MAX_CALLS_PER_ROUND)
        ]

    def _submit(self, calls: Sequence[Call], indices: list[int], outcomes: list[Outcome | None]) -> dict[int, str]:
        """sendtocontract for calls[indices] in JSON-RPC batches; refusals become outcomes at once."""
        started = time.perf_counter()
        price = satoshi_to_qtum(self._gas_price)
        requests = [
            (
                "sendtocontract",
                [_hex(calls[i].to), calls[i].data.hex(), satoshi_to_qtum(calls[i].value), calls[i].gas, price,
                 self.sender(calls[i].sender)],
            )
            for i in indices
        ]  # fmt: skip
        answers = self.rpc.batch(requests)
        self._stats.sending_s += time.perf_counter() - started
        txids: dict[int, str] = {}
        for i, answer in zip(indices, answers, strict=True):
            error = answer.get("error")
            if error:
                message = str(error.get("message", error))
                outcomes[i] = Outcome(calls[i], None, -1, error=f"refused by the node: {message}")
            else:
                txids[i] = str(answer["result"]["txid"])
        self._stats.transactions += len(txids)
        return txids

    def _collect(self, txids: set[str], timestamp: int | None) -> dict[str, dict[str, Any]]:
        """Receipts of `txids`: mined here (at `timestamp`) where this backend mines, else waited for."""
        receipts: dict[str, dict[str, Any]] = {}
        started = time.perf_counter()
        stalled = 0
        deadline = time.monotonic() + self.receipt_timeout_s
        while txids - receipts.keys():
            if self.can_mine:
                self._mine(timestamp)
            elif time.monotonic() > deadline:
                break
            else:
                time.sleep(_RECEIPT_POLL_S)
            found = self._receipts(sorted(txids - receipts.keys()))
            receipts.update(found)
            stalled = 0 if found else stalled + 1
            if self.can_mine and stalled >= _STALLED_BLOCKS:
                break
        self._stats.mining_s += time.perf_counter() - started
        return receipts

    def _receipts(self, txids: list[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for txid, answer in zip(txids, self.rpc.batch([("gettransactionreceipt", [t]) for t in txids]), strict=True):
            result = answer.get("result")
            if result:
                found[txid] = result[0]
        return found

    def _mine(self, timestamp: int | None) -> None:
        """One block, at `timestamp` (or just after the last one) on the node's mock clock; with a block time,
        at the first beat of the block clock from then on."""
        assert self.miner is not None
        at = max(timestamp if timestamp is not None else 0, self._clock)
        if self._block_time is not None:
            # A block only every block_time seconds: the first beat of that clock at or after `at`.
            beats = max(1, -(-(at - self._clock) // self._block_time))
            at = self._clock + beats * self._block_time
        self._moved_clock = True
        self.rpc.call("setmocktime", at)
        self.rpc.call("generatetoaddress", 1, self.miner)
        self._clock = self.latest_block().timestamp
        self._stats.blocks += 1

    def _outcome(self, call: Call, txid: str, receipt: dict[str, Any] | None) -> Outcome:
        if receipt is None:
            return Outcome(call, "0x" + txid, -1, error="not mined (dropped)")
        block, gas_used = int(receipt["blockNumber"]), int(receipt["gasUsed"])
        if receipt["excepted"] == "None":
            logs = tuple(_evm_log(log) for log in receipt.get("log", []))
            return Outcome(call, "0x" + txid, 1, gas_used, block, logs)
        return Outcome(call, "0x" + txid, 0, gas_used, block, (), self.explain_revert(call, block, txid))

    def advance_to(self, timestamp: int) -> None:
        """Make chain time reach `timestamp`: mine a block at it where this backend mines, else wait."""
        if self.can_mine:
            if timestamp > self._clock:
                self._mine(timestamp)
            return
        while self.latest_block().timestamp < timestamp:
            time.sleep(_RECEIPT_POLL_S)

    def fund(self, funder: Account, amounts: Mapping[str, int]) -> list[Outcome]:
        """Give each address its amount of satoshi for fees, from `funder`'s coins; one outcome per transaction.

        Built as raw transactions from `funder`'s own coins (createrawtransaction, signrawtransactionwithwallet,
        sendrawtransaction), so the coins come from the account named and from nowhere else in the wallet;
        and because qtumd v27.1's wallet coin selection (`sendmany`, `sendtoaddress`) was seen answering
        `map::at` after a run (on a staking node) while still broadcasting, which would leave us unsure
        whether coins went out.
        """
        self._import_keys()
        outcomes = []
        pending = list(amounts.items())
        for start in range(0, len(pending), _FUND_OUTPUTS):
            chunk = pending[start : start + _FUND_OUTPUTS]
            call = Call("fund", funder, "", b"", 0, sum(value for _, value in chunk))
            try:
                txid = self._pay(funder, {self._base58_of(a): value for a, value in chunk})
            except (QtumRpcError, SendError) as exc:
                outcomes.append(Outcome(call, None, -1, error=f"refused by the node: {exc}"))
                continue
            outcomes.append(Outcome(call, "0x" + txid, 1))
        if self.can_mine and any(o.ok for o in outcomes):
            self._mine(None)
        elif not self.can_mine:
            # Each household's first call spends its output of a funding transaction: unconfirmed, those
            # would be descendants of one transaction, and a default node refuses past 25 of them.
            outcomes = self._confirmed(outcomes)
        return outcomes

    def _confirmed(self, outcomes: list[Outcome]) -> list[Outcome]:
        """`outcomes` of sent funding transactions, each once the network has mined it (status -1: not within
        receipt_timeout_s)."""
        waiting = {o.tx_hash for o in outcomes if o.ok and o.tx_hash is not None}
        deadline = time.monotonic() + self.receipt_timeout_s
        while waiting and time.monotonic() < deadline:
            time.sleep(_RECEIPT_POLL_S)
            answers = self.rpc.batch([("gettransaction", [str(t).removeprefix("0x")]) for t in sorted(waiting)])
            for txid, answer in zip(sorted(waiting), answers, strict=True):
                if int((answer.get("result") or {}).get("confirmations", 0)) > 0:
                    waiting.discard(txid)
        return [
            replace(o, status=-1, error=f"not mined within {self.receipt_timeout_s:.0f} s") if o.tx_hash in waiting
            else o
            for o in outcomes
        ]  # fmt: skip

    def _pay(self, funder: Account, payments: dict[str, int]) -> str:
        """One transaction paying `payments` (base58 -> satoshi) from `funder`'s confirmed coins; its txid."""
        source = self.sender(funder)
        total = sum(payments.values())
        fee = _FUND_FEE_BASE + _FUND_FEE_PER_OUTPUT * len(payments)
        coins = sorted(
            (c for c in self.rpc.call("listunspent", 1, 9_999_999, [source]) if c.get("spendable")),
            key=lambda c: -Decimal(str(c["amount"])),
        )
        inputs, have = [], 0
        for coin in coins:
            if have >= total + fee:
                break
            inputs.append({"txid": coin["txid"], "vout": coin["vout"]})
            have += int(Decimal(str(coin["amount"])) * SATOSHI_PER_QTUM)
        if have < total + fee:
            raise SendError(
                f"{source} has {satoshi_to_qtum(have)} QTUM spendable, "
                f"{satoshi_to_qtum(total + fee)} needed to fund accounts"
            )
        outputs = [{address: satoshi_to_qtum(value)} for address, value in payments.items()]
        if have - total - fee > 0:
            outputs.append({source: satoshi_to_qtum(have - total - fee)})
        signed = self.rpc.call("signrawtransactionwithwallet", self.rpc.call("createrawtransaction", inputs, outputs))
        if not signed.get("complete"):
            raise SendError(f"the wallet could not sign the funding transaction from {source}")
        return str(self.rpc.call("sendrawtransaction", signed["hex"]))

    def close(self) -> None:
        """Give the node's clock back to the wall clock where we moved it (`setmocktime 0`).

        The blocks we mined keep their times, ahead of the wall clock: the next blocks are stamped just after
        them (a block's time must pass the median of the last 11) until the wall clock catches up.
        """
        if self._moved_clock:
            self._moved_clock = False
            # A node that is gone has nothing to restore; its going is reported by whoever noticed it.
            with contextlib.suppress(ChainError, OSError):
                self.rpc.call("setmocktime", 0)
