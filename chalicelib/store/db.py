"""The SQLite connection: pragmas that are safe on EFS, short IMMEDIATE write transactions.

One connection per thread (sqlite3 connections are not shared across threads), opened lazily
and kept for the life of the process, so a warm Lambda reuses it. Writes go through
`Store.write`, which takes the write lock up front (`BEGIN IMMEDIATE`) so two writers never
deadlock upgrading read locks, and retries with jitter while another process holds the lock,
within a time budget well below the Lambda and API Gateway timeouts. No transaction outlives
the call that opened it: a COMMIT that fails (a reader still holds its lock in rollback-journal
mode) is rolled back before anything else, or SQLite would keep the transaction, and with it
the RESERVED and PENDING locks that shut every other process out.

Each connection also carries a TEMP trigger on the change counters (store.versions): a commit
of this process that moved one bumps `Store.generation`, so this process's snapshots follow
its own changes at the next request instead of at the next periodic counter read.
"""
from __future__ import annotations

import itertools
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.errors import ApiError

if TYPE_CHECKING:
    from chalicelib.store.trace import StatementLog

T = TypeVar("T")


class DatabaseUnavailable(ApiError):
    """The database cannot take a write now (held lock past the budget, full or failing disk)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(503, f"The gateway cannot record calls right now ({detail}); retry shortly.",
                         code=f"database_{reason}", type="api_error", headers={"retry-after": "5"})
        self.reason = reason  # busy | full | failing


def classify(exc: BaseException) -> DatabaseUnavailable | None:
    """The operational errors that mean 'not now' rather than a bug."""
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        return None
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return DatabaseUnavailable("busy", "the database is locked by another process")
    if "full" in text:
        return DatabaseUnavailable("full", "the disk is full")
    if "disk i/o" in text or "readonly" in text or "read-only" in text or "unable to open" in text:
        return DatabaseUnavailable("failing", "the database cannot be written")
    return None


def _busy(exc: BaseException) -> bool:
    found = classify(exc)
    return found is not None and found.reason == "busy"


class Store:
    def __init__(self, path: str, *, journal_mode: str = "wal", busy_timeout_ms: int = 2_000,
                 write_budget_ms: int = 10_000, trace: StatementLog | None = None) -> None:
        self.path = path
        self.journal_mode = journal_mode
        self.busy_timeout_ms = busy_timeout_ms
        self.write_budget_ms = write_budget_ms
        self.trace = trace
        self._local = threading.local()
        # Changes to the counters committed through this Store, as a value that differs after
        # each: unique values from a shared counter, so two threads committing at once never
        # leave it where a reader saw it.
        self.generation = 0
        self._generations = itertools.count(1)

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout_ms / 1000)
        conn.row_factory = sqlite3.Row
        if self.trace is not None:
            self.trace.attach(conn)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        # Setting the journal mode reads the database: it can meet another process's lock.
        deadline = time.monotonic() + self.write_budget_ms / 1000
        while True:
            try:
                conn.execute(f"PRAGMA journal_mode = {self.journal_mode}")
                break
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() >= deadline:
                    conn.close()
                    raise
                time.sleep(random.uniform(0.005, 0.05))
        # WAL keeps commits durable across a process crash with NORMAL; the rollback journal
        # (EFS) needs FULL for the same guarantee.
        conn.execute("PRAGMA synchronous = " + ("NORMAL" if self.journal_mode == "wal" else "FULL"))
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("aihub_counter_moved", 0, self._counter_moved)
        self._watch(conn)
        return conn

    def _counter_moved(self) -> None:
        # Runs in the thread of the statement that moved a counter (connections are per thread),
        # inside its transaction: the generation moves only once that commits.
        self._local.moved = True

    def _watch(self, conn: sqlite3.Connection) -> None:
        """Install the TEMP trigger (this connection only: another program's connections never
        call a function they lack) once the counters' table exists (after migration)."""
        try:
            conn.execute("CREATE TEMP TRIGGER IF NOT EXISTS aihub_counter_moved AFTER UPDATE ON main.versions"
                         " BEGIN SELECT aihub_counter_moved(); END")
        except sqlite3.OperationalError:  # no table yet, or locked: tried again at the next write
            return
        self._local.watched = conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def db(self) -> Any:
        """A sqlite-utils Database over this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            import sqlite_utils

            db = self._local.db = sqlite_utils.Database(self.conn)
        return db

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read, retried while another process's commit holds the lock (rollback journal), for
        at most the write budget: a starved reader gets a 503, not a bare 'locked' error."""
        deadline = time.monotonic() + self.write_budget_ms / 1000
        while True:
            try:
                return fn(self.conn)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable("busy", "the database is locked by another process") from exc
                time.sleep(random.uniform(0.005, 0.05))

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self._read(lambda conn: conn.execute(sql, params).fetchall())

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self._read(lambda conn: conn.execute(sql, params).fetchone())

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if getattr(self._local, "watched", None) is not conn:
            self._watch(conn)
        conn.execute("BEGIN IMMEDIATE")
        self._local.moved = False
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # Also after a failed COMMIT: the transaction is still open then.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    self.close()  # closing the connection releases every lock it held
            raise
        if self._local.moved:
            self.generation = next(self._generations)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one IMMEDIATE transaction, retried whole while the database stays locked,
        for at most the write budget; then DatabaseUnavailable (a 503 for the client)."""
        deadline = time.monotonic() + self.write_budget_ms / 1000
        attempt = 0
        while True:
            try:
                with self._immediate() as conn:
                    return fn(conn)
            except sqlite3.Error as exc:
                unavailable = classify(exc)
                if unavailable is None:
                    raise
                attempt += 1
                if not _busy(exc) or time.monotonic() >= deadline:
                    raise unavailable from exc
                time.sleep(min(random.uniform(0.005, 0.05) * attempt, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass
            self._local.conn = None
            self._local.db = None
