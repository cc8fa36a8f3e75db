"""The `aihub` CLI driven as a user would: subprocesses run from another folder, against the
database of a running gateway (two workers), each of which must see a change once its snapshot
refresh interval has passed (AIHUB_SNAPSHOT_REFRESH_S, short here to keep the module quick)."""
from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.support.gateway import (
    ROOT,
    TEST_SECRET,
    Gateway,
    free_port,
    run_cli,
    start_gateway,
    upstream_env,
)

CHAT = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}
HI = [{"role": "user", "content": "hi"}]
REFRESH_S = 0.2
_last_command = 0.0  # monotonic time the last CLI command returned


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("cli"), {**upstream_env(fake.base_url), "AIHUB_BILLING": "on",
                                                              "AIHUB_SNAPSHOT_REFRESH_S": str(REFRESH_S)}, workers=2)
    yield gateway
    gateway.stop()


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder that is not the project's: the CLI must not depend on it."""
    return tmp_path


def run(gw: Gateway, cwd: Path, *args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess:
    global _last_command
    done = run_cli(gw.db_path, *args, cwd=cwd, stdin=stdin)
    _last_command = time.monotonic()
    if ok:
        assert done.returncode == 0, done.stderr
        assert done.stderr.startswith(f"database: {gw.db_path}"), done.stderr
    return done


def as_json(gw: Gateway, cwd: Path, *args: str, stdin: str = "") -> dict:
    return orjson.loads(run(gw, cwd, *args, "--json", stdin=stdin).stdout)


def refreshed() -> None:
    """Wait out what is left of the refresh interval since the last CLI command: from then on,
    whichever worker answers has seen its change (it commits before the command returns)."""
    time.sleep(max(0.0, _last_command + REFRESH_S - time.monotonic()))


def chat(gw: Gateway, key: str, model: str) -> httpx.Response:
    refreshed()
    return httpx.post(gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "messages": HI, "max_tokens": 5}, timeout=20)


def test_keys_limits_calls_usage_ledger_and_export(gw: Gateway, elsewhere: Path) -> None:
    run(gw, elsewhere, "rates", "set", "demo", "echo", "--input-rate", "0.001", "--output-rate", "0.001")
    key = as_json(gw, elsewhere, "keys", "create", "--name", "cli user", "--credits", "5")
    assert key["key"].startswith("ah-") and key["credits"] == 5
    listed = run(gw, elsewhere, "keys", "list", "--account-id", key["account_id"]).stdout
    assert listed.splitlines()[0].split()[:3] == ["ID", "NAME", "ROLE"] and key["id"] in listed
    assert key["key"] not in listed

    first = chat(gw, key["key"], "demo/echo")
    assert first.status_code == 200, first.text
    updated = as_json(gw, elsewhere, "keys", "update", key["id"], "--rpm", "1", "--daily-cap", "2",
                      "--expires-at", "2030-01-01")
    assert updated["rpm"] == 1 and updated["daily_cap"] == 2 and updated["expires_at"] == 1893456000000
    limited = chat(gw, key["key"], "demo/echo")  # the new rpm, on either worker
    assert limited.status_code == 200 and limited.headers["x-ratelimit-limit-requests"] == "1"
    assert chat(gw, key["key"], "demo/echo").status_code == 429
    shown = run(gw, elsewhere, "keys", "update", key["id"], "--rpm", "none").stdout
    assert "2030-01-01T00:00:00Z" in shown  # ISO 8601 in tables
    assert chat(gw, key["key"], "demo/echo").status_code == 200

    every = as_json(gw, elsewhere, "calls", "list", "--account-id", key["account_id"], "--from", "2020-01-01")
    assert len(every["data"]) == 4  # the 429 is a call record too
    calls = as_json(gw, elsewhere, "calls", "list", "--account-id", key["account_id"], "--status", "success")
    assert len(calls["data"]) == 3 and {c["model"] for c in calls["data"]} == {"echo"}
    request_id = calls["data"][0]["request_id"]
    assert as_json(gw, elsewhere, "calls", "show", request_id)["request_id"] == request_id
    assert request_id in run(gw, elsewhere, "calls", "list", "--account-id", key["account_id"]).stdout
    run(gw, elsewhere, "calls", "export", "--account-id", key["account_id"], "--status", "success",
        "--output", "calls.csv")
    rows = list(csv.DictReader(io.StringIO((elsewhere / "calls.csv").read_text())))
    assert sorted(r["request_id"] for r in rows) == sorted(c["request_id"] for c in calls["data"])

    summary = as_json(gw, elsewhere, "usage", "summary", "--account-id", key["account_id"])
    assert "calls" in orjson.dumps(summary).decode()
    top = as_json(gw, elsewhere, "usage", "top-models", "--account-id", key["account_id"], "--by", "calls")
    assert top["data"][0]["model"] == "echo"
    run(gw, elsewhere, "usage", "timeseries", "--account-id", key["account_id"], "--granularity", "day")
    run(gw, elsewhere, "usage", "quota", "--account-id", key["account_id"])

    run(gw, elsewhere, "credits", "add", key["account_id"], "3", "--expires-at", "2031-06-01T12:00:00Z",
        "--note", "cli grant")
    ledger = run(gw, elsewhere, "credits", "ledger", key["account_id"]).stdout
    assert "2031-06-01T12:00:00Z" in ledger and "cli grant" in ledger
    balance = as_json(gw, elsewhere, "credits", "show", key["account_id"])
    assert balance["balance"] < 8 and balance["balance"] > 7  # 5 + 3, less two tiny calls
    assert key["account_id"] in run(gw, elsewhere, "credits", "accounts").stdout

    assert as_json(gw, elsewhere, "keys", "revoke", key["id"])["revoked"] is True
    assert chat(gw, key["key"], "demo/echo").status_code == 401


