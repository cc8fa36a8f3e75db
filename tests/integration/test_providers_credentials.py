"""Providers and credentials at run time: encrypted keys, weighted balancing, self-healing,
failover, model health. A fault-injecting fake upstream answers per credential."""
from __future__ import annotations

import asyncio
import collections
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream, RecordedRequest
from tests.integration.conftest import calls_of
from tests.support.gateway import ROOT, Gateway, create_key, start_gateway, upstream_env

SECRET = "integration-master-secret-0123456789-abcdef"
KEY_A = "sk-lb-AAAA-secret-0001-aaaaaaaa"
KEY_B = "sk-lb-BBBB-secret-0002-bbbbbbbb"
CHAT = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_SECRET": SECRET, "AIHUB_RECHECK_BASE_S": "0.3",
           "AIHUB_RECHECK_INTERVAL_S": "0.1", "OPENROUTER_API_KEY": "sk-or-test-SECRET-0123456789",
           "OPENROUTER_BASE_URL": fake.base_url + "/openrouter/v1"}
    gateway = start_gateway(tmp_path_factory.mktemp("providers"), env)
    yield gateway
    gateway.stop()


@pytest.fixture
def provider(api: httpx.Client, fake: FakeUpstream, request: pytest.FixtureRequest) -> str:
    """A fresh provider of kind openai on its own path of the fake, with no credential yet."""
    name = "p" + str(abs(hash(request.node.name)) % 10**8)
    created = api.post("/admin/providers", json={"name": name, "kind": "openai",
                                                 "base_url": f"{fake.base_url}/{name}/v1",
                                                 "config": {"models": ["m1"], "read_timeout": 1.0}})
    assert created.status_code == 201, created.text
    yield name
    api.delete(f"/admin/providers/{name}")


def add_key(api: httpx.Client, provider: str, value: str, weight: int = 1, check: bool = False) -> dict:
    response = api.post(f"/admin/providers/{provider}/credentials",
                        json={"name": value[:9], "value": value, "weight": weight, "check": check})
    assert response.status_code == 201, response.text
    return response.json()


def per_key(answers: dict[str, object]):
    """A fake handler answering by the Authorization header: a status, 'hang', or the chat."""

    async def handler(req: RecordedRequest):
        key = req.headers["authorization"].removeprefix("Bearer ")
        answer = answers.get(key, 200)
        if answer == "hang":
            await asyncio.sleep(3)
            answer = 200
        if isinstance(answer, tuple):
            status, headers = answer
        else:
            status, headers = answer, {}
        if status == 200:
            return 200, {"content-type": "application/json"}, orjson.dumps(CHAT)
        return status, {"content-type": "application/json", **headers}, orjson.dumps(
            {"error": {"message": f"fake says {status}", "type": "x", "code": str(status)}})

    return handler


def chat(gw: Gateway, model: str, key: str, **extra) -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=20,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


@pytest.fixture
def user_key(api: httpx.Client) -> dict:
    return create_key(api, name="creds user")


def used_keys(fake: FakeUpstream) -> list[str]:
    return [r.headers["authorization"].removeprefix("Bearer ") for r in fake.requests]


# -- admin API --------------------------------------------------------------------------

def test_builtin_providers_are_listed_without_setup(api):
    names = {p["name"]: p for p in api.get("/admin/providers").json()["data"]}
    assert {"openai", "deepseek", "xai", "openrouter", "ollama", "doubao", "poe", "demo"} <= names.keys()
    assert names["openai"]["credentials"]["source"] == "environment" and names["openai"]["builtin"]


