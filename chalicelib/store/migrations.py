"""Versioned schema migrations, applied at start; `PRAGMA user_version` records the last one.

Each migration runs inside the write lock and re-reads the version there, so several
processes starting at once (Lambdas on one EFS file) apply each step exactly once.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable

from chalicelib.store.db import Store


def _v1_core(db) -> None:  # db: sqlite_utils.Database
    db["accounts"].create(
        {"id": str, "name": str, "balance": int, "reserved": int, "created_at": int},
        pk="id",
        not_null={"balance", "reserved", "created_at"},
        defaults={"balance": 0, "reserved": 0},
    )
    db["api_keys"].create(
        {
            "id": str,
            "account_id": str,
            "name": str,
            "key_hash": str,
            "masked": str,
            "role": str,
            "rpm": int,
            "tpm": int,
            "created_at": int,
            "expires_at": int,
            "revoked_at": int,
        },
        pk="id",
        not_null={"key_hash", "masked", "role", "created_at"},
        foreign_keys=[("account_id", "accounts", "id")],
    )
    db["api_keys"].create_index(["key_hash"], unique=True)
    db["credit_ledger"].create(
        {
            "id": int,
            "account_id": str,
            "kind": str,
            "amount": int,
            "request_id": str,
            "key_id": str,
            "note": str,
            "expires_at": int,
            "created_at": int,
        },
        pk="id",
        not_null={"account_id", "kind", "amount", "created_at"},
        foreign_keys=[("account_id", "accounts", "id")],
    )
    db["credit_ledger"].create_index(["account_id", "id"])
    db["model_calls"].create(
        {
            "id": int,
            "request_id": str,
            "created_at": int,
            "account_id": str,
            "key_id": str,
            "type": str,
            "provider": str,
            "model": str,
            "requested_model": str,
            "credential_id": str,
            "stream": int,
            "status": str,
            "http_status": int,
            "error_code": str,
            "error": str,
            "prompt_tokens": int,
            "completion_tokens": int,
            "cache_read_tokens": int,
            "cache_write_tokens": int,
            "reasoning_tokens": int,
            "images": int,
            "seconds": float,
            "usage_estimated": int,
            "credits": int,
            "duration_ms": float,
            "ttfb_ms": float,
        },
        pk="id",
        not_null={"request_id", "created_at", "type", "status"},
        defaults={
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
            "images": 0,
            "usage_estimated": 0,
            "credits": 0,
            "stream": 0,
        },
    )
    db["model_calls"].create_index(["request_id"], unique=True)
    db["model_calls"].create_index(["account_id", "id"])
    db["model_calls"].create_index(["created_at"])


def _v2_providers(db) -> None:
    # A row here overrides a built-in provider of the same name, or adds one of the operator's.
    db["providers"].create(
        {
            "name": str,
            "display_name": str,
            "kind": str,
            "base_url": str,
            "region": str,
            "enabled": int,
            "config": str,  # JSON: timeouts, headers, model_map...
            "created_at": int,
            "updated_at": int,
        },
        pk="name",
        not_null={"kind", "enabled", "created_at", "updated_at"},
        defaults={"enabled": 1},
    )
    db["credentials"].create(
        {
            "id": str,
            "provider": str,
            "name": str,
            "type": str,  # api_key | aws | json
            "secret": str,  # encrypted (chalicelib.credentials.crypto)
            "masked": str,
            "weight": int,
            "active": int,
            "error": str,
            "fail_count": int,
            "disabled_until": int,  # ms: next re-check of a disabled credential
            "cooldown_until": int,  # ms: weight lowered after a 429 until then
            "last_used_at": int,
            "usage_count": int,
            "last_checked_at": int,
            "created_at": int,
            "updated_at": int,
        },
        pk="id",
        not_null={"provider", "type", "secret", "masked", "weight", "active", "created_at", "updated_at"},
        defaults={"weight": 1, "active": 1, "fail_count": 0, "usage_count": 0},
    )
    db["credentials"].create_index(["provider"])
    db["model_status"].create(
        {
            "provider": str,
            "model": str,
            "available": int,
            "reason": str,
            "source": str,  # traffic | probe | admin
            "latency_ms": float,
            "checked_at": int,
        },
        pk=("provider", "model"),
        not_null={"available", "checked_at"},
    )
    db["model_calls"].add_column("attempts", str)  # JSON list, one entry per provider attempt


def _v3_billing(db) -> None:
    # Rates are integers of minor credit units (10**-9 credit) per token / image / second;
    # the *_cost_usd columns are the provider's own unit prices, for margin-mode pricing.
    db["model_rates"].create(
        {
            "id": int,
            "provider": str,
            "model": str,
            "type": str,  # chat | embedding | image | video
            "input_rate": int,
            "output_rate": int,
            "cache_read_rate": int,
            "cache_write_rate": int,
            "image_rate": int,
            "second_rate": int,
            "input_cost_usd": float,
            "output_cost_usd": float,
            "cache_read_cost_usd": float,
            "cache_write_cost_usd": float,
            "image_cost_usd": float,
            "metadata": str,  # JSON: context window, max output tokens, features
            "deprecated": int,
            "created_at": int,
            "updated_at": int,
        },
        pk="id",
        not_null={"provider", "model", "type", "input_rate", "output_rate", "deprecated", "created_at", "updated_at"},
        defaults={"input_rate": 0, "output_rate": 0, "deprecated": 0},
    )
    db["model_rates"].create_index(["provider", "model"], unique=True)
    # What is left of each grant, consumed earliest-expiring first, so expiry takes only the unused part.
    db["credit_grants"].create(
        {"id": int, "account_id": str, "amount": int, "remaining": int, "expires_at": int, "created_at": int},
        pk="id",
        not_null={"account_id", "amount", "remaining", "created_at"},
        foreign_keys=[("account_id", "accounts", "id")],
    )
    db["credit_grants"].create_index(["account_id", "remaining"])
    db["api_keys"].add_column("daily_cap", int)
    db["api_keys"].add_column("monthly_cap", int)
    # Per-key counters of a period ("rpm:<minute>", "day:<yyyy-mm-dd>", "month:<yyyy-mm>").
    db["key_usage"].create(
        {"key_id": str, "period": str, "requests": int, "tokens": int, "spent": int, "reserved": int},
        pk=("key_id", "period"),
        not_null={"requests", "tokens", "spent", "reserved"},
        defaults={"requests": 0, "tokens": 0, "spent": 0, "reserved": 0},
    )
    # Credit held by calls in flight; a call that never settles (a Lambda killed at its timeout)
    # is found here by the maintenance job and its hold released.
    db["reservations"].create(
        {"request_id": str, "account_id": str, "key_id": str, "amount": int, "periods": str, "created_at": int},
        pk="request_id",
        not_null={"account_id", "amount", "created_at"},
    )
    db["reservations"].create_index(["created_at"])


def _usage_rollup_table(db, dimensions: tuple[str, ...]) -> None:
    # Sums and latency histograms of the calls per grain (hour, day, month), cube (which
    # dimensions a row keeps; '' in the others) and period, folded in from model_calls by
    # chalicelib.analytics.rollup. '' also stands for NULL, which a primary key cannot match.
    # WITHOUT ROWID: rows are small, and a range of periods is one contiguous read of the key.
    db.execute(
        "CREATE TABLE usage_rollup ("
        " grain TEXT NOT NULL, cube TEXT NOT NULL, period INTEGER NOT NULL,"
        + "".join(f" {name} TEXT NOT NULL," for name in dimensions)
        + " calls INTEGER NOT NULL, errors INTEGER NOT NULL,"
        " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,"
        " cache_write_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, images INTEGER NOT NULL,"
        " credits INTEGER NOT NULL, duration_hist BLOB, ttfb_hist BLOB,"
        f" PRIMARY KEY (grain, cube, period, {', '.join(dimensions)})"
        ") WITHOUT ROWID"
    )
    db["usage_rollup"].create_index(["grain", "cube", "account_id", "period"])


def _v4_usage_rollups(db) -> None:
    _usage_rollup_table(db, ("account_id", "key_id", "provider", "model", "type"))
    db["rollup_state"].create({"name": str, "last_id": int, "updated_at": int}, pk="name",
                              not_null={"last_id", "updated_at"})
    # The call-log queries: newest first within an account or a key, by time range.
    db["model_calls"].create_index(["account_id", "created_at"])
    db["model_calls"].create_index(["key_id", "created_at"])


def _v5_round2(db) -> None:
    # Which client dialect a call came through, and the AIGNE client's app identity.
    db["model_calls"].add_column("surface", str)
    db["model_calls"].add_column("app_id", str)
    # Calls in flight and the processes that own them (store/inflight.py).
    db["owners"].create({"owner": str, "host": str, "pid": int, "lease_until": int}, pk="owner",
                        not_null={"lease_until"})
    db["inflight"].create({"request_id": str, "owner": str, "created_at": int, "record": str},
                          pk="request_id", not_null={"owner", "created_at", "record"})
    db["inflight"].create_index(["owner"])


def _v6_stored_responses(db) -> None:
    # Responses-API answers kept for previous_response_id and GET /v1/responses/{id}: the whole
    # Response object and the input it answered (the conversation so far), both JSON; owned by
    # an account, never a key. `native`: the provider made the output items (OpenAI's own ids).
    db["stored_responses"].create(
        {
            "id": str,
            "account_id": str,
            "model": str,
            "native": int,
            "response": str,
            "input_items": str,
            "created_at": int,
            "expires_at": int,
        },
        pk="id",
        not_null={"model", "native", "response", "input_items", "created_at", "expires_at"},
    )
    db["stored_responses"].create_index(["expires_at"])


def _v7_change_counters(db) -> None:
    # One counter per table whose rows processes cache (keys: chalicelib.gateway.auth), bumped
    # in the transaction of each change; reading it is one primary-key lookup per request.
    db.execute("CREATE TABLE IF NOT EXISTS versions (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("INSERT OR IGNORE INTO versions (name, value) VALUES ('api_keys', 0)")


def _v8_sealed_provider_headers(db) -> None:
    # A provider's config.headers (often keys) move out of the plaintext config into a column
    # sealed like credentials; config keeps their masked form. Sealing needs AIHUB_SECRET: a
    # database that has such headers does not start without it.
    import orjson

    from chalicelib.credentials import sealed_headers

    if "sealed_headers" not in db["providers"].columns_dict:
        db["providers"].add_column("sealed_headers", str)
    for name, raw in db.execute("SELECT name, config FROM providers WHERE sealed_headers IS NULL").fetchall():
        config = orjson.loads(raw) if raw else None
        if isinstance(config, dict) and config.get("headers"):
            token, config["headers"] = sealed_headers.seal(name, config["headers"])
            db.execute("UPDATE providers SET config = ?, sealed_headers = ? WHERE name = ?",
                       (orjson.dumps(config).decode(), token, name))


def _v9_video_jobs(db) -> None:
    # Jobs of the asynchronous OpenAI-compatible /v1/videos routes, owned by an account (NULL:
    # the environment's admin key). `blob_ids`: JSON list of blob-store ids of its files;
    # `request_id` names the job's one call record once it has settled.
    db["video_jobs"].create(
        {
            "id": str,
            "account_id": str,
            "request_id": str,
            "model": str,
            "prompt": str,
            "seconds": str,
            "size": str,
            "status": str,
            "error": str,
            "blob_ids": str,
            "created_at": int,
            "completed_at": int,
            "expires_at": int,
        },
        pk="id",
        not_null={"request_id", "model", "status", "created_at"},
    )
    db["video_jobs"].create_index(["account_id", "created_at"])


def _v10_usage_by_app(db) -> None:
    # The AIGNE client's app (model_calls.app_id) becomes a dimension of the roll-up, which is a
    # primary-key change: the table is made anew and refilled from model_calls (rollup_state's
    # watermark starts over, so the next catch-up folds every call again, each exactly once).
    db.execute("DROP TABLE usage_rollup")
    _usage_rollup_table(db, ("account_id", "key_id", "provider", "model", "type", "app_id"))
    db.execute("DELETE FROM rollup_state WHERE name = 'usage_rollup'")


def _v11_access_key_sessions(db) -> None:
    # `aigne hub connect` (chalicelib/store/access_sessions.py); expires_at indexed for the purge
    db["access_key_sessions"].create(
        {"id": str, "created_at": int, "expires_at": int, "approved_at": int, "key_id": str,
         "secret_cipher": str, "challenge": str},
        pk="id", not_null={"created_at", "expires_at"},
    )
    db["access_key_sessions"].create_index(["expires_at"])


def _v12_catalogue_counters(db) -> None:
    # Providers, credentials and rates get change counters like api_keys (v7), bumped by
    # triggers in the changing transaction, so every process's caches follow within a request.
    from chalicelib.store.versions import TRIGGERED

    for table, columns in TRIGGERED.items():
        db.execute("INSERT OR IGNORE INTO versions (name, value) VALUES (?, 0)", (table,))
        bump = f"BEGIN UPDATE versions SET value = value + 1 WHERE name = '{table}'; END"
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        for event in ("INSERT", update, "DELETE"):
            trigger = f"{table}_{event.split()[0].lower()}_version"
            db.execute(f"CREATE TRIGGER IF NOT EXISTS {trigger} AFTER {event} ON {table} {bump}")


def _v13_inflight_deadlines(db) -> None:
    # Calls whose settlement is queued (chalicelib/calllog) are in flight until a deadline rather
    # than an owner's lease (store/inflight.py); NULL for the others.
    db["inflight"].add_column("deadline", int)
    db["inflight"].create_index(["deadline"])


MIGRATIONS: list[Callable] = [_v1_core, _v2_providers, _v3_billing, _v4_usage_rollups, _v5_round2,
                              _v6_stored_responses, _v7_change_counters, _v8_sealed_provider_headers,
                              _v9_video_jobs, _v10_usage_by_app, _v11_access_key_sessions, _v12_catalogue_counters,
                              _v13_inflight_deadlines]


def migrate(store: Store) -> int:
    """Bring the schema up to date; returns the version reached."""
    target = len(MIGRATIONS)
    if store.query_one("PRAGMA user_version")[0] >= target:
        return target
    # Only a schema change needs sqlite-utils (about 67 ms of imports): a current one is checked without it.
    import sqlite_utils

    def step(conn: sqlite3.Connection) -> int:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        db = sqlite_utils.Database(conn)
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            migration(db)
            conn.execute(f"PRAGMA user_version = {number}")
        return max(version, target)

    return store.write(step)
