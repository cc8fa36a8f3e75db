"""The official openai SDK drives the real gateway against a fake upstream on loopback."""
from __future__ import annotations

import base64
import time

import httpx
import openai
import orjson
import pytest

from tests.integration.conftest import calls_of
from tests.support import cassettes, openapi


def _cassette_request(name: str) -> dict:
    (interaction,) = cassettes.load(name)
    return interaction.request_json


def test_chat_via_sdk(fake, client, admin, user):
    fake.add_cassette("chat-basic")
    body = _cassette_request("chat-basic")
    raw = client.chat.completions.with_raw_response.create(model="openai/gpt-5-nano", messages=body["messages"])
    completion = raw.parse()
    (interaction,) = cassettes.load("chat-basic")
    recorded = orjson.loads(interaction.response_body)
    assert completion.id == recorded["id"]
    assert completion.model == recorded["model"]
    assert completion.choices[0].message.content == recorded["choices"][0]["message"]["content"]
    assert completion.choices[0].finish_reason == recorded["choices"][0]["finish_reason"]
    assert completion.usage.total_tokens == recorded["usage"]["total_tokens"]
    assert fake.requests[0].json["model"] == "gpt-5-nano"  # "openai/" is the gateway's, not OpenAI's
    assert raw.headers["x-request-id"] == calls_of(admin, user["account_id"])[0]["request_id"]


def test_tools_round_trip_via_sdk(fake, client):
    fake.add_cassette("chat-tools")
    body = _cassette_request("chat-tools")
    completion = client.chat.completions.create(**body)
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == body["tools"][0]["function"]["name"]
    assert isinstance(orjson.loads(call.function.arguments), dict)
    assert fake.requests[0].json["tools"] == body["tools"]


def test_json_mode_via_sdk(fake, client):
    fake.add_cassette("chat-json-mode")
    body = _cassette_request("chat-json-mode")
    completion = client.chat.completions.create(**body)
    assert isinstance(orjson.loads(completion.choices[0].message.content), dict)
    assert fake.requests[0].json["response_format"] == body["response_format"]


def _streamed_text(events: list[dict]) -> str:
    return "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])


def test_streaming_via_sdk_text(fake, client):
    fake.add_cassette("chat-streaming")
    body = _cassette_request("chat-streaming")
    chunks = [c.model_dump() for c in client.chat.completions.create(**body)]
    (interaction,) = cassettes.load("chat-streaming")
    events = [orjson.loads(e) for e in interaction.sse_events() if e != b"[DONE]"]
    assert _streamed_text(chunks) == _streamed_text(events) != ""
    assert chunks[-1]["choices"][0]["finish_reason"] == events[-1]["choices"][0]["finish_reason"] == "stop"


def test_streaming_via_sdk_usage(fake, client, admin, user):
    fake.add_cassette("chat-streaming-detailed-usage")
    body = _cassette_request("chat-streaming-detailed-usage")
    chunks = list(client.chat.completions.create(**body))
    (interaction,) = cassettes.load("chat-streaming-detailed-usage")
    events = [orjson.loads(e) for e in interaction.sse_events() if e != b"[DONE]"]
    recorded = events[-1]["usage"]
    assert chunks[-1].usage.model_dump(exclude_none=True) == recorded
    (call,) = calls_of(admin, user["account_id"])
    assert call["completion_tokens"] == recorded["completion_tokens"]
    assert call["prompt_tokens"] + call["cache_read_tokens"] == recorded["prompt_tokens"]


