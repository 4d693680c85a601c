"""Talking to qtumd: JSON-RPC over HTTP with basic auth, on the wallet's endpoint.

One :class:`QtumRpc` per node URL `http://USER:PASS@HOST:PORT`. Calls go to
`/wallet/NAME` when a wallet is named (qtumd serves several wallets).
Errors come back as :class:`QtumRpcError` with qtumd's code and message;
wrong credentials (HTTP 401) and something that is not a JSON-RPC node are
:class:`~p2p_energy.errors.UsageError` with one line saying what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests

from p2p_energy.chain.backend import ChainError
from p2p_energy.chain.rpc_batches import QTUMD_MAX_BODY_BYTES, cut_batches
from p2p_energy.chain.transport import node_answers
from p2p_energy.errors import UsageError

#: Requests per JSON-RPC batch: qtumd runs a batch's wallet calls one after another (cut by bytes
#: too, within what qtumd accepts: chain/rpc_batches.py).
RPC_BATCH = 200


class QtumRpcError(ChainError):
    """qtumd answered a call with an error."""

    def __init__(self, method: str, code: int, message: str):
        self.method = method
        self.code = code
        self.message = message
        super().__init__(f"{method} failed: {message} (code {code})")


class NodeUnavailable(ConnectionError):
    """qtumd answers but takes no calls now (HTTP 503: warming up, or shutting down)."""


@dataclass(frozen=True)
class NodeUrl:
    """A qtumd RPC URL split into its parts; `public` has no credentials (for messages and records)."""

    scheme: str
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def parse(cls, url: str) -> NodeUrl:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.port is None:
            raise UsageError(
                f"qtumd RPC URL {_without_password(url)!r} is not valid: give one like http://USER:PASS@127.0.0.1:3889"
            )
        if not parsed.username or parsed.password is None:
            raise UsageError(
                f"qtumd RPC URL {_without_password(url)!r} has no credentials: give http://USER:PASS@HOST:PORT"
            )
        return cls(parsed.scheme, parsed.hostname, parsed.port, parsed.username, parsed.password)

    @property
    def public(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def with_credentials(self) -> str:
        return f"{self.scheme}://{self.user}:{self.password}@{self.host}:{self.port}"


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return url.replace(f":{parsed.password}@", ":***@", 1)


class QtumRpc:
    """JSON-RPC calls to one qtumd (and one of its wallets)."""

    def __init__(self, url: NodeUrl, wallet: str | None = None, timeout_s: float = 120.0):
        self.url = url
        self.wallet = wallet
        self.timeout_s = timeout_s
        self._session = requests.Session()
        self._session.auth = (url.user, url.password)

    @property
    def endpoint(self) -> str:
        return self.url.public + (f"/wallet/{self.wallet}" if self.wallet else "/")

    def for_wallet(self, wallet: str) -> QtumRpc:
        return QtumRpc(self.url, wallet, self.timeout_s)

    def call(self, method: str, *params: Any) -> Any:
        answer = self._post({"jsonrpc": "1.0", "id": 0, "method": method, "params": list(params)})
        if not isinstance(answer, dict):
            raise ChainError(f"{method}: qtumd gave no JSON-RPC answer")
        error = answer.get("error")
        if error:
            raise QtumRpcError(method, int(error.get("code", 0)), str(error.get("message", error)))
        return answer.get("result")

    def batch(self, requests_: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
        """Raw answers in order: each {'result': ...} or {'error': {'code', 'message'}}."""
        items = [{"jsonrpc": "1.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(requests_)]
        sizes = [len(json.dumps(item)) + 2 for item in items]  # as requests encodes it, with its `, `
        answers: list[dict[str, Any]] = []
        for batch in cut_batches(sizes, QTUMD_MAX_BODY_BYTES, RPC_BATCH):
            found = self._post([items[i] for i in batch])
            if not isinstance(found, list):
                raise ChainError(f"qtumd refused a batch request: {found}")
            answers.extend(sorted(found, key=lambda a: int(a["id"])))
        return answers

    def _post(self, body: Any) -> Any:
        with node_answers(self.url.public):
            response = self._session.post(self.endpoint, json=body, timeout=self.timeout_s)
            if response.status_code == 503:  # warming up or shutting down: as good as gone for a run
                raise NodeUnavailable(f"qtumd at {self.url.public} is starting or stopping (HTTP 503)")
        if response.status_code == 401:
            raise UsageError(
                f"qtumd at {self.url.public} refused the RPC user and password (HTTP 401): check the URL's credentials"
            )
        if response.status_code not in (200, 404, 500) or "json" not in response.headers.get("content-type", ""):
            raise UsageError(
                f"something answers at {self.url.public} but it is not a qtumd JSON-RPC node "
                f"(HTTP {response.status_code})"
            )
        return response.json()
