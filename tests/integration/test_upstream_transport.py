"""Issue 14: the upstream transport (aiohttp under httpx's API, or httpx's own) changes nothing a
caller sees. Both transports run the same table of every failure the fake upstream can produce,
through `aihub serve` and the OpenAI SDK; a provider's cookies never reach another tenant's call.

aiohttp as shipped would fail two of these: it maps a reset or refused connection to a connect
*timeout* (504 instead of 502), and its session replays Set-Cookie on later calls.
"""
from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

TRANSPORTS = ("aiohttp", "httpx")
CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": None}]}
ANSWER = {"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
MESSAGES = [{"role": "user", "content": "x"}]


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=TRANSPORTS)
def gateway(request: pytest.FixtureRequest, fake: FakeUpstream,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_HTTP_TRANSPORT": request.param, "AIHUB_READ_TIMEOUT": "1",
           # a host name: aiohttp's default jar keeps no cookies of a bare IP address
           "OPENAI_BASE_URL": f"http://localhost:{fake.port}/v1",
           # deepseek is the provider with nowhere to connect to
           "DEEPSEEK_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1"}
    gw = start_gateway(tmp_path_factory.mktemp(f"transport-{request.param}"), env)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def admin(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.admin() as c:
        yield c


def sdk(gateway: Gateway, admin: httpx.Client) -> tuple[openai.OpenAI, str]:
    user = create_key(admin, credits=5)
    return gateway.openai(user["key"]), user["account_id"]


@pytest.mark.parametrize(
    ("model", "fault", "status", "code"),
    [
        ("openai/gpt-4o-mini", "reset", 502, "upstream_unreachable"),  # not a timeout
        ("deepseek/deepseek-chat", None, 502, "upstream_unreachable"),  # refused: not a timeout either
        ("openai/gpt-4o-mini", "hang", 504, "upstream_timeout"),
        ("openai/gpt-4o-mini", "bad_json", 502, "upstream_bad_response"),
    ],
)
def test_each_failure_maps_to_the_same_gateway_error(model, fault, status, code, fake, gateway, admin):
    if fault:
        fake.route("POST", "/v1/chat/completions", fault=fault)
    client, account = sdk(gateway, admin)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model=model, messages=MESSAGES)
    assert (info.value.status_code, info.value.body["code"]) == (status, code)
    (call,) = calls_of(admin, account)
    assert (call["status"], call["http_status"]) == ("failed", status)


@pytest.mark.parametrize(("fault", "status"), [("cut_stream", None), ("reset", 502), ("hang", 504)])
def test_streamed_failures_map_the_same(fault, status, fake, gateway, admin):
    fake.route("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK], fault=fault)
    client, account = sdk(gateway, admin)
    received = []
    # Before any byte is sent the gateway still answers with a status; once it streams, the
    # failure ends the stream with an error event.
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(model="openai/gpt-4o-mini", stream=True, messages=MESSAGES):
            received.append(chunk)
    if status is None:
        assert len(received) == 2 and "lost mid-stream" in str(info.value)
    else:
        assert isinstance(info.value, openai.APIStatusError) and info.value.status_code == status
    (call,) = calls_of(admin, account)
    assert call["status"] == "failed" and call["stream"] is True


def test_a_slow_stream_is_timed_from_its_last_read(fake, gateway, admin):
    """The read timeout (1 s here) runs from the last read, not from the start: a stream with
    0.4 s between events outlasts it and completes; one that stalls for 1.5 s mid-way ends in
    a timeout, recorded."""
    fake.route("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK, CHUNK, CHUNK, "[DONE]"], chunk_delay=0.4, times=1)
    client, account = sdk(gateway, admin)
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", stream=True, messages=MESSAGES))
    assert [c.choices[0].delta.content for c in chunks] == ["partial"] * 4
    fake.route("POST", "/v1/chat/completions", sse=[CHUNK, CHUNK], chunk_delay=1.5, times=1)
    received = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(model="openai/gpt-4o-mini", stream=True, messages=MESSAGES):
            received.append(chunk)
    assert len(received) == 1
    slow, stalled = sorted(calls_of(admin, account), key=lambda c: c["created_at"])
    assert slow["status"] == "success"
    assert (stalled["status"], stalled["error_code"]) == ("failed", "upstream_timeout")


def test_a_compressed_stream_is_relayed_decoded(fake, gateway, admin):
    """The relay reads aiohttp's connection directly only for a body without content coding: a
    gzip-coded SSE body is still decoded (by httpx) and relayed chunk by chunk, usage and all."""
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    events = [CHUNK, {**CHUNK, "choices": [], "usage": usage}]
    sse = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    fake.route("POST", "/v1/chat/completions", body=gzip.compress(sse),
               headers={"content-type": "text/event-stream", "content-encoding": "gzip"})
    client, account = sdk(gateway, admin)
    chunks = list(client.chat.completions.create(model="openai/gpt-4o-mini", stream=True, messages=MESSAGES))
    assert [c.choices[0].delta.content for c in chunks] == ["partial"]  # the usage chunk: not asked for
    (call,) = calls_of(admin, account)
    assert (call["status"], call["prompt_tokens"], call["completion_tokens"]) == ("success", 3, 2)


def test_a_providers_cookie_is_never_sent_again(fake, gateway, admin):
    fake.route("POST", "/v1/chat/completions", json=ANSWER,
               headers={"set-cookie": "tenant=first; Path=/; Max-Age=3600"})
    first, _ = sdk(gateway, admin)
    second, _ = sdk(gateway, admin)
    first.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    second.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    sent = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    assert len(sent) == 2
    assert all("cookie" not in r.headers for r in sent)
