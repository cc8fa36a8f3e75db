"""stored_responses: Responses-API answers kept for `previous_response_id` and GET/DELETE.

A row belongs to the account that made it (NULL for the environment's admin key, which only
that key sees); reads never return an expired row, and the maintenance job deletes them.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from chalicelib.store.db import Store

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    account_id: str | None
    model: str
    native: bool
    response: dict[str, Any]  # the Response object as the client got it
    input_items: list[dict[str, Any]]  # everything the model was given, earlier turns included
    created_at: int  # ms
    expires_at: int  # ms


def save(conn: sqlite3.Connection, row: StoredResponse) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO stored_responses (id, account_id, model, native, response, input_items, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (row.id, row.account_id, row.model, int(row.native), orjson.dumps(row.response).decode(),
         orjson.dumps(row.input_items).decode(), row.created_at, row.expires_at))


def expiry(created_at_ms: int, ttl_days: float) -> int:
    return created_at_ms + int(ttl_days * _DAY_MS)


def get(store: Store, response_id: str, account_id: str | None, now_ms: int) -> StoredResponse | None:
    """The response if this account owns it and it has not expired."""
    found = store.query_one(
        "SELECT * FROM stored_responses WHERE id = ? AND account_id IS ? AND expires_at > ?",
        (response_id, account_id, now_ms))
    if found is None:
        return None
    return StoredResponse(found["id"], found["account_id"], found["model"], bool(found["native"]),
                          orjson.loads(found["response"]), orjson.loads(found["input_items"]),
                          found["created_at"], found["expires_at"])


def delete(store: Store, response_id: str, account_id: str | None, now_ms: int) -> bool:
    return store.write(lambda conn: conn.execute(
        "DELETE FROM stored_responses WHERE id = ? AND account_id IS ? AND expires_at > ?",
        (response_id, account_id, now_ms)).rowcount > 0)


def purge_expired(conn: sqlite3.Connection, now_ms: int) -> int:
    return conn.execute("DELETE FROM stored_responses WHERE expires_at <= ?", (now_ms,)).rowcount
