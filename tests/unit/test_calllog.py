"""The call log's messages and how the writer applies them: a replay, a reordering or a late
settle changes nothing it should not."""
from __future__ import annotations

import asyncio
import sqlite3

import orjson
import pytest

from chalicelib.billing import accounting
from chalicelib.calllog import apply as calllog_apply
from chalicelib.calllog import lambda_writer, local
from chalicelib.calllog.message import BadMessage, Message, begin_message, from_json
from chalicelib.hotstate.base import Hold
from chalicelib.store import inflight, keys, ledger
from chalicelib.store.calls import CallRecord
from chalicelib.store.db import DatabaseUnavailable, Store
from chalicelib.store.shared import store

NOW = 1_760_000_000_000


def _record(request_id: str = "req_1", account_id: str | None = None, **fields) -> CallRecord:
    return CallRecord(request_id=request_id, created_at=NOW, type="chat", account_id=account_id, key_id="key_1",
                      provider="openai", model="gpt-4o-mini", prompt_tokens=10, completion_tokens=5, **fields)


@pytest.mark.parametrize("msg", [
    begin_message(_record(), deadline=NOW + 960_000),
    Message("settle", _record()),
    Message("settle", _record(account_id="acct_1", status="failed", error_code="upstream_error", error="boom"),
            Hold("req_1", "acct_1", "key_1", 5_000, "rpm:29333333", ("day:2026-12-02",)), tokens=15, cost=1_234),
    Message("settle", _record(account_id="acct_1"), Hold("req_1", "acct_1", None, 0, None), cost=99, charged_externally=True),
])
def test_a_message_survives_its_json(msg):
    again = from_json(msg.to_json())
    assert again == msg
    assert again.to_json() == msg.to_json()


@pytest.mark.parametrize("raw, why", [
    (b"{not json", "not JSON"),
    (b"[]", "not an object"),
    (orjson.dumps({"v": 2, "kind": "settle", "record": {}}), "version"),
    (orjson.dumps({"v": 1, "kind": "charge", "record": {}}), "kind"),
    (orjson.dumps({"v": 1, "kind": "settle", "record": {"request_id": "r", "created_at": 1, "type": "chat",
                                                         "password": "x"}}), "call record"),
    (orjson.dumps({"v": 1, "kind": "settle", "record": {"request_id": "r"}}), "missing"),
    (orjson.dumps({"v": 1, "kind": "settle", "record": {"request_id": "", "created_at": 1, "type": "chat"}}),
     "request_id"),
    (orjson.dumps({"v": 1, "kind": "begin", "record": {"request_id": "r", "created_at": 1, "type": "chat"}}),
     "deadline"),
    (orjson.dumps({"v": 1, "kind": "settle", "record": {"request_id": "r", "created_at": 1, "type": "chat"},
                   "cost": -5}), "cost"),
    (orjson.dumps({"v": 1, "kind": "settle", "record": {"request_id": "r", "created_at": 1, "type": "chat"},
                   "hold": {"request_id": "r", "account_id": None, "key_id": None, "colour": 1}}), "colour"),
])
def test_what_is_not_a_message_is_refused(raw, why):
    with pytest.raises(BadMessage, match=why):
        from_json(raw)


@pytest.fixture
def account(local_env) -> str:
    local_env({})
    record, _ = keys.create_key(store(), name="acct", credits_minor=10_000)
    return record.account_id


def _admitted(account: str, request_id: str, hold: int, minute: str = "rpm:1") -> Message:
    """What admission writes for a billed call with rate limits (hold, counters, in flight), and
    the settle message of that call."""
    rec = _record(request_id, account)

    def tx(conn: sqlite3.Connection) -> None:
        inflight.begin(conn, rec)
        conn.execute("INSERT INTO key_usage (key_id, period, requests) VALUES ('key_1', ?, 1)"
                     " ON CONFLICT DO NOTHING", (minute,))
        assert accounting.reserve(conn, request_id, account, "key_1", hold)

    store().write(tx)
    return Message("settle", rec, Hold(request_id, account, "key_1", hold, minute), tokens=15, cost=700)


def _state(account: str) -> dict:
    db = store()
    return {
        "calls": db.query_one("SELECT COUNT(*) FROM model_calls")[0],
        "charges": db.query_one("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM credit_ledger"
                                " WHERE account_id = ? AND kind = 'charge'", (account,))[:],
        "balance": (found := ledger.balance(db, account)).balance,
        "reserved": found.reserved,
        "tokens": db.query_one("SELECT COALESCE(SUM(tokens), 0) FROM key_usage")[0],
        "inflight": db.query_one("SELECT COUNT(*) FROM inflight")[0],
        "holds": db.query_one("SELECT COUNT(*) FROM reservations")[0],
    }


