"""Logs, metrics and traces of the real server (`aihub serve`) against a fake upstream: the
call's JSON log line, a disabled credential's warning, /metrics moving with traffic, and spans
with the GenAI attributes received by a loopback OTLP receiver."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.upstream import FakeUpstream
from tests.support.gateway import (ADMIN_KEY, ROOT, TEST_SECRET, UPSTREAM_KEYS, Gateway, create_key, start_gateway,
                                   upstream_env)
from tests.support.otlp import OtlpReceiver

CHAT = {"id": "chatcmpl-obs", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}
BAD_KEY = "sk-obs-BAD-secret-0001-aaaaaaaaaaaa"
GOOD_KEY = "sk-obs-GOOD-secret-0002-bbbbbbbbbbb"


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, otlp: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on", "AIHUB_ACCESS_LOG": "on",
           "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
           "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "aihub-test", "AIHUB_RECHECK_BASE_S": "60"}
    gateway = start_gateway(tmp_path_factory.mktemp("obs"), env)
    with gateway.admin() as admin:
        set_rate(admin, "openai", "gpt-4o-mini")
    yield gateway
    gateway.stop()


def set_rate(admin: httpx.Client, provider: str, model: str) -> None:
    """Credits per token: a call of CHAT's usage (7 in, 3 out) costs 0.013 credits."""
    rate = admin.post("/admin/model-rates", json={"provider": provider, "model": model, "type": "chat",
                                                  "input_rate": 0.001, "output_rate": 0.002})
    assert rate.status_code in (200, 201), rate.text


@pytest.fixture
def user(api: httpx.Client) -> dict:
    return create_key(api, name="obs user", credits=100)


def chat(gw: Gateway, key: str, model: str = "openai/gpt-4o-mini", headers: dict | None = None,
         **extra: object) -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", timeout=20,
                      headers={"authorization": f"Bearer {key}", **(headers or {})},
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


def log_lines(gw: Gateway) -> list[dict]:
    """Every JSON line of the server's output (uvicorn's own start-up lines are plain text)."""
    out = []
    for line in gw.log().splitlines():
        if line.startswith("{"):
            out.append(orjson.loads(line))
    return out


def wait_line(gw: Gateway, **match: object) -> dict:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in log_lines(gw):
            if all(line.get(k) == v for k, v in match.items()):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line with {match}:\n{gw.log()[-3000:]}")


