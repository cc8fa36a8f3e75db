"""The DynamoDB hot state's items as data: item keys, the transactions' conditions, and how a
cancelled transaction maps to the client's error."""
from __future__ import annotations

import pytest

from chalicelib.config import from_env
from chalicelib.hotstate import items as d
from chalicelib.hotstate.base import Ask, Hold, Periods
from chalicelib.store.keys import KeyRecord

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
P = Periods.at(NOW)


def key(**limits: int | None) -> KeyRecord:
    fields = {"rpm": None, "tpm": None, "daily_cap": None, "monthly_cap": None, **limits}
    return KeyRecord(id="key_1", account_id="acct_1", name=None, role="user", masked="k", created_at=0,
                     expires_at=None, revoked_at=None, **fields)


def ask(amount: int = 100, **limits: int | None) -> Ask:
    return Ask("req_1", "acct_1", "key_1", key(**limits) if limits else None, amount, NOW)


def hold_of(a: Ask) -> Hold:
    return Hold(a.request_id, a.account_id, a.key_id, a.amount, P.minute if a.key else None,
                tuple(p for p, _, _ in a.caps()), int(NOW) + 1800)


def test_periods():
    assert (P.minute, P.day, P.month, P.minute_left, P.day_left) == (
        "rpm:28333333", "day:2023-11-14", "month:2023-11", 40, 6400)


@pytest.mark.parametrize("made, pk", [
    (d.acct_key("acct_1"), "acct#acct_1"),
    (d.hold_key("req_1"), "hold#req_1"),
    (d.usage_key("key_1", "rpm:28333333"), "usage#key_1#rpm:28333333"),
    (d.credit_key("acct_1", 42), "credit#acct_1#42"),
])
def test_item_keys(made, pk):
    assert made == {"pk": {"S": pk}}


@pytest.mark.parametrize("a, parts", [
    (ask(100), ["acct", "hold"]),
    (ask(0), []),  # nothing to hold, no cap: no transaction at all
    (ask(100, daily_cap=500), ["acct", "cap", "hold"]),
    (ask(100, daily_cap=500, monthly_cap=900, rpm=3), ["acct", "cap", "cap", "hold"]),
    (ask(0, daily_cap=500), ["cap"]),
])
def test_hold_transaction_items(a, parts):
    assert [p.what for p in d.hold_parts("t", a, hold_of(a))] == parts


def test_hold_conditions():
    a = ask(100, daily_cap=500, monthly_cap=900)
    acct, day, month, hold = d.hold_parts("t", a, hold_of(a))
    update = acct.op["Update"]
    assert update["ConditionExpression"] == "balance >= :amount AND balance >= :zero"
    assert update["UpdateExpression"] == "ADD balance :minus, reserved :amount"
    assert update["ExpressionAttributeValues"] == {":amount": {"N": "100"}, ":minus": {"N": "-100"}, ":zero": {"N": "0"}}
    # spent + reserved + amount <= cap, as DynamoDB can state it: used <= cap - amount
    assert day.op["Update"]["ConditionExpression"] == "attribute_not_exists(used) OR used <= :room"
    assert (day.op["Update"]["ExpressionAttributeValues"][":room"], day.cap) == ({"N": "400"}, ("daily", 500))
    assert (month.op["Update"]["Key"], month.cap) == (d.usage_key("key_1", P.month), ("monthly", 900))
    put = hold.op["Put"]
    assert put["ConditionExpression"] == "attribute_not_exists(pk)"
    assert put["Item"]["periods"] == {"S": f"{P.day},{P.month}"}
    assert int(put["Item"]["ttl"]["N"]) - int(put["Item"]["deadline"]["N"]) == d.GC_TTL_S


@pytest.mark.parametrize("rpm, condition", [(3, "attribute_not_exists(requests) OR requests < :rpm"), (None, None)])
def test_rpm_update(rpm, condition):
    update = d.rpm_update("t", "key_1", P.minute, rpm, NOW)
    assert update.get("ConditionExpression") == condition
    assert update["ExpressionAttributeValues"][":ttl"] == {"N": str(int(NOW) + d.MINUTE_TTL_S)}
    assert update["ReturnValues"] == "ALL_NEW"


