"""Where a run's wall time went, told so that the lines under the wall time add up to it.

A run records (`RunResult.timings`) the seconds of each of its phases, which
follow one another (planning, set-up, trading, paying out, checking; reading
back on a resume), and the chain backend's seconds on the sending path
(signing, sending, mining and waiting, receipts), which are spent inside the
phases that send, receipts being part of mining and waiting. Listed together
under the wall time they add up to far more than it; here the phases (with
what is left of the wall time as "other") add up to it, and the sending path
is a separate group, labelled as lying within them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SENDING_PATH = ("signing", "sending", "mining and waiting")
#: Fetching receipts, timed inside "mining and waiting".
RECEIPTS = "receipts"
OTHER = "other"
#: The rest of the run's time by kind of work: everything but the sending path.
BOOKKEEPING = "python bookkeeping and reads"
#: Short enough that the run table still fits 80 columns with a full address beside it.
SENDING_PATH_HEADING = "sending path (inside phases)"
#: Less of the wall time than this outside every phase gets no "other" line.
_SHOWN_REST_S = 0.005


@dataclass(frozen=True)
class TimeLine:
    """One line of the breakdown: `depth` 0 is a total, 1 a part of it, 2 a part of that part."""

    label: str
    seconds: float
    depth: int


def phases(wall_time_s: float, timings: Mapping[str, float]) -> dict[str, float]:
    """The run's phases in order, and "other" for the wall time outside them: they add up to the wall time."""
    split = {name: s for name, s in timings.items() if name not in SENDING_PATH and name != RECEIPTS}
    rest = wall_time_s - sum(split.values())
    if split and rest >= _SHOWN_REST_S:
        split[OTHER] = rest
    return split


def by_kind_of_work(wall_time_s: float, timings: Mapping[str, float]) -> dict[str, float]:
    """Signing, sending, mining and waiting, and the rest as Python bookkeeping: they add up to the wall time."""
    split = {name: timings[name] for name in SENDING_PATH if name in timings}
    split[BOOKKEEPING] = max(0.0, wall_time_s - sum(split.values()))
    return split


def time_lines(wall_time_s: float, timings: Mapping[str, float]) -> list[TimeLine]:
    """The wall time and its phases, then the sending path within them (receipts within mining and waiting)."""
    lines = [TimeLine("wall time", wall_time_s, 0)]
    lines += [TimeLine(name, seconds, 1) for name, seconds in phases(wall_time_s, timings).items()]
    sending = [name for name in SENDING_PATH if name in timings]
    if sending:
        lines.append(TimeLine(SENDING_PATH_HEADING, sum(timings[name] for name in sending), 0))
        for name in sending:
            lines.append(TimeLine(name, timings[name], 1))
            if name == "mining and waiting" and RECEIPTS in timings:
                lines.append(TimeLine(f"of which {RECEIPTS}", timings[RECEIPTS], 2))
    return lines
