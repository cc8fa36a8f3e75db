"""Accounts and API keys. Keys are stored only as SHA-256 hashes; the raw key is shown once."""
from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass

from chalicelib.store import ledger
from chalicelib.store.db import Store

KEY_PREFIX = "ah-"


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def mask(secret: str) -> str:
    """First and last 4 characters; short secrets show nothing of themselves."""
    if len(secret) < 12:
        return "****"
    return f"{secret[:4]}...{secret[-4:]}"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    account_id: str | None
    name: str | None
    role: str
    masked: str
    rpm: int | None
    tpm: int | None
    daily_cap: int | None  # minor credit units a day, None: no cap
    monthly_cap: int | None
    created_at: int
    expires_at: int | None
    revoked_at: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> KeyRecord:
        return cls(**{f: row[f] for f in cls.__slots__})

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now_ms())


_KEY_COLUMNS = ", ".join(KeyRecord.__slots__)


def create_account(conn: sqlite3.Connection, name: str | None) -> str:
    account_id = new_id("acct")
    conn.execute(
        "INSERT INTO accounts (id, name, balance, reserved, created_at) VALUES (?, ?, 0, 0, ?)",
        (account_id, name, now_ms()),
    )
    return account_id


def create_key(
    store: Store,
    *,
    name: str | None,
    role: str = "user",
    account_id: str | None = None,
    credits_minor: int | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    daily_cap: int | None = None,
    monthly_cap: int | None = None,
) -> tuple[KeyRecord, str]:
    """Make a key (and its account unless one is named); returns the record and the raw key."""
    raw = new_raw_key()

    def tx(conn: sqlite3.Connection) -> KeyRecord:
        acct = account_id
        if acct is None:
            acct = create_account(conn, name)
        elif conn.execute("SELECT 1 FROM accounts WHERE id = ?", (acct,)).fetchone() is None:
            raise LookupError(f"account {acct} does not exist")
        created = insert_key(conn, raw, name=name, role=role, account_id=acct, rpm=rpm, tpm=tpm,
                             daily_cap=daily_cap, monthly_cap=monthly_cap)
        if credits_minor:
            ledger.grant(conn, acct, credits_minor, key_id=created.id, note="granted with key")
        return created

    return store.write(tx), raw


def new_raw_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def insert_key(conn: sqlite3.Connection, raw: str, *, name: str | None, role: str, account_id: str,
               rpm: int | None = None, tpm: int | None = None, daily_cap: int | None = None,
               monthly_cap: int | None = None) -> KeyRecord:
    """Store a key of an existing account, inside the caller's transaction (only its hash)."""
    key_id = new_id("key")
    conn.execute(
        "INSERT INTO api_keys (id, account_id, name, key_hash, masked, role, rpm, tpm, daily_cap, monthly_cap,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (key_id, account_id, name, hash_key(raw), mask(raw), role, rpm, tpm, daily_cap, monthly_cap, now_ms()),
    )
    _changed(conn)  # processes that remember this hash as unknown must look again
    created = get_key(conn, key_id)
    assert created is not None
    return created


def _changed(conn: sqlite3.Connection) -> None:
    """Called in the transaction that changes a key, so no process sees the change before the
    counter or the counter before the change."""
    conn.execute("UPDATE versions SET value = value + 1 WHERE name = 'api_keys'")


def get_key(conn: sqlite3.Connection, key_id: str) -> KeyRecord | None:
    row = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    return KeyRecord.from_row(row) if row else None


def find_by_hash(store: Store, key_hash: str) -> KeyRecord | None:
    row = store.query_one(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,))
    return KeyRecord.from_row(row) if row else None


def list_keys(store: Store, account_id: str | None = None) -> list[KeyRecord]:
    if account_id:
        rows = store.query(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE account_id = ? ORDER BY created_at DESC", (account_id,))
    else:
        rows = store.query(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC")
    return [KeyRecord.from_row(r) for r in rows]


def revoke_key(store: Store, key_id: str) -> KeyRecord | None:
    def tx(conn: sqlite3.Connection) -> KeyRecord | None:
        conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now_ms(), key_id))
        _changed(conn)
        return get_key(conn, key_id)

    return store.write(tx)


LIMIT_FIELDS = ("name", "rpm", "tpm", "daily_cap", "monthly_cap", "expires_at")


def update_key(store: Store, key_id: str, fields: dict[str, object]) -> KeyRecord | None:
    values = {k: v for k, v in fields.items() if k in LIMIT_FIELDS}

    def tx(conn: sqlite3.Connection) -> KeyRecord | None:
        if values:
            sets = ", ".join(f"{k} = ?" for k in values)
            conn.execute(f"UPDATE api_keys SET {sets} WHERE id = ?", (*values.values(), key_id))
            _changed(conn)
        return get_key(conn, key_id)

    return store.write(tx)


def has_admin_key(store: Store) -> bool:
    return store.query_one("SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1") is not None
