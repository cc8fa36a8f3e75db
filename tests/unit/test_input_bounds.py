"""Regression tests of the adversarial pass (issue 10): each input that gave a 500, stored
megabytes or rounded money away, driven through the real ASGI app in-process."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from chalicelib.billing.units import MAX_CREDITS
from tests.support.gateway import ROOT
from tests.support.inprocess import InProcessGateway, gateway_env, loopback_only

CHAT = "/v1/chat/completions"
HI = [{"role": "user", "content": "hi"}]
ANALYTICS = ["summary", "timeseries", "top-models", "calls", "calls.csv"]


@pytest.fixture
def start(local_env, monkeypatch) -> Iterator[Callable[..., InProcessGateway]]:
    """A gateway on a fresh database, billing on, the demo chat model priced."""
    started: list[InProcessGateway] = []

    def run(**env: str) -> InProcessGateway:
        local_env({**gateway_env(), **env})
        gw = InProcessGateway()
        started.append(gw)
        rate = {"provider": "demo", "model": "echo", "input_rate": 0.000001, "output_rate": 0.000002}
        assert gw.admin("POST", "/admin/model-rates", json=rate).status_code == 201
        return gw

    with loopback_only(monkeypatch):
        yield run
    for gw in started:
        gw.close()


@pytest.fixture
def gw(start) -> InProcessGateway:
    return start()


def refused(response, param: str | None, status: int = 400) -> dict:
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    return error


def rows(gw: InProcessGateway, sql: str, *args: object) -> list[tuple]:
    from chalicelib.store.shared import store

    return [tuple(r) for r in store().query(sql, args)]


# Strings that get stored -------------------------------------------------------------------------

def test_a_30_mib_model_name_is_refused_and_nothing_is_stored(gw):
    user = gw.new_user(credits=5)
    huge = '{"model": "' + "x" * (30 * 1024 * 1024) + '", "messages": [{"role": "user", "content": "hi"}]}'
    response = gw.request("POST", CHAT, key=user["key"], content=huge)
    assert "256" in refused(response, "model")["message"]
    assert rows(gw, "SELECT COUNT(*) FROM model_calls") == [(0,)]


def test_a_failed_call_keeps_a_bounded_model_name(gw):
    user = gw.new_user(credits=5)
    longest = "nope/" + "x" * 251
    assert gw.request("POST", CHAT, key=user["key"], json={"model": longest, "messages": HI}).status_code == 404
    ((requested, status, error),) = rows(gw, "SELECT requested_model, status, error FROM model_calls")
    assert requested == longest and status == "failed" and len(error) <= 1000


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/admin/keys", {"name": "k" * 201}, "name"),
    ("/admin/keys", {"account_id": "a" * 257}, "account_id"),
    ("/admin/providers", {"name": "p", "kind": "openai", "base_url": "http://h/" + "x" * 3000}, "base_url"),
    ("/admin/providers", {"name": "p", "kind": "openai", "config": {"models": ["m" * 257]}}, "config.models[0]"),
    ("/admin/providers", {"name": "p", "kind": "openai", "config": {"headers": {"x-a": "b\nc"}}},
     "config.headers.x-a"),
    ("/admin/providers/openai/credentials", {"value": "k" * (64 * 1024 + 1), "check": False}, "value"),
    ("/admin/providers/openai/credentials", {"value": "sk-line\nbreak-0123", "check": False}, "value"),
    ("/admin/model-rates", {"provider": "p" * 257, "model": "m"}, "provider"),
])
def test_stored_strings_have_bounds(gw, path, body, param):
    refused(gw.admin("POST", path, json=body), param)


def test_credit_notes_have_bounds(gw):
    user = gw.new_user()
    refused(gw.admin("POST", f"/admin/accounts/{user['account_id']}/credits", json={"amount": 1, "note": "n" * 1001}),
            "note")


# Body size and depth ------------------------------------------------------------------------------

def test_bodies_past_the_limit_are_413_naming_it(start):
    gw = start(AIHUB_MAX_BODY="4000", AIHUB_MAX_ADMIN_BODY="1000")
    user = gw.new_user(credits=5)
    padded = {"model": "demo/echo", "messages": [{"role": "user", "content": "x" * 2000}]}
    assert gw.request("POST", CHAT, key=user["key"], json=padded).status_code == 200
    padded["messages"][0]["content"] = "x" * 5000
    error = refused(gw.request("POST", CHAT, key=user["key"], json=padded), None, 413)
    assert "4000 bytes" in error["message"] and error["code"] == "body_too_large"
    error = refused(gw.admin("POST", "/admin/keys", json={"name": "x" * 190, "pad": "y" * 1000}), None, 413)
    assert "1000 bytes" in error["message"]


def test_body_limits_default_and_apply_to_the_chalice_front_too(local_env):
    from chalicelib.config import from_env
    from chalicelib.gateway.dispatch import Endpoint, routed
    from chalicelib.gateway.http import ApiRequest

    assert (from_env({}).max_body, from_env({}).max_admin_body) == (32 * 1024 * 1024, 1024 * 1024)
    local_env({**gateway_env(), "AIHUB_MAX_ADMIN_BODY": "10"})
    # The Chalice front reads bodies whole, then asks `routed` before any handler or auth runs.
    req = ApiRequest("POST", "/admin/keys", {}, body=b'{"name": "twelve"}')
    response = routed(Endpoint("POST", "/admin/keys", "admin:create_key", "admin"), req, ("POST",))
    assert response is not None and response.status == 413


def _nested(depth: int) -> str:
    return '{"type": "function", "function": {"name": "f", "parameters": ' + '{"x": ' * depth + "1" + "}" * depth + "}}"


def test_tools_nested_1000_deep_are_a_400(gw):
    user = gw.new_user(credits=5)
    body = '{"model": "demo/echo", "messages": [{"role": "user", "content": "hi"}], "tools": [%s]}'
    deep = gw.request("POST", CHAT, key=user["key"], content=body % _nested(1000))
    assert "64 levels" in refused(deep, None)["message"]
    assert gw.request("POST", CHAT, key=user["key"], content=body % _nested(50)).status_code == 200


# Integers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("max_tokens", 2**63), ("max_tokens", 2**31), ("max_completion_tokens", 2**63), ("seed", 2**64 - 1),
    ("n", 2**63), ("max_tokens", 5.5), ("max_tokens", "5"), ("max_tokens", True), ("n", 2.5),
])
def test_chat_integers_out_of_range_or_of_the_wrong_type_are_a_400(gw, field, value):
    user = gw.new_user(credits=5)
    refused(gw.request("POST", CHAT, key=user["key"], json={"model": "demo/echo", "messages": HI, field: value}), field)


def test_integral_floats_are_integers_as_openai_takes_them(gw):
    user = gw.new_user(credits=5)
    response = gw.request("POST", CHAT, key=user["key"],
                          json={"model": "demo/echo", "messages": HI, "n": 2.0, "max_tokens": 50.0})
    assert response.status_code == 200, response.text
    assert len(response.json()["choices"]) == 2


def test_content_parts_are_typed(gw):
    """A text part whose text is not a string reached the provider code as a TypeError (the fuzzer's find)."""
    user = gw.new_user(credits=5)
    parts = {"model": "demo/echo", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}
    refused(gw.request("POST", CHAT, key=user["key"], json=parts), "messages[0].content[0].text")
    parts["messages"][0]["content"] = [{"text": "no type"}]
    refused(gw.request("POST", CHAT, key=user["key"], json=parts), "messages[0].content[0].type")


@pytest.mark.parametrize(("extra", "param"), [
    ({"response_format": {"type": "json_schema", "json_schema": True}}, "response_format.json_schema"),
    ({"response_format": {"type": "json_schema"}}, "response_format"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]}, "tools[0].function.parameters"),
    ({"tools": [{"type": "function", "function": True}]}, "tools[0].function"),
    ({"tool_choice": {"type": "function", "function": {"name": 5}}}, "tool_choice.function.name"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"id": "1", "function": True}]}]},
     "messages[0].tool_calls[0].function"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]},
     "messages[0].content[0].image_url"),
])
def test_tagged_objects_are_typed_before_an_adapter_translates_them(gw, extra, param):
    """Gemini's and Bedrock's translations met a bool where an object belongs (the fuzzer's find)."""
    user = gw.new_user(credits=5)
    body = {"model": "google/gemini-2.5-flash", "messages": HI, **extra}
    refused(gw.request("POST", CHAT, key=user["key"], json=body), param)


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/v1/embeddings", {"model": "demo/embed", "input": "x", "dimensions": 2**63}, "dimensions"),
    ("/v1/embeddings", {"model": "demo/embed", "input": "x", "dimensions": 2**31 - 1}, "dimensions"),
    ("/v1/images/generations", {"model": "demo/image", "prompt": "p", "n": 2**63}, "n"),
])
def test_other_openai_integers_have_bounds(gw, path, body, param):
    user = gw.new_user(credits=5)
    refused(gw.request("POST", path, key=user["key"], json=body), param)