def test_a_settle_applied_twice_charges_and_counts_once(account):
    msg = _admitted(account, "req_a", 2_000)
    assert store().write(lambda c: calllog_apply.apply(c, msg)) == 700
    once = _state(account)
    assert once == {"calls": 1, "charges": (1, -700), "balance": 10_000 - 700, "reserved": 0, "tokens": 15,
                    "inflight": 0, "holds": 0}
    again = from_json(msg.to_json())  # as redelivered
    assert store().write(lambda c: calllog_apply.apply(c, again)) == 0
    assert _state(account) == once
    credits = store().query_one("SELECT credits FROM model_calls WHERE request_id = 'req_a'")[0]
    assert credits == 700


def test_a_batch_applied_twice_is_applied_once(account):
    msgs = [_admitted(account, f"req_{n}", 1_000, minute=f"rpm:{n}") for n in range(5)]
    first = store().write(lambda c: calllog_apply.apply_batch(c, msgs))
    assert first == [(True, 700)] * 5
    once = _state(account)
    assert store().write(lambda c: calllog_apply.apply_batch(c, msgs)) == [(True, 0)] * 5
    assert _state(account) == once == {**once, "calls": 5, "charges": (5, -3_500), "tokens": 75, "holds": 0}


@pytest.mark.parametrize("order", ["begin first", "settle first"])
def test_begin_and_settle_in_either_order_leave_one_record_and_nothing_in_flight(local_env, order):
    local_env({})
    rec = _record("req_q")
    begin, settle = begin_message(rec, NOW + 960_000), Message("settle", _record("req_q"))
    for msg in ([begin, settle] if order == "begin first" else [settle, begin]):
        store().write(lambda c, msg=msg: calllog_apply.apply(c, msg))
    assert store().query_one("SELECT COUNT(*) FROM model_calls WHERE request_id = 'req_q'")[0] == 1
    assert store().query_one("SELECT COUNT(*) FROM inflight")[0] == 0
    assert store().write(inflight.sweep) == 0


def test_queued_calls_past_their_deadline_are_swept_and_the_others_are_not(local_env):
    local_env({})
    now = inflight.now_ms()
    for request_id, deadline in (("late", now - 1), ("running", now + 60_000)):
        store().write(lambda c, r=request_id, d=deadline: calllog_apply.apply(c, begin_message(_record(r), d)))
    # no owner with a lease holds either row: only the deadline decides
    assert store().write(inflight.sweep) == 1
    row = store().query_one("SELECT request_id, status, error_code FROM model_calls")
    assert tuple(row) == ("late", "failed", inflight.INTERRUPTED)
    assert [r[0] for r in store().query("SELECT request_id FROM inflight")] == ["running"]


def test_a_settle_after_the_sweep_charges_what_the_provider_billed_once(account):
    msg = _admitted(account, "req_s", 2_000)
    store().write(lambda c: c.execute("UPDATE inflight SET owner = 'a process that died'"))
    assert store().write(inflight.sweep) == 1
    assert _state(account)["balance"] == 10_000  # the sweep released the hold
    for _ in range(2):  # the late settle, then its redelivery
        store().write(lambda c: calllog_apply.apply(c, msg))
    state = _state(account)
    assert state["calls"] == 1 and state["charges"] == (1, -700) and state["balance"] == 9_300
    status = store().query_one("SELECT error_code FROM model_calls WHERE request_id = 'req_s'")[0]
    assert status == inflight.INTERRUPTED


def test_a_charge_taken_by_the_hot_state_is_booked_without_touching_holds(account):
    rec = _record("req_x", account)
    store().write(lambda c: accounting.reserve(c, "other", account, None, 1_000))  # someone else's hold
    msg = Message("settle", rec, Hold("req_x", account, "key_1", 3_000, None), cost=400, charged_externally=True)
    for _ in range(2):
        store().write(lambda c: calllog_apply.apply(c, msg))
    state = _state(account)
    assert state["charges"] == (1, -400) and state["calls"] == 1
    assert state["balance"] == 10_000 - 1_000 - 400 and state["reserved"] == 1_000 and state["holds"] == 1
    remaining = store().query_one("SELECT SUM(remaining) FROM credit_grants WHERE account_id = ?", (account,))[0]
    assert remaining == 10_000 - 400


def test_locally_the_settle_commits_through_the_writer_thread(account):
    msg = _admitted(account, "req_l", 2_000)
    assert asyncio.run(local(msg)) == 700
    assert msg.record.credits == 700
    assert _state(account)["calls"] == 1


def _sqs_records(*bodies: bytes | str) -> list[dict]:
    return [{"messageId": f"m{n}", "body": body if isinstance(body, str) else body.decode()}
            for n, body in enumerate(bodies)]


