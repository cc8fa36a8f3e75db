"""The prod mode end to end: settlements queued to SQS and holds in DynamoDB, both on moto's
server on loopback, the real gateway driven by the official openai SDK.

What issue 15 asks of it: a billed call opens no SQLite transaction on its way (every statement
the gateway runs is traced, and none of them writes), the writer function later books each call
once (replayed batches change nothing), and DynamoDB's balances then equal the SQLite ledger.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.hotstate.dynamodb import DynamoHotState
from chalicelib.hotstate.reconcile import drifted
from chalicelib.store.db import Store
from tests.conftest import reset_process_state
from tests.fakes.upstream import FakeUpstream
from tests.support import sqs as q
from tests.support.aws import moto_server
from tests.support.dynamo import create_table, dynamodb, gateway_env
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

MODEL = "openai/gpt-5-nano"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def hot(endpoint: str) -> DynamoHotState:
    return DynamoHotState(dynamodb(endpoint), create_table(endpoint))


@pytest.fixture(scope="module")
def queue(endpoint: str) -> str:
    return q.queue_pair(q.client(endpoint), "aihub-prod-calls", max_receive=3, visibility_s=30)[0]


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, endpoint: str, hot: DynamoHotState, queue: str, tmp_path_factory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("prod-mode")
    env = {**upstream_env(fake.base_url), **gateway_env(endpoint, hot.table), "AWS_ENDPOINT_URL_SQS": endpoint,
           "AIHUB_BILLING": "on", "AIHUB_SETTLEMENTS": "sqs", "AIHUB_SETTLEMENTS_QUEUE_URL": queue,
           "AIHUB_SQL_TRACE": str(tmp / "statements.log"),  # beside the database (Gateway.db_path)
           "AIHUB_RECHECK_INTERVAL_S": "3600"}  # no periodic maintenance inside the measured window
    gateway = start_gateway(tmp, env)
    with gateway.admin() as api:
        rate = {"provider": "openai", "model": "gpt-5-nano", "input_rate": 0.00000005, "output_rate": 0.0000004}
        assert api.post("/admin/model-rates", json=rate).status_code == 201
    yield gateway
    gateway.stop()


def _statements(trace: Path, since: int) -> list[str]:
    with trace.open(encoding="utf-8") as f:
        f.seek(since)
        return [line.split("\t", 1)[1].strip() for line in f if "\t" in line]


def _apply_queue(gw: Gateway, endpoint: str, queue: str, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The writer function's run over what the queue holds, twice (at-least-once delivery)."""
    from chalicelib.calllog import lambda_writer

    sqs = q.client(endpoint)
    messages = q.receive_all(sqs, queue, visibility_s=30)
    monkeypatch.setenv("AIHUB_DB", str(gw.db_path))
    monkeypatch.setenv("AIHUB_DB_JOURNAL", "wal")
    reset_process_state()
    try:
        for _ in range(2):
            assert lambda_writer.handler(q.lambda_event(messages), None) == {"batchItemFailures": []}
    finally:
        reset_process_state()
    q.delete(sqs, queue, messages)
    return messages


def test_billed_calls_write_nothing_to_sqlite_on_their_way_and_are_booked_once(gw, fake, endpoint, hot, queue,
                                                                               monkeypatch):
    fake.add_chat_echo()
    with gw.admin() as api:
        key = create_key(api, credits=1)
    client = gw.openai(key["key"])
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "warm up"}])
    time.sleep(1.2)  # past a snapshot refresh: the warm-up's reads are behind us
    trace = gw.db_path.parent / "statements.log"
    mark = trace.stat().st_size
    assert any(s.startswith("INSERT INTO model_rates") for s in _statements(trace, 0))  # the trace is on
    ids = []
    for i in range(8):
        messages = [{"role": "user", "content": f"hello {i}"}]
        if i % 2:
            with client.chat.completions.with_streaming_response.create(model=MODEL, messages=messages,
                                                                        stream=True) as response:
                ids.append(response.headers["x-request-id"])
                for _ in response.iter_lines():
                    pass
        else:
            response = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
            ids.append(response.headers["x-request-id"])
    written = [s for s in _statements(trace, mark) if s.split(" ", 1)[0].upper() in WRITES]
    assert written == []  # the holds and charges were DynamoDB's, the records are in the queue
    with sqlite3.connect(gw.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM model_calls WHERE account_id = ?",
                            (key["account_id"],)).fetchone()[0] == 0  # not yet: the writer books them

    messages = _apply_queue(gw, endpoint, queue, monkeypatch)
    assert len(messages) == 2 * 9  # a begin and a settle per call, warm-up included

    with sqlite3.connect(gw.db_path) as conn:
        rows = conn.execute("SELECT request_id, credits FROM model_calls WHERE account_id = ?",
                            (key["account_id"],)).fetchall()
        charges = conn.execute("SELECT request_id, amount FROM credit_ledger WHERE account_id = ? AND kind = 'charge'",
                               (key["account_id"],)).fetchall()
        in_flight = conn.execute("SELECT COUNT(*) FROM inflight").fetchone()[0]
    assert len(rows) == 9 and set(ids) <= {r[0] for r in rows}
    assert sorted((r, -a) for r, a in charges) == sorted(rows) and all(c > 0 for _, c in rows)
    assert in_flight == 0
    balance, reserved = hot.balance(key["account_id"])
    assert reserved == 0 and balance == 10**9 - sum(c for _, c in rows)
    assert drifted(hot, Store(str(gw.db_path))) == []
