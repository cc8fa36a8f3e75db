"""The AIGNE Hub v2 translators (chalicelib/surfaces/aigne_hub), table-driven, and each client
constraint of shared/aigne-hub-v2.md section 8 that the translation decides."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.gateway.http import ApiRequest
from chalicelib.handlers.aigne_api import credits_text, kind_of, mount_point
from chalicelib.providers.base import Usage
from chalicelib.surfaces.aigne_hub import credit_prefix, media, translate
from chalicelib.surfaces.aigne_hub.translate import Billed, OutputStream

USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(("chat_input", "expected"), [
    ({"messages": [USER]}, {"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": "hi"}]}),
    ({"messages": [{"role": "agent", "content": "before"}, USER], "modelOptions": {"model": "openai/gpt-4o-mini"}},
     {"model": "openai/gpt-4o-mini", "messages": [{"role": "assistant", "content": "before"}, USER]}),
    ({"messages": [{"role": "agent", "toolCalls": [{"id": "c1", "type": "function",
                                                    "function": {"name": "f", "arguments": {"a": 1}}}]},
                   {"role": "tool", "toolCallId": "c1", "content": "ok"}]},
     {"model": "openai/gpt-5-mini", "messages": [
         {"role": "assistant", "content": None,
          "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
         {"role": "tool", "content": "ok", "tool_call_id": "c1"}]}),
    ({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "see"},
        {"type": "url", "url": "https://x/y.png"},
        {"type": "url", "url": "https://x/y.pdf", "mimeType": "application/pdf", "filename": "y.pdf"},
        {"type": "file", "data": "AAAA", "mimeType": "image/jpeg"},
        {"type": "file", "data": "BBBB", "mimeType": "application/pdf"}]}]},
     {"model": "openai/gpt-5-mini", "messages": [{"role": "user", "content": [
         {"type": "text", "text": "see"},
         {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
         {"type": "file", "file": {"file_data": "https://x/y.pdf", "filename": "y.pdf"}},
         {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}},
         {"type": "file", "file": {"file_data": "data:application/pdf;base64,BBBB", "filename": "file"}}]}]}),
    ({"messages": [USER], "modelOptions": {"model": "m", "temperature": 0.2, "topP": 0.9, "maxTokens": 5,
                                           "reasoningEffort": "low", "cacheConfig": {"x": 1}}},
     {"model": "m", "messages": [USER], "temperature": 0.2, "top_p": 0.9, "max_tokens": 5,
      "reasoning_effort": "low"}),
    ({"messages": [USER], "tools": [{"type": "function", "function": {"name": "f", "parameters": {}},
                                     "cacheControl": {"type": "ephemeral"}}],
      "toolChoice": {"type": "function", "function": {"name": "f"}}, "modelOptions": {"parallelToolCalls": False}},
     {"model": "openai/gpt-5-mini", "messages": [USER], "tools": [{"type": "function", "function": {
         "name": "f", "parameters": {}}}], "tool_choice": {"type": "function", "function": {"name": "f"}},
      "parallel_tool_calls": False}),
    ({"messages": [USER], "responseFormat": {"type": "json_schema", "jsonSchema": {"name": "w", "schema": {}}}},
     {"model": "openai/gpt-5-mini", "messages": [USER],
      "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {}}}}),
    ({"messages": [USER], "responseFormat": {"type": "text"}}, {"model": "openai/gpt-5-mini", "messages": [USER]}),
])
def test_envelope_input_to_openai(chat_input: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate.to_openai(chat_input, streaming=False) == expected


def test_streaming_is_asked_upstream() -> None:
    assert translate.to_openai({"messages": [USER]}, streaming=True)["stream"] is True


def test_unknown_part_is_a_400_naming_it() -> None:
    with pytest.raises(ApiError) as caught:
        translate.to_openai({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, streaming=False)
    assert caught.value.status == 400 and caught.value.param == "input.messages[0].content[0]"


def answer(message: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "choices": [{"index": 0, "message": {"role": "assistant", **message}}]}


BILLED = Billed(0.0000048, "req_1", "$")
TOKENS = Usage(input_tokens=10, cache_read_tokens=2, output_tokens=3)


@pytest.mark.parametrize(("message", "json_out", "billed", "expected"), [
    ({"content": "Hello"}, False, BILLED,
     {"text": "Hello", "usage": {"inputTokens": 12, "outputTokens": 3, "aigneHubCredits": 0.0000048,
                                 "modelCallId": "req_1", "creditPrefix": "$"}}),
    # billing off: no credit keys at all
    ({"content": "Hello"}, False, None, {"text": "Hello", "usage": {"inputTokens": 12, "outputTokens": 3}}),
    # §8.1: a prefix the client would refuse ("") is left out, never sent empty
    ({"content": "Hi"}, False, Billed(0, "req_2", ""),
     {"text": "Hi", "usage": {"inputTokens": 12, "outputTokens": 3, "aigneHubCredits": 0, "modelCallId": "req_2"}}),
    ({"content": None, "tool_calls": [{"id": "c", "type": "function",
                                       "function": {"name": "f", "arguments": '{"city":"Paris"}'}}]}, False, None,
     {"toolCalls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"city": "Paris"}}}],
      "usage": {"inputTokens": 12, "outputTokens": 3}}),
    ({"content": '{"a": 1}'}, True, None, {"json": {"a": 1}, "usage": {"inputTokens": 12, "outputTokens": 3}}),
    ({"content": "not json"}, True, None, {"text": "not json", "usage": {"inputTokens": 12, "outputTokens": 3}}),
    ({"content": "42", "reasoning_content": "thinking..."}, False, None,
     {"text": "42", "thoughts": "thinking...", "usage": {"inputTokens": 12, "outputTokens": 3}}),
])
def test_answer_to_chat_model_output(message, json_out, billed, expected) -> None:
    out = translate.output_from(answer(message), TOKENS, billed, json_out=json_out,
                                model_with_provider="openai/gpt-4o-mini")
    assert out == {"model": "gpt-4o-mini", **expected, "modelWithProvider": "openai/gpt-4o-mini"}
    # §8.2: credits a number, never a string
    assert not isinstance(out["usage"].get("aigneHubCredits", 0), str)


def chunk(delta: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps({"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta}]}) + b"\n\n"


def frames(raw: bytes) -> list[Any]:
    out = []
    for block in raw.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines.get("event"), orjson.loads(lines["data"])))  # §8.5: every data is JSON
    return out


def run(stream: OutputStream, deltas: list[dict[str, Any]], usage: Usage | None = TOKENS,
        error: ApiError | None = None) -> list[Any]:
    raw = b"".join(stream.feed(chunk(d)) for d in deltas) + stream.feed(b"data: [DONE]\n\n")
    return frames(raw + stream.close(usage, error))


END = {"usage": {"inputTokens": 12, "outputTokens": 3, "aigneHubCredits": 0.0000048, "modelCallId": "req_1",
                 "creditPrefix": "$"}, "modelWithProvider": "openai/gpt-4o-mini"}


@pytest.mark.parametrize(("json_out", "deltas", "expected"), [
    (False, [{"role": "assistant", "content": "Hel"}, {"content": "lo"}],
     [{"json": {"model": "gpt-4o-mini"}}, {"text": {"text": "Hel"}}, {"text": {"text": "lo"}}, {"json": END}]),
    (False, [{"reasoning_content": "hmm"}, {"content": "ok"}],
     [{"json": {"model": "gpt-4o-mini"}}, {"text": {"thoughts": "hmm"}}, {"text": {"text": "ok"}}, {"json": END}]),
    # tool calls: gathered from fragments, sent once complete with object arguments
    (False, [{"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "get_", "arguments": '{"ci'}}]},
             {"tool_calls": [{"index": 0, "function": {"name": "weather", "arguments": 'ty":"Paris"}'}}]}],
     [{"json": {"model": "gpt-4o-mini"}},
      {"json": {"toolCalls": [{"id": "c1", "type": "function",
                               "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}},
      {"json": END}]),
    # structured output: gathered and sent parsed, as json
    (True, [{"content": '{"a":'}, {"content": " 1}"}],
     [{"json": {"model": "gpt-4o-mini"}}, {"json": {"json": {"a": 1}}}, {"json": END}]),
])
def test_stream_frames(json_out, deltas, expected) -> None:
    got = run(OutputStream(json_out, lambda: (BILLED, "openai/gpt-4o-mini")), deltas)
    assert [event for event, _ in got] == [None] * len(expected)
    assert [{"delta": e} for e in expected] == [data for _, data in got]


def test_stream_error_is_an_error_event_and_no_done() -> None:
    got = run(OutputStream(False, lambda: (None, "x")), [{"content": "Hel"}], error=ApiError(502, "upstream exploded"))
    assert got[-1] == ("error", {"message": "upstream exploded"})
    assert all(data != "[DONE]" for _, data in got)


def test_out_of_credits_is_the_hubs_credit_error() -> None:
    body = translate.error_body(ApiError(402, "Insufficient credits."), "https://pay/x")["error"]
    assert body["type"] == "NOT_ENOUGH" and body["link"] == "https://pay/x" and body["message"] == "Insufficient credits."
    assert body["timestamp"].endswith("Z")
    other = translate.error_body(ApiError(400, "bad", code="invalid_value"))
    assert other == {"error": {"message": "bad", "type": "invalid_request_error", "code": "invalid_value"}}


@pytest.mark.parametrize(("data", "fmt", "expected"), [  # §8.3: every file carries its type
    ([{"b64_json": "AAA"}], None, [{"type": "file", "data": "AAA", "mimeType": "image/png"}]),
    ([{"b64_json": "AAA"}], "webp", [{"type": "file", "data": "AAA", "mimeType": "image/webp"}]),
    ([{"url": "https://cdn/x.png"}], None, [{"type": "url", "url": "https://cdn/x.png", "mimeType": "image/png"}]),
    ([{"url": "data:image/jpeg;base64,QQ=="}], None, [{"type": "file", "data": "QQ==", "mimeType": "image/jpeg"}]),
])
def test_images_come_back_typed(data, fmt, expected) -> None:
    assert media.images({"data": data}, fmt) == expected


def test_image_parameters_from_input_and_model_options() -> None:
    body = media.image_request({"prompt": "cat", "n": 2, "size": "1024x1024", "quality": "standard",
                                "modelOptions": {"model": "openai/dall-e-3", "quality": "hd", "outputFormat": "png"}},
                               "openai/dall-e-3")
    assert body == {"model": "openai/dall-e-3", "prompt": "cat", "n": 2, "size": "1024x1024", "quality": "hd",
                    "output_format": "png"}


@pytest.mark.parametrize(("units", "text"), [(None, "0"), (0, "0"), (150, "0.00000015"), (40_000_000, "0.04"),
                                             (2 * 10**9, "2")])
def test_model_list_credits_are_strings(units, text) -> None:  # §8.4
    assert credits_text(units) == text


@pytest.mark.parametrize(("model", "kind"), [("gpt-4o-mini", "chat"), ("text-embedding-3-small", "embedding"),
                                             ("embed", "embedding"), ("dall-e-3", "image"), ("gpt-image-1", "image"),
                                             ("image", "image"), ("sora-2", "video"), ("claude-sonnet-4-5", "chat")])
def test_model_kind_without_rates(model, kind) -> None:
    assert kind_of(model) == kind


@pytest.mark.parametrize(("path", "mount"), [("/__blocklet__.js", "/"), ("/prod/__blocklet__.js", "/prod"),
                                             ("/a/b/__blocklet__.js", "/a/b")])
def test_mount_point_follows_the_path_prefix(path, mount, monkeypatch) -> None:  # §8.6
    monkeypatch.delenv("AIHUB_MOUNT_POINT", raising=False)
    settings.cache_clear()
    try:
        assert mount_point(ApiRequest("GET", path, {})) == mount
        monkeypatch.setenv("AIHUB_MOUNT_POINT", "/ai-kit/")
        settings.cache_clear()
        assert mount_point(ApiRequest("GET", path, {})) == "/ai-kit"
    finally:
        settings.cache_clear()


@pytest.mark.parametrize(("configured", "prefix"), [("$", "$"), ("€", "€"), ("¥", "¥"), ("", None), ("USD", None)])
def test_credit_prefix_is_one_the_client_takes_or_none(configured, prefix, monkeypatch) -> None:  # §8.1
    monkeypatch.setenv("AIHUB_CREDIT_PREFIX", configured)
    settings.cache_clear()
    try:
        assert credit_prefix() == prefix
    finally:
        settings.cache_clear()
