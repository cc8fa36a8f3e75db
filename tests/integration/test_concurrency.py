"""Many writers on one SQLite file: no usage row lost, no "database is locked" surfaced.

Four gateway processes share one database file (as Lambdas share one EFS file) while 16
client threads call them at once, in WAL and in rollback-journal mode.
"""
from __future__ import annotations

import multiprocessing
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.gateway import ADMIN_KEY, start_gateway, upstream_env

PROCESSES = 4
THREADS = 16
CALLS_PER_THREAD = 20


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_four_processes_sixteen_threads_lose_no_row(journal, fake, tmp_path):
    fake.add_chat_echo()
    db_path = tmp_path / "shared.db"
    env = {**upstream_env(fake.base_url), "AIHUB_DB_JOURNAL": journal}
    gateways = [start_gateway(tmp_path, env, db_path=db_path) for _ in range(PROCESSES)]
    try:
        key = httpx.post(gateways[0].url + "/admin/keys", json={"name": "load"},
                         headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()

        def worker(n: int) -> list[tuple[int, str]]:
            url = gateways[n % PROCESSES].url
            out = []
            with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key['key']}"}, timeout=30) as http:
                for i in range(CALLS_PER_THREAD):
                    body = {"model": "demo/echo" if i % 2 else "gpt-4o-mini", "stream": i % 3 == 0,
                            "messages": [{"role": "user", "content": f"thread {n} call {i}"}]}
                    response = http.post("/v1/chat/completions", json=body)
                    _ = response.content
                    out.append((response.status_code, response.headers["x-request-id"]))
            return out

        with ThreadPoolExecutor(THREADS) as pool:
            results = [r for rs in pool.map(worker, range(THREADS)) for r in rs]
    finally:
        for gw in gateways:
            gw.stop()

    assert [status for status, _ in results] == [200] * THREADS * CALLS_PER_THREAD
    db = sqlite3.connect(db_path)
    recorded = {row[0] for row in db.execute("SELECT request_id FROM model_calls WHERE account_id = ?",
                                             (key["account_id"],))}
    assert recorded == {rid for _, rid in results}
    for gw in gateways:
        assert "locked" not in gw.log() and "Traceback" not in gw.log()


def _write_calls(db_path: str, journal: str, worker: int, count: int) -> None:
    from chalicelib.store import calls
    from chalicelib.store.db import Store
    from chalicelib.store.migrations import migrate

    # Eight processes writing flat out starve each other's locks for longer than the gateway's
    # budget (after which it defers a call's record, tested elsewhere): here every write waits.
    store = Store(db_path, journal_mode=journal, write_budget_ms=120_000)
    migrate(store)
    for i in range(count):
        calls.record(store, calls.CallRecord(request_id=f"w{worker}-{i}", created_at=int(time.time() * 1000),
                                             type="chat", prompt_tokens=i, completion_tokens=1))


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_processes_writing_directly_lose_nothing(journal, tmp_path):
    db_path = str(tmp_path / "direct.db")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_calls, args=(db_path, journal, w, 250)) for w in range(8)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0] * 8
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT request_id), SUM(prompt_tokens) FROM model_calls").fetchone() == (
        2000, 2000, 8 * sum(range(250)))
