"""The credit ledger: every change of a balance is one row, written with the balance change."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from chalicelib.store.db import Store


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
) -> None:
    """Credit (amount > 0) or debit an account; the caller's transaction makes both atomic."""
    conn.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", (amount, account_id))
    conn.execute(
        "INSERT INTO credit_ledger (account_id, kind, amount, request_id, key_id, note, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (account_id, kind, amount, request_id, key_id, note, expires_at, int(time.time() * 1000)),
    )


@dataclass(frozen=True, slots=True)
class Balance:
    balance: int
    reserved: int
    granted: int
    used: int


def balance(store: Store, account_id: str) -> Balance | None:
    row = store.query_one(
        "SELECT a.balance, a.reserved,"
        " (SELECT COALESCE(SUM(amount), 0) FROM credit_ledger WHERE account_id = a.id AND amount > 0) AS granted,"
        " (SELECT COALESCE(-SUM(amount), 0) FROM credit_ledger WHERE account_id = a.id AND kind = 'charge') AS used"
        " FROM accounts a WHERE a.id = ?",
        (account_id,),
    )
    return Balance(row["balance"], row["reserved"], row["granted"], row["used"]) if row else None
