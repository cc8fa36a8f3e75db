"""The credit ledger: every change of a balance is one row, written with the balance change."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from chalicelib.billing.units import MAX_CREDITS, MAX_MINOR, MINOR_PER_CREDIT, from_minor
from chalicelib.store.db import Store


class CreditLimit(ValueError):
    """A grant that would take an account past MAX_MINOR; nothing of it is written."""


def add(
    conn: sqlite3.Connection,
    account_id: str,
    amount: int,
    *,
    kind: str,
    key_id: str | None = None,
    request_id: str | None = None,
    note: str | None = None,
    expires_at: int | None = None,
) -> int:
    """Credit (amount > 0) or debit an account; the caller's transaction makes both atomic.
    Returns the ledger row's id."""
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, account_id))
    return conn.execute(
        "INSERT INTO credit_ledger (account_id, kind, amount, request_id, key_id, note, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (account_id, kind, amount, request_id, key_id, note, expires_at, int(time.time() * 1000)),
    ).lastrowid or 0


def grant(conn: sqlite3.Connection, account_id: str, amount: int, *, kind: str = "grant",
          expires_at: int | None = None, key_id: str | None = None, request_id: str | None = None,
          note: str | None = None) -> int:
    """Credit an account (returns the ledger row's id); what a grant adds is tracked so that its expiry takes only the unused part.

    Refused (CreditLimit, before any write) past MAX_MINOR: the balance, the holds on it and every
    sum over them then stay far inside SQLite's 64-bit integers."""
    held = conn.execute("SELECT balance + reserved FROM accounts WHERE id = ?", (account_id,)).fetchone()
    if held is not None and held[0] + amount > MAX_MINOR:
        raise CreditLimit(f"This would take the account to {from_minor(held[0] + amount)} credits;"
                          f" an account holds at most {MAX_CREDITS} credits.")
    row = add(conn, account_id, amount, kind=kind, key_id=key_id, request_id=request_id, note=note,
              expires_at=expires_at)
    conn.execute("INSERT INTO credit_grants (account_id, amount, remaining, expires_at, created_at)"
                 " VALUES (?, ?, ?, ?, ?)", (account_id, amount, amount, expires_at, int(time.time() * 1000)))
    return row


def consume_grants(conn: sqlite3.Connection, account_id: str, amount: int) -> None:
    """Spend from the grants that expire first (then those that never do)."""
    rows = conn.execute(
        "SELECT id, remaining FROM credit_grants WHERE account_id = ? AND remaining > 0"
        " ORDER BY expires_at IS NULL, expires_at, id", (account_id,)).fetchall()
    for grant_id, remaining in rows:
        if amount <= 0:
            break
        take = min(remaining, amount)
        conn.execute("UPDATE credit_grants SET remaining = remaining - ? WHERE id = ?", (take, grant_id))
        amount -= take


def expire_grants(conn: sqlite3.Connection, at: int, spendable: dict[str, int] | None = None) -> int:
    """Take back what is left of grants past their expiry; returns the amount expired.

    Never more than the account can spend now: credit held by calls in flight is not clawed
    back. That is the balance here, or, where the holds live in DynamoDB, its balance there
    (`spendable`: the SQLite balance has no holds then, and lags the charges still queued)."""
    total = 0
    for grant_id, account_id, remaining in conn.execute(
            "SELECT id, account_id, remaining FROM credit_grants WHERE expires_at IS NOT NULL AND expires_at <= ?"
            " AND remaining > 0", (at,)).fetchall():
        if spendable is not None and account_id in spendable:
            balance = spendable[account_id]
        else:
            balance = conn.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
        take = min(remaining, max(balance, 0))
        conn.execute("UPDATE credit_grants SET remaining = 0 WHERE id = ?", (grant_id,))
        if take:
            add(conn, account_id, -take, kind="expire", note=f"grant {grant_id} expired")
            total += take
            if spendable is not None and account_id in spendable:
                spendable[account_id] -= take  # the account's next grant sees what is left
    return total


def entries(store: Store, account_id: str, *, limit: int, before: int | None = None) -> list[dict]:
    """Newest first, paged by id."""
    sql = "SELECT * FROM credit_ledger WHERE account_id = ?" + (" AND id < ?" if before else "") + " ORDER BY id DESC LIMIT ?"
    params = (account_id, before, limit) if before else (account_id, limit)
    return [dict(r) for r in store.query(sql, params)]


@dataclass(frozen=True, slots=True)
class Balance:
    balance: int
    reserved: int
    granted: int
    used: int


def exact_sum(expr: str) -> str:
    """SQL for SUM(expr) that cannot overflow: SQLite's SUM() fails with "integer overflow" past
    2**63 and TOTAL() is a float, so whole credits and the rest are summed apart (each stays far
    from 2**63 for any number of rows a ledger can hold) and put together by `combine`."""
    return f"COALESCE(SUM(({expr}) / {MINOR_PER_CREDIT}), 0), COALESCE(SUM(({expr}) % {MINOR_PER_CREDIT}), 0)"


def combine(whole: int, rest: int) -> int:
    return whole * MINOR_PER_CREDIT + rest


def balance(store: Store, account_id: str) -> Balance | None:
    granted = exact_sum("CASE WHEN l.amount > 0 THEN l.amount END")
    used = exact_sum("CASE WHEN l.kind = 'charge' THEN -l.amount END")
    row = store.query_one(
        f"SELECT a.balance, a.reserved, {granted}, {used} FROM accounts a"
        " LEFT JOIN credit_ledger l ON l.account_id = a.id WHERE a.id = ? GROUP BY a.id", (account_id,))
    if row is None:
        return None
    return Balance(row[0], row[1], combine(row[2], row[3]), combine(row[4], row[5]))
