"""Replay recorded OpenAI exchanges through the real gateway, byte for byte where it matters.

The fake upstream answers with what OpenAI really sent; the gateway must hand the same body
back (id, model, finish_reason, usage...), send the provider's own model id upstream, record
one call with the right usage, and answer in the shape of OpenAI's published schemas.
"""
from __future__ import annotations

import httpx
import orjson
import pytest

from tests.integration.conftest import calls_of
from tests.support import cassettes, openapi

JSON_CASSETTES = [
    ("chat-basic", "CreateChatCompletionResponse"),
    ("chat-detailed-usage", "CreateChatCompletionResponse"),
    ("chat-image-to-text", "CreateChatCompletionResponse"),
    ("chat-json-mode", "CreateChatCompletionResponse"),
    ("chat-multimodal", "CreateChatCompletionResponse"),
    ("chat-multiturn", "CreateChatCompletionResponse"),
    ("chat-openai-agents-python", "CreateChatCompletionResponse"),
    ("chat-parallel-tools", "CreateChatCompletionResponse"),
    ("chat-reasoning", "CreateChatCompletionResponse"),
    ("chat-text-to-image-tool", "CreateChatCompletionResponse"),
    ("chat-tools", "CreateChatCompletionResponse"),
    ("chat-web-search", "CreateChatCompletionResponse"),
    ("chat-audio-to-text", "CreateChatCompletionResponse"),
    ("chat-text-to-audio", "CreateChatCompletionResponse"),
    ("embeddings-basic", "CreateEmbeddingResponse"),
    ("embeddings-base64", "CreateEmbeddingResponse"),
    ("embeddings-dimensions", "CreateEmbeddingResponse"),
    ("embeddings-large-text", "CreateEmbeddingResponse"),
    ("embeddings-max-tokens", "CreateEmbeddingResponse"),
    ("embeddings-mixed-batch", "CreateEmbeddingResponse"),
    ("embeddings-tokens", "CreateEmbeddingResponse"),
    ("embeddings-whitespace", "CreateEmbeddingResponse"),
    ("image-generation-basic", "ImagesResponse"),
]


def _post(gateway, key: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(gateway.url + path, json=body, headers={"authorization": f"Bearer {key}"}, timeout=20)


@pytest.mark.parametrize(("name", "schema"), JSON_CASSETTES)
def test_replay_json(name, schema, fake, gateway, admin, user):
    (interaction,) = fake.add_cassette(name)
    response = _post(gateway, user["key"], interaction.path, interaction.request_json)

    assert response.status_code == 200, response.text
    assert response.json() == orjson.loads(interaction.response_body)
    openapi.validate(schema, response.json())
    (sent,) = fake.requests
    assert sent.json == interaction.request_json  # same body, the provider's own model id
    assert sent.headers["authorization"] == "Bearer sk-test-openai-SECRET-0123456789"

    (call,) = calls_of(admin, user["account_id"])
    assert call["request_id"] == response.headers["x-request-id"]
    assert (call["status"], call["provider"], call["model"]) == ("success", "openai", interaction.request_json["model"])
    usage = orjson.loads(interaction.response_body).get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    prompt = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    assert call["prompt_tokens"] + call["cache_read_tokens"] == prompt
    assert call["cache_read_tokens"] == cached
    assert call["completion_tokens"] == usage.get("completion_tokens", usage.get("output_tokens", 0))
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
    assert call["reasoning_tokens"] == reasoning
    if name.startswith("image"):
        assert call["images"] == len(response.json()["data"]) >= 1
    assert call["duration_ms"] > 0 and call["ttfb_ms"] > 0


@pytest.mark.parametrize("name", ["chat-unknown-model", "embeddings-unknown-model"])
def test_unknown_model_is_404(name, fake, gateway, admin, user):
    (interaction,) = fake.add_cassette(name)
    response = _post(gateway, user["key"], interaction.path, interaction.request_json)
    assert response.status_code == 404
    body = response.json()
    openapi.validate("ErrorResponse", body)
    assert body["error"]["code"] == "model_not_found"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", 404, 0)


@pytest.mark.parametrize("name", ["chat-bad-request", "chat-no-messages", "embeddings-bad-request"])
def test_bad_requests_are_400_and_cost_no_upstream_call(name, fake, gateway, user):
    (interaction,) = fake.add_cassette(name)
    response = _post(gateway, user["key"], interaction.path, interaction.request_json)
    assert response.status_code == 400
    body = response.json()
    openapi.validate("ErrorResponse", body)
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"]  # names the field
    assert fake.requests == []


def _stream(gateway, key: str, body: dict) -> tuple[httpx.Response, list[dict], bool]:
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body,
                      headers={"authorization": f"Bearer {key}"}, timeout=20) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    done = events[-1] == "[DONE]"
    return response, [orjson.loads(e) for e in events if e != "[DONE]"], done


def test_streaming_relays_every_chunk_and_strips_injected_usage(fake, gateway, admin, user):
    (interaction,) = fake.add_cassette("chat-streaming")
    response, chunks, done = _stream(gateway, user["key"], interaction.request_json)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert done
    expected = [orjson.loads(e) for e in interaction.sse_events() if e != b"[DONE]"]
    assert chunks == expected
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk)
    (sent,) = fake.requests
    assert sent.json["stream_options"] == {"include_usage": True}  # injected upstream
    (call,) = calls_of(admin, user["account_id"])
    assert call["request_id"] == response.headers["x-request-id"]
    assert call["stream"] is True and call["status"] == "success"
    # The recording has no usage chunk, so the gateway estimates and says so.
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert call["usage_estimated"] is True
    assert call["completion_tokens"] == (len(text) + 3) // 4


def test_streaming_usage_when_client_asks(fake, gateway, admin, user):
    (interaction,) = fake.add_cassette("chat-streaming-detailed-usage")
    response, chunks, done = _stream(gateway, user["key"], interaction.request_json)
    assert done
    expected = [orjson.loads(e) for e in interaction.sse_events() if e != b"[DONE]"]
    assert chunks == expected
    usage = expected[-1]["usage"]
    (call,) = calls_of(admin, user["account_id"])
    assert call["usage_estimated"] is False
    assert call["prompt_tokens"] + call["cache_read_tokens"] == usage["prompt_tokens"]
    assert call["completion_tokens"] == usage["completion_tokens"]
    assert call["reasoning_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"]


def test_cassette_loader_sees_the_recorded_stream():
    (interaction,) = cassettes.load("chat-streaming")
    assert interaction.is_sse and interaction.sse_events()[-1] == b"[DONE]"
