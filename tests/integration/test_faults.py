"""Faults and abuse lose nothing (issue 10): a true credit bound under parallel abuse, calls
that outlive a kill -9, a disk that fills mid-stream, and a write lock held by another process.
Each runs the real `aihub serve` against a loopback fake upstream."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest

from tests.integration.conftest import calls_of
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

MINOR = Decimal(10) ** 9
PRICE = {"input_rate": 0.000001, "output_rate": 0.000002}  # credits per token: 1 credit = 1M input tokens


def _stream_until_first_chunk(url: str, key: str, model: str, started: threading.Barrier | None = None) -> None:
    """Open a streamed call, read its first chunk, then keep the connection until it dies."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "slow please"}]}
    try:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=60,
                          headers={"authorization": f"Bearer {key}"}) as response:
            assert response.status_code == 200
            for i, _ in enumerate(response.iter_bytes()):
                if i == 0 and started is not None:
                    started.wait(30)
    except httpx.HTTPError:
        pass  # the gateway was killed under us


def _db(gw_or_path: Gateway | Path) -> sqlite3.Connection:
    path = gw_or_path.db_path if isinstance(gw_or_path, Gateway) else gw_or_path
    return sqlite3.connect(path, timeout=5)


# -- 1. the hold is a true upper bound; an overrun is charged in full --------------------------


def _usage_of_what_was_sent(req) -> tuple[int, dict[str, str], bytes]:
    """Bills as a real provider would: every byte of the request it was sent (4 per token)."""
    prompt = len(req.body) // 4
    body = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": req.json["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1}}
    return 200, {"content-type": "application/json"}, orjson.dumps(body)


def test_parallel_calls_with_huge_tool_arguments_cannot_overspend(fake, tmp_path):
    fake.route("POST", "/v1/chat/completions", handler=_usage_of_what_was_sent)
    gw = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_BILLING": "on"})
    try:
        with gw.admin() as admin:
            assert admin.post("/admin/model-rates", json={"provider": "openai", "model": "gpt-4o-mini",
                                                          **PRICE}).status_code == 201
            key = create_key(admin, credits=1)
            arguments = "x" * 400_000  # 100k tokens at 4 bytes a token: 0.1 credit of input each
            body = {"model": "openai/gpt-4o-mini", "max_tokens": 10, "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                      "function": {"name": "f", "arguments": arguments}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "done"}]}

            def call(_: int) -> int:
                return httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=60,
                                  headers={"authorization": f"Bearer {key['key']}"}).status_code

            with ThreadPoolExecutor(20) as pool:
                statuses = list(pool.map(call, range(20)))
            assert set(statuses) <= {200, 402}, statuses
            ok = statuses.count(200)
            # The hold counts the arguments (one token per byte: 0.4 credit against the 0.1 the
            # provider bills), so 1 credit admits at most 2 such calls at once, and a few more as
            # earlier ones settle; before, it counted none and all 20 ran on 1 credit.
            assert 1 <= ok < 20, statuses
            calls = [c for c in calls_of(admin, key["account_id"]) if c["status"] == "success"]
            assert len(calls) == ok
            ledger = admin.get(f"/admin/accounts/{key['account_id']}/ledger").json()["data"]
            charges = [e for e in ledger if e["kind"] == "charge"]
            for c in calls:  # every successful call charged exactly its usage
                cost = c["prompt_tokens"] * Decimal("0.000001") + c["completion_tokens"] * Decimal("0.000002")
                assert Decimal(str(c["credits"])) == cost
                (entry,) = [e for e in charges if e["request_id"] == c["request_id"]]
                assert Decimal(str(entry["amount"])) == -cost
            balance = Decimal(str(admin.get(f"/admin/accounts/{key['account_id']}").json()["balance"]))
            spent = sum(Decimal(str(c["credits"])) for c in calls)
            assert balance == 1 - spent  # nothing forgiven: the ledger explains the balance
            assert balance >= 0 and spent <= 1  # never more than the account had: the hold covered every call
    finally:
        gw.stop()


