"""UTC calendar periods (hour, day, month) as epoch-ms starts, and how a time range splits into them.

A range [start, end) is answered from whole periods of the roll-up where it can and from the
raw call log only at its ragged edges (less than an hour at each end), which keeps every sum
exact for any range while reading few rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

HOUR = 3_600_000
DAY = 24 * HOUR
GRAINS = ("hour", "day", "month")  # finest first; each period of one lies inside one of the next
RAW = "raw"


def _month_start(ms: int) -> int:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp() * 1000)


def floor(grain: str, ms: int) -> int:
    """Start of the period of `grain` that holds `ms`."""
    if grain == "hour":
        return ms - ms % HOUR
    if grain == "day":
        return ms - ms % DAY
    return _month_start(ms)


def next_start(grain: str, start: int) -> int:
    """Start of the period after the one starting at `start`."""
    if grain == "hour":
        return start + HOUR
    if grain == "day":
        return start + DAY
    return _month_start(start + 32 * DAY)


def ceil(grain: str, ms: int) -> int:
    start = floor(grain, ms)
    return start if start == ms else next_start(grain, start)


def starts(grain: str, start: int, end: int) -> list[int]:
    """Starts of the periods that overlap [start, end)."""
    out = []
    period = floor(grain, start)
    while period < end:
        out.append(period)
        period = next_start(grain, period)
    return out


@dataclass(frozen=True, slots=True)
class Piece:
    grain: str  # one of GRAINS, or RAW for calls read from the log
    start: int
    end: int | None  # None: open, up to the newest call


def split(start: int, end: int | None, coarsest: str) -> list[Piece]:
    """Cover [start, end) with whole periods no coarser than `coarsest`, and raw edges."""
    return _split(start, end, GRAINS[: GRAINS.index(coarsest) + 1][::-1])


def _split(start: int, end: int | None, grains: tuple[str, ...]) -> list[Piece]:
    if end is not None and start >= end:
        return []
    if not grains:
        return [Piece(RAW, start, end)]
    grain, finer = grains[0], grains[1:]
    low = ceil(grain, start)
    high = None if end is None else floor(grain, end)
    if high is not None and low >= high:
        return _split(start, end, finer)
    return _split(start, low, finer) + [Piece(grain, low, high)] + ([] if high is None else _split(high, end, finer))


@dataclass(frozen=True, slots=True)
class Window:
    """The time range of a report: [start, end), end None meaning up to now, newest calls included."""

    start: int
    end: int | None
    now: int

    @property
    def stop(self) -> int:
        return self.now if self.end is None else self.end


def count(grain: str, start: int, end: int) -> int:
    """How many periods of `grain` overlap [start, end), without listing them."""
    if end <= start:
        return 0
    if grain == "month":
        first, last = (datetime.fromtimestamp(ms / 1000, UTC) for ms in (start, end - 1))
        return (last.year - first.year) * 12 + last.month - first.month + 1
    size = HOUR if grain == "hour" else DAY
    return (end - 1) // size - start // size + 1