def test_streaming_is_incremental(fake, client):
    """Chunks 200 ms apart: the first reaches the client long before the last is sent."""
    events = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
         "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]}
        for i in range(5)
    ]
    events.append({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                   "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}})
    fake.route("POST", "/v1/chat/completions", sse=[*events, "[DONE]"], chunk_delay=0.2)
    started = time.perf_counter()
    arrivals = []
    for _chunk in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                  messages=[{"role": "user", "content": "count"}]):
        arrivals.append(time.perf_counter() - started)
    assert len(arrivals) == 5  # the injected usage chunk is not shown to this client
    assert arrivals[0] < 0.45  # the first chunk is sent at ~0 s (after one 200 ms gap at most)
    assert arrivals[-1] - arrivals[0] > 0.6  # the rest trickle in as the upstream sends them


def test_embeddings_via_sdk(fake, client):
    fake.add_cassette("embeddings-basic")
    body = _cassette_request("embeddings-basic")
    result = client.embeddings.create(**body)
    assert len(result.data) >= 1 and len(result.data[0].embedding) > 0
    assert result.usage.prompt_tokens > 0


def test_embeddings_base64_via_sdk(fake, client):
    fake.add_cassette("embeddings-base64")
    body = _cassette_request("embeddings-base64")
    response = client.embeddings.with_raw_response.create(**body)
    data = orjson.loads(response.content)["data"][0]["embedding"]
    assert isinstance(data, str) and len(base64.b64decode(data)) % 4 == 0


def test_images_via_sdk(fake, client, admin, user):
    fake.add_cassette("image-generation-basic")
    body = _cassette_request("image-generation-basic")
    result = client.images.generate(**body)
    assert result.data[0].b64_json or result.data[0].url
    (call,) = calls_of(admin, user["account_id"])
    assert call["type"] == "image" and call["images"] == len(result.data)


def test_upstream_4xx_passes_through(fake, client, admin, user):
    fake.route("POST", "/v1/chat/completions", status=400, json={"error": {
        "message": "Unsupported parameter: 'max_tokens'", "type": "invalid_request_error",
        "param": "max_tokens", "code": "unsupported_parameter"}})
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-5-nano", messages=[{"role": "user", "content": "x"}])
    error = info.value.body
    assert error["code"] == "unsupported_parameter" and error["param"] == "max_tokens"
    assert "max_tokens" in error["message"]
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", 400, 0)


def test_upstream_429_passes_through_with_retry_after(fake, client):
    fake.route("POST", "/v1/chat/completions", status=429, headers={"retry-after": "7"},
               json={"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-5-nano", messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("rule", "status", "code"),
    [
        ({"status": 500, "json": {"error": {"message": "The server had an error"}}}, 502, "upstream_error"),
        ({"status": 503, "json": {"error": {"message": "overloaded"}}}, 503, "upstream_overloaded"),
        ({"status": 401, "json": {"error": {"message": "Incorrect API key provided: sk-test-openai-SECRET-0123456789"}}},
         502, "upstream_auth_failed"),
        ({"fault": "reset"}, 502, "upstream_unreachable"),
        ({"fault": "bad_json"}, 502, "upstream_bad_response"),
        ({"fault": "hang"}, 504, "upstream_timeout"),
    ],
)
def test_upstream_failures_map_to_gateway_errors(rule, status, code, fake, gateway, admin, user):
    fake.route("POST", "/v1/chat/completions", **rule)
    response = httpx.post(gateway.url + "/v1/chat/completions", timeout=20,
                          headers={"authorization": f"Bearer {user['key']}"},
                          json={"model": "gpt-5-nano", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == status
    body = response.json()
    openapi.validate("ErrorResponse", body)
    assert body["error"]["code"] == code
    assert "SECRET-0123456789" not in response.text  # the provider key never leaks
    assert "Traceback" not in response.text
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", status, 0)
    assert call["request_id"] == response.headers["x-request-id"]


def test_stream_cut_midway_raises_in_sdk_and_records_failure(fake, client, admin, user):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
             "choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": None}]}
    fake.route("POST", "/v1/chat/completions", sse=[chunk, chunk], fault="cut_stream")
    received = []
    with pytest.raises(openai.APIError):
        for c in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": "x"}]):
            received.append(c)
    assert len(received) == 2
    (call,) = calls_of(admin, user["account_id"])
    assert call["status"] == "failed" and call["stream"] is True
    assert call["completion_tokens"] > 0  # what did arrive is still counted


def test_stream_error_event_from_upstream(fake, client, admin, user):
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
             "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]}
    fake.route("POST", "/v1/chat/completions",
               sse=[chunk, {"error": {"message": "server overloaded mid-stream", "code": "server_error"}}])
    with pytest.raises(openai.APIError) as info:
        list(client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                             messages=[{"role": "user", "content": "x"}]))
    assert "mid-stream" in str(info.value)
    (call,) = calls_of(admin, user["account_id"])
    assert call["status"] == "failed"


def test_stream_upstream_error_before_first_byte_is_a_plain_http_error(fake, client):
    fake.route("POST", "/v1/chat/completions", status=404,
               json={"error": {"message": "The model `gpt-x` does not exist", "code": "model_not_found"}})
    with pytest.raises(openai.NotFoundError):
        list(client.chat.completions.create(model="gpt-x", stream=True, messages=[{"role": "user", "content": "x"}]))


def test_openai_family_providers_share_the_adapter(fake, gateway, user):
    fake.add_chat_echo()
    for model, upstream in [("deepseek/deepseek-chat", "deepseek-chat"), ("grok-4", "grok-4"),
                            ("xai/grok-3-mini", "grok-3-mini")]:
        fake.clear()
        response = httpx.post(gateway.url + "/v1/chat/completions", timeout=20,
                              headers={"authorization": f"Bearer {user['key']}"},
                              json={"model": model, "messages": [{"role": "user", "content": "x"}]})
        assert response.status_code == 200, response.text
        assert fake.requests[0].json["model"] == upstream
        key_env = "DEEPSEEK" if upstream.startswith("deepseek") else "XAI"
        assert fake.requests[0].headers["authorization"].startswith("Bearer ")
        assert key_env.lower() in fake.requests[0].headers["authorization"].lower()


def test_client_disconnect_mid_stream_still_records_provider_usage(fake, gateway, admin, user):
    events = [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]} for i in range(6)]
    events.append({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
                   "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 42, "total_tokens": 53}})
    fake.route("POST", "/v1/chat/completions", sse=[*events, "[DONE]"], chunk_delay=0.15)
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", timeout=10,
                      headers={"authorization": f"Bearer {user['key']}"},
                      json={"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "x"}]}) as r:
        next(r.iter_lines())  # read the first event, then hang up
        request_id = r.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        calls = calls_of(admin, user["account_id"])
        if calls:
            break
        time.sleep(0.1)
    (call,) = calls
    assert call["request_id"] == request_id
    assert (call["status"], call["error_code"]) == ("success", "client_disconnected")
    assert (call["prompt_tokens"], call["completion_tokens"], call["usage_estimated"]) == (11, 42, False)