def test_an_overrun_is_charged_in_full_and_blocks_the_account_until_topped_up(fake, tmp_path):
    # The provider bills far more than the request could explain (a server-side tool, say).
    big = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 3_000_000, "completion_tokens": 1, "total_tokens": 3_000_001}}
    fake.route("POST", "/v1/chat/completions", json=big)
    gw = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_BILLING": "on"})
    try:
        with gw.admin() as admin:
            admin.post("/admin/model-rates", json={"provider": "openai", "model": "gpt-4o-mini", **PRICE})
            key = create_key(admin, credits=1)
            user = {"authorization": f"Bearer {key['key']}"}
            body = {"model": "openai/gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
            assert httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user).status_code == 200
            account = admin.get(f"/admin/accounts/{key['account_id']}").json()
            assert Decimal(str(account["balance"])) == 1 - Decimal("3.000002")  # charged in full: -2.000002
            (charge,) = [e for e in admin.get(f"/admin/accounts/{key['account_id']}/ledger").json()["data"]
                         if e["kind"] == "charge"]
            assert "overrun" in charge["note"]
            refused = httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user)
            assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_credits"
            assert len(fake.requests) == 1  # the refused call never reached the provider
            admin.post(f"/admin/accounts/{key['account_id']}/credits", json={"amount": 3, "kind": "topup"})
            assert httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user).status_code == 200
    finally:
        gw.stop()


# -- 2. kill -9 with streams in flight ----------------------------------------------------------


def test_kill_9_with_streams_in_flight_loses_no_call_and_frees_the_holds(fake, tmp_path):
    fake.add_chat_echo(chunk_delay=3.0)  # 4 pieces, 3 s apart: still streaming when killed
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on"}
    gw = start_gateway(tmp_path, env)
    with gw.admin() as admin:
        admin.post("/admin/model-rates", json={"provider": "openai", "model": "gpt-4o-mini", **PRICE})
        key = create_key(admin, credits=20)
    started = threading.Barrier(11)
    threads = [threading.Thread(target=_stream_until_first_chunk, args=(gw.url, key["key"], "openai/gpt-4o-mini",
                                                                       started)) for _ in range(10)]
    for t in threads:
        t.start()
    started.wait(30)  # all 10 streams have sent their first chunk
    with _db(gw) as db:
        assert db.execute("SELECT COUNT(*) FROM inflight").fetchone()[0] == 10
        held = db.execute("SELECT reserved FROM accounts WHERE id = ?", (key["account_id"],)).fetchone()[0]
        assert held > 0
    gw.process.send_signal(signal.SIGKILL)
    gw.process.wait(10)
    for t in threads:
        t.join(30)

    restarted = start_gateway(tmp_path, env, db_path=gw.db_path)
    try:
        began = time.monotonic()
        with restarted.admin() as admin:
            while time.monotonic() - began < 60:
                calls = calls_of(admin, key["account_id"])
                if len(calls) == 10:
                    break
                time.sleep(0.2)
            assert len(calls) == 10, calls
            assert {(c["status"], c["error_code"]) for c in calls} == {("failed", "interrupted")}
            account = admin.get(f"/admin/accounts/{key['account_id']}").json()
            assert account["reserved"] == 0 and account["balance"] == 20  # holds released, nothing charged
        print(f"10 interrupted calls recorded and holds released {time.monotonic() - began:.2f} s after restart")
        with _db(restarted) as db:
            assert db.execute("SELECT COUNT(*) FROM inflight").fetchone()[0] == 0
    finally:
        restarted.stop()


