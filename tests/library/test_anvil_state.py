"""A local chain that keeps its state in a file (ChainOptions.state_path, `chain --state`).

The file must survive anything that kills the node: SIGKILL while a save is
being written leaves either the previous whole file or the new whole file,
never a file cut short; and a saved file never holds a state ahead of its own
blocks (a chain restarted from it agrees with itself: every account's nonce is
the number of its transactions in the chain's blocks).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from p2p_energy.chain.anvil import ChainOptions, LocalChain

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: Storage slots written into one account, so that a save takes long enough to be caught mid-write.
FILLER_SLOTS = 30_000
FILLER = "0x" + "ab" * 20


def rpc(url: str, method: str, *params) -> object:
    answer = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=60)
    body = answer.json()
    assert "error" not in body, body
    return body["result"]


def fill(url: str, slots: int = FILLER_SLOTS) -> None:
    """Many storage slots in one account (anvil_setStorageAt in JSON-RPC batches), then a few blocks."""
    for start in range(0, slots, 5_000):
        batch = [
            {"jsonrpc": "2.0", "id": n, "method": "anvil_setStorageAt", "params": [FILLER, hex(n), "0x" + "11" * 32]}
            for n in range(start, min(start + 5_000, slots))
        ]
        requests.post(url, json=batch, timeout=60).raise_for_status()
    for _ in range(8):
        rpc(url, "evm_mine")


def block_number(url: str) -> int:
    return int(str(rpc(url, "eth_blockNumber")), 16)


def wait_for_a_save(state: Path, after: float, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not (state.exists() and state.stat().st_mtime >= after):
        assert time.monotonic() < deadline, f"no save of {state} within {timeout:.0f} s"
        time.sleep(0.01)


def kill_node(chain: LocalChain) -> None:
    assert chain.pid is not None
    os.killpg(chain.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while chain.exit_code() is None:
        assert time.monotonic() < deadline, "anvil did not die"
        time.sleep(0.01)


def kill_mid_save(chain: LocalChain, state: Path, timeout: float = 20.0) -> str:
    """SIGKILL the node while a save of `state` is being written; says how the save showed itself.

    A save in progress shows either as `state` being rewritten in place (its
    size drops below that of the last whole save) or as another file in its
    folder (a file written beside it, to replace it when whole).
    """
    whole = state.stat().st_size
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        others = [p.name for p in state.parent.iterdir() if p != state]
        size = state.stat().st_size if state.exists() else 0
        if others or size < whole:
            kill_node(chain)
            return f"killed with {others} beside it, {size:,} of {whole:,} bytes in place"
        whole = max(whole, size)
    pytest.fail(f"no save of {state} was seen starting within {timeout:.0f} s")


def test_a_node_killed_while_saving_leaves_the_last_whole_state(toolchain, tmp_path):
    folder = tmp_path / "kept"
    folder.mkdir()
    state = folder / "chain.json"
    chain = LocalChain(toolchain.anvil, ChainOptions(accounts=2, state_path=state)).start()
    try:
        fill(chain.url)
        saved_block = block_number(chain.url)
        wait_for_a_save(state, time.time())
        time.sleep(0.2)  # a save started before the last block, if any, is written out
        how = kill_mid_save(chain, state)
    finally:
        chain.stop()
    text = state.read_text()
    assert text.rstrip().endswith("}"), f"{how}: the state file was cut short at {len(text):,} characters"
    json.loads(text)  # whole JSON
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2, state_path=state)) as restarted:
        assert block_number(restarted.url) == saved_block, how
        slot = rpc(restarted.url, "eth_getStorageAt", FILLER, hex(FILLER_SLOTS - 1), "latest")
        assert slot == "0x" + "11" * 32


def busy(url: str, sender: str, stop: threading.Event) -> None:
    """Send transfers from `sender`, a few milliseconds apart (anvil automines each into its own block)."""
    while not stop.wait(0.003):
        tx = {"from": sender, "to": FILLER, "value": "0x1", "gas": hex(21_000)}
        try:
            rpc(url, "eth_sendTransaction", tx)
        except requests.RequestException:
            return  # the node is gone


def transactions_in_blocks(url: str) -> int:
    """Transactions in the chain's blocks (all of them from one sender here)."""
    numbers = range(block_number(url) + 1)
    batch = [
        {"jsonrpc": "2.0", "id": n, "method": "eth_getBlockTransactionCountByNumber", "params": [hex(n)]}
        for n in numbers
    ]
    answers = requests.post(url, json=batch, timeout=60).json()
    return sum(int(answer["result"], 16) for answer in answers)


@pytest.mark.parametrize("round_", range(2))
def test_a_state_saved_while_blocks_are_mined_matches_its_blocks(toolchain, tmp_path, round_):
    """SIGKILLed at a random moment while a client mines block after block: the chain restarted from
    its file holds exactly the transactions of its blocks (the state is not ahead of them)."""
    state = tmp_path / "chain.json"
    chain = LocalChain(toolchain.anvil, ChainOptions(accounts=2, state_path=state)).start()
    stop = threading.Event()
    try:
        fill(chain.url, slots=10_000)
        sender = chain.accounts[0].address
        worker = threading.Thread(target=busy, args=(chain.url, sender, stop))
        worker.start()
        started = time.time()
        wait_for_a_save(state, started)
        time.sleep(2.0 + 0.37 * round_)
        kill_node(chain)
    finally:
        stop.set()
        chain.stop()
    worker.join(timeout=30)
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2, state_path=state)) as restarted:
        nonce = int(str(rpc(restarted.url, "eth_getTransactionCount", sender, "latest")), 16)
        assert nonce == transactions_in_blocks(restarted.url)
