"""The money statements: reserve, settle, release, grant, expire. Each function runs inside
the caller's IMMEDIATE transaction (Store.write), so every change of a balance, its ledger row,
the grant it draws on and the call it pays for commit together or not at all.

Balances never go negative: a reservation is one conditional UPDATE (`balance >= hold`), and a
charge beyond the hold (a provider that used more than the estimate) takes at most what the
balance still has; the shortfall is noted on the ledger row.
"""
from __future__ import annotations

import sqlite3
import time

from chalicelib.store import ledger


def now_ms() -> int:
    return int(time.time() * 1000)


def reserve(conn: sqlite3.Connection, request_id: str, account_id: str, key_id: str | None, amount: int,
            periods: str = "") -> bool:
    if conn.execute("UPDATE accounts SET balance = balance - ?, reserved = reserved + ? WHERE id = ? AND balance >= ?",
                    (amount, amount, account_id, amount)).rowcount == 0:
        return False
    conn.execute("INSERT INTO reservations (request_id, account_id, key_id, amount, periods, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (request_id, account_id, key_id, amount, periods, now_ms()))
    return True


def _take_hold(conn: sqlite3.Connection, request_id: str) -> tuple[str, str | None, int, str] | None:
    row = conn.execute("SELECT account_id, key_id, amount, periods FROM reservations WHERE request_id = ?",
                       (request_id,)).fetchone()
    if row is None:
        return None  # already released (e.g. by the stale-hold sweep)
    conn.execute("DELETE FROM reservations WHERE request_id = ?", (request_id,))
    conn.execute("UPDATE accounts SET balance = balance + ?, reserved = reserved - ? WHERE id = ?",
                 (row[2], row[2], row[0]))
    _release_periods(conn, row[1], row[3], row[2])
    return row[0], row[1], row[2], row[3]


def _release_periods(conn: sqlite3.Connection, key_id: str | None, periods: str, amount: int) -> None:
    for period in filter(None, periods.split(",")):
        conn.execute("UPDATE key_usage SET reserved = reserved - ? WHERE key_id = ? AND period = ?",
                     (amount, key_id, period))


def release(conn: sqlite3.Connection, request_id: str) -> None:
    """Give a hold back whole: the call failed and costs nothing."""
    _take_hold(conn, request_id)


def settle(conn: sqlite3.Connection, request_id: str, cost: int, note: str | None = None) -> int:
    """Release the hold and charge `cost` (at most what the balance allows); returns the charge."""
    held = _take_hold(conn, request_id)
    if held is None or cost <= 0:
        return 0
    account_id, key_id, _, periods = held
    balance = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
    charged = min(cost, max(balance, 0))
    if charged < cost:
        note = f"{note + '; ' if note else ''}shortfall {cost - charged} not collected"
    ledger.add(conn, account_id, -charged, kind="charge", key_id=key_id, request_id=request_id, note=note)
    ledger.consume_grants(conn, account_id, charged)
    for period in filter(None, periods.split(",")):
        conn.execute("UPDATE key_usage SET spent = spent + ? WHERE key_id = ? AND period = ?", (charged, key_id, period))
    return charged


def release_stale(conn: sqlite3.Connection, older_than_ms: int) -> int:
    """Release holds of calls that never settled; returns how many."""
    stale = [r[0] for r in conn.execute("SELECT request_id FROM reservations WHERE created_at < ?", (older_than_ms,))]
    for request_id in stale:
        _take_hold(conn, request_id)
    return len(stale)
