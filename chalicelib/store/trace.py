"""AIHUB_SQL_TRACE: every SQLite statement this process runs, one line each, with its thread.

For measuring what a request reads and writes (tests/integration/test_snapshots.py counts the
statements on the request path through the real server). Off unless set: then no connection has
a trace callback and nothing here runs. String literals are replaced by `?`, so the file carries
no value a statement bound (credentials are sealed anyway; keys only as hashes).
"""
from __future__ import annotations

import re
import sqlite3
import threading

_LITERAL = re.compile(r"'(?:[^']|'')*'")


class StatementLog:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives with the process)
        self._lock = threading.Lock()

    def attach(self, conn: sqlite3.Connection) -> None:
        """Log `conn`'s statements under the name of the thread that opened it (each thread has
        its own connection: store.db)."""
        thread = threading.current_thread().name

        def log(statement: str) -> None:
            line = f"{thread}\t{_LITERAL.sub('?', ' '.join(statement.split()))}\n"
            with self._lock:
                self._file.write(line)

        conn.set_trace_callback(log)
