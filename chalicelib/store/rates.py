"""model_rates rows."""
from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson

from chalicelib.store.db import Store

COLUMNS = ("provider", "model", "type", "input_rate", "output_rate", "cache_read_rate", "cache_write_rate",
           "image_rate", "second_rate", "input_cost_usd", "output_cost_usd", "cache_read_cost_usd",
           "cache_write_cost_usd", "image_cost_usd", "metadata", "deprecated")


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["metadata"] = orjson.loads(out["metadata"]) if out["metadata"] else {}
    out["deprecated"] = bool(out["deprecated"])
    return out


def list_rates(store: Store, *, provider: str | None = None, search: str | None = None,
               include_deprecated: bool = True) -> list[dict[str, Any]]:
    where, params = [], []
    if provider:
        where.append("provider = ?")
        params.append(provider)
    if search:
        where.append("(model LIKE ? OR provider LIKE ?)")
        params += [f"%{search}%", f"%{search}%"]
    if not include_deprecated:
        where.append("deprecated = 0")
    sql = "SELECT * FROM model_rates" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY provider, model"
    return [_row(r) for r in store.query(sql, tuple(params))]


def get(store: Store, rate_id: int) -> dict[str, Any] | None:
    row = store.query_one("SELECT * FROM model_rates WHERE id = ?", (rate_id,))
    return _row(row) if row else None


def upsert_many(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace rates by (provider, model), keeping ids and creation times."""
    stamp = int(time.time() * 1000)
    for row in rows:
        values = {k: (orjson.dumps(row[k]).decode() if k == "metadata" else row[k]) for k in COLUMNS if k in row}
        values.setdefault("deprecated", 0)
        names = ", ".join(values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k not in ("provider", "model"))
        conn.execute(
            f"INSERT INTO model_rates ({names}, created_at, updated_at) VALUES ({', '.join('?' * len(values))}, ?, ?)"
            f" ON CONFLICT (provider, model) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (*values.values(), stamp, stamp))


def update(store: Store, rate_id: int, fields: dict[str, Any]) -> bool:
    values = {k: (orjson.dumps(v).decode() if k == "metadata" else v) for k, v in fields.items() if k in COLUMNS}
    if not values:
        return get(store, rate_id) is not None
    sets = ", ".join(f"{k} = ?" for k in values)
    return store.write(lambda conn: conn.execute(
        f"UPDATE model_rates SET {sets}, updated_at = ? WHERE id = ?",
        (*values.values(), int(time.time() * 1000), rate_id)).rowcount) > 0


def find(store: Store, provider: str, model: str) -> dict[str, Any] | None:
    row = store.query_one("SELECT * FROM model_rates WHERE provider = ? AND model = ?", (provider, model))
    return _row(row) if row else None