@pytest.mark.parametrize(("body", "param"), [
    ({"rpm": 2**63}, "rpm"), ({"tpm": 10**10}, "tpm"), ({"expires_at": 2**63}, "expires_at"),
    ({"expires_at": 253_402_300_800_000}, "expires_at"), ({"daily_cap": 1e300}, "daily_cap"),
    ({"monthly_cap": 1e-12}, "monthly_cap"), ({"rpm": "10"}, "rpm"),
])
def test_key_limits_have_bounds(gw, body, param):
    user = gw.new_user()
    refused(gw.admin("PATCH", f"/admin/keys/{user['id']}", json=body), param)


@pytest.mark.parametrize("query", ["limit=99999999999999999999", "before=1" + "0" * 30, "limit=1.5"])
@pytest.mark.parametrize("path", ["/admin/calls", "/v1/credits/ledger", "/admin/usage/calls"])
def test_query_integers_have_bounds(gw, path, query):
    user = gw.new_user()
    response = gw.request("GET", f"{path}?{query}", key=gw.admin_key if path.startswith("/admin") else user["key"])
    if "before" in query and path == "/admin/usage/calls":
        assert response.status_code == 200  # not a parameter of that route
    else:
        refused(response, query.partition("=")[0])


@pytest.mark.parametrize("body", [{"input_rate": None}, {"deprecated": None}, {"type": None}])
def test_a_patch_cannot_null_a_not_null_column(gw, body):
    rate_id = gw.admin("GET", "/admin/model-rates").json()["data"][0]["id"]
    refused(gw.admin("PATCH", f"/admin/model-rates/{rate_id}", json=body), next(iter(body)))


