"""The SQLite connection: pragmas that are safe on EFS, short IMMEDIATE write transactions.

One connection per thread (sqlite3 connections are not shared across threads), opened lazily
and kept for the life of the process, so a warm Lambda reuses it. Writes go through
`Store.write`, which takes the write lock up front (`BEGIN IMMEDIATE`) so two writers never
deadlock upgrading read locks, and retries with jitter when another process holds the lock
past the busy timeout. No transaction outlives the call that opened it.
"""
from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_LOCK_RETRIES = 8


class Store:
    def __init__(self, path: str, *, journal_mode: str = "wal", busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self.journal_mode = journal_mode
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self.busy_timeout_ms / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        conn.execute(f"PRAGMA journal_mode = {self.journal_mode}")
        # WAL keeps commits durable across a process crash with NORMAL; the rollback journal
        # (EFS) needs FULL for the same guarantee.
        conn.execute("PRAGMA synchronous = " + ("NORMAL" if self.journal_mode == "wal" else "FULL"))
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

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

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one IMMEDIATE transaction; retried whole if the database stays locked."""
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._immediate() as conn:
                    return fn(conn)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.db = None
