"""The writer function: drains the call-log queue into the database, one transaction a batch.

SQS invokes it (reserved concurrency 1, ReportBatchItemFailures) with a batch of messages. All
of them are applied in one write transaction, each in its own savepoint: a message that fails
alone (not a message, or a bug meeting it) is rolled back and reported in `batchItemFailures`,
so SQS redelivers only it, and past maxReceiveCount moves it to the dead-letter queue. A failure
of the database itself (locked past the budget, disk full) raises: the whole batch comes back
after its visibility timeout. Applying is idempotent (apply.py), so redelivery changes nothing
that was already written. The same transaction sweeps calls past their deadline, at most every
SWEEP_EVERY_S.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from chalicelib.calllog.apply import apply_batch
from chalicelib.calllog.message import BadMessage, Message, from_json
from chalicelib.store import inflight
from chalicelib.store.db import Store
from chalicelib.store.writer import Job

log = logging.getLogger("aihub.calllog")

SWEEP_EVERY_S = 5.0
_last_sweep = 0.0


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    from chalicelib.store.shared import store

    return drain(store(), event.get("Records") or [])


def drain(db: Store, records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Apply SQS records (`messageId`, `body`) to `db`; returns the failures, as Lambda's
    partial batch response."""
    failed: list[str] = []
    good: list[tuple[str, Message]] = []
    for record in records:
        try:
            good.append((record["messageId"], from_json(record["body"])))
        except (BadMessage, KeyError, TypeError) as exc:
            log.error("call log: unreadable message %s: %s", record.get("messageId"), exc)
            failed.append(record.get("messageId", ""))
    chores = _due_chores()

    def tx(conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
        return apply_batch(conn, [msg for _, msg in good], chores)

    outcomes = db.write(tx) if good or chores else []
    for (message_id, msg), (ok, value) in zip(good, outcomes):
        if not ok:
            log.error("call log: %s %s failed: %r", msg.kind, msg.request_id, value)
            failed.append(message_id)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _due_chores() -> list[Job]:
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < SWEEP_EVERY_S:
        return []
    _last_sweep = now
    return [_sweep]


def _sweep(conn: sqlite3.Connection) -> None:
    swept = inflight.sweep(conn)
    if swept:
        log.warning("call log: %d calls past their deadline recorded as interrupted", swept)