def test_provider_credential_and_rate_changes_reach_every_worker_within_the_refresh(gw: Gateway, fake: FakeUpstream,
                                                                         elsewhere: Path) -> None:
    with gw.admin() as admin:
        user = admin.post("/admin/keys", json={"name": "prop", "credits": 100}).json()
    fake.route("POST", "/mine/v1/chat/completions", json=CHAT)
    run(gw, elsewhere, "providers", "add", "mine", "--kind", "openai", "--base-url", fake.base_url + "/mine/v1",
        "--models", "m1")

    raw = chat(gw, user["key"], "mine/m1")
    assert raw.status_code == 503 and raw.headers.get("x-should-retry") == "false", (raw.headers, raw.text)
    sent: list[httpx.Request] = []
    sdk = openai.OpenAI(base_url=gw.url + "/v1", api_key=user["key"], max_retries=2, timeout=20,
                        http_client=httpx.Client(event_hooks={"request": [sent.append]}))
    with pytest.raises(openai.APIStatusError) as refused:
        sdk.chat.completions.create(model="mine/m1", messages=HI)
    assert len(sent) == 1  # not retried: the user sees the advice at once
    message = refused.value.message
    assert refused.value.status_code == 503
    assert "aihub credentials add mine" in message and "Providers page" in message

    run(gw, elsewhere, "rates", "set", "mine", "m1", "--input-rate", "0.01", "--output-rate", "0.01")
    added = as_json(gw, elsewhere, "credentials", "add", "mine", "--value", "-", "--no-check",
                    stdin="sk-mine-0123456789")
    # Within the refresh interval, whichever worker takes the requests (chat() waits it out).
    answers = [chat(gw, user["key"], "mine/m1") for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4, answers[0].text

    def charged(responses: list[httpx.Response]) -> set[float]:
        with gw.admin() as admin:
            return {round(admin.get(f"/admin/usage/calls/{r.headers['x-request-id']}").json()["credits"], 9)
                    for r in responses}

    assert charged(answers) == {0.03}  # 2 prompt + 1 completion token at 0.01

    rate = as_json(gw, elsewhere, "rates", "set", "mine", "m1", "--input-rate", "0.01", "--output-rate", "0.02")
    assert charged([chat(gw, user["key"], "mine/m1") for _ in range(4)]) == {0.04}  # the new output rate
    assert str(rate["id"]) in run(gw, elsewhere, "rates", "list", "--provider", "mine").stdout

    as_json(gw, elsewhere, "credentials", "update", added["id"], "--disable")
    assert all(chat(gw, user["key"], "mine/m1").status_code == 503 for _ in range(4))
    as_json(gw, elsewhere, "credentials", "update", added["id"], "--enable", "--weight", "2")
    assert all(chat(gw, user["key"], "mine/m1").status_code == 200 for _ in range(4))

    shown = as_json(gw, elsewhere, "providers", "update", "mine", "--models", "m1,m2", "--read-timeout", "30")
    assert shown["models"] == ["m1", "m2"] and shown["read_timeout"] == 30
    assert "m2" in as_json(gw, elsewhere, "providers", "show", "mine")["models"]
    fake.route("POST", "/mine/v1/chat/completions", json=CHAT)
    probe = as_json(gw, elsewhere, "models", "probe", "mine", "m2")
    assert probe["available"] is True
    assert "available" in run(gw, elsewhere, "models", "status", "mine/m2").stdout
    assert "mine" in run(gw, elsewhere, "providers", "list").stdout
    assert "sk-mine" not in run(gw, elsewhere, "credentials", "list", "mine").stdout

    as_json(gw, elsewhere, "rates", "deprecate", str(rate["id"]))
    bulk = as_json(gw, elsewhere, "rates", "bulk", "--margin", "0.2", "--credit-price", "0.001", "--provider", "mine")
    assert bulk.get("dry_run", True) is True
    assert chat(gw, user["key"], "mine/m1").status_code == 400  # no longer sold
    run(gw, elsewhere, "providers", "update", "mine", "--disable")
    assert all(chat(gw, user["key"], "mine/m1").status_code != 200 for _ in range(4))
    run(gw, elsewhere, "credentials", "delete", added["id"])
    run(gw, elsewhere, "providers", "delete", "mine")


def test_a_missing_database_is_refused_by_name_not_created(elsewhere: Path) -> None:
    missing = elsewhere / "nowhere" / "aihub.db"
    env = {"AIHUB_DB": str(missing), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "keys", "list"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(missing) in done.stderr and "AIHUB_DB" in done.stderr
    assert not missing.exists()


def serve(port: int, tmp: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
    env.update(AIHUB_DB=str(tmp / "aihub.db"), AIHUB_SECRET=TEST_SECRET, AIHUB_PORT=str(port), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "chalicelib.cli", "serve"], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_on_a_busy_port_says_so_in_one_line(elsewhere: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = serve(port, elsewhere)
        out, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "serving on" not in out
    (line,) = err.strip().splitlines()
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--port" in line


def test_serve_prints_its_url_once_it_answers(elsewhere: Path) -> None:
    port = free_port()
    process = serve(port, elsewhere)
    try:
        assert process.stdout is not None
        line = ""
        while "serving on" not in line:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
        assert f"http://127.0.0.1:{port}" in line
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200  # no retry needed
    finally:
        process.terminate()
        process.wait(timeout=10)
