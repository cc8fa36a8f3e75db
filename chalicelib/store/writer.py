"""One writer thread per process: every write of the request path goes through its queue.

The event loop never waits on SQLite: a request hands its write (a function of a connection)
to the queue and awaits a future, and the thread commits whatever is waiting in one IMMEDIATE
transaction (group commit), each job in its own savepoint so one job's refusal (a 402, a 429)
does not undo the others. On EFS every commit costs network round trips and the write lock is
shared by every container, so batching is what keeps the call log affordable there.

A job marked durable (a call's settlement) is never dropped: if its batch fails because the
database is locked past the budget, the disk is full or failing, the thread keeps it and
retries it every second until it commits. While writes fail, `unavailable` says why; while the
disk is full or failing (`unwritable`), admission refuses new calls with a 503 and /health
reports the database unwritable. The first batch that commits clears it.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.store.db import DatabaseUnavailable, Store, classify

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]
log = logging.getLogger("aihub.writer")

MAX_BATCH = 256
RETRY_EVERY_S = 1.0


@dataclass(slots=True, eq=False)
class _Item:
    fn: Job
    durable: bool
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


_STOP = _Item(lambda conn: None, False)


@dataclass(slots=True)
class _Periodic:
    every_s: float
    fn: Job
    due: float = 0.0


def in_savepoints(conn: sqlite3.Connection, jobs: Sequence[Job], chores: Sequence[Job] = ()) -> list[tuple[bool, Any]]:
    """Run `jobs` then `chores` in one open transaction, each in its own savepoint, so that one
    job's error (a refusal, a bad message, a bug) undoes only that job; returns (ok, result or
    exception) per job. A failure of the database itself (locked, full, failing) is raised:
    the whole transaction must go back. A chore that fails is logged and skipped. Chores come
    last so that a settlement in the batch wins over the sweep that would take its call for
    dead (a backlog drained, a dead letter redriven late)."""
    outcomes: list[tuple[bool, Any]] = []
    for job in jobs:
        conn.execute("SAVEPOINT job")
        try:
            outcomes.append((True, job(conn)))
        except Exception as exc:
            if classify(exc) is not None:
                raise
            conn.execute("ROLLBACK TO job")
            outcomes.append((False, exc))
        conn.execute("RELEASE job")
    for chore in chores:
        conn.execute("SAVEPOINT chore")
        try:
            chore(conn)
        except Exception as exc:
            if classify(exc) is not None:
                raise
            log.exception("periodic write failed")
            conn.execute("ROLLBACK TO chore")
        conn.execute("RELEASE chore")
    return outcomes


class Writer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.unavailable: DatabaseUnavailable | None = None
        self.batches = 0  # commits made, and jobs in them: group commit's effect, for the bench
        self.jobs = 0
        # Told (seconds, jobs, backlog) after each commit: the metrics of database writes.
        self.on_commit: Callable[[float, int, int], None] | None = None
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._retry: list[_Item] = []
        self._periodic: list[_Periodic] = []
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # -- the callers' side ------------------------------------------------------------------

    def submit(self, fn: Job, *, durable: bool = False) -> concurrent.futures.Future:
        self._ensure_thread()
        item = _Item(fn, durable)
        self._queue.put(item)
        return item.future

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = False) -> T:
        """Commit `fn` through the queue; raises what it raised, or DatabaseUnavailable."""
        return await asyncio.wrap_future(self.submit(fn, durable=durable))

    def every(self, seconds: float, fn: Job) -> None:
        """Run `fn` first in a batch at least every `seconds` (every second while writes fail);
        register these before the first submit."""
        self._periodic.append(_Periodic(seconds, fn))

    def close(self) -> None:
        """Stop the thread once what is queued now is committed (tests, shutdown)."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=self.store.write_budget_ms / 1000 + 1)
            self._thread = None

    @property
    def unwritable(self) -> DatabaseUnavailable | None:
        """Why the database cannot take writes at all (a full or failing disk), else None. A lock
        held past the budget is not that: another process's transaction ends, and the next
        call's own write may well succeed (if not, that call alone gets its 503)."""
        failure = self.unavailable
        return failure if failure is not None and failure.reason != "busy" else None

    @property
    def backlog(self) -> int:
        return self._queue.qsize() + len(self._retry)

    # -- the thread -------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="aihub-writer", daemon=True)
                    self._thread.start()

    def _next_wait(self, now: float) -> float:
        waits = [p.due - now for p in self._periodic]
        if self._retry:
            waits.append(RETRY_EVERY_S)
        return max(0.0, min(waits, default=3600.0))

    def _loop(self) -> None:
        retry_at = 0.0
        stopping = False
        while not stopping:
            batch: list[_Item] = []
            try:
                batch.append(self._queue.get(timeout=self._next_wait(time.monotonic())))
                while len(batch) < MAX_BATCH:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            if _STOP in batch:
                batch.remove(_STOP)
                stopping = True
            now = time.monotonic()
            if self._retry and now >= retry_at:
                batch, self._retry = self._retry + batch, []
                retry_at = now + RETRY_EVERY_S
            due = [p for p in self._periodic if p.due <= now]
            for p in due:
                p.due = now + (RETRY_EVERY_S if self.unavailable else p.every_s)
            if batch or due:
                self._commit(batch, [p.fn for p in due])

    def _commit(self, batch: list[_Item], chores: list[Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []

        def tx(conn: sqlite3.Connection) -> None:
            outcomes.clear()  # a retry after a busy lock runs the whole batch again
            if len(batch) == 1 and not chores:  # the common case at low load: no savepoint needed
                outcomes.append((True, batch[0].fn(conn)))
                return
            outcomes.extend(in_savepoints(conn, [item.fn for item in batch], chores))

        started = time.perf_counter()
        try:
            self.store.write(tx)
        except DatabaseUnavailable as exc:
            self._failed(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1 and not chores:  # that job's own error (a refusal, or a bug)
                self._settle(batch[0], False, exc)
                return
            log.exception("write batch failed")
            self._failed(batch, DatabaseUnavailable("failing", "a write failed"))
            return
        if self.unavailable is not None:
            log.warning("database writable again; %d deferred writes committed", sum(i.durable for i in batch))
        self.unavailable = None
        self.batches += 1
        self.jobs += len(batch)
        if self.on_commit is not None:
            try:
                self.on_commit(time.perf_counter() - started, len(batch), self.backlog)
            except Exception:
                log.exception("commit observer failed")
        for item, (ok, value) in zip(batch, outcomes):
            self._settle(item, ok, value)

    def _failed(self, batch: list[_Item], exc: DatabaseUnavailable) -> None:
        if self.unavailable is None:
            log.error("database write failed (%s): %s", exc.reason, exc.__cause__ or exc)
        self.unavailable = exc
        for item in batch:
            if item.durable:
                self._retry.append(item)
            self._settle(item, False, exc)

    @staticmethod
    def _settle(item: _Item, ok: bool, value: Any) -> None:
        if item.future.done():  # a durable job retried after its caller stopped waiting
            return
        if ok:
            item.future.set_result(value)
        else:
            item.future.set_exception(value)


