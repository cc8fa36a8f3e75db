"""Totals of the calls in a time range, per time bucket and group, from the roll-up and raw edges.

The range is split (periods.split) into whole roll-up periods and, at its ragged ends, raw
calls; the roll-up is caught up first and everything is read in one snapshot, raw calls only up
to the roll-up's watermark, so each call is counted exactly once and the sums are exact.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.analytics import periods, rollup
from chalicelib.analytics.scope import Scope
from chalicelib.analytics.totals import CALL_COLUMNS, ROLLUP_COLUMNS, Totals
from chalicelib.store.db import Store

Key = tuple[Any, ...]  # (bucket start, or None without a granularity, *group column values)
Bucketer = Callable[[int], int | None]  # created_at or period -> start of its time bucket


def aggregate(
    store: Store,
    scope: Scope,
    start: int,
    end: int | None,
    *,
    columns: tuple[str, ...] = (),
    granularity: str | None = None,
) -> dict[Key, Totals]:
    """Totals of the calls with created_at in [start, end) (end None: no upper bound), keyed by
    bucket of `granularity` and by the values of `columns` ('' for none)."""
    rollup.catch_up(store)
    out: dict[Key, Totals] = {}
    bucket = _bucketer(granularity)
    cube = rollup.cube_for(set(columns) | scope.filtered())
    with _snapshot(store) as conn:
        upto = rollup.watermark(conn)
        for piece in periods.split(start, end, granularity or periods.GRAINS[-1]):
            if piece.grain == periods.RAW:
                _add_calls(conn, out, piece, upto, scope, columns, bucket)
            else:
                _add_rollup(conn, out, piece, cube, scope, columns, bucket)
    return out


@contextmanager
def _snapshot(store: Store) -> Iterator[sqlite3.Connection]:
    """One read transaction: the roll-up, its watermark and the log seen as of one moment."""
    conn = store.conn
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def _bucketer(granularity: str | None) -> Bucketer:
    if granularity is None:
        return lambda ms: None
    starts: dict[int, int] = {}

    def bucket(ms: int) -> int:
        # Memoised by hour: month starts need calendar arithmetic, and rows repeat hours.
        hour = ms - ms % periods.HOUR
        start = starts.get(hour)
        if start is None:
            start = starts[hour] = periods.floor(granularity, hour)
        return start

    return bucket


def _range(column: str, start: int, end: int | None) -> tuple[list[str], list[Any]]:
    if end is None:
        return [f"{column} >= ?"], [start]
    return [f"{column} >= ?", f"{column} < ?"], [start, end]


def _add_rollup(conn: sqlite3.Connection, out: dict[Key, Totals], piece: periods.Piece, cube: str, scope: Scope,
                columns: tuple[str, ...], bucket: Bucketer) -> None:
    clauses, values = _range("period", piece.start, piece.end)
    scoped, scoped_values = scope.where()
    sql = (f"SELECT period, {_select(columns)}{', '.join(ROLLUP_COLUMNS)} FROM usage_rollup"
           f" WHERE grain = ? AND cube = ? AND {' AND '.join(clauses + scoped)}")
    cursor = conn.cursor()
    cursor.row_factory = None
    width = 1 + len(columns)
    for row in cursor.execute(sql, (piece.grain, cube, *values, *scoped_values)):
        key = (bucket(row[0]), *row[1:width])
        totals = out.get(key)
        if totals is None:
            totals = out[key] = Totals()
        totals.add_rollup(row[width:])


def _add_calls(conn: sqlite3.Connection, out: dict[Key, Totals], piece: periods.Piece, upto: int, scope: Scope,
               columns: tuple[str, ...], bucket: Bucketer) -> None:
    clauses, values = _range("created_at", piece.start, piece.end)
    scoped, scoped_values = scope.where()
    sql = (f"SELECT created_at, {_select(columns)}{', '.join(CALL_COLUMNS)} FROM model_calls"
           f" WHERE {' AND '.join(clauses + scoped)} AND id <= ?")
    cursor = conn.cursor()
    cursor.row_factory = None
    width = 1 + len(columns)
    for row in cursor.execute(sql, (*values, *scoped_values, upto)):
        key = (bucket(row[0]), *(v or "" for v in row[1:width]))  # as the roll-up keys them
        totals = out.get(key)
        if totals is None:
            totals = out[key] = Totals()
        totals.add_call(row[width:])


def _select(columns: tuple[str, ...]) -> str:
    return "".join(f"{c}, " for c in columns)