def test_the_writer_function_reports_poison_alone_and_applies_the_rest(local_env, monkeypatch):
    local_env({})
    good = [Message("settle", _record(f"req_{n}")).to_json() for n in range(3)]
    # a message that parses but fails when applied (a field SQLite cannot store)
    bad_apply = Message("settle", _record("req_bad", attempts={"not": "text"})).to_json()
    monkeypatch.setattr(lambda_writer, "_last_sweep", 0.0)
    out = lambda_writer.handler({"Records": _sqs_records(good[0], "{oops", good[1], bad_apply, good[2])}, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    recorded = {r[0] for r in store().query("SELECT request_id FROM model_calls")}
    assert recorded == {"req_0", "req_1", "req_2"}


def test_a_database_failure_fails_the_whole_batch(tmp_path):
    db = Store(str(tmp_path / "busy.db"), journal_mode="delete", busy_timeout_ms=50, write_budget_ms=300)
    from chalicelib.store.migrations import migrate

    migrate(db)
    holder = sqlite3.connect(db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock past the budget
    try:
        with pytest.raises(DatabaseUnavailable):
            lambda_writer.drain(db, _sqs_records(Message("settle", _record()).to_json()))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert db.query_one("SELECT COUNT(*) FROM model_calls")[0] == 0
    assert lambda_writer.drain(db, _sqs_records(Message("settle", _record()).to_json())) == {"batchItemFailures": []}
    assert db.query_one("SELECT COUNT(*) FROM model_calls")[0] == 1


@pytest.mark.parametrize("env, mode, line", [
    ({}, "local", True),
    ({"AIHUB_SETTLEMENTS": "sqs", "AIHUB_SETTLEMENTS_QUEUE_URL": "http://127.0.0.1:1/1/q"}, "sqs", True),
    ({"AIHUB_SETTLEMENTS": "sqs"}, "local", True),  # no queue: recorded here rather than lost
    ({"AIHUB_SETTLEMENTS": "local"}, "local", True),
    ({"AIHUB_SETTLEMENTS": "local", "AIHUB_CALL_LOG": "off"}, "local", False),  # the line per call is its own switch
])
def test_the_call_log_setting(local_env, env, mode, line):
    from chalicelib.config import observability, settings

    local_env(env)
    assert (settings().settlements, observability().call_log) == (mode, line)


def test_a_queue_that_does_not_answer_leaves_the_record_to_the_local_writer(local_env, monkeypatch, caplog):
    from chalicelib.calllog import send, sqs
    from tests.support.gateway import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every SendMessage fails
    local_env({"AIHUB_SETTLEMENTS": "sqs", "AIHUB_SETTLEMENTS_QUEUE_URL": f"{dead}/123456789012/calls",
               "AWS_ENDPOINT_URL_SQS": dead, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_REGION": "us-east-1"})
    sqs.client.cache_clear()
    monkeypatch.setattr(sqs, "BACKOFF_S", (0.01, 0.01))
    record, _ = keys.create_key(store(), name="acct", credits_minor=10_000)
    msg = _admitted(record.account_id, "req_f", 2_000)
    try:
        assert asyncio.run(send(msg)) == 700  # what the record carries, computed here
    finally:
        sqs.client.cache_clear()
    assert _state(record.account_id) == {"calls": 1, "charges": (1, -700), "balance": 9_300, "reserved": 0,
                                         "tokens": 15, "inflight": 0, "holds": 0}
    assert "writing it locally" in caplog.text


def test_the_writer_function_sweeps_calls_past_their_deadline_at_most_every_few_seconds(local_env, monkeypatch):
    local_env({})
    clock = [1_000.0]
    monkeypatch.setattr(lambda_writer.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(lambda_writer, "_last_sweep", 0.0)
    past = inflight.now_ms() - 1

    def begun(request_id: str) -> dict:
        return {"Records": _sqs_records(begin_message(_record(request_id), past).to_json())}

    def interrupted() -> set[str]:
        return {r[0] for r in store().query("SELECT request_id FROM model_calls WHERE error_code = 'interrupted'")}

    assert lambda_writer.handler(begun("dead_1")) == {"batchItemFailures": []}
    assert interrupted() == {"dead_1"}  # the sweep runs after the batch's messages
    clock[0] += 1
    lambda_writer.handler(begun("dead_2"))
    assert interrupted() == {"dead_1"}  # too soon for another sweep
    clock[0] += lambda_writer.SWEEP_EVERY_S
    lambda_writer.handler({"Records": []})
    assert interrupted() == {"dead_1", "dead_2"}


def test_a_late_settle_in_the_sweeping_batch_wins_over_the_sweep(local_env, monkeypatch):
    """A backlog drained or a dead letter redriven past the call's deadline: its settle comes
    first in the batch, so the call keeps its real record."""
    local_env({})
    clock = [1_000.0]
    monkeypatch.setattr(lambda_writer.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(lambda_writer, "_last_sweep", clock[0])
    past = inflight.now_ms() - 1
    lambda_writer.handler({"Records": _sqs_records(begin_message(_record("late_1"), past).to_json())})
    clock[0] += lambda_writer.SWEEP_EVERY_S  # the next batch sweeps
    settle = Message("settle", _record("late_1", status="success"))
    assert lambda_writer.handler({"Records": _sqs_records(settle.to_json())}) == {"batchItemFailures": []}
    rows = store().query("SELECT status, error_code, prompt_tokens FROM model_calls WHERE request_id = 'late_1'")
    assert [tuple(r) for r in rows] == [("success", None, 10)]
    assert store().query_one("SELECT COUNT(*) FROM inflight")[0] == 0
