"""Writes/s of many Lambdas sharing one SQLite file: `python -m tests.deploy.contention_bench`.

Each process stands for one warm Lambda container: its own Store (one connection), the same
usage INSERT the gateway does after every call (`calls.record`: BEGIN IMMEDIATE, busy timeout,
retry with jitter). All processes open and migrate first, then start writing together; the rate
is all rows over the time from that start to the last commit. Rollback journal (`delete`, what
EFS needs) against WAL (a local disk). Correctness under the same load is the test
tests/integration/test_concurrency.py::test_processes_writing_directly_lose_nothing.

On a local disk this measures SQLite's locking, not EFS: over NFS each commit also pays network
round trips (a few ms each), so expect a lower ceiling there; docs/DEPLOY.md says what to do
when one file is no longer enough.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import tempfile
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path


def _writer(db_path: str, journal: str, worker: int, count: int, start: Barrier, done: multiprocessing.Queue[float]) -> None:
    from chalicelib.store import calls
    from chalicelib.store.db import Store
    from chalicelib.store.migrations import migrate

    store = Store(db_path, journal_mode=journal)
    migrate(store)
    start.wait()
    for i in range(count):
        calls.record(store, calls.CallRecord(request_id=f"w{worker}-{i}", created_at=int(time.time() * 1000),
                                             type="chat", prompt_tokens=i, completion_tokens=1))
    done.put(time.perf_counter())


def run(journal: str, processes: int, writes: int, directory: Path) -> float:
    """Writes per second; raises if a row is missing."""
    db_path = str(directory / f"contention-{journal}.db")
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    done: multiprocessing.Queue[float] = ctx.Queue()
    workers = [ctx.Process(target=_writer, args=(db_path, journal, w, writes, start, done)) for w in range(processes)]
    for p in workers:
        p.start()
    start.wait(timeout=120)
    began = time.perf_counter()
    finished = [done.get(timeout=300) for _ in workers]
    for p in workers:
        p.join(60)
    if any(p.exitcode != 0 for p in workers):
        raise RuntimeError(f"a writer failed: exit codes {[p.exitcode for p in workers]}")
    rows = sqlite3.connect(db_path).execute("SELECT COUNT(DISTINCT request_id) FROM model_calls").fetchone()[0]
    if rows != processes * writes:
        raise RuntimeError(f"{processes * writes - rows} rows lost")
    return processes * writes / (max(finished) - began)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--writes", type=int, default=250, help="usage rows per process")
    parser.add_argument("--dir", help="where the database goes, e.g. an EFS mount (default: a temp dir)")
    args = parser.parse_args(argv)
    print(f"SQLite contention: {args.processes} processes x {args.writes} usage writes on one file")
    with tempfile.TemporaryDirectory(prefix="aihub-contention-", dir=args.dir) as tmp:
        for journal in ("delete", "wal"):
            rate = run(journal, args.processes, args.writes, Path(tmp))
            label = "rollback journal (EFS)" if journal == "delete" else "WAL (local disk)"
            print(f"  {journal:6}  {rate:8.0f} writes/s  {label}; no row lost")


if __name__ == "__main__":
    main()
