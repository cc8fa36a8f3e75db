"""The hot state in the SQLite file, inside the caller's write transaction (the default).

Admission runs it in the writer thread's transaction together with the call's in-flight row,
so a refused call leaves nothing behind. The ledger is the balance here, so credits need no
mirroring.
"""
from __future__ import annotations

import sqlite3

from chalicelib.billing import accounting
from chalicelib.hotstate.base import (
    Ask,
    Hold,
    cap_reached,
    insufficient,
    limit_headers,
    too_many_requests,
    too_many_tokens,
)


class SqliteHotState:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def admit(self, ask: Ask) -> Hold:
        conn, key, p = self.conn, ask.key, ask.periods
        hold = Hold(ask.request_id, ask.account_id, ask.key_id, ask.amount, p.minute if key else None)
        cap_periods: list[str] = []
        if key is not None:
            conn.execute("INSERT INTO key_usage (key_id, period) VALUES (?, ?) ON CONFLICT DO NOTHING", (key.id, p.minute))
            if key.rpm and conn.execute(
                    "UPDATE key_usage SET requests = requests + 1 WHERE key_id = ? AND period = ? AND requests < ?",
                    (key.id, p.minute, key.rpm)).rowcount == 0:
                raise too_many_requests(key, p)
            if not key.rpm:
                conn.execute("UPDATE key_usage SET requests = requests + 1 WHERE key_id = ? AND period = ?",
                             (key.id, p.minute))
            requests, tokens = conn.execute("SELECT requests, tokens FROM key_usage WHERE key_id = ? AND period = ?",
                                            (key.id, p.minute)).fetchone()
            hold.headers = limit_headers(key, requests, tokens, p.minute_left)
            if key.tpm and tokens >= key.tpm:
                raise too_many_tokens(key, p, hold.headers)
            for period, cap, what in ask.caps():
                conn.execute("INSERT INTO key_usage (key_id, period) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             (key.id, period))
                if conn.execute("UPDATE key_usage SET reserved = reserved + ? WHERE key_id = ? AND period = ?"
                                " AND spent + reserved + ? <= ?",
                                (ask.amount, key.id, period, ask.amount, cap)).rowcount == 0:
                    raise cap_reached(what, cap, p, hold.headers)
                cap_periods.append(period)
        hold.periods = tuple(cap_periods)
        if ask.amount and ask.account_id and not accounting.reserve(conn, ask.request_id, ask.account_id, ask.key_id,
                                                                    ask.amount, ",".join(cap_periods)):
            found = self.balance(ask.account_id)
            raise insufficient(ask.amount, found[0] if found else 0)
        return hold

    def settle(self, hold: Hold, cost: int | None, tokens: int) -> int:
        if hold.minute and tokens:
            self.conn.execute("UPDATE key_usage SET tokens = tokens + ? WHERE key_id = ? AND period = ?",
                              (tokens, hold.key_id, hold.minute))
        if not hold.amount:
            return 0
        if cost is None:
            accounting.release(self.conn, hold.request_id)
            return 0
        return accounting.settle(self.conn, hold.request_id, cost)

    def release(self, hold: Hold) -> None:
        accounting.release(self.conn, hold.request_id)

    def credit(self, account_id: str, amount: int, ref: int) -> bool:
        return False  # the ledger row, in the same transaction, is the credit

    def balance(self, account_id: str) -> tuple[int, int] | None:
        row = self.conn.execute("SELECT balance, reserved FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def expired(self, now: float) -> list[Hold]:
        """Holds that no call in flight owns (the in-flight sweep releases those of dead processes)."""
        return [Hold(request_id, account_id, key_id, amount, None, tuple(filter(None, periods.split(","))))
                for request_id, account_id, key_id, amount, periods in accounting.orphaned(self.conn)]
