"""Self-checks for the test fakes: if these fail, gateway test failures mean nothing."""

from __future__ import annotations

import copy
import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import chat_echo
from tests.fakes.rules import Rule, Server
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import Receive, RecordedRequest, Reply, Send, encode_headers, transport_of
from tests.support import cassettes, openapi

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAT = "/v1/chat/completions"
# chat-basic's recorded request, keys deliberately in another order.
HELLO: dict[str, Any] = {"model": "gpt-5-nano", "messages": [{"role": "user", "content": "Hello!"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeUpstream]:
    with FakeUpstream() as up:
        yield up


@pytest.fixture
def up(server: FakeUpstream) -> FakeUpstream:
    server.reset()
    return server


@pytest.fixture
def client(up: FakeUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=up.base_url, timeout=5.0) as c:
        yield c


# -- cassettes ------------------------------------------------------------------------


def test_chat_streaming_cassette_parses_into_events_ending_with_done() -> None:
    (it,) = cassettes.load("chat-streaming")
    assert (it.method, it.path, it.status, it.is_sse) == ("POST", CHAT, 200, True)
    assert it.request_json is not None and it.request_json["stream"] is True
    events = it.sse_events()
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 50 and {c["object"] for c in chunks} == {"chat.completion.chunk"}
    # The body is valid SSE: every event, including the last, ends with a blank line.
    assert it.response_body == b"".join(b"data: " + e + b"\n\n" for e in events)


def test_non_sse_cassette_fields() -> None:
    (it,) = cassettes.load("chat-basic")
    assert not it.is_sse and it.content_type == "application/json"
    assert it.request_json == HELLO
    assert json.loads(it.response_body)["object"] == "chat.completion"
    (audio,) = cassettes.load("audio-transcription-basic")
    assert audio.request_json is None  # multipart body was not recorded
    (azure,) = cassettes.load("azure-chat-basic")
    assert azure.path == "/openai/deployments/gpt-5-nano/chat/completions"


def test_sse_split_restores_terminators_lost_by_yaml() -> None:
    assert cassettes.split_sse(b"data: a\n\ndata: [DONE]") == (b"data: a\n\n", b"data: [DONE]\n\n")
    assert cassettes.split_sse(b"data: a\r\n\r\ndata: b\n\n\n") == (b"data: a\n\n", b"data: b\n\n")


def test_every_cassette_loads() -> None:
    names = cassettes.names()
    assert len(names) >= 40
    for name in names:
        for it in cassettes.load(name):
            assert it.path.startswith("/") and it.status >= 200
            if it.is_sse:
                assert it.sse_events()[-1] == b"[DONE]", name


# -- FakeUpstream: replay ------------------------------------------------------------------


def test_replays_chat_basic(up: FakeUpstream, client: httpx.Client) -> None:
    (it,) = up.add_cassette("chat-basic")
    r = client.post(CHAT, json=HELLO, headers={"Authorization": "Bearer sk-test"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.content == it.response_body
    (req,) = up.requests
    assert (req.method, req.path, req.json) == ("POST", CHAT, HELLO)
    assert req.headers["authorization"] == "Bearer sk-test"


def test_replay_ignores_injected_stream_options(up: FakeUpstream, client: httpx.Client) -> None:
    (basic,) = up.add_cassette("chat-basic")
    (streaming,) = up.add_cassette("chat-streaming")
    r = client.post(CHAT, json={**HELLO, "stream_options": {"include_usage": True}})
    assert r.content == basic.response_body
    r = client.post(CHAT, json={**HELLO, "stream": True, "stream_options": {"include_usage": True}})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.content == streaming.response_body


def test_replay_needs_the_recorded_body(up: FakeUpstream, client: httpx.Client) -> None:
    up.add_cassette("chat-basic")
    r = client.post(CHAT, json={**HELLO, "temperature": 0.5})
    assert r.status_code == 599


def test_unmatched_request_gets_599(up: FakeUpstream, client: httpx.Client) -> None:
    r = client.post("/v1/nothing-here", json={})
    assert r.status_code == 599
    assert r.json()["error"]["message"] == "fake upstream: no rule for POST /v1/nothing-here"


# -- FakeUpstream: scripted routes --------------------------------------------------------


def test_rules_are_newest_first_and_times_limits_them(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("GET", "/v1/models", json={"object": "list", "data": []})
    once = up.route("GET", "/v1/models", status=503, json={"error": {"message": "busy"}}, times=1)
    assert client.get("/v1/models").status_code == 503
    assert client.get("/v1/models").status_code == 200
    assert once.served == 1
    assert [r.path for r in up.requests] == ["/v1/models", "/v1/models"]
    up.clear()
    assert up.requests == []


def test_handler_and_headers(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("POST", "/echo", handler=lambda req: (201, {"x-seen": req.query}, req.body[::-1]))
    r = client.post("/echo?a=1", content=b"abc")
    assert (r.status_code, r.headers["x-seen"], r.content) == (201, "a=1", b"cba")
    up.route("POST", "/boom", handler=lambda req: 1 / 0)
    r = client.post("/boom")
    assert r.status_code == 599 and "ZeroDivisionError" in r.text


def test_delay_holds_the_response(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("GET", "/slow", json={}, delay=0.2)
    t0 = time.perf_counter()
    assert client.get("/slow").status_code == 200
    assert time.perf_counter() - t0 >= 0.19


def test_sse_arrives_incrementally(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("POST", CHAT, sse=[{"n": 1}, {"n": 2}, {"n": 3}, "[DONE]"], chunk_delay=0.15)
    arrivals: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    with client.stream("POST", CHAT, json={"stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line:
                arrivals.append((time.perf_counter() - t0, line))
    lines = [line for _, line in arrivals]
    assert lines == ['data: {"n":1}', 'data: {"n":2}', 'data: {"n":3}', "data: [DONE]"]
    first, last = arrivals[0][0], arrivals[-1][0]
    assert first < 0.12, arrivals  # not buffered until the end
    assert last - first >= 0.4, arrivals  # three gaps of 0.15 s


class _NoDelayProbe(Rule):
    """Answers with the TCP_NODELAY flag of the connection it was asked on."""

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        sock = transport_of(receive).get_extra_info("socket")
        flag = b"%d" % sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        await server.send_reply(Reply(200, encode_headers(None, body=flag), flag), receive, send)


def test_accepted_sockets_have_tcp_nodelay(up: FakeUpstream, client: httpx.Client) -> None:
    # Without it, Nagle + delayed ACK add ~40 ms to each response (headers and
    # body are separate writes), which would swamp gateway overhead numbers.
    up.add_rule(_NoDelayProbe("GET", "/nodelay"))
    assert client.get("/nodelay").content != b"0"


# -- FakeUpstream: faults ---------------------------------------------------------------------


def test_fault_reset(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("POST", CHAT, fault="reset")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post(CHAT, json=HELLO)
    assert len(up.requests) == 1  # the request did arrive


def test_fault_hang(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("POST", CHAT, fault="hang")
    t0 = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        client.post(CHAT, json=HELLO, timeout=0.3)
    assert time.perf_counter() - t0 < 2
    up.route("GET", "/after", json={})
    assert client.get("/after").status_code == 200  # the server is still fine


def test_fault_cut_stream(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("POST", CHAT, fault="cut_stream", sse=[{"n": 1}, {"n": 2}])
    seen: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        with client.stream("POST", CHAT, json={"stream": True}) as r:
            assert r.status_code == 200
            seen.extend(line for line in r.iter_lines() if line)
    assert seen == ['data: {"n":1}', 'data: {"n":2}']


def test_fault_bad_json(up: FakeUpstream, client: httpx.Client) -> None:
    up.route("POST", CHAT, fault="bad_json")
    r = client.post(CHAT, json=HELLO)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(r.content)


def test_stop_releases_hanging_requests() -> None:
    errors: list[BaseException] = []
    fake = FakeUpstream().start()
    fake.route("GET", "/hang", fault="hang")

    def call() -> None:
        try:
            httpx.get(fake.url("/hang"), timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not fake.requests:
        time.sleep(0.005)
    t0 = time.perf_counter()
    fake.stop()
    caller.join(5)
    assert time.perf_counter() - t0 < 2
    assert len(errors) == 1 and isinstance(errors[0], httpx.TransportError)


# -- chat echo (benchmark mode) ------------------------------------------------------------


def test_chat_echo_in_process(up: FakeUpstream, client: httpx.Client) -> None:
    up.add_chat_echo()
    body = client.post(CHAT, json=HELLO).json()
    openapi.validate("CreateChatCompletionResponse", body)
    with client.stream("POST", CHAT, json={**HELLO, "stream": True}) as r:
        events = [line[6:] for line in r.iter_lines() if line]
    assert events[-1] == "[DONE]" and len(events) == 7  # 5 chunks + usage + [DONE]
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 13
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == (
        chat_echo.COMPLETION["choices"][0]["message"]["content"]
    )


def test_cli_prints_ready_and_serves() -> None:
    argv = [sys.executable, "-m", "tests.fakes.upstream", "--port", "0"]
    argv += ["--chat-echo", "--cassette", "chat-basic"]
    with subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 15)
            line = proc.stdout.readline() if ready else ""
            assert line.startswith("READY "), line
            base = f"http://127.0.0.1:{int(line.split()[1])}"
            with httpx.Client(base_url=base, timeout=5) as c:
                assert c.post(CHAT, json={"model": "x", "messages": []}).json()["id"] == chat_echo.ID
                assert c.post(CHAT, json=HELLO).json()["id"].startswith("chatcmpl-C4Gm9")  # cassette wins
                assert c.post(CHAT, json={"stream": True}).text.endswith("data: [DONE]\n\n")
        finally:
            proc.terminate()
            assert proc.wait(10) == 0


# -- openapi ------------------------------------------------------------------------------


def _body(name: str) -> Any:
    return json.loads(cassettes.load(name)[0].response_body)


@pytest.mark.parametrize(
    ("cassette", "schema"),
    [
        ("chat-basic", "CreateChatCompletionResponse"),
        ("chat-tools", "CreateChatCompletionResponse"),
        ("azure-chat-basic", "CreateChatCompletionResponse"),
        ("embeddings-basic", "CreateEmbeddingResponse"),
        ("embeddings-base64", "CreateEmbeddingResponse"),
        ("image-generation-basic", "ImagesResponse"),
        ("completion-basic", "CreateCompletionResponse"),
        ("chat-bad-request", "ErrorResponse"),
        ("chat-unknown-model", "ErrorResponse"),
    ],
)
def test_openapi_accepts_real_bodies(cassette: str, schema: str) -> None:
    openapi.validate(schema, _body(cassette))


@pytest.mark.parametrize(
    ("cassette", "schema"),
    [
        ("chat-streaming", "CreateChatCompletionStreamResponse"),
        ("chat-streaming-detailed-usage", "CreateChatCompletionStreamResponse"),
        ("chat-streaming-web-search", "CreateChatCompletionStreamResponse"),
        ("completion-streaming-usage", "CreateCompletionStreamResponse"),
    ],
)
def test_openapi_accepts_real_stream_chunks(cassette: str, schema: str) -> None:
    (it,) = cassettes.load(cassette)
    for event in it.sse_events()[:-1]:
        openapi.validate(schema, json.loads(event))


def test_openapi_accepts_real_requests_and_models_list() -> None:
    openapi.validate("CreateChatCompletionRequest", cassettes.load("chat-tools")[0].request_json)
    openapi.validate("CreateEmbeddingRequest", cassettes.load("embeddings-basic")[0].request_json)
    openapi.validate(
        "ListModelsResponse",
        {
            "object": "list",
            "data": [{"id": "gpt-5-nano", "object": "model", "created": 1, "owned_by": "system"}],
        },
    )


def test_openapi_rejects_broken_bodies() -> None:
    body = _body("chat-basic")
    del body["choices"]
    with pytest.raises(AssertionError, match=r"'choices' is a required property"):
        openapi.validate("CreateChatCompletionResponse", body)
    chunk = json.loads(cassettes.load("chat-streaming")[0].sse_events()[0])
    bad = copy.deepcopy(chunk)
    bad["choices"][0]["finish_reason"] = "bogus"
    with pytest.raises(AssertionError, match=r"\$\.choices\[0\]\.finish_reason"):
        openapi.validate("CreateChatCompletionStreamResponse", bad)
    # The relaxations stay narrow: a non-stream completion still needs a finish_reason.
    completion = _body("completion-basic")
    completion["choices"][0]["finish_reason"] = None
    with pytest.raises(AssertionError):
        openapi.validate("CreateCompletionResponse", completion)
    with pytest.raises(KeyError, match="CreateChatCompletionResponse"):
        openapi.validate("CreateChatCompletionResponce", {})
