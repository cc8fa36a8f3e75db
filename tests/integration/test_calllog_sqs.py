"""The queued call log end to end (AIHUB_SETTLEMENTS=sqs): the real gateway sends each call's
settlement to an SQS queue (moto's server on loopback), and the writer function's handler,
fed the Lambda SQS events built from what the queue delivers, writes them into the database.
At-least-once delivery, poison messages, the dead-letter queue, redrive and a writer killed
mid-batch must leave exactly one record and one charge per call."""
from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import reset_process_state
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support import sqs as q
from tests.support.aws import moto_server
from tests.support.gateway import ROOT, Gateway, create_key, start_gateway, upstream_env

MODEL = "openai/gpt-5-nano"
MAX_RECEIVE = 2
VISIBILITY_S = 2


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def sqs(moto_url: str):
    return q.client(moto_url)


@pytest.fixture(scope="module")
def queues(sqs) -> tuple[str, str]:
    return q.queue_pair(sqs, "aihub-calls", max_receive=MAX_RECEIVE, visibility_s=VISIBILITY_S)


def _aws_env(moto_url: str) -> dict[str, str]:
    return {**q.CREDENTIALS, "AWS_ENDPOINT_URL_SQS": moto_url}


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, moto_url: str, queues, tmp_path_factory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), **_aws_env(moto_url), "AIHUB_BILLING": "on", "AIHUB_SETTLEMENTS": "sqs",
           "AIHUB_SETTLEMENTS_QUEUE_URL": queues[0],
           "AIHUB_RECHECK_INTERVAL_S": "3600"}  # no periodic maintenance writes while we count writes
    gateway = start_gateway(tmp_path_factory.mktemp("calllog"), env)
    with gateway.admin() as api:
        rate = {"provider": "openai", "model": "gpt-5-nano", "input_rate": 0.00000005, "output_rate": 0.0000004}
        assert api.post("/admin/model-rates", json=rate).status_code == 201
    yield gateway
    gateway.stop()


@pytest.fixture
def writer(gw: Gateway, monkeypatch) -> Iterator[None]:
    """The writer function's handler, in this process, on the gateway's database."""
    monkeypatch.setenv("AIHUB_DB", str(gw.db_path))
    reset_process_state()
    yield
    reset_process_state()


@pytest.fixture(autouse=True)
def _empty_queues(request, sqs, queues) -> None:
    if "gw" in request.fixturenames:
        for url in queues:
            q.delete(sqs, url, q.receive_all(sqs, url, settle_s=0.1))


def _handler(event: dict) -> dict:
    from chalicelib.calllog import lambda_writer

    return lambda_writer.handler(event, None)


