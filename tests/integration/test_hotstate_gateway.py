"""Admission through the real gateway with either hot state (AIHUB_HOT_STATE=sqlite, the
default, and dynamodb against moto's server on loopback), driven by the official openai SDK:
the same calls are admitted and refused (402, 429, with the same headers) and neither
overspends under concurrency; with DynamoDB, its balances equal the ledger afterwards."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import openai
import pytest

from chalicelib.hotstate.dynamodb import DynamoHotState
from chalicelib.hotstate.reconcile import drifted
from chalicelib.store.db import Store
from tests.fakes.upstream import FakeUpstream
from tests.integration.test_billing import (
    ECHO,
    _check_money,
    _fresh_minute,
    _hammer,
    credits_of,
    new_key,
    start_priced,
)
from tests.support.aws import moto_server
from tests.support.dynamo import create_table, dynamodb, gateway_env
from tests.support.gateway import Gateway, upstream_env


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "dynamodb"])
def hot(request, endpoint) -> DynamoHotState | None:
    """The DynamoDB hot state the gateway uses (None: SQLite's)."""
    return DynamoHotState(dynamodb(endpoint), create_table(endpoint)) if request.param == "dynamodb" else None


@pytest.fixture(scope="module")
def gw(hot, endpoint, fake: FakeUpstream, tmp_path_factory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_TOPUP_URL": "https://example.test/top-up"}
    if hot is not None:
        env.update(gateway_env(endpoint, hot.table))
    gateway = start_priced(tmp_path_factory.mktemp("hotstate"), env)
    yield gateway
    gateway.stop()


def chat(gw: Gateway, key: dict):
    return gw.openai(key["key"]).chat.completions.with_raw_response.create(**ECHO)


def refusal(gw: Gateway, key: dict) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as info:
        chat(gw, key)
    return info.value


def no_drift(gw: Gateway, hot: DynamoHotState | None) -> None:
    if hot is not None:
        assert drifted(hot, Store(str(gw.db_path))) == []


def test_insufficient_credits_then_a_top_up(api, gw, hot):
    key = new_key(api, 0.05)  # the call holds 0.1
    error = refusal(gw, key)
    assert error.status_code == 402 and error.body["code"] == "insufficient_credits"
    assert "has 0.05 available" in error.body["message"] and "https://example.test/top-up" in error.body["message"]
    assert api.post(f"/admin/accounts/{key['account_id']}/credits", json={"amount": 1, "kind": "topup"}).status_code == 201
    assert chat(gw, key).http_response.status_code == 200
    mine = credits_of(gw, key)
    assert (mine["granted"], mine["reserved"]) == (1.05, 0) and 0 < mine["used"] <= 0.1
    assert Decimal(str(mine["balance"])) == Decimal("1.05") - Decimal(str(mine["used"]))
    no_drift(gw, hot)


def test_requests_per_minute(api, gw):
    _fresh_minute()
    key = new_key(api, 10, rpm=3)
    answers = [chat(gw, key).http_response for _ in range(3)]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
    error = refusal(gw, key)
    assert isinstance(error, openai.RateLimitError) and error.body["code"] == "rate_limit_requests"
    assert 1 <= int(error.response.headers["retry-after"]) <= 60
    assert error.response.headers["x-ratelimit-limit-requests"] == "3"


def test_tokens_per_minute(api, gw):
    _fresh_minute()
    key = new_key(api, 10, tpm=5)
    assert chat(gw, key).http_response.headers["x-ratelimit-remaining-tokens"] == "5"
    error = refusal(gw, key)  # 2 prompt + 9 completion tokens counted at settlement
    assert error.status_code == 429 and error.body["code"] == "rate_limit_tokens"
    assert error.response.headers["x-ratelimit-remaining-tokens"] == "0"


def test_daily_spend_cap(api, gw, hot):
    key = new_key(api, 10)
    assert api.patch(f"/admin/keys/{key['id']}", json={"daily_cap": 0.25}).status_code == 200
    assert chat(gw, key).http_response.status_code == 200  # holds 0.1, spends 0.09
    assert chat(gw, key).http_response.status_code == 200  # 0.09 spent + 0.1 held <= 0.25
    error = refusal(gw, key)  # 0.18 spent + 0.1 held > 0.25
    assert error.status_code == 429 and error.body["code"] == "spend_cap_exceeded"
    no_drift(gw, hot)


def test_fifty_concurrent_calls_cannot_overspend(api, gw, hot):
    key = new_key(api, 1)
    statuses = _hammer([gw.url], key["key"], 50)
    _check_money(api, gw.url, key, Decimal(1), statuses)
    if hot is not None:
        balance, reserved = hot.balance(key["account_id"])
        ledger = api.get(f"/admin/accounts/{key['account_id']}").json()["balance"]
        assert (Decimal(balance) / 10**9, reserved) == (Decimal(str(ledger)), 0)
    no_drift(gw, hot)


def test_a_failed_call_releases_its_hold(api, gw, hot, fake):
    fake.route("POST", "/v1/chat/completions", status=500, json={"error": {"message": "down"}})
    key = new_key(api, 10)
    with pytest.raises(openai.APIError):
        gw.openai(key["key"]).chat.completions.create(model="openai/gpt-5-nano", messages=[{"role": "user", "content": "x"}])
    mine = credits_of(gw, key)
    assert (mine["balance"], mine["reserved"], mine["used"]) == (10, 0, 0)
    if hot is not None:
        assert hot.balance(key["account_id"]) == (10 * 10**9, 0)