def test_a_provider_patch_cannot_null_enabled(gw):
    refused(gw.admin("PATCH", "/admin/providers/openai", json={"enabled": None}), "enabled")


# Dates and cursors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["9999-12-31T23:59:59+14:00", "9999-12-31", "0001-01-01T00:00:00+14:00",
                                   "9" * 5000, "2025-02-30"])
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("route", ANALYTICS)
def test_unrepresentable_dates_are_a_400(gw, route, name, value):
    user = gw.new_user()
    for prefix, key in (("/v1", user["key"]), ("/admin", gw.admin_key)):
        refused(gw.request("GET", f"{prefix}/usage/{route}", key=key, params={name: value}), name)


@pytest.mark.parametrize("cursor", ["1" * 30 + "_1", "1_" + "1" * 30, "9" * 5000 + "_1"])
@pytest.mark.parametrize("route", ["calls", "calls.csv"])
def test_a_30_digit_cursor_is_a_400_on_json_and_csv(gw, route, cursor):
    user = gw.new_user(credits=5)
    assert gw.request("POST", CHAT, key=user["key"], json={"model": "demo/echo", "messages": HI}).status_code == 200
    response = gw.request("GET", f"/v1/usage/{route}", key=user["key"], params={"cursor": cursor})
    refused(response, "cursor")  # before the first byte of the CSV: not a 200 cut off mid-body


# Money --------------------------------------------------------------------------------------------------

