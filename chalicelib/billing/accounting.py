"""The money statements: reserve, settle, release, grant, expire. Each function runs inside
the caller's IMMEDIATE transaction (Store.write), so every change of a balance, its ledger row,
the grant it draws on and the call it pays for commit together or not at all.

A reservation is one conditional UPDATE (`balance >= hold`, and never for an account in debt).
A charge is always taken in full: when a provider reports more than was held, the balance may
go below zero by that overrun only, the ledger row says so, and the account is refused until
it is back above zero. Nothing is forgiven.
"""
from __future__ import annotations

import sqlite3
import time

from chalicelib.store import ledger

# One charge is bounded so that no balance can leave SQLite's 64-bit integers, whatever a
# provider reports (2**62 minor units is 4.6e9 credits).
MAX_CHARGE = 2**62


def now_ms() -> int:
    return int(time.time() * 1000)


def reserve(conn: sqlite3.Connection, request_id: str, account_id: str, key_id: str | None, amount: int,
            periods: str = "") -> bool:
    if conn.execute("UPDATE accounts SET balance = balance - ?, reserved = reserved + ?"
                    " WHERE id = ? AND balance >= ? AND balance >= 0",
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
    """Release the hold and charge `cost` in full; returns the charge."""
    held = _take_hold(conn, request_id)
    if held is None or cost <= 0:
        return 0
    account_id, key_id, amount, periods = held
    charged = min(cost, MAX_CHARGE)
    book(conn, account_id, key_id, request_id, charged, overrun(charged, amount, note))
    for period in filter(None, periods.split(",")):
        conn.execute("UPDATE key_usage SET spent = spent + ? WHERE key_id = ? AND period = ?", (charged, key_id, period))
    return charged


def overrun(charged: int, held: int, note: str | None = None) -> str | None:
    if charged <= held:
        return note
    return f"{note + '; ' if note else ''}overrun: usage cost {charged - held} more than the {held} held"


def book(conn: sqlite3.Connection, account_id: str, key_id: str | None, request_id: str, charged: int,
         note: str | None = None) -> int:
    """Write a charge already taken from the hold (here, or in the DynamoDB hot state): its
    ledger row and the grants it draws on; returns it."""
    ledger.add(conn, account_id, -charged, kind="charge", key_id=key_id, request_id=request_id, note=note)
    ledger.consume_grants(conn, account_id, charged)
    return charged


def charge_unheld(conn: sqlite3.Connection, account_id: str, key_id: str | None, request_id: str, cost: int) -> int:
    """Charge a call whose hold is gone (released by a sweep): in full, like any charge."""
    return book(conn, account_id, key_id, request_id, min(cost, MAX_CHARGE),
                "charged after the call was swept as interrupted")


def orphaned(conn: sqlite3.Connection) -> list[tuple[str, str, str | None, int, str]]:
    """Holds that no call in flight owns (left by a version that kept no in-flight rows;
    admission writes both together, so nothing else makes one): request id, account, key,
    amount and cap periods."""
    return conn.execute("SELECT request_id, account_id, key_id, amount, periods FROM reservations"
                        " WHERE request_id NOT IN (SELECT request_id FROM inflight)").fetchall()


def release_orphaned(conn: sqlite3.Connection) -> int:
    """Release the orphaned holds; returns how many."""
    found = orphaned(conn)
    for row in found:
        _take_hold(conn, row[0])
    return len(found)
