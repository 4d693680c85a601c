"""Keeping a node's pool and our nonce counters in step: refusals, drops and what a stopped run left.

The part of the EVM backend (:class:`p2p_energy.chain.evm.EvmBackend`) that
repairs the pool: a refused transaction leaves a nonce gap (its account's
later transactions are withdrawn and sent again with the freed nonces); a
transaction sent but not mined goes out once more with the same bytes if its
nonce is still free, and never if it is used; a resumed run first brings
what an interrupted run left pending to rest.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from typing import Any

from p2p_energy.chain.backend import Call, SendError

_RECEIPT_POLL_S = 0.2
WITHDRAWN = "withdrawn: an earlier transaction of the same account was refused"
#: A node's answer to a transaction it holds already (geth: "already known"; anvil: "already imported").
_ALREADY_KNOWN = re.compile(r"already (known|imported)", re.IGNORECASE)


class PoolRepair:
    """Mixed into EvmBackend, whose transport, nonces and mining it uses."""

    _can_mine: bool
    _nonces: dict[str, int]
    receipt_timeout_s: float

    def _rpc(self, method: str, params: list[Any]) -> Any:
        raise NotImplementedError

    def _batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _error_text(self, error: dict[str, Any]) -> str:
        raise NotImplementedError

    def _mine_and_collect(self, hashes: list[str], timestamp: int | None) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def settle_pending(self, senders: Collection[str]) -> str:
        addresses = sorted({s.lower() for s in senders})
        pending = self._pending_counts(addresses)
        if not pending:
            return ""
        if self._can_mine:
            self._rpc("anvil_dropAllTransactions", [])
            self._nonces.clear()
            return f"{pending} transactions were pending, never mined: dropped, to be sent again"
        deadline = time.monotonic() + self.receipt_timeout_s
        left = pending
        while left and time.monotonic() < deadline:
            time.sleep(_RECEIPT_POLL_S)
            left = self._pending_counts(addresses)
        if left:
            raise SendError(f"{left} transactions of the run are still pending on the node; wait and resume again")
        return f"{pending} transactions were pending: waited until the node mined them"

    def _pending_counts(self, addresses: Sequence[str]) -> int:
        """Transactions of `addresses` in the node's pool: pending nonce minus mined nonce, summed."""
        requests = [("eth_getTransactionCount", [a, tag]) for a in addresses for tag in ("pending", "latest")]
        counts = [int(str(answer.get("result", "0x0")), 16) for answer in self._batch(requests)]
        return sum(max(0, counts[i] - counts[i + 1]) for i in range(0, len(counts), 2))

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
        used = self._used_nonces(sorted({calls[i].sender.address for i in missing}))
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
        if self._can_mine:  # clear what is stuck in the pool first, then send it again in nonce order
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

    def _used_nonces(self, addresses: Sequence[str]) -> dict[str, int]:
        """How many nonces each account has used in mined blocks."""
        answers = self._batch([("eth_getTransactionCount", [a, "latest"]) for a in addresses])
        used: dict[str, int] = {}
        for address, answer in zip(addresses, answers, strict=True):
            if "error" in answer:
                raise SendError(f"cannot read the nonce of {address}: {self._error_text(answer['error'])}")
            used[address] = int(str(answer["result"]), 16)
        return used

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
            if not self._can_mine:
                first = min(refused)
                raise SendError(
                    f"the node refused {calls[first].label} from {calls[first].sender.address} ({refused[first]}); "
                    f"later transactions of {address} are pending with a nonce gap: restart with --resume"
                )
            gapped.add(address)
            refused[index] = WITHDRAWN
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