def _ledger_count(gw: InProcessGateway, account_id: str) -> int:
    return rows(gw, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?", account_id)[0][0]


def _balance_routes_answer(gw: InProcessGateway, user: dict) -> None:
    account = user["account_id"]
    admin = [f"/admin/accounts/{account}", f"/admin/accounts/{account}/ledger", "/admin/accounts", "/admin/usage/quota"]
    for path in admin:
        assert gw.admin("GET", path).status_code == 200, path
    for path in ("/v1/credits", "/v1/credits/ledger", "/v1/usage/quota"):
        assert gw.request("GET", path, key=user["key"]).status_code == 200, path


def test_a_grant_past_the_account_limit_is_a_400_and_writes_nothing(gw):
    user = gw.new_user(credits=MAX_CREDITS - 1)
    before = _ledger_count(gw, user["account_id"])
    grant = gw.admin("POST", f"/admin/accounts/{user['account_id']}/credits", json={"amount": 2})
    assert refused(grant, "amount")["code"] == "credit_limit_exceeded"
    assert _ledger_count(gw, user["account_id"]) == before
    assert gw.request("GET", "/v1/credits", key=user["key"]).json()["balance"] == MAX_CREDITS - 1
    second_key = gw.admin("POST", "/admin/keys", json={"account_id": user["account_id"], "credits": 2})
    assert refused(second_key, "credits")["code"] == "credit_limit_exceeded"
    assert rows(gw, "SELECT COUNT(*) FROM api_keys WHERE account_id = ?", user["account_id"]) == [(1,)]
    assert gw.admin("POST", f"/admin/accounts/{user['account_id']}/credits", json={"amount": 1}).status_code == 201
    _balance_routes_answer(gw, user)


def test_a_grant_that_would_overflow_64_bits_is_a_400(gw):
    user = gw.new_user(credits=5)
    refused(gw.admin("POST", f"/admin/accounts/{user['account_id']}/credits", json={"amount": 9.3e9}), "amount")
    _balance_routes_answer(gw, user)


def test_sums_past_64_bits_still_read_exactly(gw):
    """Ledgers written before the bound (or grown by expiry cycles) can sum past 2**63."""
    from chalicelib.store.shared import store

    user, other = gw.new_user(), gw.new_user()
    huge = 4 * 10**18

    def legacy(conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO credit_ledger (account_id, kind, amount, created_at) VALUES (?, 'grant', ?, 0)",
                         [(user["account_id"], huge)] * 3)
        conn.execute("UPDATE accounts SET balance = ? WHERE id IN (?, ?)",
                     (huge, user["account_id"], other["account_id"]))

    store().write(legacy)
    _balance_routes_answer(gw, user)
    assert gw.request("GET", "/v1/credits", key=user["key"]).json()["granted"] == 3 * huge // 10**9
    assert gw.admin("GET", "/admin/usage/quota").json()["remaining"] == 2 * huge // 10**9


@pytest.mark.parametrize(("method", "path", "body", "param"), [
    ("POST", "/admin/model-rates", {"provider": "demo", "model": "tiny", "input_rate": 1e-12}, "input_rate"),
    ("POST", "/admin/model-rates", {"provider": "demo", "model": "tiny", "image_rate": 5e-10}, "image_rate"),
    ("POST", "/admin/model-rates", {"provider": "demo", "model": "tiny", "output_rate": 1e7}, "output_rate"),
    ("POST", "/admin/keys", {"credits": 1e-10}, "credits"),
])
def test_amounts_below_the_minor_unit_or_past_the_bound_are_a_400(gw, method, path, body, param):
    message = refused(gw.admin(method, path, json=body), param)["message"]
    assert "1e-09" in message or "less than or equal" in message
    assert rows(gw, "SELECT COUNT(*) FROM model_rates WHERE model = 'tiny'") == [(0,)]


def test_a_rate_update_below_the_minor_unit_is_a_400(gw):
    rate = gw.admin("GET", "/admin/model-rates").json()["data"][0]
    refused(gw.admin("PATCH", f"/admin/model-rates/{rate['id']}", json={"output_rate": 1e-12}), "output_rate")
    assert gw.admin("GET", "/admin/model-rates").json()["data"][0]["output_rate"] == rate["output_rate"]
    assert gw.admin("PATCH", f"/admin/model-rates/{rate['id']}", json={"output_rate": 0}).status_code == 200


def test_a_grant_below_the_minor_unit_is_a_400(gw):
    user = gw.new_user()
    refused(gw.admin("POST", f"/admin/accounts/{user['account_id']}/credits", json={"amount": 1e-10}), "amount")


def test_margin_rates_past_the_bound_are_a_400(gw):
    cost = {"provider": "demo", "model": "dear", "input_cost_usd": 1000}
    assert gw.admin("POST", "/admin/model-rates", json=cost).status_code == 201
    bulk = gw.admin("POST", "/admin/model-rates/bulk", json={"margin": 0, "credit_price": 1e-9, "provider": "demo",
                                                              "dry_run": False})
    refused(bulk, "credit_price")


@pytest.mark.parametrize("credits", ["1e-12", "2e9", "nan"])
def test_the_cli_refuses_what_the_api_refuses(tmp_path, credits):
    env = {"AIHUB_DB": str(tmp_path / "cli.db"), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "chalicelib.cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, capture_output=True, check=True, timeout=60)
    command = [*cli, "keys", "create", "--name", "n", "--credits", credits]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (1, 2) and "credits" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "key (shown" not in done.stdout


def test_a_hold_past_64_bits_is_not_a_500(gw):
    dear = {"provider": "demo", "model": "echo", "input_rate": 1, "output_rate": 10**6}
    assert gw.admin("POST", "/admin/model-rates", json=dear).status_code == 201
    user = gw.new_user(credits=5)
    body = {"model": "demo/echo", "messages": HI, "max_tokens": 2**31 - 1, "n": 128}
    assert gw.request("POST", CHAT, key=user["key"], json=body).status_code == 402