# -- 3. a disk that fills up mid-stream ---------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Path:
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
        try:  # the last partial block too
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_disk_that_fills_mid_stream_loses_nothing_and_recovers_without_restart(fake, tmp_path, small_disk,
                                                                                 journal):
    fake.add_chat_echo(chunk_delay=1.5)  # the streams outlive the filling of the disk by seconds
    db_path = small_disk / "aihub.db"
    gw = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_DB_JOURNAL": journal,
                                  "AIHUB_DB_WRITE_BUDGET_MS": "1000"}, db_path=db_path)
    try:
        with gw.admin() as admin:
            key = create_key(admin)
        user = {"authorization": f"Bearer {key['key']}"}
        body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        assert httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user).status_code == 200
        started = threading.Barrier(6)
        streams = [threading.Thread(target=_stream_until_first_chunk, args=(gw.url, key["key"], "openai/gpt-4o-mini",
                                                                           started)) for _ in range(5)]
        for t in streams:
            t.start()
        started.wait(30)
        time.sleep(0.3)  # their in-flight rows are committed
        _fill(small_disk / "filler")
        for t in streams:
            t.join(30)  # they finished for the client; their records cannot be written yet

        deadline = time.monotonic() + 20
        while httpx.get(gw.url + "/health").status_code != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        health = httpx.get(gw.url + "/health")
        assert health.status_code == 503 and health.json()["database"] == "unwritable", health.text
        refused = httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user)
        assert refused.status_code == 503 and refused.headers.get("retry-after"), refused.text
        assert refused.json()["error"]["code"].startswith("database_")
        requests_before = len(fake.requests)

        (small_disk / "filler").unlink()  # space returns: no restart
        deadline = time.monotonic() + 15
        while httpx.get(gw.url + "/health").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert httpx.get(gw.url + "/health").status_code == 200
        assert httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user).status_code == 200
        assert len(fake.requests) == requests_before + 1  # the refused call never ran
        with gw.admin() as admin:
            deadline = time.monotonic() + 10
            while len(calls := calls_of(admin, key["account_id"])) < 7 and time.monotonic() < deadline:
                time.sleep(0.1)
        assert len(calls) == 7  # 1 before, 5 streamed through the full disk, 1 after
        assert sum(c["stream"] for c in calls) == 5 and {c["status"] for c in calls} == {"success"}
        with _db(db_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT COUNT(*) FROM inflight").fetchone()[0] == 0
        assert "Traceback" not in gw.log()
    finally:
        gw.stop()


# -- 4. another process holds the write lock ----------------------------------------------------


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_write_lock_held_elsewhere_stalls_neither_health_nor_reads(fake, tmp_path, journal):
    fake.add_chat_echo()
    gw = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_DB_JOURNAL": journal,
                                  "AIHUB_DB_WRITE_BUDGET_MS": "3000"})
    try:
        with gw.admin() as admin:
            key = create_key(admin)
        user = {"authorization": f"Bearer {key['key']}"}
        assert httpx.get(gw.url + "/v1/models", headers=user).status_code == 200  # warm
        holder = sqlite3.connect(gw.db_path, isolation_level=None, timeout=5)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, for 10 s
        results: list[int] = []

        def chat() -> None:
            body = {"model": "demo/echo", "messages": [{"role": "user", "content": "while locked"}]}
            results.append(httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user, timeout=30).status_code)

        callers = [threading.Thread(target=chat) for _ in range(4)]
        for t in callers:
            t.start()
        slowest = 0.0
        until = time.monotonic() + 10
        while time.monotonic() < until:
            for path, headers in (("/health", {}), ("/v1/models", user)):
                began = time.monotonic()
                status = httpx.get(gw.url + path, headers=headers, timeout=5).status_code
                slowest = max(slowest, time.monotonic() - began)
                assert status == 200, (path, status)  # a held lock is no reason to stop routing here
            time.sleep(0.1)
        holder.execute("COMMIT")
        holder.close()
        for t in callers:
            t.join(30)
        print(f"slowest /health or /v1/models while the lock was held: {slowest * 1000:.1f} ms")
        assert slowest < 1.0
        assert results == [200] * 4  # answered; their records waited for the lock, not the client
        with gw.admin() as admin:
            deadline = time.monotonic() + 10
            while len(calls_of(admin, key["account_id"])) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(calls_of(admin, key["account_id"])) == 4  # nothing lost
            assert httpx.get(gw.url + "/health").status_code == 200
    finally:
        gw.stop()


def test_a_billed_call_that_cannot_hold_its_credits_in_time_is_a_503_and_runs_nothing(fake, tmp_path):
    """Rollback journal, another process holding the write lock past the write budget: the
    call's reservation cannot be written, so it is refused with a 503 and never reaches the
    provider; once the lock is gone the same call goes through."""
    fake.add_chat_echo()
    gw = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_DB_JOURNAL": "delete",
                                  "AIHUB_DB_WRITE_BUDGET_MS": "800", "AIHUB_DB_BUSY_TIMEOUT_MS": "200"})
    try:
        with gw.admin() as admin:
            admin.post("/admin/model-rates", json={"provider": "openai", "model": "gpt-4o-mini", **PRICE})
            key = create_key(admin, credits=5)
        user = {"authorization": f"Bearer {key['key']}"}
        body = {"model": "openai/gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        holder = sqlite3.connect(gw.db_path, isolation_level=None, timeout=5)
        holder.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        refused = httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user, timeout=30)
        waited = time.monotonic() - began
        holder.execute("ROLLBACK")
        holder.close()
        assert refused.status_code == 503 and refused.headers["retry-after"], refused.text
        assert refused.json()["error"]["code"] == "database_busy"
        assert waited < 5  # bounded by the budget, not by the lock
        assert fake.requests == []  # nothing ran that could not be recorded
        assert httpx.post(gw.url + "/v1/chat/completions", json=body, headers=user).status_code == 200
    finally:
        gw.stop()
