"""The writer's side of the call log: a message applied to the database.

Idempotent by request id, since queues deliver at least once and reorder: the unique
`model_calls.request_id` says a call is settled, and a settle that finds its record already
written changes nothing (no second charge, no counter bumped twice), except for the one case
where the record was written by the in-flight sweep (the call was taken for dead), which takes
the charge the provider still billed, once. A `begin` that comes after its call's record is
ignored. Everything of one call happens in the caller's savepoint, so it all commits or not.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from chalicelib.billing import accounting
from chalicelib.calllog.message import Message
from chalicelib.hotstate.sqlite import SqliteHotState
from chalicelib.store import calls, inflight
from chalicelib.store import providers as provider_rows
from chalicelib.store.writer import Job, in_savepoints

log = logging.getLogger("aihub.calllog")


def apply(conn: sqlite3.Connection, msg: Message) -> int:
    """Apply one message inside an open transaction; returns the credits (minor units) the
    call's record carries: what it was charged, 0 when nothing (or nothing new) was."""
    if msg.kind == "begin":
        assert msg.deadline is not None  # message.from_json refuses a begin without one
        inflight.begin_queued(conn, msg.record, msg.deadline)
        return 0
    rec = msg.record
    if not inflight.end(conn, rec.request_id) and calls.exists(conn, rec.request_id):
        _settled_before(conn, msg)
        return 0
    hold = msg.hold
    credits = 0
    if msg.charged_externally:
        if msg.cost and rec.account_id:
            charged = min(msg.cost, accounting.MAX_CHARGE)
            credits = accounting.book(conn, rec.account_id, rec.key_id, rec.request_id, charged,
                                      accounting.overrun(charged, hold.amount if hold else charged))
    elif hold is not None:  # held in SQLite: its counters and hold settle here, as admission took them
        credits = SqliteHotState(conn).settle(hold, msg.cost, msg.tokens)
    rec.credits = credits
    calls.insert(conn, rec)
    if rec.status == "success" and rec.credential_id and rec.credential_id.startswith("cred_"):
        provider_rows.mark_used(conn, rec.credential_id, rec.created_at)
    return credits


def apply_batch(conn: sqlite3.Connection, messages: Sequence[Message],
                chores: Sequence[Job] = ()) -> list[tuple[bool, Any]]:
    """Apply each message in its own savepoint (after `chores`) within the caller's transaction;
    returns (ok, credits or the exception) per message. A database failure is raised."""
    return in_savepoints(conn, [lambda conn, msg=msg: apply(conn, msg) for msg in messages], chores)


def _settled_before(conn: sqlite3.Connection, msg: Message) -> None:
    """The call's record exists: a replay (nothing to do), or the sweep took the call for dead
    and recorded it as interrupted, while the provider still billed it: charged once, unheld."""
    rec = msg.record
    if not msg.cost or not rec.account_id:
        return
    swept = conn.execute("SELECT 1 FROM model_calls WHERE request_id = ? AND error_code = ?",
                         (rec.request_id, inflight.INTERRUPTED)).fetchone()
    charged = conn.execute("SELECT 1 FROM credit_ledger WHERE account_id = ? AND request_id = ? AND kind = 'charge'",
                           (rec.account_id, rec.request_id)).fetchone()
    if swept and not charged:
        accounting.charge_unheld(conn, rec.account_id, rec.key_id, rec.request_id, msg.cost)
        log.warning("call %s settled after it was swept as interrupted", rec.request_id)