def scrape(gw: Gateway) -> dict[tuple[str, tuple], float]:
    response = httpx.get(gw.url + "/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# -- logs -------------------------------------------------------------------------------------

def test_each_call_is_one_json_line_with_its_request_id(gw, fake, user):
    fake.route("POST", "/v1/chat/completions", json=CHAT)
    response = chat(gw, user["key"])
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]
    line = wait_line(gw, logger="aihub.calls", request_id=request_id)
    assert line["level"] == "info" and line["message"] == "call"
    assert line["account_id"] == user["account_id"] and line["key_id"] == user["id"]
    assert (line["surface"], line["provider"], line["model"]) == ("openai", "openai", "gpt-4o-mini")
    assert (line["status"], line["http_status"], line["attempts"]) == ("success", 200, 1)
    assert (line["prompt_tokens"], line["completion_tokens"]) == (7, 3)
    assert line["credits"] == pytest.approx(0.013)
    assert line["credential_id"] and line["duration_ms"] > 0 and line["ttfb_ms"] > 0
    assert line["duration_ms"] >= line["ttfb_ms"]
    # The same call, as the call log has it.
    (call,) = [c for c in httpx.get(gw.url + "/admin/calls", params={"account_id": user["account_id"]},
                                    headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()["data"]]
    assert call["request_id"] == request_id and call["credential_id"] == line["credential_id"]
    assert call["credits"] == pytest.approx(line["credits"])
    # AIHUB_ACCESS_LOG=on: one line per request, this one included.
    access = wait_line(gw, logger="aihub.access", request_id=request_id)
    assert (access["method"], access["path"], access["status"]) == ("POST", "/v1/chat/completions", 200)
    # The server's own lines are JSON too.
    assert wait_line(gw, logger="uvicorn.error", message="Application startup complete.")["level"] == "info"


def test_a_failed_call_is_logged_with_its_status(gw, fake, user):
    fake.route("POST", "/v1/chat/completions", status=400, json={"error": {"message": "bad", "type": "x"}})
    response = chat(gw, user["key"])
    assert response.status_code == 400
    line = wait_line(gw, logger="aihub.calls", request_id=response.headers["x-request-id"])
    assert (line["status"], line["http_status"], line["credits"]) == ("failed", 400, 0)


def test_a_credential_disabled_by_a_401_is_logged_with_the_call_that_found_it(gw, api, fake, user):
    name = "obs" + secrets.token_hex(3)
    created = api.post("/admin/providers", json={"name": name, "kind": "openai", "config": {"models": ["m1"]},
                                                 "base_url": f"{fake.base_url}/{name}/v1"})
    assert created.status_code == 201, created.text
    set_rate(api, name, "m1")
    ids = {}
    for value_ in (BAD_KEY, GOOD_KEY):
        added = api.post(f"/admin/providers/{name}/credentials",
                         json={"name": value_[:10], "value": value_, "check": False})
        assert added.status_code == 201, added.text
        ids[value_] = added.json()["id"]

    async def by_key(req):
        if req.headers["authorization"] == f"Bearer {BAD_KEY}":
            # A provider that echoes the key it refused: the log must not repeat it.
            return 401, {"content-type": "application/json"}, orjson.dumps(
                {"error": {"message": f"Incorrect API key provided: {BAD_KEY}", "type": "invalid_request_error"}})
        return 200, {"content-type": "application/json"}, orjson.dumps(CHAT)

    fake.route("POST", f"/{name}/v1/chat/completions", handler=by_key)
    request_ids = []
    for _ in range(2):  # SWRR: one of two calls meets the bad key first
        response = chat(gw, user["key"], model=f"{name}/m1")
        assert response.status_code == 200, response.text
        request_ids.append(response.headers["x-request-id"])
    warning = wait_line(gw, logger="aihub.credentials", level="warning")
    assert ids[BAD_KEY] in warning["message"] and "disabled" in warning["message"] and "401" in warning["message"]
    assert warning["request_id"] in request_ids
    call_line = wait_line(gw, logger="aihub.calls", request_id=warning["request_id"])
    assert call_line["attempts"] == 2 and call_line["credential_id"] == ids[GOOD_KEY]

    samples = scrape(gw)
    assert value(samples, "aihub_credentials", provider=name, state="disabled") == 1
    assert value(samples, "aihub_credentials", provider=name, state="active") == 1
    assert value(samples, "aihub_upstream_attempts_total", provider=name, status="401") == 1
    assert value(samples, "aihub_retries_total", provider=name) == 1


def test_no_secret_reaches_the_log(gw, fake, user):
    fake.route("POST", "/v1/chat/completions", json=CHAT)
    assert chat(gw, user["key"]).status_code == 200
    assert chat(gw, "sk-not-a-real-aihub-key-0123456789").status_code == 401
    wait_line(gw, logger="aihub.calls", account_id=user["account_id"])
    text = gw.log()
    for secret in (*UPSTREAM_KEYS.values(), user["key"], ADMIN_KEY, TEST_SECRET, BAD_KEY, GOOD_KEY):
        assert secret not in text


# -- metrics ----------------------------------------------------------------------------------

def test_metrics_need_the_admin_key(gw, user):
    assert httpx.get(gw.url + "/metrics").status_code == 401
    assert httpx.get(gw.url + "/metrics", headers={"authorization": f"Bearer {user['key']}"}).status_code == 403


def test_metrics_move_with_traffic(gw, fake, user):
    fake.route("POST", "/v1/chat/completions", json=CHAT)
    labels = {"surface": "openai", "provider": "openai", "model": "gpt-4o-mini"}
    before = scrape(gw)
    for _ in range(3):
        assert chat(gw, user["key"]).status_code == 200
    fake.route("POST", "/v1/chat/completions", status=400, json={"error": {"message": "no", "type": "x"}})
    assert chat(gw, user["key"]).status_code == 400
    after = scrape(gw)

    def moved(name: str, **extra: str) -> float:
        return value(after, name, **extra) - value(before, name, **extra)

    assert moved("aihub_requests_total", **labels, status="200") == 3
    assert moved("aihub_requests_total", **labels, status="400") == 1
    assert moved("aihub_tokens_total", provider="openai", model="gpt-4o-mini", kind="input") == 21
    assert moved("aihub_tokens_total", provider="openai", model="gpt-4o-mini", kind="output") == 9
    assert moved("aihub_credits_total", provider="openai", model="gpt-4o-mini") == pytest.approx(3 * 0.013)
    assert moved("aihub_request_duration_seconds_count", surface="openai", provider="openai") == 4
    assert moved("aihub_time_to_first_token_seconds_count", provider="openai") == 3
    assert moved("aihub_upstream_attempts_total", provider="openai", status="200") == 3
    assert moved("aihub_db_write_jobs_total") >= 4  # each call's settlement is one write
    assert value(after, "aihub_db_write_seconds_count") > 0
    assert ("aihub_db_write_queue_depth", ()) in after


def test_streamed_calls_count_tokens_and_time_to_first_token(gw, fake, user):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    fake.route("POST", "/v1/chat/completions", sse=[
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "o"}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "k"}, "finish_reason": "stop"}]},
        {**chunk, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}},
        "[DONE]"], chunk_delay=0.02)
    before = scrape(gw)
    response = chat(gw, user["key"], stream=True)
    assert response.status_code == 200 and "[DONE]" in response.text
    line = wait_line(gw, logger="aihub.calls", request_id=response.headers["x-request-id"])
    assert line["stream"] is True and (line["prompt_tokens"], line["completion_tokens"]) == (5, 2)
    after = scrape(gw)
    key = ("aihub_tokens_total", (("kind", "output"), ("model", "gpt-4o-mini"), ("provider", "openai")))
    assert after[key] - before.get(key, 0) == 2
    ttft = "aihub_time_to_first_token_seconds_count", (("provider", "openai"),)
    assert after[ttft] - before.get(ttft, 0) == 1