def _db(gw: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(gw.db_path)


def _books(gw: Gateway, account_id: str) -> dict:
    """Everything a settlement changes for an account, read from the database file."""
    with _db(gw) as conn:
        return {
            "balance": conn.execute("SELECT balance, reserved FROM accounts WHERE id = ?", (account_id,)).fetchone(),
            "ledger": conn.execute("SELECT COALESCE(SUM(amount), 0) FROM credit_ledger WHERE account_id = ?",
                                   (account_id,)).fetchone()[0],
            "charges": conn.execute("SELECT request_id, amount FROM credit_ledger WHERE account_id = ?"
                                    " AND kind = 'charge' ORDER BY request_id", (account_id,)).fetchall(),
            "calls": conn.execute("SELECT request_id, credits FROM model_calls WHERE account_id = ?"
                                  " ORDER BY request_id", (account_id,)).fetchall(),
            "holds": conn.execute("SELECT COUNT(*) FROM reservations WHERE account_id = ?", (account_id,)).fetchone()[0],
        }


def _billed_calls(gw: Gateway, key: dict, n: int, *, streamed: int = 0) -> list[str]:
    client = gw.openai(key["key"])
    ids = []
    for i in range(n):
        messages = [{"role": "user", "content": f"hello {i}"}]
        if i < streamed:
            with client.chat.completions.with_streaming_response.create(model=MODEL, messages=messages,
                                                                        stream=True) as response:
                ids.append(response.headers["x-request-id"])
                assert any(line.startswith("data: [DONE]") for line in response.iter_lines())
        else:
            raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
            assert raw.parse().usage.total_tokens > 0
            ids.append(raw.headers["x-request-id"])
    return ids


def _request_ids(messages: list[dict], kind: str = "settle") -> list[str]:
    return sorted(b["record"]["request_id"] for m in messages if (b := json.loads(m["Body"]))["kind"] == kind)


def _assert_settled_once(gw: Gateway, key: dict, ids: list[str], credits: float) -> dict:
    books = _books(gw, key["account_id"])
    assert [r[0] for r in books["calls"]] == sorted(ids)  # one record each
    assert [r[0] for r in books["charges"]] == sorted(ids)  # one charge each
    assert all(c > 0 for _, c in books["calls"])
    assert {r: -a for r, a in books["charges"]} == dict(books["calls"])  # each record names its charge
    assert books["balance"] == (books["ledger"], 0)  # balance == ledger, nothing held
    assert books["ledger"] == round(credits * 1e9) - sum(c for _, c in books["calls"])
    assert books["holds"] == 0
    with _db(gw) as conn:
        in_flight = conn.execute(f"SELECT COUNT(*) FROM inflight WHERE request_id IN ({','.join('?' * len(ids))})",
                                 ids).fetchone()[0]
    assert in_flight == 0
    return books


def _cli(moto_url: str, gw: Gateway, queue: str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "AWS_"))}
    env.update(_aws_env(moto_url), AIHUB_DB=str(gw.db_path), AIHUB_SETTLEMENTS_QUEUE_URL=queue)
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "calllog", *args, "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_billed_calls_are_queued_then_recorded_once_even_when_the_batch_is_replayed(gw, fake, sqs, queues, writer):
    fake.add_chat_echo()
    with gw.admin() as api:
        key = create_key(api, credits=10)
        ids = _billed_calls(gw, key, 4, streamed=2)
        # Answered, but not written: the settlements are on the queue, the holds still on.
        assert calls_of(api, key["account_id"]) == []
        assert _books(gw, key["account_id"])["holds"] == 4
        messages = q.receive_all(sqs, queues[0])
        assert _request_ids(messages) == sorted(ids)
        event = q.lambda_event(messages)
        assert _handler(event) == {"batchItemFailures": []}
        books = _assert_settled_once(gw, key, ids, credits=10)
        assert _handler(event) == {"batchItemFailures": []}  # delivered again: at least once
        assert _books(gw, key["account_id"]) == books
        q.delete(sqs, queues[0], messages)
        balance = httpx.get(gw.url + "/v1/credits", headers={"authorization": f"Bearer {key['key']}"}).json()
        assert round(balance["balance"] * 1e9) == books["ledger"]
        recorded = {c["request_id"]: c for c in calls_of(api, key["account_id"])}
        assert {r: round(recorded[r]["credits"] * 1e9) for r in ids} == dict(books["calls"])


def test_unbilled_calls_send_their_begin_and_settle_and_are_recorded_once(gw, fake, sqs, queues, writer):
    fake.add_chat_echo()
    admin = gw.openai(gw.admin_key)  # the environment's admin key has no account: nothing is billed
    ids = [admin.chat.completions.with_raw_response.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
           .headers["x-request-id"] for _ in range(3)]
    messages = q.receive_all(sqs, queues[0])
    assert _request_ids(messages, "begin") == _request_ids(messages, "settle") == sorted(ids)
    # Reordered as a standard queue may: every settle before its begin. The late begins are ignored.
    messages.sort(key=lambda m: json.loads(m["Body"])["kind"] != "settle")
    assert _handler(q.lambda_event(messages)) == {"batchItemFailures": []}
    with _db(gw) as conn:
        found = conn.execute(f"SELECT request_id, status FROM model_calls WHERE request_id IN ({','.join('?' * 3)})",
                             ids).fetchall()
        assert sorted(found) == sorted((i, "success") for i in ids)
        assert conn.execute("SELECT COUNT(*) FROM inflight").fetchone()[0] == 0
    q.delete(sqs, queues[0], messages)


def _write_jobs(gw: Gateway) -> float:
    with gw.admin() as api:
        text = api.get("/metrics").text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("aihub_db_write_jobs_total"))


