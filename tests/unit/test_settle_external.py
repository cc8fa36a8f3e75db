"""Settling a call whose hold is in the DynamoDB hot state (pipeline.Call.settle): the charge
goes to the ledger whatever DynamoDB answered, so that a settle that failed, or whose answer was
lost, never leaves a billed call free (reconcile's sweep settles a hold still there at the
booked amount)."""
from __future__ import annotations

import asyncio

import pytest

from chalicelib.billing import admission
from chalicelib.billing.cost import Rate, charge
from chalicelib.calllog.message import Message
from chalicelib.errors import ApiError
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest
from chalicelib.hotstate.base import Hold
from chalicelib.providers.base import Usage

RATE = Rate("openai", "gpt-5-nano", "chat", input_rate=50, output_rate=400)
USAGE = Usage(input_tokens=1_000, output_tokens=500)


def _call(hold: int) -> pipeline.Call:
    req = ApiRequest("POST", "/v1/chat/completions", {})
    who = Principal("key_1", "acct_1", "user")
    call = pipeline.Call(req, who, "chat", {"model": "openai/gpt-5-nano", "messages": []})
    call.record.provider, call.record.model = "openai", "gpt-5-nano"
    external = Hold(req.request_id, "acct_1", "key_1", hold, None)
    call.admission = admission.Admission(req.request_id, "key_1", None, hold, {("openai", "gpt-5-nano"): RATE},
                                         {}, external)
    return call


@pytest.mark.parametrize("outcome, expected", [
    ("charged", "what DynamoDB took"),
    (ApiError(503, "DynamoDB is throttling", code="hot_state_unavailable"), "the computed charge"),
    (TimeoutError("the answer was lost"), "the computed charge"),
])
def test_the_ledger_books_the_charge_whatever_dynamodb_answered(local_env, monkeypatch, outcome, expected):
    local_env({})
    sent: list[Message] = []
    taken = charge(RATE, USAGE) - 7  # DynamoDB's own figure, when it answers

    async def settle(adm, provider, model, usage):
        if isinstance(outcome, Exception):
            raise outcome
        adm.charged = taken
        return taken

    async def send(msg: Message) -> int:
        sent.append(msg)
        return msg.cost or 0

    monkeypatch.setattr(admission, "settle_external", settle)
    monkeypatch.setattr(pipeline.calllog, "send", send)
    call = _call(hold=10 * charge(RATE, USAGE))
    asyncio.run(call.settle(USAGE))
    (msg,) = sent
    assert msg.charged_externally and msg.hold is not None and msg.hold.amount == call.admission.hold
    assert msg.cost == (taken if expected == "what DynamoDB took" else charge(RATE, USAGE)) > 0
    assert call.record.credits == msg.cost


def test_a_failed_call_books_nothing_even_when_the_settle_fails(local_env, monkeypatch):
    local_env({})
    sent: list[Message] = []

    async def settle(adm, provider, model, usage):
        raise ApiError(503, "DynamoDB is throttling", code="hot_state_unavailable")

    async def send(msg: Message) -> int:
        sent.append(msg)
        return 0

    monkeypatch.setattr(admission, "settle_external", settle)
    monkeypatch.setattr(pipeline.calllog, "send", send)
    call = _call(hold=1_000_000)
    asyncio.run(call.settle(None, ApiError(502, "upstream failed", code="upstream_error")))
    (msg,) = sent
    assert msg.cost == 0 and msg.record.status == "failed"
