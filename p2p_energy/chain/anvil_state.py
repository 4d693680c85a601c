"""A local chain's state file: saved by us, whole, and never ahead of its own blocks.

anvil can keep its chain in a file itself (--state), but it writes the file
in place, so a SIGKILL mid-write leaves it cut short (and anvil then
refuses to start), and it reads the blocks and the state it writes at
different moments, so a block mined in between leaves the state ahead of
the blocks (a restarted chain then holds the effects of transactions no
block has). So a chain with a state file (`ChainOptions.state_path`) is only
loaded by anvil (--load-state); :class:`StateKeeper` saves it, every second
and when the chain stops: `anvil_dumpState` streamed into a file beside the
state file, checked to hold the state of its own last block
(:func:`matches_blocks`; if not, the save is dropped and tried again), then
flushed to disk and renamed over the state file
(:func:`p2p_energy.files.write_whole`).

The dump leaves out the states of earlier blocks (anvil's
--preserve-historical-states): with them a town's file is 2.4 times bigger,
a save several times slower, and anvil reads them between the blocks and
the state, where a block mined meanwhile puts the state ahead. A restarted
chain cannot replay old transactions then, but still has the call traces
anvil stored when it mined them (`trace_transaction`), which is where
:meth:`p2p_energy.chain.evm.EvmBackend.explain_revert` finds why an old
transaction reverted.

Dumps of a city-scale chain are a hundred MB and more: never held in memory
whole, but decoded (hex, gzip) and written as they arrive.
"""

from __future__ import annotations

import binascii
import itertools
import json
import re
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import requests

from p2p_energy.chain.backend import ChainError
from p2p_energy.chain.processes import deferred_signals
from p2p_energy.errors import UsageError
from p2p_energy.files import write_whole

#: Seconds from the end of one save to the start of the next, at least: a save that took longer is
#: followed by a pause twice as long (anvil's dump of a big state costs it seconds of work).
STATE_SAVE_INTERVAL_S = 1.0
#: After a dump that was ahead of its blocks, the next comes sooner (as long again as it took, at least this).
_RETRY_S = 0.1
#: The longest one dump may take (a city-scale chain's state with its history is hundreds of MB).
_DUMP_TIMEOUT_S = 300.0
#: Saves tried when the chain stops (one is dropped if a block with transactions was mined as it was read).
_FINAL_SAVES = 10
_CHUNK = 1 << 20
_RESULT = b'"result":"0x'
_ENV_BLOCK = re.compile(rb'\{"block":\{"number":"?(0x[0-9a-fA-F]+|[0-9]+)')
_BEST_BLOCK = re.compile(rb'"best_block_number":"?(0x[0-9a-fA-F]+|[0-9]+)')
#: An account of the dump's current state: `"0x<address>":{"nonce":N,...` (its history lists fields otherwise).
_NONCE = re.compile(rb'"(0x[0-9a-f]{40})":\{"nonce":([0-9]+)')


def check_state_folder(path: Path) -> None:
    """UsageError unless a file can be written beside `path` (where its saves are written first)."""
    if not path.parent.is_dir():
        raise UsageError(f"the folder {path.parent} of the state file does not exist: create it or choose another")
    probe = path.with_name(f".{path.name}.saving")
    try:
        probe.open("ab").close()
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write the state file {path}: {exc.strerror or exc}; choose another") from None


def unloadable(path: Path, log: str) -> UsageError:
    """One line for a state file anvil refused to load (its own message is lines about its arguments)."""
    if "EOF while parsing" in log:
        why = "it ends mid-way (cut short while it was written?)"
    elif "failed to read" in log:
        why = "it cannot be read"
    else:
        why = "it is not an anvil state file"
    return UsageError(f"cannot load the chain state {path}: {why}; restore a good copy, or delete it to start anew")