def test_provider_lifecycle(api, gw, fake, user_key):
    created = api.post("/admin/providers", json={"name": "mine", "kind": "openai", "base_url": fake.base_url + "/mine/v1",
                                                 "display_name": "My vLLM", "config": {"models": ["llama-x"]}})
    assert created.status_code == 201 and created.json()["builtin"] is False
    assert api.post("/admin/providers", json={"name": "mine", "kind": "openai"}).status_code == 409
    assert api.post("/admin/providers", json={"name": "zz", "kind": "nope"}).json()["error"]["param"] == "kind"
    add_key(api, "mine", "sk-mine-000000000000000001")
    fake.route("POST", "/mine/v1/chat/completions", json=CHAT)
    assert chat(gw, "mine/llama-x", user_key["key"]).status_code == 200
    assert fake.requests[-1].json["model"] == "llama-x"
    ids = [m["id"] for m in httpx.get(gw.url + "/v1/models", headers={"authorization": f"Bearer {user_key['key']}"}).json()["data"]]
    assert "mine/llama-x" in ids

    disabled = api.patch("/admin/providers/mine", json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    refused = chat(gw, "mine/llama-x", user_key["key"])
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "provider_disabled"
    assert api.delete("/admin/providers/mine").json()["deleted"] is True
    assert chat(gw, "mine/llama-x", user_key["key"]).status_code == 404
    assert api.delete("/admin/providers/openai").status_code == 400  # built in: disable instead


def test_credential_check_on_add_reports_why(api, fake, provider):
    fake.route("GET", f"/{provider}/v1/models", status=401,
               json={"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})
    refused = api.post(f"/admin/providers/{provider}/credentials", json={"value": KEY_A, "check": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "credential_check_failed"
    assert "Incorrect API key" in refused.json()["error"]["message"] and KEY_A not in refused.text
    fake.route("GET", f"/{provider}/v1/models", json={"object": "list", "data": []})
    ok = api.post(f"/admin/providers/{provider}/credentials", json={"value": KEY_A, "check": True})
    assert ok.status_code == 201 and ok.json()["active"] is True
    assert ok.json()["masked"] == f"{KEY_A[:4]}...{KEY_A[-4:]}"


def test_secret_never_comes_back(api, gw, fake, provider):
    created = add_key(api, provider, KEY_A)
    texts = [api.get(f"/admin/providers/{provider}/credentials").text, api.get("/admin/providers").text,
             api.patch(f"/admin/credentials/{created['id']}", json={"weight": 2}).text,
             api.get(f"/admin/providers/{provider}").text]
    fake.route("GET", f"/{provider}/v1/models", status=401, json={"error": {"message": f"bad key {KEY_A}"}})
    texts.append(api.post(f"/admin/credentials/{created['id']}/check").text)
    for text in texts:
        assert KEY_A not in text
    assert KEY_A.encode() not in gw.db_path.read_bytes()
    for suffix in ("-wal", "-journal"):
        journal = gw.db_path.with_name(gw.db_path.name + suffix)
        assert not journal.exists() or KEY_A.encode() not in journal.read_bytes()
    assert KEY_A not in gw.log()


HEADER_SECRET = "org-header-SECRET-0123456789abcdef"


def test_provider_headers_are_sealed_masked_and_sent(api, gw, fake, provider, user_key):
    config = {"models": ["m1"], "headers": {"x-org-key": HEADER_SECRET, "x-team": "blue"}}
    updated = api.patch(f"/admin/providers/{provider}", json={"config": config})
    assert updated.status_code == 200, updated.text
    assert updated.json()["headers"] == {"x-org-key": f"{HEADER_SECRET[:4]}...{HEADER_SECRET[-4:]}", "x-team": "****"}
    add_key(api, provider, KEY_A)
    fake.route("POST", f"/{provider}/v1/chat/completions", json=CHAT)
    assert chat(gw, f"{provider}/m1", user_key["key"]).status_code == 200
    sent = fake.requests[-1].headers
    assert sent["x-org-key"] == HEADER_SECRET and sent["x-team"] == "blue"
    assert sent["authorization"] == f"Bearer {KEY_A}"  # the credential still wins its own header
    texts = [updated.text, api.get("/admin/providers").text, api.get(f"/admin/providers/{provider}").text]
    assert not [t for t in texts if HEADER_SECRET in t]
    assert HEADER_SECRET.encode() not in gw.db_path.read_bytes()
    wal = gw.db_path.with_name(gw.db_path.name + "-wal")
    assert not wal.exists() or HEADER_SECRET.encode() not in wal.read_bytes()
    cleared = api.patch(f"/admin/providers/{provider}", json={"config": {"models": ["m1"]}})
    assert cleared.json()["headers"] == {}
    assert chat(gw, f"{provider}/m1", user_key["key"]).status_code == 200
    assert "x-org-key" not in fake.requests[-1].headers


# -- balancing and self-healing ---------------------------------------------------------------

def test_weighted_split_3_to_1(api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A, weight=3)
    add_key(api, provider, KEY_B, weight=1)
    fake.route("POST", f"/{provider}/v1/chat/completions", json=CHAT)
    for _ in range(400):
        assert chat(gw, f"{provider}/m1", user_key["key"]).status_code == 200
    counts = collections.Counter(used_keys(fake))
    # One gateway process: SWRR is exact over every window of 4 calls. (Across N processes each
    # one is exact, so the total is off by at most N-1 per credential.)
    assert counts == {KEY_A: 300, KEY_B: 100}


def test_bad_key_is_disabled_the_client_never_notices_and_it_comes_back(api, gw, fake, provider, user_key):
    a = add_key(api, provider, KEY_A)
    add_key(api, provider, KEY_B)
    answers: dict[str, object] = {KEY_A: 401}
    fake.route("POST", f"/{provider}/v1/chat/completions", handler=per_key(answers))
    for _ in range(6):
        assert chat(gw, f"{provider}/m1", user_key["key"]).status_code == 200
    assert used_keys(fake).count(KEY_A) == 1  # tried once, then out of rotation
    creds = {c["id"]: c for c in api.get(f"/admin/providers/{provider}/credentials").json()["data"]}
    assert creds[a["id"]]["active"] is False and "401" in creds[a["id"]]["error"]
    failed_over = [c for c in calls_of(api, user_key["account_id"]) if c["attempts"]]
    assert len(failed_over) == 1
    attempts = orjson.loads(failed_over[0]["attempts"])
    assert [(x["credential_id"], x["status"]) for x in attempts] == [(a["id"], 401), (failed_over[0]["credential_id"], 200)]

    # The key is fixed upstream: the background re-check restores it.
    fake.route("GET", f"/{provider}/v1/models", json={"object": "list", "data": []})
    answers.clear()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if api.get(f"/admin/providers/{provider}/credentials").json()["data"][0]["active"]:
            break
        time.sleep(0.1)
    restored = {c["id"]: c for c in api.get(f"/admin/providers/{provider}/credentials").json()["data"]}[a["id"]]
    assert restored["active"] is True and restored["error"] is None
    fake.clear()
    for _ in range(4):
        chat(gw, f"{provider}/m1", user_key["key"])
    assert KEY_A in used_keys(fake)


@pytest.mark.parametrize(
    "fault",
    [500, 503, 529, (429, {"retry-after": "2"}), "hang"],
    ids=["500", "503", "529-overloaded", "429-retry-after", "timeout"],
)
def test_transient_failures_fail_over_to_the_other_key(fault, api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A, weight=1000)  # picked first
    add_key(api, provider, KEY_B, weight=1)
    fake.route("POST", f"/{provider}/v1/chat/completions", handler=per_key({KEY_A: fault}))
    response = chat(gw, f"{provider}/m1", user_key["key"])
    assert response.status_code == 200, response.text
    assert used_keys(fake) == [KEY_A, KEY_B]
    (call,) = calls_of(api, user_key["account_id"])
    assert call["status"] == "success" and len(orjson.loads(call["attempts"])) == 2
    if isinstance(fault, tuple):  # a 429 puts the key on a cool-down, not out of rotation
        cred = api.get(f"/admin/providers/{provider}/credentials").json()["data"][0]
        assert cred["active"] is True and cred["cooldown_until"] > time.time() * 1000


def test_connection_reset_fails_over(api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A)
    fake.route("POST", f"/{provider}/v1/chat/completions", json=CHAT)
    fake.route("POST", f"/{provider}/v1/chat/completions", fault="reset", times=1)
    add_key(api, provider, KEY_B)
    assert chat(gw, f"{provider}/m1", user_key["key"]).status_code == 200
    assert len(fake.requests) == 2


def test_client_errors_are_not_retried(api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A)
    add_key(api, provider, KEY_B)
    fake.route("POST", f"/{provider}/v1/chat/completions", status=400,
               json={"error": {"message": "bad param", "param": "temperature", "code": "invalid"}})
    response = chat(gw, f"{provider}/m1", user_key["key"])
    assert response.status_code == 400 and len(fake.requests) == 1


def test_every_key_failing_gives_one_clear_error_with_all_attempts(api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A)
    add_key(api, provider, KEY_B)
    fake.route("POST", f"/{provider}/v1/chat/completions", status=500, json={"error": {"message": "down"}})
    response = chat(gw, f"{provider}/m1", user_key["key"])
    assert response.status_code == 502 and response.json()["error"]["code"] == "upstream_error"
    (call,) = calls_of(api, user_key["account_id"])
    assert call["status"] == "failed" and len(orjson.loads(call["attempts"])) == 2


def test_bare_name_fails_over_to_another_provider_but_pinned_does_not(gw, fake, user_key):
    fake.route("POST", "/v1/chat/completions", status=503, json={"error": {"message": "openai down"}})
    fake.route("POST", "/openrouter/v1/chat/completions", json=CHAT)
    assert chat(gw, "gpt-4o-mini", user_key["key"]).status_code == 200
    assert [r.path for r in fake.requests] == ["/v1/chat/completions", "/openrouter/v1/chat/completions"]
    assert fake.requests[1].json["model"] == "openai/gpt-4o-mini"
    fake.clear()
    assert chat(gw, "openai/gpt-4o-mini", user_key["key"]).status_code == 503
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]


def test_stream_is_retried_only_before_its_first_byte(api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A, weight=1000)
    add_key(api, provider, KEY_B, weight=1)
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    fake.route("POST", f"/{provider}/v1/chat/completions", sse=[chunk, "[DONE]"])
    fake.route("POST", f"/{provider}/v1/chat/completions", status=503, json={"error": {"message": "busy"}}, times=1)
    client = gw.openai(user_key["key"])
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=f"{provider}/m1", stream=True, messages=[{"role": "user", "content": "x"}]) if c.choices)
    assert text == "hi" and len(fake.requests) == 2
    fake.reset()
    fake.route("POST", f"/{provider}/v1/chat/completions", sse=[chunk], fault="cut_stream")
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model=f"{provider}/m1", stream=True,
                                            messages=[{"role": "user", "content": "x"}]))
    assert len(fake.requests) == 1  # the first byte had gone out: no retry


