"""Calls in flight and the processes that own them, so that no call vanishes with its process.

A call is written here at admission (with its hold, when it has one) and removed by its
settlement, in the transaction that writes its `model_calls` row; `model_calls` itself stays
append-only, which the analytics roll-ups rely on. Each process is an owner with a lease that
its writer thread renews; a call whose owner's lease ran out (or whose owner is a dead process
on this host) is settled by whoever sweeps first: recorded as failed (`interrupted`) and its
hold released.

A call whose settlement is queued (chalicelib/calllog, `AIHUB_SETTLEMENTS=sqs`) has a deadline
instead: its settle may be applied long after its Lambda container froze, so no lease could be
kept, but no invocation outlives the function's timeout, so a row past its deadline is dead.
"""
from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from functools import lru_cache
from typing import Any

import orjson

from chalicelib.billing import accounting
from chalicelib.store import calls
from chalicelib.store.calls import CallRecord

LEASE_MS = 20_000  # a live process renews every RENEW_S, so it is never taken for dead
RENEW_S = 5.0
INTERRUPTED = "interrupted"
QUEUED = "queued"  # the owner of rows begun by the call log's writer: their deadline decides


@lru_cache(maxsize=1)
def owner() -> str:
    """This process, as an owner of calls: host, pid and a nonce (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def now_ms() -> int:
    return int(time.time() * 1000)


def renew(conn: sqlite3.Connection) -> None:
    host, pid, _ = owner().rsplit(":", 2)
    conn.execute("INSERT INTO owners (owner, host, pid, lease_until) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until",
                 (owner(), host, int(pid), now_ms() + LEASE_MS))


def begin(conn: sqlite3.Connection, record: CallRecord, *, deadline: int | None = None) -> None:
    """A call starts: it is owned by this process until it settles, or (with a `deadline`,
    epoch ms) is taken for dead once past it, whoever owns it."""
    conn.execute("INSERT INTO inflight (request_id, owner, created_at, record, deadline) VALUES (?, ?, ?, ?, ?)",
                 (record.request_id, owner(), record.created_at, orjson.dumps(_fields(record)), deadline))


def begin_queued(conn: sqlite3.Connection, record: CallRecord, deadline: int) -> bool:
    """A queued call's start, applied by the writer of the call log: queues reorder, so a start
    that comes after its call's record (or twice) changes nothing; returns whether it counted."""
    if calls.exists(conn, record.request_id):
        return False
    return conn.execute("INSERT INTO inflight (request_id, owner, created_at, record, deadline) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (request_id) DO NOTHING",
                        (record.request_id, QUEUED, record.created_at, orjson.dumps(_fields(record)),
                         deadline)).rowcount > 0


def end(conn: sqlite3.Connection, request_id: str) -> bool:
    """A call settled; False when a sweep had already settled it as interrupted."""
    return conn.execute("DELETE FROM inflight WHERE request_id = ?", (request_id,)).rowcount > 0


def _fields(record: CallRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ("request_id", "created_at", "type", "account_id", "key_id",
                                                      "requested_model", "stream", "surface", "app_id")}


def _alive_here(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(conn: sqlite3.Connection, *, check_pids: bool = False) -> int:
    """Settle the calls of dead owners, and those past their deadline, as failed and release
    their holds; returns how many.

    Dead: the lease ran out, or (with `check_pids`, at start-up) a process of this host that no
    longer exists, which lets a restarted single-process server free its predecessor's holds
    at once instead of after the lease. A row with a deadline is judged by it alone."""
    now = now_ms()
    dead = {row[0] for row in conn.execute("SELECT owner FROM owners WHERE lease_until < ?", (now,))}
    if check_pids:
        here = socket.gethostname()
        dead |= {row[0] for row in conn.execute("SELECT owner, pid FROM owners WHERE host = ? AND owner != ?",
                                                (here, owner())) if not _alive_here(row[1])}
    rows = conn.execute("SELECT request_id, owner, record FROM inflight WHERE deadline < ? OR (deadline IS NULL AND"
                        " (owner NOT IN (SELECT owner FROM owners WHERE lease_until >= ?)"
                        + (f" OR owner IN ({','.join('?' * len(dead))})" if dead else "") + "))",
                        (now, now, *dead)).fetchall()
    for request_id, _, raw in rows:
        fields = orjson.loads(raw)
        record = CallRecord(**fields)
        record.status, record.error_code = "failed", INTERRUPTED
        record.error = "The gateway process serving this call ended before the call finished."
        record.duration_ms = float(max(0, now - record.created_at))
        accounting.release(conn, request_id)
        conn.execute("DELETE FROM inflight WHERE request_id = ?", (request_id,))
        calls.insert(conn, record)
    if dead:
        conn.execute(f"DELETE FROM owners WHERE owner IN ({','.join('?' * len(dead))})", tuple(dead))
    return len(rows)


def count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM inflight").fetchone()[0]
