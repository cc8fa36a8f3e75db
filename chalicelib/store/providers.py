"""providers, credentials and model_status rows: plain SQL, no policy (that lives in
chalicelib/credentials and chalicelib/gateway)."""
from __future__ import annotations

from collections.abc import Callable

import sqlite3
import time
from typing import Any

import orjson

from chalicelib.store.db import Store

# config.headers holds masked values only: the real ones are in sealed_headers, encrypted
# (chalicelib.credentials.sealed_headers).
PROVIDER_FIELDS = ("display_name", "kind", "base_url", "region", "enabled", "config", "sealed_headers")
CREDENTIAL_PUBLIC = ("id", "provider", "name", "type", "masked", "weight", "active", "error", "fail_count",
                     "disabled_until", "cooldown_until", "last_used_at", "usage_count", "last_checked_at",
                     "created_at", "updated_at")


def now_ms() -> int:
    return int(time.time() * 1000)


def _provider(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["enabled"] = bool(out["enabled"])
    out["config"] = orjson.loads(out["config"]) if out["config"] else {}
    return out


def list_providers(store: Store) -> list[dict[str, Any]]:
    return [_provider(r) for r in store.query("SELECT * FROM providers ORDER BY name")]


def get_provider(store: Store, name: str) -> dict[str, Any] | None:
    row = store.query_one("SELECT * FROM providers WHERE name = ?", (name,))
    return _provider(row) if row else None


def upsert_provider(store: Store, name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert or update the row of `name` with the given fields only."""
    values = {k: (orjson.dumps(v).decode() if k == "config" else v) for k, v in fields.items() if k in PROVIDER_FIELDS}
    if "enabled" in values:
        values["enabled"] = int(bool(values["enabled"]))

    def tx(conn: sqlite3.Connection) -> None:
        stamp = now_ms()
        if conn.execute("SELECT 1 FROM providers WHERE name = ?", (name,)).fetchone():
            if values:
                sets = ", ".join(f"{k} = ?" for k in values)
                conn.execute(f"UPDATE providers SET {sets}, updated_at = ? WHERE name = ?", (*values.values(), stamp, name))
        else:
            row = {"name": name, "enabled": 1, **values, "created_at": stamp, "updated_at": stamp}
            conn.execute(f"INSERT INTO providers ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    store.write(tx)
    found = get_provider(store, name)
    assert found is not None
    return found


def delete_provider(store: Store, name: str) -> int:
    """Delete a provider row and its credentials; returns the rows removed."""

    def tx(conn: sqlite3.Connection) -> int:
        gone = conn.execute("DELETE FROM credentials WHERE provider = ?", (name,)).rowcount
        return gone + conn.execute("DELETE FROM providers WHERE name = ?", (name,)).rowcount

    return store.write(tx)


# -- credentials -------------------------------------------------------------------------

def list_credentials(store: Store, provider: str | None = None, *, with_secret: bool = False) -> list[dict[str, Any]]:
    columns = "*" if with_secret else ", ".join(CREDENTIAL_PUBLIC)
    if provider is None:
        rows = store.query(f"SELECT {columns} FROM credentials ORDER BY provider, created_at")
    else:
        rows = store.query(f"SELECT {columns} FROM credentials WHERE provider = ? ORDER BY created_at", (provider,))
    return [dict(r) for r in rows]


def credential_states(store: Store, now_ms: int) -> list[dict[str, Any]]:
    """Each credential's provider, whether it is active and whether it is cooling down."""
    rows = store.query("SELECT provider, active, coalesce(cooldown_until > ?, 0) AS cooling FROM credentials",
                       (now_ms,))
    return [dict(r) for r in rows]


def get_credential(store: Store, credential_id: str, *, with_secret: bool = False) -> dict[str, Any] | None:
    columns = "*" if with_secret else ", ".join(CREDENTIAL_PUBLIC)
    row = store.query_one(f"SELECT {columns} FROM credentials WHERE id = ?", (credential_id,))
    return dict(row) if row else None


def insert_credential(store: Store, row: dict[str, Any]) -> None:
    store.write(lambda conn: conn.execute(
        f"INSERT INTO credentials ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())))


def update_credential(store: Store, credential_id: str, fields: dict[str, Any]) -> bool:
    if not fields:
        return get_credential(store, credential_id) is not None
    return store.write(credential_update(credential_id, fields)) > 0


def delete_credential(store: Store, credential_id: str) -> bool:
    return store.write(lambda conn: conn.execute("DELETE FROM credentials WHERE id = ?", (credential_id,)).rowcount) > 0


def credential_update(credential_id: str, fields: dict[str, Any]) -> Callable[[sqlite3.Connection], int]:
    """The write of `update_credential`, for a caller that commits it elsewhere (the writer)."""
    sets = ", ".join(f"{k} = ?" for k in fields)
    return lambda conn: conn.execute(f"UPDATE credentials SET {sets}, updated_at = ? WHERE id = ?",
                                     (*fields.values(), now_ms(), credential_id)).rowcount


def mark_used(conn: sqlite3.Connection, credential_id: str, at: int) -> None:
    conn.execute("UPDATE credentials SET usage_count = usage_count + 1, last_used_at = ? WHERE id = ?", (at, credential_id))


def due_for_recheck(store: Store, at: int) -> list[dict[str, Any]]:
    """Credentials the gateway disabled itself whose next re-check time has come."""
    return [dict(r) for r in store.query(
        "SELECT * FROM credentials WHERE active = 0 AND disabled_until IS NOT NULL AND disabled_until <= ?", (at,))]


# -- model status --------------------------------------------------------------------------

def set_model_status(store: Store, provider: str, model: str, *, available: bool, reason: str | None,
                     source: str, latency_ms: float | None = None) -> None:
    store.write(model_status_update(provider, model, available=available, reason=reason, source=source,
                                    latency_ms=latency_ms))


def model_status_update(provider: str, model: str, *, available: bool, reason: str | None, source: str,
                        latency_ms: float | None = None) -> Callable[[sqlite3.Connection], Any]:
    return lambda conn: conn.execute(
        "INSERT INTO model_status (provider, model, available, reason, source, latency_ms, checked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, model) DO UPDATE SET available = excluded.available,"
        " reason = excluded.reason, source = excluded.source, latency_ms = excluded.latency_ms,"
        " checked_at = excluded.checked_at",
        (provider, model, int(available), reason, source, latency_ms, now_ms()))


def model_status(store: Store, provider: str, model: str) -> dict[str, Any] | None:
    row = store.query_one("SELECT * FROM model_status WHERE provider = ? AND model = ?", (provider, model))
    return dict(row) if row else None
