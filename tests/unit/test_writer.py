"""The writer thread and the transactions under it: group commit, isolation of each job,
durable retries, and locks that can never wedge the database."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from chalicelib.errors import ApiError
from chalicelib.store.db import DatabaseUnavailable, Store
from chalicelib.store.writer import Writer


@pytest.fixture(params=["wal", "delete"])
def db(request, tmp_path) -> Store:
    store = Store(str(tmp_path / "w.db"), journal_mode=request.param, busy_timeout_ms=200, write_budget_ms=1_500)
    store.write(lambda c: c.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    return store


def _count(store: Store) -> int:
    return store.query_one("SELECT COUNT(*) FROM t")[0]


def test_jobs_waiting_together_share_one_commit(db):
    writer = Writer(db)
    gate = threading.Event()
    writer.submit(lambda c: gate.wait(5))  # holds the thread while the others queue up
    futures = [writer.submit(lambda c, n=n: c.execute("INSERT INTO t VALUES (?)", (n,))) for n in range(100)]
    gate.set()
    for f in futures:
        f.result(5)
    assert _count(db) == 100
    assert writer.batches <= 3 and writer.jobs == 101  # the gate, then the 100 in one or two batches
    writer.close()


def test_a_refused_job_undoes_only_itself(db):
    writer = Writer(db)
    gate = threading.Event()
    writer.submit(lambda c: gate.wait(5))

    def refuse(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t VALUES (1000)")
        raise ApiError(402, "no credits")

    before = writer.submit(lambda c: c.execute("INSERT INTO t VALUES (1)"))
    refused = writer.submit(refuse)
    after = writer.submit(lambda c: c.execute("INSERT INTO t VALUES (2)"))
    gate.set()
    before.result(5), after.result(5)
    with pytest.raises(ApiError):
        refused.result(5)
    assert [r[0] for r in db.query("SELECT n FROM t ORDER BY n")] == [1, 2]
    writer.close()


def test_async_callers_await_without_blocking_the_loop(db):
    writer = Writer(db)

    async def main() -> list[int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        results = await asyncio.gather(*[writer.run(lambda c, n=n: c.execute("INSERT INTO t VALUES (?)", (n,)).rowcount)
                                         for n in range(50)])
        task.cancel()
        return results

    assert asyncio.run(main()) == [1] * 50
    writer.close()


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute(sys.argv[2])
{read}
print("held", flush=True)
time.sleep(float(sys.argv[3]))
conn.execute("COMMIT")
"""


def _hold(path: str, statement: str, seconds: float, *, read: bool = False) -> subprocess.Popen:
    code = HOLD_LOCK.format(read="conn.execute('SELECT COUNT(*) FROM t').fetchone()" if read else "")
    proc = subprocess.Popen([sys.executable, "-c", code, path, statement, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_durable_job_outlives_a_lock_held_past_the_budget(db):
    writer = Writer(db)
    holder = _hold(db.path, "BEGIN IMMEDIATE", 2.5)  # another process holds the write lock
    future = writer.submit(lambda c: c.execute("INSERT INTO t VALUES (7)"), durable=True)
    with pytest.raises(DatabaseUnavailable):
        future.result(10)  # the caller is told after the budget (1.5 s), not stuck
    assert writer.unavailable is not None and writer.unavailable.status == 503
    holder.wait(10)
    deadline = time.monotonic() + 10
    while _count(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(db) == 1  # committed by the retry once the lock was free
    assert writer.unavailable is None
    writer.close()


def test_a_commit_refused_by_a_reader_rolls_back_and_wedges_nothing(tmp_path):
    """Rollback journal: a reader holding SHARED makes COMMIT fail with 'locked' after the busy
    timeout. That transaction must be rolled back at once: the next write succeeds, and other
    processes can read and write, instead of this connection keeping RESERVED/PENDING forever."""
    store = Store(str(tmp_path / "r.db"), journal_mode="delete", busy_timeout_ms=200, write_budget_ms=400)
    store.write(lambda c: c.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    reader = _hold(store.path, "BEGIN", 3.0, read=True)  # SHARED for 3 s
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        store.write(lambda c: c.execute("INSERT INTO t VALUES (1)"))  # its COMMIT cannot get EXCLUSIVE
    assert time.monotonic() - started < 2.0  # bounded by the budget
    assert not store.conn.in_transaction  # rolled back: no lock kept
    # Another process can still read (and would be shut out by a kept PENDING lock).
    other = subprocess.run([sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=0.5);"
                            "print(c.execute('SELECT COUNT(*) FROM t').fetchone()[0])", store.path],
                           capture_output=True, text=True, timeout=20)
    assert other.returncode == 0 and other.stdout.strip() == "0", other.stderr
    reader.wait(10)
    store.write(lambda c: c.execute("INSERT INTO t VALUES (2)"))  # the next write succeeds
    assert [r[0] for r in store.query("SELECT n FROM t")] == [2]
    # ...and another process's write too.
    subprocess.run([sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=2);"
                    "c.execute('INSERT INTO t VALUES (3)'); c.commit()", store.path], check=True, timeout=20)
    assert _count(store) == 2
