"""How the run's matching rounds met the chain's clock, as records (summary.json's "clock"; docs/qtum.md).

Each round of the operator (its closings and the matchOrders of the next
`window_slots` slots) is sent half a slot before its first slot starts,
each matchOrders call in a block after the one before. On a chain whose
blocks come on a fixed clock (`--block-time 32`: Qtum mainnet) a round's
calls wait for the beats of that clock; the records say when each round
went out, when its last call was mined, in how many blocks, and whether
that was before trading in its first slot closed. Like `records`, this
module depends only on the ground floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class RoundRecord:
    """One round: its first slot (scenario index), its transactions and their gas, the chain time it was sent
    for, when its first slot's trading closes (the slot's start), when its last transaction was mined and in
    how many blocks its transactions landed."""

    first_slot: int
    transactions: int
    gas: int
    sent_at: int
    closes_at: int
    mined_at: int
    blocks: int

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if min(self.first_slot, self.transactions, self.gas, self.blocks) < 0:
            raise ValueError(f"round from slot {self.first_slot}: counts must be >= 0")

    @property
    def wait_s(self) -> int:
        """Seconds from sending the round to the block holding its last transaction."""
        return self.mined_at - self.sent_at

    @property
    def late(self) -> bool:
        """True when the round's last transaction was mined once its first slot had started: trading had closed."""
        return self.mined_at >= self.closes_at


@dataclass(frozen=True)
class ClockRecord:
    """The rounds of a run on a chain's clock: `block_time_s` (None: a block whenever a phase needed one),
    the block gas limit, the day's length and all the run's gas, for the share of the chain's capacity."""

    block_time_s: int | None
    block_gas_limit: int
    day_s: int
    slots: int
    run_gas: int
    rounds: tuple[RoundRecord, ...] = ()

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def figures(self) -> dict[str, Any]:
        """What summary.json, the terminal table and the page show: late rounds, the longest wait, blocks per
        round and per slot, and (on a fixed clock) the share of the chain's block capacity the run's gas takes."""
        rounds = self.rounds
        blocks = sum(r.blocks for r in rounds)
        capacity = None
        if self.block_time_s is not None and self.day_s > 0:
            capacity = self.run_gas / (self.day_s / self.block_time_s * self.block_gas_limit)
        return {
            "rounds_sent": len(rounds),
            "rounds_late": sum(1 for r in rounds if r.late),
            "longest_wait_s": max((r.wait_s for r in rounds), default=0),
            "max_blocks_per_round": max((r.blocks for r in rounds), default=0),
            "blocks_per_slot": blocks / self.slots if self.slots else 0.0,
            "block_capacity_share": capacity,
        }
