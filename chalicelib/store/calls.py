"""model_calls: the audit log of every call, one row each, success or failure."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from typing import Any

from chalicelib.store.db import Store


@dataclass(slots=True)
class CallRecord:
    request_id: str
    created_at: int
    type: str  # chat | embedding | image | audio
    status: str = "success"  # success | failed
    account_id: str | None = None
    key_id: str | None = None
    provider: str | None = None
    model: str | None = None
    requested_model: str | None = None
    credential_id: str | None = None
    stream: int = 0
    http_status: int | None = None
    error_code: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    images: int = 0
    seconds: float | None = None
    usage_estimated: int = 0
    credits: int = 0
    duration_ms: float | None = None
    ttfb_ms: float | None = None
    attempts: str | None = None  # JSON: one entry per provider attempt, when there was more than one
    surface: str = "openai"  # the client dialect: openai | anthropic | responses | gemini | aigne
    app_id: str | None = None  # the AIGNE client's x-aigne-hub-client-did


_COLUMNS = [f.name for f in fields(CallRecord)]
_INSERT = f"INSERT INTO model_calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_SELECT = "SELECT id, " + ", ".join(_COLUMNS) + " FROM model_calls"


def insert(conn: sqlite3.Connection, record: CallRecord) -> None:
    # A prepared statement, not sqlite-utils' insert(): this is on every call's path and
    # sqlite-utils introspects the table on each insert.
    conn.execute(_INSERT, tuple(getattr(record, c) for c in _COLUMNS))


def exists(conn: sqlite3.Connection, request_id: str) -> bool:
    return conn.execute("SELECT 1 FROM model_calls WHERE request_id = ?", (request_id,)).fetchone() is not None


def record(store: Store, record: CallRecord) -> None:
    store.write(lambda conn: insert(conn, record))


def list_calls(
    store: Store, *, account_id: str | None = None, limit: int = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """Newest first; `before` is the `id` cursor of the last row of the previous page."""
    where: list[str] = []
    params: list[Any] = []
    if account_id:
        where.append("account_id = ?")
        params.append(account_id)
    if before is not None:
        where.append("id < ?")
        params.append(before)
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [dict(r) for r in store.query(sql, tuple(params))]