@pytest.mark.parametrize("charged, tokens, back, ops", [
    (60, 0, 40, ["Delete", "acct", "day"]),
    (150, 7, -50, ["Delete", "acct", "day", "minute"]),  # an overrun is taken in full
    (0, 0, 100, ["Delete", "acct", "day"]),  # a release
])
def test_settle_transaction(charged, tokens, back, ops):
    a = ask(100, daily_cap=500, tpm=10)
    ops_made = d.settle_parts("t", hold_of(a), charged, tokens, NOW)
    names = [next(iter(op)) if "Delete" in op else
             {d.acct_key("acct_1")["pk"]["S"]: "acct", d.usage_key("key_1", P.day)["pk"]["S"]: "day",
              d.usage_key("key_1", P.minute)["pk"]["S"]: "minute"}[op["Update"]["Key"]["pk"]["S"]] for op in ops_made]
    assert names == ops
    assert ops_made[0]["Delete"]["ConditionExpression"] == "attribute_exists(pk)"
    assert ops_made[1]["Update"]["ExpressionAttributeValues"] == {":back": {"N": str(back)}, ":minus": {"N": "-100"}}
    assert ops_made[2]["Update"]["ExpressionAttributeValues"][":delta"] == {"N": str(charged - 100)}


FAILED = {"Code": "ConditionalCheckFailed"}
NONE = {"Code": "None"}


@pytest.mark.parametrize("a, reasons, status, code", [
    (ask(1_500_000_000), [{**FAILED, "Item": {"balance": {"N": "400000000"}}}, NONE], 402, "insufficient_credits"),
    (ask(100), [FAILED, NONE], None, None),  # no account item yet: seed it and try again
    (ask(100, daily_cap=500), [NONE, FAILED, NONE], 429, "spend_cap_exceeded"),
    # both fail: the cap is named, as SQLite checks caps first
    (ask(100, daily_cap=500), [{**FAILED, "Item": {"balance": {"N": "0"}}}, FAILED, NONE], 429, "spend_cap_exceeded"),
    (ask(100), [NONE, FAILED], 409, "duplicate_request_id"),
    (ask(100), [{"Code": "ThrottlingError"}, NONE], 503, "hot_state_unavailable"),
])
def test_refusal(a, reasons, status, code):
    error = d.refusal(d.hold_parts("t", a, hold_of(a)), reasons, a, hold_of(a))
    assert (error and error.status, error and error.code) == (status, code)
    if status == 402:
        assert "up to 1.5 credits" in error.message and "has 0.4 available" in error.message
    if status == 429:
        assert int(error.headers["retry-after"]) == P.day_left
    if status == 503:
        assert error.headers["retry-after"] == "1"


def test_hold_item_round_trip():
    a = ask(100, daily_cap=500)
    item = d.hold_parts("t", a, hold_of(a))[-1].op["Put"]["Item"]
    assert d.hold_of(item) == Hold("req_1", "acct_1", "key_1", 100, P.minute, (P.day,), int(NOW) + 1800)


@pytest.mark.parametrize("value, chosen", [(None, "sqlite"), ("", "sqlite"), ("sqlite", "sqlite"),
                                           ("DynamoDB", "dynamodb"), (" dynamodb ", "dynamodb")])
def test_hot_state_setting(value, chosen):
    env = {"AIHUB_DB": "/tmp/x.db", "AIHUB_DYNAMODB_TABLE": "t"} | ({"AIHUB_HOT_STATE": value} if value else {})
    assert from_env(env).hot_state == chosen


@pytest.mark.parametrize("env, says", [({"AIHUB_HOT_STATE": "redis"}, "AIHUB_HOT_STATE is 'redis'"),
                                       ({"AIHUB_HOT_STATE": "dynamodb"}, "needs AIHUB_DYNAMODB_TABLE")])
def test_a_hot_state_it_cannot_use_is_refused_by_name(env, says):
    with pytest.raises(ValueError, match=says):
        from_env({"AIHUB_DB": "/tmp/x.db", **env})


def test_credit_transaction():
    update, mark = d.credit_parts("t", "acct_1", -200, 42, NOW)
    assert update["Update"]["ConditionExpression"] == "attribute_exists(pk) AND seeded_through < :ref"
    assert update["Update"]["ExpressionAttributeValues"] == {":amount": {"N": "-200"}, ":ref": {"N": "42"}}
    assert (mark["Put"]["Item"]["pk"], mark["Put"]["ConditionExpression"]) == (
        {"S": "credit#acct_1#42"}, "attribute_not_exists(pk)")
