"""Sessions of the `aigne hub connect` handshake: made by the CLI, approved in the web UI by a
signed-in user (which binds a newly issued key, sealed for the CLI), read by the CLI's polls,
then deleted by it. The raw key is never stored: api_keys keeps its hash, and the copy the CLI
must fetch lives here, sealed with the master secret (chalicelib/handlers/connect.py), only
until the CLI deletes the session or it expires."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    created_at: int
    expires_at: int
    key_id: str | None  # set once approved: the accessKeyId the CLI receives
    secret_cipher: str | None  # the CLI's cipher, itself sealed with AIHUB_SECRET
    challenge: str | None

    @property
    def approved(self) -> bool:
        return self.key_id is not None


_COLUMNS = ", ".join(Session.__slots__)


def create(conn: sqlite3.Connection, sid: str, now_ms: int, ttl_ms: int) -> None:
    conn.execute("INSERT INTO access_key_sessions (id, created_at, expires_at) VALUES (?, ?, ?)",
                 (sid, now_ms, now_ms + ttl_ms))


def live(conn: sqlite3.Connection, sid: str, now_ms: int) -> Session | None:
    """The session unless it is unknown, deleted or expired (all three look the same)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM access_key_sessions WHERE id = ? AND expires_at > ?",
                       (sid, now_ms)).fetchone()
    return Session(*row) if row else None


def approve(conn: sqlite3.Connection, sid: str, now_ms: int, key_id: str, secret_cipher: str,
            challenge: str) -> bool:
    """Bind the issued key; False if the session is gone or already approved (single use)."""
    return conn.execute(
        "UPDATE access_key_sessions SET key_id = ?, secret_cipher = ?, challenge = ?, approved_at = ?"
        " WHERE id = ? AND expires_at > ? AND key_id IS NULL",
        (key_id, secret_cipher, challenge, now_ms, sid, now_ms)).rowcount == 1


def delete(conn: sqlite3.Connection, sid: str, now_ms: int) -> bool:
    return conn.execute("DELETE FROM access_key_sessions WHERE id = ? AND expires_at > ?",
                        (sid, now_ms)).rowcount == 1


def purge_expired(conn: sqlite3.Connection, now_ms: int) -> int:
    return conn.execute("DELETE FROM access_key_sessions WHERE expires_at <= ?", (now_ms,)).rowcount
