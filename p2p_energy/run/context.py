"""What a run is given, how it reports progress, and how it ends when something goes wrong.

:class:`RunContext` is the one argument of :func:`p2p_energy.run.loop.run_simulation`:
the scenario, the market on a chain backend, who operates it, the market's
timing, and where the run record goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import ChainBackend, NodeGone
from p2p_energy.chain.market import Market
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import P2PEnergyError
from p2p_energy.records.run_records import RunResult


class RunFailed(P2PEnergyError):
    """The run finished but the chain disagrees with the simulator's books."""

    def __init__(self, message: str, result: RunResult):
        super().__init__(message)
        self.result = result


class ChainStopped(P2PEnergyError):
    """The node stopped answering in the middle of a run; what it mined stays on chain."""

    RESUME = "restart it and run again with --resume"

    def __init__(self, url: str, stage: str, cause: BaseException | str, advice: str = RESUME):
        self.url = url
        self.stage = stage
        self.cause = cause if isinstance(cause, str) else cause.__class__.__name__
        super().__init__(f"the chain at {url} stopped answering during {stage} ({self.cause}); {advice}")

    def with_advice(self, advice: str) -> ChainStopped:
        return ChainStopped(self.url, self.stage, self.cause, advice)


@dataclass
class Progress:
    """Callbacks for a progress display; all optional. `note` gets a line worth keeping on screen."""

    phase: Callable[[str], None] = lambda _: None
    tick: Callable[[int, int, int], None] = lambda done, total, trades: None
    note: Callable[[str], None] = lambda _: None


@dataclass
class Stage:
    """Where the run is, for the message when the node stops answering."""

    name: str = "the start of the run"


@contextmanager
def reporting_chain_stops(rpc_url: str, stage: Stage) -> Iterator[None]:
    """Turn the node going away into ChainStopped, naming the stage it went away in."""
    try:
        yield
    except NodeGone as exc:
        raise ChainStopped(rpc_url or "the RPC URL", stage.name, exc.cause) from None


@dataclass(frozen=True)
class MarketTiming:
    """The deployed market's clock: slot 0 starts at `genesis`; a lot settles until its slot end + grace."""

    genesis: int
    slot_length: int
    grace_period: int

    def slot_start(self, chain_slot: int) -> int:
        return self.genesis + chain_slot * self.slot_length


@dataclass(frozen=True)
class RunContext:
    """Everything a run needs from outside.

    With `node_accounts`, households and the attacker send through accounts
    the node holds (eth_sendTransaction), one each, in order. The run record
    is written to `record_path` before the first transaction; with `resume`,
    the run recorded there is continued from what the chain holds.
    """

    scenario: Scenario
    market: Market
    admin: Account
    timing: MarketTiming
    node_accounts: tuple[str, ...] = ()
    evm_version: str = ""
    progress: Progress = field(default_factory=Progress)
    record_path: Path | None = None
    resume: bool = False

    @property
    def chain(self) -> ChainBackend:
        return self.market.chain
