"""The usage roll-up: model_calls folded into usage_rollup, incrementally, by id watermark.

usage_rollup holds exact sums and latency histograms per grain (hour, day, month), cube and
period. A cube keeps some dimensions of a call and '' in the others: "full" keeps them all and
answers any query; the small ones answer the common queries from far fewer rows ("total" has one
row per period for all accounts together).

`rollup_state` holds the highest model_calls id folded in. Each step reads and sums the next
calls outside the write lock, then writes the sums and moves the watermark in one write
transaction, if no other process moved it meanwhile (else it starts over from there): each call
is counted exactly once, and the lock is held only while writing. Call rows are never changed
once written, which is what makes folding each of them once right.
"""
from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from chalicelib.analytics import histogram, periods
from chalicelib.analytics.scope import DIMENSIONS
from chalicelib.analytics.totals import CALL_COLUMNS, ROLLUP_COLUMNS, SUM_FIELDS
from chalicelib.store.db import Store

STATE = "usage_rollup"
BATCH = 10_000  # calls per step: bounds the memory of a step and the time it holds the write lock
# Smallest first: a query reads the first cube that keeps every dimension it filters or groups on.
CUBES: dict[str, tuple[str, ...]] = {
    "total": (),
    "account": ("account_id",),
    "model": ("provider", "model", "type"),
    "full": DIMENSIONS,
}

_READ = (f"SELECT id, created_at, {', '.join(DIMENSIONS)}, {', '.join(CALL_COLUMNS)}"
         " FROM model_calls WHERE id > ? ORDER BY id LIMIT ?")
_KEY = ("grain", "cube", "period", *DIMENSIONS)
_UPSERT = (
    f"INSERT INTO usage_rollup ({', '.join(_KEY + ROLLUP_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_KEY + ROLLUP_COLUMNS))})"
    f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in SUM_FIELDS)
    + ", duration_hist = aihub_hist_merge(duration_hist, excluded.duration_hist)"
    + ", ttfb_hist = aihub_hist_merge(ttfb_hist, excluded.ttfb_hist)"
)

Group = tuple[Any, ...]  # (period, *DIMENSIONS), '' for NULL: a primary key cannot match NULL
# A group's sums in SUM_FIELDS order, then its duration and ttfb buckets, one entry per call:
# merging two is then nine additions and two list extends, and counting happens once, at the end.
Sums = list[Any]


def cube_for(needed: set[str]) -> str:
    return next(name for name, kept in CUBES.items() if needed <= set(kept))


def watermark(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT last_id FROM rollup_state WHERE name = ?", (STATE,)).fetchone()
    return row[0] if row else 0


def catch_up(store: Store, batch: int = BATCH) -> None:
    """Fold every call logged so far; two index reads and no write lock when there is none."""
    newest = store.conn.execute("SELECT MAX(id) FROM model_calls").fetchone()[0] or 0
    while (last := watermark(store.conn)) < newest:
        upto, upserts = summarise(store.conn, last, batch)
        if upto is None:
            return  # the calls up to `newest` that are left were deleted: nothing more to fold
        store.write(lambda conn: _apply(conn, last, upto, upserts))


def summarise(conn: sqlite3.Connection, after: int, batch: int) -> tuple[int | None, list[tuple[Any, ...]]]:
    """The upserts of the next `batch` calls past id `after`, and the id of the last of them."""
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: this loop is much of the cost of a roll-up
    rows = cursor.execute(_READ, (after, batch)).fetchall()
    if not rows:
        return None, []
    bucket_of = histogram.bucket_of
    full: dict[Group, Sums] = {}
    for (_, created, account, key, provider, model, type_, app, status, prompt, completion, cache_read, cache_write,
         reasoning, images, credits, duration, ttfb) in rows:
        group = (created - created % periods.HOUR, account or "", key or "", provider or "", model or "", type_ or "",
                 app or "")
        sums = full.get(group)
        if sums is None:
            sums = full[group] = [0, 0, 0, 0, 0, 0, 0, 0, 0, [], []]
        sums[0] += 1
        sums[1] += status == "failed"
        sums[2] += prompt or 0
        sums[3] += completion or 0
        sums[4] += cache_read or 0
        sums[5] += cache_write or 0
        sums[6] += reasoning or 0
        sums[7] += images or 0
        sums[8] += credits or 0
        if duration is not None:
            sums[9].append(bucket_of(duration))
        if ttfb is not None:
            sums[10].append(bucket_of(ttfb))
    account = _merge(full, _keeping(CUBES["account"]))
    hourly = {"full": full, "account": account, "model": _merge(full, _keeping(CUBES["model"])),
              "total": _merge(account, _keeping(()))}
    every: dict[tuple[str, str], dict[Group, Sums]] = {}
    for cube, groups in hourly.items():
        for grain in periods.GRAINS:
            if grain != "hour":
                groups = _merge(groups, _coarsening(grain))
            every[grain, cube] = groups
    # In primary-key order: the upserts then visit each page of the table once (4x faster than random).
    upserts = [(grain, cube, *group, *sums[:9], _encode(sums[9]), _encode(sums[10]))
               for grain, cube in sorted(every) for group, sums in sorted(every[grain, cube].items())]
    return rows[-1][0], upserts


def _apply(conn: sqlite3.Connection, after: int, upto: int, upserts: list[tuple[Any, ...]]) -> None:
    if watermark(conn) != after:
        return  # another process folded these calls first
    conn.create_function("aihub_hist_merge", 2, histogram.merge_blobs, deterministic=True)
    conn.executemany(_UPSERT, upserts)
    conn.execute(
        "INSERT INTO rollup_state (name, last_id, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at",
        (STATE, upto, int(time.time() * 1000)),
    )


def _keeping(kept: tuple[str, ...]) -> Callable[[Group], Group]:
    # itemgetter over the group padded with one '': picks each kept value, or the pad.
    pick = itemgetter(0, *(i + 1 if name in kept else len(DIMENSIONS) + 1 for i, name in enumerate(DIMENSIONS)))
    return lambda group: pick(group + ("",))


def _coarsening(grain: str) -> Callable[[Group], Group]:
    starts: dict[int, int] = {}

    def coarsen(group: Group) -> Group:
        start = starts.get(group[0])
        if start is None:
            start = starts[group[0]] = periods.floor(grain, group[0])
        return (start, *group[1:])

    return coarsen


def _merge(groups: dict[Group, Sums], regroup: Callable[[Group], Group]) -> dict[Group, Sums]:
    out: dict[Group, Sums] = {}
    for group, sums in groups.items():
        target = regroup(group)
        into = out.get(target)
        if into is None:
            out[target] = [*sums[:9], list(sums[9]), list(sums[10])]
            continue
        into[0] += sums[0]
        into[1] += sums[1]
        into[2] += sums[2]
        into[3] += sums[3]
        into[4] += sums[4]
        into[5] += sums[5]
        into[6] += sums[6]
        into[7] += sums[7]
        into[8] += sums[8]
        into[9] += sums[9]
        into[10] += sums[10]
    return out


def _encode(buckets: list[int]) -> bytes | None:
    if len(buckets) == 1:  # the common case in hour rows: skip the Counter
        return histogram.encode_one(buckets[0])
    return histogram.encode(Counter(buckets))
