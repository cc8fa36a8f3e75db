"""The call log read back: filtered, newest first, paged by cursor, and as CSV.

Ordered by (created_at, id) descending, so a time range and a page are one walk of an index
((account_id, created_at), (key_id, created_at) or (created_at), each ending in the rowid).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from chalicelib.analytics.scope import Scope
from chalicelib.api.limits import INT64
from chalicelib.billing.units import MINOR_PER_CREDIT
from chalicelib.store.db import Store

Cursor = tuple[int, int]  # (created_at, id) of the last call of the page before


@dataclass(frozen=True, slots=True)
class CallQuery:
    scope: Scope
    start: int | None = None
    end: int | None = None
    status: str | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clauses, values = self.scope.where()
        for condition, value in (("created_at >= ?", self.start), ("created_at < ?", self.end),
                                 ("status = ?", self.status)):
            if value is not None:
                clauses.append(condition)
                values.append(value)
        return clauses, values


def page(store: Store, query: CallQuery, limit: int,
         after: Cursor | None = None) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to `limit` calls after the cursor, and the cursor of the next page if there are more."""
    rows = [dict(r) for r in store.query(*_page_sql("*", query, limit, after))]
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], (rows[limit - 1]["created_at"], rows[limit - 1]["id"])


def _page_sql(columns: str, query: CallQuery, limit: int, after: Cursor | None) -> tuple[str, tuple[Any, ...]]:
    clauses, values = query.where()
    if after is not None:
        clauses.append("(created_at, id) < (?, ?)")
        values.extend(after)
    sql = (f"SELECT {columns} FROM model_calls" + (" WHERE " + " AND ".join(clauses) if clauses else "")
           + " ORDER BY created_at DESC, id DESC LIMIT ?")
    return sql, (*values, limit + 1)


def find(store: Store, request_id: str, account_id: str | None) -> dict[str, Any] | None:
    row = store.query_one("SELECT * FROM model_calls WHERE request_id = ?", (request_id,))
    if row is None or account_id is not None and row["account_id"] != account_id:
        return None
    return dict(row)


def encode_cursor(cursor: Cursor) -> str:
    return f"{cursor[0]}_{cursor[1]}"


def decode_cursor(raw: str) -> Cursor:
    """The inverse of encode_cursor; ValueError for anything else."""
    created_at, _, call_id = raw.partition("_")
    if not (raw.isascii() and created_at.isdigit() and call_id.isdigit()):
        raise ValueError(raw)
    cursor = int(created_at), int(call_id)
    if max(cursor) > INT64:  # no row has it, and SQLite cannot even compare with it
        raise ValueError(raw)
    return cursor


CSV_COLUMNS = (
    "request_id", "created_at", "time", "account_id", "key_id", "type", "provider", "model", "requested_model",
    "surface", "app_id", "stream", "status", "http_status", "error_code", "prompt_tokens", "completion_tokens", "cache_read_tokens",
    "cache_write_tokens", "reasoning_tokens", "total_tokens", "images", "credits", "duration_ms", "ttfb_ms",
    "usage_estimated", "error",
)
_DIGITS = len(str(MINOR_PER_CREDIT)) - 1
# Formatted by SQLite, so each row goes from the cursor to the csv writer without Python code:
# time as ISO 8601 UTC, credits as exact decimal credits (a spreadsheet reads 1.5e-05 as text).
_CSV_SQL = {
    "time": "strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch')",
    "total_tokens": "prompt_tokens + completion_tokens + cache_read_tokens + cache_write_tokens",
    "credits": f"rtrim(rtrim(printf('%d.%0{_DIGITS}d', credits / {MINOR_PER_CREDIT}, credits % {MINOR_PER_CREDIT}),"
               " '0'), '.')",
}
# Columns stored as text, some of them chosen by clients (a model name, a provider's error).
_TEXT_COLUMNS = ("request_id", "account_id", "key_id", "type", "provider", "model", "requested_model", "status",
                 "error_code", "error", "surface", "app_id")
# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) sends
# data away, =cmd|... ran programs); tab, CR and LF lead other parsers to the same. OWASP's
# remedy: a leading ' makes the cell text. The full-width forms are read as formulas too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _sql_char(value: str) -> str:
    """One character as an SQLite expression (char() also spells control characters)."""
    return f"char({ord(value)})"


def _defused(column: str) -> str:
    starts = ", ".join(_sql_char(c) for c in FORMULA_STARTS)
    return f"CASE WHEN substr({column}, 1, 1) IN ({starts}) THEN '''' || {column} ELSE {column} END"


_CSV_SQL.update({c: _defused(c) for c in _TEXT_COLUMNS})
_CSV_SELECT = ", ".join([_CSV_SQL.get(c, c) for c in CSV_COLUMNS] + ["id"])  # id last: the cursor, not a column


# RFC 4180's CRLF: the csv writer quotes a field holding any character of the line ending, so
# a CR inside a provider's error message stays inside its cell.
_EOL = "\r\n"


def csv_header() -> bytes:
    return (",".join(CSV_COLUMNS) + _EOL).encode()


def export(store: Store, query: CallQuery, limit: int,
           after: Cursor | None = None) -> tuple[bytes, int, Cursor | None]:
    """CSV lines of up to `limit` calls after the cursor, how many, and the next cursor if there are more."""
    cursor = store.conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(*_page_sql(_CSV_SELECT, query, limit, after)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    out = io.StringIO()
    csv.writer(out, lineterminator=_EOL).writerows(row[:-1] for row in rows)
    return out.getvalue().encode(), len(rows), (rows[-1][1], rows[-1][-1]) if more else None
