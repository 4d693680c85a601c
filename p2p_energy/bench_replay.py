"""How close a run comes to the chain's own speed (`make bench-replay`, issue 22).

`python -m p2p_energy.bench_replay [HOUSEHOLDS] [--slots N]` runs city-day
(scaled as `bench_scale` scales it) on a fresh anvil started as `simulate`
starts its own, then reads back every block the run made: its timestamp and
each transaction as signed (`eth_getRawTransactionByHash`). It starts a
second, fresh anvil with the same options, automine off, and replays the
blocks: for each, the block's timestamp (`evm_setNextBlockTimestamp`), its
raw transactions in JSON-RPC batches (`eth_sendRawTransaction`), `evm_mine`.
The replay is what the node needs for the run's transactions alone: no
planning, signing, reads or checks. It prints both times and the run's
throughput as a share of the replay's (goal: the run >= 0.8x, the whole
process >= 0.6x). Exit 1 if a replayed transaction failed or the run's
checks did not all pass.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from p2p_energy.bench import CITY_SCENARIO, simulated, simulation_chain
from p2p_energy.bench_scale import city_of
from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY, LocalChain
from p2p_energy.chain.rpc_batches import EVM_MAX_BODY_BYTES, cut_batches, request_bytes
from p2p_energy.domain.scenario import Scenario
from p2p_energy.solidity.compiler import DEFAULT_EVM_VERSION
from p2p_energy.solidity.toolchain import Toolchain, find_toolchain

#: Requests per JSON-RPC batch, as the EVM backend sends them.
_BATCH = 250
#: The goals of issue 22: the run's throughput, and the whole process's, as shares of the replay's.
RUN_GOAL = 0.8
PROCESS_GOAL = 0.6


@dataclass(frozen=True)
class Block:
    """One mined block of a run: its timestamp and its transactions as signed (0x-hex), in order."""

    timestamp: int
    raw: tuple[str, ...]


@dataclass(frozen=True)
class ReplayRow:
    """A run and its replay: seconds and shares."""

    households: int
    slots: int
    blocks: int
    transactions: int
    run_s: float
    process_s: float
    replay_s: float
    checks_passed: bool
    replay_failed: int

    def line(self) -> str:
        return (
            f"{self.households:,} households x {self.slots} slots: {self.transactions:,} transactions in "
            f"{self.blocks:,} blocks; run {self.run_s:.2f} s, whole process {self.process_s:.2f} s, replay "
            f"{self.replay_s:.2f} s; the run at {self.replay_s / self.run_s:.2f}x the replay's throughput "
            f"(goal {RUN_GOAL}x), the whole process at {self.replay_s / self.process_s:.2f}x (goal {PROCESS_GOAL}x); "
            f"checks {'passed' if self.checks_passed else 'FAILED'}, replayed transactions failed: {self.replay_failed}"
        )


def batch(w3: Web3, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
    """Send `requests` in JSON-RPC batches within anvil's body limit; their results in order (errors raise)."""
    results: list[Any] = []
    sizes = [request_bytes(method, params) for method, params in requests]
    for part in cut_batches(sizes, EVM_MAX_BODY_BYTES, _BATCH):
        for answer in w3.provider.make_batch_request([requests[i] for i in part]):  # type: ignore[attr-defined]
            if "error" in answer:
                raise RuntimeError(f"the node refused a replayed request: {answer['error']}")
            results.append(answer["result"])
    return results


def capture(w3: Web3) -> list[Block]:
    """Every block after genesis with its timestamp and raw signed transactions."""
    latest = w3.eth.block_number
    headers = batch(w3, [("eth_getBlockByNumber", [hex(n), False]) for n in range(1, latest + 1)])
    hashes = [tx for header in headers for tx in header["transactions"]]
    raws = iter(batch(w3, [("eth_getRawTransactionByHash", [h]) for h in hashes]))
    return [Block(int(h["timestamp"], 16), tuple(next(raws) for _ in h["transactions"])) for h in headers]


def replay(w3: Web3, blocks: Sequence[Block]) -> tuple[float, int]:
    """Mine `blocks` again on a fresh chain (automine off): the seconds taken and the transactions that failed."""
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    started = time.perf_counter()
    hashes: list[str] = []
    for block in blocks:
        w3.provider.make_request("evm_setNextBlockTimestamp", [block.timestamp])  # type: ignore[arg-type]
        hashes += batch(w3, [("eth_sendRawTransaction", [raw]) for raw in block.raw])
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    receipts = batch(w3, [("eth_getTransactionReceipt", [h]) for h in hashes])
    return seconds, sum(1 for r in receipts if r is None or int(r["status"], 16) != 1)


def measure(toolchain: Toolchain, scenario: Scenario, evm: str = DEFAULT_EVM_VERSION) -> ReplayRow:
    """Run `scenario`, capture its blocks, replay them on a fresh anvil."""
    with simulated(toolchain, scenario, evm, prune_history=SIMULATION_PRUNE_HISTORY) as (result, process_s, chain):
        blocks = capture(chain.web3())
    with LocalChain(toolchain.anvil, simulation_chain(evm, prune_history=SIMULATION_PRUNE_HISTORY)) as fresh:
        replay_s, failed = replay(fresh.web3(), blocks)
    return ReplayRow(
        households=len(scenario.households),
        slots=scenario.slots,
        blocks=len(blocks),
        transactions=sum(len(b.raw) for b in blocks),
        run_s=result.wall_time_s,
        process_s=process_s,
        replay_s=replay_s,
        checks_passed=bool(result.checks) and all(result.checks.values()),
        replay_failed=failed,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2p_energy.bench_replay", description=__doc__.split("\n")[0])
    parser.add_argument("households", type=int, nargs="?", default=1_000, help="households in all (default 1,000)")
    parser.add_argument("--slots", type=int, default=None, help="slots of 15 minutes (default 96, a day)")
    args = parser.parse_args(argv)
    if args.households < 10:
        parser.error("households must be at least 10 (city-day's three groups each need one)")
    toolchain = find_toolchain()
    row = measure(toolchain, city_of(args.households, toolchain.root / CITY_SCENARIO, args.slots))
    print(row.line(), flush=True)
    return 0 if row.checks_passed and not row.replay_failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