def _hex_result(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The hex digits of a JSON-RPC answer's string result, as they arrive; ChainError for an error answer."""
    prefix = b""
    pieces = iter(chunks)
    for chunk in pieces:
        prefix += chunk
        at = prefix.find(_RESULT)
        if at >= 0:
            rest = prefix[at + len(_RESULT) :]
            break
    else:
        try:
            error = json.loads(prefix)["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
        except (ValueError, KeyError, TypeError):
            message = prefix[:200].decode(errors="replace")
        raise ChainError(f"anvil did not dump its state: {message}")
    for chunk in itertools.chain([rest], pieces):
        end = chunk.find(b'"')
        if end >= 0:
            yield chunk[:end]
            return
        yield chunk
    raise requests.ConnectionError("anvil's state dump ended early")


def dump(url: str) -> Iterator[bytes]:
    """`anvil_dumpState` (without the states of earlier blocks), as pieces of the state's JSON.

    Raises requests.RequestException if the node is gone or the answer ends early, ChainError if anvil refuses.
    """
    request = {"jsonrpc": "2.0", "id": 1, "method": "anvil_dumpState", "params": [False]}
    with requests.post(url, json=request, stream=True, timeout=_DUMP_TIMEOUT_S) as answer:
        answer.raise_for_status()
        gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        odd = b""
        for digits in _hex_result(answer.iter_content(_CHUNK)):
            digits = odd + digits
            even = len(digits) - len(digits) % 2
            odd = digits[even:]
            yield gunzip.decompress(binascii.unhexlify(digits[:even]))
        yield gunzip.flush()
        if odd or not gunzip.eof:
            raise requests.ConnectionError("anvil's state dump ended early")


@dataclass
class DumpFacts:
    """What a dump says of itself: the block its environment is at, its last block, its accounts' nonces."""

    env_block: int | None = None
    best_block: int | None = None
    nonces: dict[str, int] = field(default_factory=dict)
    _head: bytes = b""
    _tail: bytes = b""

    def scan(self, data: bytes) -> None:
        """Read the next piece of the dump's JSON."""
        if len(self._head) < 4096:
            self._head += data[:4096]
            env = _ENV_BLOCK.match(self._head)
            self.env_block = int(env[1], 0) if env else None
        if self.best_block is not None:
            return
        window = self._tail + data
        best = _BEST_BLOCK.search(window)
        end = best.start() if best else len(window)
        self.nonces.update((m[1].decode(), int(m[2])) for m in _NONCE.finditer(window, 0, end))
        if best:
            self.best_block = int(best[1], 0)
        self._tail = window[-128:]


def _call(url: str, method: str, *params: Any) -> Any:
    answer = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30)
    body = answer.json()
    if "error" in body:
        raise ChainError(f"{method}: {body['error']}")
    return body["result"]


def matches_blocks(url: str, facts: DumpFacts) -> bool:
    """Whether a dump holds the state of its own last block, not a later one.

    Blocks are mined one after the other, so the state is ahead exactly when
    it holds the first block with transactions mined after the dump's last
    block; the nonce of that block's first sender says whether it does
    (blocks without transactions change no account).
    """
    best = facts.best_block
    if best is None or facts.env_block != best:
        return False
    latest = int(_call(url, "eth_blockNumber"), 16)
    for number in range(best + 1, latest + 1):
        hashes = _call(url, "eth_getBlockByNumber", hex(number), False)["transactions"]
        if hashes:
            tx = _call(url, "eth_getTransactionByHash", hashes[0])
            return facts.nonces.get(str(tx["from"]).lower(), 0) == int(tx["nonce"], 16)
    return True


def write_state(url: str, out: BinaryIO) -> bool:
    """The chain's state into `out`; False if it was ahead of its blocks (see :func:`matches_blocks`)."""
    facts = DumpFacts()
    for data in dump(url):
        facts.scan(data)
        out.write(data)
    return matches_blocks(url, facts)


class StateKeeper:
    """Saves a chain's state to its file: every STATE_SAVE_INTERVAL_S or more in a thread, on demand, at the end."""

    def __init__(self, url: str, path: Path) -> None:
        self.url, self.path = url, path
        #: Why the file could not be saved (one line), if it could not.
        self.error: str | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"state of {url}", daemon=True)

    def start(self) -> None:
        with deferred_signals():  # the thread starts with them held back: they go to the main thread
            self._thread.start()

    def save(self) -> bool:
        """One save: True if the file now holds the chain, False if its state was ahead of its blocks (file kept).

        Raises requests.RequestException (the node is gone or did not answer),
        ChainError (anvil refused) or OSError (the file could not be written).
        """
        with self._lock:
            return write_whole(self.path, lambda out: write_state(self.url, out))

    def _save_or_say(self) -> bool | None:
        """save(), with a failure the user must hear of kept in `error`; None if the node did not answer."""
        try:
            return self.save()
        except requests.RequestException:  # gone (its death is reported where it is watched) or busy: next time
            return None
        except (ChainError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.error = f"cannot save the chain state to {self.path}: {reason}"
            return None

    def _run(self) -> None:
        pause = STATE_SAVE_INTERVAL_S
        while not self._done.wait(pause) and self.error is None:
            started = time.monotonic()
            saved = self._save_or_say()
            took = time.monotonic() - started
            pause = max(_RETRY_S, took) if saved is False else max(STATE_SAVE_INTERVAL_S, 2 * took)

    def stop(self, *, final_save: bool) -> None:
        """End the saves (waiting for one under way); then, if `final_save`, save until a dump matches its blocks."""
        self._done.set()
        self._thread.join()
        if not final_save or self.error is not None:
            return
        for _ in range(_FINAL_SAVES):
            if self._save_or_say() is not False:
                return
        self.error = f"the chain kept mining while it was saved: {self.path} holds its last whole save"