# -- traces -----------------------------------------------------------------------------------

def test_spans_carry_the_genai_attributes_and_the_client_trace(gw, fake, otlp, user):
    fake.route("POST", "/v1/chat/completions", json=CHAT)
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    response = chat(gw, user["key"], headers={"traceparent": f"00-{trace_id}-{client_span}-01"})
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    (call,) = otlp.wait_for(lambda s: s.attributes.get("aihub.request_id") == request_id)
    assert call.trace_id == trace_id and call.parent_span_id == client_span
    assert call.name == "chat openai/gpt-4o-mini" and call.kind == 2  # SERVER
    assert call.resource["service.name"] == "aihub-test"
    a = call.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == "openai/gpt-4o-mini"
    assert a["gen_ai.provider.name"] == "openai" and a["gen_ai.response.model"] == "gpt-4o-mini"
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (7, 3)
    assert a["http.response.status_code"] == 200 and a["aihub.surface"] == "openai"
    (attempt,) = otlp.wait_for(lambda s: s.trace_id == trace_id and s.parent_span_id == call.span_id)
    assert attempt.kind == 3 and attempt.name == "chat gpt-4o-mini"  # CLIENT
    assert attempt.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert call.start_ns <= attempt.start_ns <= attempt.end_ns <= call.end_ns + 1_000_000
    # The provider was told the attempt's span is its parent: its own spans join the same trace.
    (upstream,) = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    assert upstream.headers["traceparent"] == f"00-{trace_id}-{attempt.span_id}-01"
    line = wait_line(gw, logger="aihub.calls", request_id=request_id)
    assert line["trace_id"] == trace_id


def test_a_call_without_traceparent_starts_its_own_trace_and_a_failure_is_an_error_span(gw, fake, otlp, user):
    fake.route("POST", "/v1/chat/completions", status=400, json={"error": {"message": "no", "type": "x"}})
    response = chat(gw, user["key"])
    request_id = response.headers["x-request-id"]
    (call,) = otlp.wait_for(lambda s: s.attributes.get("aihub.request_id") == request_id)
    assert call.parent_span_id == "" and len(call.trace_id) == 32
    assert call.status_code == 2 and call.attributes["http.response.status_code"] == 400  # ERROR
    assert call.attributes["error.type"]
    (upstream,) = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    assert upstream.headers["traceparent"].split("-")[1] == call.trace_id


# -- several workers ----------------------------------------------------------------------------

def test_with_two_workers_every_scrape_counts_every_workers_calls(fake, tmp_path):
    fake.route("POST", "/v1/chat/completions", json=CHAT)
    gateway = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_ACCESS_LOG": "on"}, workers=2)

    def pids(path: str) -> set[int]:
        return {x["pid"] for x in log_lines(gateway) if x.get("logger") == "aihub.access" and x["path"] == path}

    try:
        with gateway.admin() as admin:
            key = create_key(admin, name="workers")["key"]
        calls = 0
        while len(pids("/v1/chat/completions")) < 2 and calls < 200:  # until both workers took calls
            response = chat(gateway, key, headers={"connection": "close"})
            assert response.status_code == 200
            calls += 1
        assert len(pids("/v1/chat/completions")) == 2
        labels = {"surface": "openai", "provider": "openai", "model": "gpt-4o-mini", "status": "200"}
        scrapes = 0
        while len(pids("/metrics")) < 2 and scrapes < 100:  # until both workers answered a scrape
            assert value(scrape(gateway), "aihub_requests_total", **labels) == calls
            scrapes += 1
        assert len(pids("/metrics")) == 2
    finally:
        gateway.stop()


# -- levels -------------------------------------------------------------------------------------

LEVELS = """
import logging
import app  # configures logging, as every front does
from chalicelib.observability import logs

logging.getLogger("aihub.credentials").info("an info line")
logging.getLogger("aihub.credentials").warning("a warning line")
logging.getLogger("aihub.writer").error("an error line")
logs.call_line({"request_id": "req_x"})
"""


@pytest.mark.parametrize("level, call_log, expected", [
    ("", "", ["an info line", "a warning line", "an error line", "call"]),
    ("warning", "", ["a warning line", "an error line", "call"]),
    ("error", "off", ["an error line"]),
])
def test_levels_follow_aihub_log_level_and_the_call_line_its_own_switch(tmp_path, level, call_log, expected):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "AWS_", "OTEL_"))},
           "AIHUB_DB": str(tmp_path / "x.db"), "AIHUB_LOG_LEVEL": level, "AIHUB_CALL_LOG": call_log}
    out = subprocess.run([sys.executable, "-c", LEVELS], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    lines = [orjson.loads(line) for line in out.stdout.splitlines()]
    assert [x["message"] for x in lines] == expected
    assert out.stderr == ""