def test_provider_read_timeout_applies(api, gw, fake, provider, user_key):
    add_key(api, provider, KEY_A)
    fake.route("POST", f"/{provider}/v1/chat/completions", json=CHAT, delay=2)
    started = time.monotonic()
    response = chat(gw, f"{provider}/m1", user_key["key"])
    assert response.status_code == 504 and time.monotonic() - started < 1.9  # read_timeout 1.0, not the global 3


# -- model health -------------------------------------------------------------------------

def test_status_says_why_a_model_cannot_be_served(api, gw, fake, provider, user_key):
    key = {"authorization": f"Bearer {user_key['key']}"}

    def status(model: str) -> dict:
        response = httpx.get(gw.url + "/v1/status", params={"model": model}, headers=key)
        assert response.status_code == 200
        return response.json()

    assert status("demo/echo")["available"] is True
    assert status("no-such-model")["reason"] == "no provider serves this model"
    assert "no active credential" in status(f"{provider}/m1")["reason"]
    cred = add_key(api, provider, KEY_A)
    assert status(f"{provider}/m1")["available"] is True
    fake.route("POST", f"/{provider}/v1/chat/completions", status=404,
               json={"error": {"message": "The model `m1` does not exist", "code": "model_not_found"}})
    probe = api.post(f"/admin/models/{provider}/m1/probe")
    assert probe.status_code == 200 and probe.json()["available"] is False
    assert "marked unavailable" in status(f"{provider}/m1")["reason"]
    fake.route("POST", f"/{provider}/v1/chat/completions", json=CHAT)
    probe = api.post(f"/admin/models/{provider}/m1/probe").json()
    assert probe["available"] is True and probe["latency_ms"] > 0
    assert fake.requests[-1].json["max_tokens"] == 1
    assert status(f"{provider}/m1")["available"] is True
    api.patch(f"/admin/credentials/{cred['id']}", json={"active": False})
    assert "no active credential" in status(f"{provider}/m1")["reason"]
    api.patch(f"/admin/providers/{provider}", json={"enabled": False})
    assert "disabled" in status(f"{provider}/m1")["reason"]


def test_cli_manages_credentials_without_printing_secrets(gw, fake):
    env = {"AIHUB_DB": str(gw.db_path), "AIHUB_SECRET": SECRET, "PATH": "/usr/bin:/bin"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    added = cli("providers", "add", "clip", "--kind", "openai", "--base-url", fake.base_url + "/clip/v1")
    assert added.returncode == 0, added.stderr
    made = cli("credentials", "add", "clip", "--value", "-", "--no-check", "--json", stdin=KEY_B)
    assert made.returncode == 0 and KEY_B not in made.stdout and KEY_B[-4:] in made.stdout
    listed = cli("credentials", "list", "clip")
    assert listed.returncode == 0 and KEY_B not in listed.stdout
    cred_id = orjson.loads(made.stdout)["id"]
    fake.route("GET", "/clip/v1/models", status=401, json={"error": {"message": "no"}})
    checked = cli("credentials", "check", cred_id, "--json")
    assert checked.returncode == 0 and orjson.loads(checked.stdout)["ok"] is False
    assert cli("providers", "delete", "clip").returncode == 0
