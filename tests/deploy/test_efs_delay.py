"""The EFS delay layer (tests/bench/efs_delay.c) counts and delays what tests/bench/efs.py says it
does: one SQLite write transaction under it, in a child process, takes locks, syncs and metadata
round trips in the emulated directory, and nothing outside it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench import efs

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the delay layer")

CHILD = """
import ctypes, json, sqlite3, sys, time
def counts():
    out = (ctypes.c_ulong * 4)()
    ctypes.CDLL(None).efs_delay_counts(out)
    return list(out)
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = delete")
conn.execute("PRAGMA synchronous = FULL")
conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
before, began = counts(), time.perf_counter()
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO t VALUES (1)")
conn.execute("COMMIT")
elapsed, after = time.perf_counter() - began, counts()
print(json.dumps({"locks": after[0] - before[0], "syncs": after[1] - before[1],
                  "metas": after[2] - before[2], "reads": after[3] - before[3], "seconds": elapsed}))
"""


def _one_transaction(shim: Path, mount: Path, db: Path, delays: efs.Delays) -> dict[str, float]:
    env = {**os.environ, **delays.env(mount), "LD_PRELOAD": str(shim)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(db)], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built, why = efs.build_shim(tmp_path_factory.mktemp("shim"))
    assert built is not None, why
    return built


def test_a_write_transaction_locks_syncs_and_opens_on_the_mount(shim, tmp_path):
    mount = tmp_path / "mnt"
    mount.mkdir()
    got = _one_transaction(shim, mount, mount / "a.db", efs.Delays())
    # BEGIN IMMEDIATE .. COMMIT in rollback-journal mode: shared, reserved, pending, exclusive
    # and the unlocks; the journal synced (FULL) and the database synced; the journal created,
    # closed and deleted, and the directory opened to sync the deletion; the header re-read.
    assert got["locks"] >= 4 and got["syncs"] >= 2 and got["metas"] >= 3 and got["reads"] >= 1, got
    floor = (got["locks"] * 1000 + got["syncs"] * 2700 + got["metas"] * 1000 + got["reads"] * 1000) / 1e6
    assert got["seconds"] >= floor * 0.95, f"the delays were not spent: {got}"


def test_files_outside_the_mount_are_neither_counted_nor_delayed(shim, tmp_path):
    mount = tmp_path / "mnt"
    mount.mkdir()
    got = _one_transaction(shim, mount, tmp_path / "elsewhere.db", efs.Delays(lock_us=200_000))
    assert (got["locks"], got["syncs"], got["metas"], got["reads"]) == (0, 0, 0, 0)
    assert got["seconds"] < 0.2, "a 200 ms lock delay leaked to a file outside the mount"


def test_the_delays_come_from_the_environment(shim, tmp_path):
    mount = tmp_path / "mnt"
    mount.mkdir()
    slow = _one_transaction(shim, mount, mount / "slow.db", efs.Delays(lock_us=20_000, sync_us=0, meta_us=0, read_us=0))
    assert slow["seconds"] >= slow["locks"] * 0.020 * 0.95, slow


def test_the_bench_runs_end_to_end_and_loses_nothing():
    result = efs.run(efs.Plan(writers=(1, 2), per_call_calls=6, batch_sizes=(3,), batches=2, history=20),
                     efs.Delays(lock_us=100, sync_us=100, meta_us=100, read_us=100))
    rows = result["rows"]
    assert [(r["mode"], r["writers"], r["batch"]) for r in rows] == [
        ("per-call", 1, 1), ("per-call", 2, 1), ("batching", 1, 3)]
    for r in rows:
        assert r["check"].startswith("ok"), r
        assert r["locks_per_call"] > 0 and r["syncs_per_call"] > 0
    # one transaction per call, then one per batch of 3: the batch pays a third of the syncs per call
    assert rows[2]["transactions"] == 2 and rows[2]["syncs_per_call"] < rows[0]["syncs_per_call"]
    assert "goal: the batching writer" in efs.render(result)


def test_the_row_check_sees_a_lost_and_a_duplicated_call(tmp_path):
    import sqlite3

    db = tmp_path / "check.db"
    efs.make_history(db, 5)  # the history's calls are not the run's
    (calls,) = efs._prepare(db, writers=1, calls_each=3)
    conn = sqlite3.connect(db, isolation_level=None)
    efs.settle_batch(conn, calls[:2])  # the third call is never settled
    assert efs._check(db, 3).startswith("2 call rows (2 distinct) for 3 calls")
    efs.settle_batch(conn, calls[2:])
    assert efs._check(db, 3).startswith("ok")
    efs.settle_batch(conn, calls[2:])  # a replay: the call log's apply changes nothing
    assert efs._check(db, 3).startswith("ok")
    conn.execute("DROP INDEX idx_model_calls_request_id")
    from chalicelib.store.calls import CallRecord, insert

    insert(conn, CallRecord(**calls[2]["record"]))  # a second row the unique index no longer stops
    conn.close()
    assert "4 call rows (3 distinct)" in efs._check(db, 3)