def test_unbilled_calls_write_nothing_to_the_database_on_the_request_path(gw, fake, sqs, queues):
    fake.add_chat_echo()
    admin = gw.openai(gw.admin_key)
    before = _write_jobs(gw)
    for _ in range(5):
        admin.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    with _db(gw) as conn:
        inflight = conn.execute("SELECT COUNT(*) FROM inflight").fetchone()[0]
    assert (_write_jobs(gw) - before, inflight) == (0, 0)


def test_a_poison_message_fails_alone_reaches_the_dead_letter_queue_and_redrive_brings_it_back(
        gw, fake, sqs, queues, writer, moto_url):
    fake.add_chat_echo()
    queue, dlq = queues
    poison = "{this is not a settlement"
    sqs.send_message(QueueUrl=queue, MessageBody=poison)
    admin = gw.openai(gw.admin_key)
    good = admin.chat.completions.with_raw_response.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    request_id = good.headers["x-request-id"]
    for attempt in range(MAX_RECEIVE):
        messages = q.receive_all(sqs, queue)
        bad = [m["MessageId"] for m in messages if m["Body"] == poison]
        assert len(bad) == 1, (attempt, messages)
        out = _handler(q.lambda_event(messages))
        assert out == {"batchItemFailures": [{"itemIdentifier": bad[0]}]}
        q.delete(sqs, queue, [m for m in messages if m["MessageId"] not in bad])  # as the event source does
        time.sleep(VISIBILITY_S + 0.5)
    assert q.receive_all(sqs, queue) == []  # past maxReceiveCount: moved away
    assert q.depth(sqs, dlq) == 1
    with _db(gw) as conn:
        assert conn.execute("SELECT COUNT(*) FROM model_calls WHERE request_id = ?", (request_id,)).fetchone()[0] == 1

    assert _cli(moto_url, gw, queue, "redrive") == {"moved": 1, "from": dlq, "to": queue}
    assert q.depth(sqs, dlq) == 0
    back = q.receive_all(sqs, queue)
    assert [m["Body"] for m in back] == [poison]
    q.delete(sqs, queue, back)


def test_drain_applies_the_queue_from_the_command_line(gw, fake, sqs, queues, moto_url):
    fake.add_chat_echo()
    with gw.admin() as api:
        key = create_key(api, credits=10)
    ids = _billed_calls(gw, key, 3)
    assert _cli(moto_url, gw, queues[0], "drain") == {"applied": 3, "failed": 0, "from": queues[0]}
    _assert_settled_once(gw, key, ids, credits=10)
    assert q.depth(sqs, queues[0]) == 0
    assert _cli(moto_url, gw, queues[0], "drain") == {"applied": 0, "failed": 0, "from": queues[0]}


@pytest.mark.parametrize("stage", ["received", "applied"])
def test_a_writer_killed_between_receive_and_delete_loses_nothing(gw, fake, sqs, queues, writer, moto_url, stage):
    fake.add_chat_echo()
    with gw.admin() as api:
        key = create_key(api, credits=10)
    ids = _billed_calls(gw, key, 3, streamed=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "AWS_"))}
    env.update(_aws_env(moto_url), AIHUB_DB=str(gw.db_path))
    worker = subprocess.Popen([sys.executable, "-m", "tests.support.sqs", _aws_env(moto_url)["AWS_ENDPOINT_URL_SQS"],
                               queues[0], stage], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "received 3"
        if stage == "applied":
            assert worker.stdout.readline().startswith("applied")
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # the crash: after its commit (or before), before any delete
        worker.wait(10)
    recorded_by_the_dead = _books(gw, key["account_id"])["calls"]
    assert len(recorded_by_the_dead) == (3 if stage == "applied" else 0)
    time.sleep(VISIBILITY_S + 0.5)
    again = q.receive_all(sqs, queues[0])
    assert _request_ids(again) == sorted(ids)  # redelivered, every one
    assert _handler(q.lambda_event(again)) == {"batchItemFailures": []}
    q.delete(sqs, queues[0], again)
    _assert_settled_once(gw, key, ids, credits=10)
