"""The reconciliation job of the DynamoDB hot state (a scheduled function on AWS, `aihub
reconcile` anywhere): end holds past their deadline (settled at the charge the ledger booked for
their call, else released), mirror recent credits that did not
reach DynamoDB when they were booked, and check every account's DynamoDB balance + reserved
against the SQLite ledger, the book of record.

A charge is taken in DynamoDB when its call settles and booked in the ledger a moment later
(by the writer), so a busy account can differ for that moment: an account is reported only
when it differs on two reads `recheck_s` apart.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from chalicelib.hotstate.base import Hold
from chalicelib.hotstate.dynamodb import DynamoHotState, hot_state
from chalicelib.store.db import Store

log = logging.getLogger("aihub.reconcile")

RECENT_CREDITS_MS = 86_400_000  # credits re-mirrored on every run (each applies once)


@dataclass(frozen=True, slots=True)
class Drift:
    account_id: str
    ledger: int  # minor units: the ledger's balance (what is held included)
    hot: int  # DynamoDB's balance + reserved

    @property
    def difference(self) -> int:
        return self.hot - self.ledger


@dataclass(slots=True)
class Report:
    swept: list[str] = field(default_factory=list)  # request ids of holds released as interrupted
    settled: list[str] = field(default_factory=list)  # those of expired holds the ledger had charged
    mirrored: int = 0
    drift: list[Drift] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"swept": self.swept, "settled": self.settled, "mirrored": self.mirrored,
                "drift": [{**asdict(d), "difference": d.difference} for d in self.drift]}


def sweep(state: DynamoHotState, db: Store, now: float) -> tuple[list[str], list[str]]:
    """End every hold past its deadline; returns the request ids (released, settled).

    A hold whose call the ledger charged is settled at that charge: the gateway's settlement
    failed (or its answer was lost) and the ledger booked the charge anyway, so giving the hold
    back whole would leave DynamoDB above the ledger by the charge. Any other is released: its
    call is taken for interrupted (the call log records it so)."""
    released: list[str] = []
    settled: list[str] = []
    for hold in state.expired(now):
        charged = booked_charge(db, hold)
        if charged is None:
            state.release(hold)
            released.append(hold.request_id)
        else:
            state.settle(hold, charged, 0)
            settled.append(hold.request_id)
    return released, settled


def booked_charge(db: Store, hold: Hold) -> int | None:
    """What the ledger charged the hold's call (minor units), None when it charged nothing."""
    if hold.account_id is None:
        return None
    row = db.query_one("SELECT -SUM(amount) FROM credit_ledger WHERE account_id = ? AND request_id = ?"
                       " AND kind = 'charge'", (hold.account_id, hold.request_id))
    return None if row is None or row[0] is None else int(row[0])


def drifted(state: DynamoHotState, db: Store, account_ids: list[str] | None = None) -> list[Drift]:
    """Accounts (all, or those named) whose DynamoDB item differs from the ledger; an account
    with no item yet is not drift: it is seeded from the ledger on first use."""
    sql = "SELECT id, balance + reserved FROM accounts"
    if account_ids is not None:
        sql += f" WHERE id IN ({','.join('?' * len(account_ids))})"
    book = {row[0]: row[1] for row in db.query(sql, tuple(account_ids or ()))}
    hot = state.balances(list(book))
    return [Drift(a, book[a], sum(hot[a])) for a in sorted(hot) if sum(hot[a]) != book[a]]


def reconcile(state: DynamoHotState, db: Store, *, now: float | None = None, recheck_s: float = 5.0) -> Report:
    now = time.time() if now is None else now
    released, settled = sweep(state, db, now)
    report = Report(released, settled, state.mirror(db, "created_at >= ?", (int(now * 1000) - RECENT_CREDITS_MS,)))
    first = drifted(state, db)
    if first:
        time.sleep(recheck_s)
        report.drift = drifted(state, db, [d.account_id for d in first])
    for d in report.drift:
        log.error("hot state drift: account %s has %d in DynamoDB and %d in the ledger (%+d)",
                  d.account_id, d.hot, d.ledger, d.difference)
    if report.swept:
        log.warning("hot state: released %d expired holds: %s", len(report.swept), ", ".join(report.swept))
    if report.settled:
        log.warning("hot state: settled %d expired holds at the ledger's charge: %s", len(report.settled),
                    ", ".join(report.settled))
    return report


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled function: one run, its report logged as one JSON line and returned."""
    from chalicelib.store.shared import store

    result = reconcile(hot_state(), store()).as_dict()
    print(orjson.dumps({"event": "hot_state_reconcile", **result}).decode(), flush=True)
    return result
