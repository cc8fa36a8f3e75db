"""Table-driven tests of the Anthropic translation (pure functions, no I/O)."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers import sse
from chalicelib.providers.anthropic import translate
from chalicelib.providers.base import (
    Credential,
    UpstreamError,
    Usage,
)
from tests.fakes import anthropic as fa
from tests.support import openapi

USER = {"role": "user", "content": "Hi"}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def call(id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool(name: str, **function: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, **function}}


# -- request: messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "system", "expected"),
    [
        pytest.param([{"role": "system", "content": "Be brief."}, USER], "Be brief.", [USER], id="system-string"),
        pytest.param(
            [{"role": "system", "content": "A"}, USER, {"role": "developer", "content": [{"type": "text", "text": "B"}]}],
            [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}], [USER], id="system-and-developer-lifted"),
        pytest.param(
            [{"role": "system", "content": [{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}]},
             USER],
            [{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}], [USER], id="system-cache-control"),
        pytest.param(
            [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}],
            None,
            [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]}],
            id="images"),
        pytest.param(
            [{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf",
                                                                    "file_data": "data:application/pdf;base64,JVBERi0="}}]}],
            None,
            [{"role": "user", "content": [
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]}],
            id="pdf-file"),
        pytest.param(
            [USER, {"role": "assistant", "content": None,
                    "tool_calls": [call("call_1", "get_weather", '{"city": "Paris"}'), call("call_2", "now", "")]},
             {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
             {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
             {"role": "user", "content": "And tomorrow?"}],
            None,
            [USER,
             {"role": "assistant", "content": [
                 {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                 {"type": "tool_use", "id": "call_2", "name": "now", "input": {}}]},
             {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                 {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
                 {"type": "text", "text": "And tomorrow?"}]}],
            id="tool-calls-and-results-merged"),
        pytest.param(
            [USER, {"role": "assistant", "content": "Let me check.", "tool_calls": [call("c", "f", "{}")]},
             {"role": "user", "content": "(aside)"}, {"role": "tool", "tool_call_id": "c", "content": "ok"}],
            None,
            [USER,
             {"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                                               {"type": "tool_use", "id": "c", "name": "f", "input": {}}]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c", "content": "ok"},
                                          {"type": "text", "text": "(aside)"}]}],
            id="tool-results-go-first-in-a-merged-turn"),
        pytest.param(
            [USER, {"role": "user", "content": [{"type": "text", "text": "there"}]},
             {"role": "assistant", "content": "A"}, {"role": "assistant", "content": [{"type": "text", "text": "B"}]}],
            None,
            [{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
             {"role": "assistant", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}],
            id="same-role-turns-merged"),
        pytest.param(
            [USER, {"role": "assistant", "content": ""}, {"role": "user", "content": "again"}],
            None, [{"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "again"}]}],
            id="empty-assistant-turn-dropped"),
        pytest.param(
            [USER, {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't."}]}],
            None, [USER, {"role": "assistant", "content": [{"type": "text", "text": "I can't."}]}],
            id="refusal-replayed-as-text"),
        pytest.param([USER, {"role": "assistant", "content": '{"a":'}], None,
                     [USER, {"role": "assistant", "content": '{"a":'}], id="assistant-prefill-kept"),
    ],
)
def test_messages(messages, system, expected):
    out = translate.request_body({"model": "m", "messages": messages}, "claude-sonnet-4-5").body
    assert out.get("system") == system
    assert out["messages"] == expected


def test_client_body_is_not_mutated():
    body = {"model": "anthropic/claude-sonnet-4-5", "messages": [
        USER, {"role": "user", "content": [{"type": "text", "text": "x"}]},
        {"role": "assistant", "content": "ok", "tool_calls": [call("c", "f", "{}")]},
        {"role": "tool", "tool_call_id": "c", "content": "r"}], "stop": ["a"]}
    before = orjson.dumps(body)
    translate.request_body(body, "claude-sonnet-4-5", stream=True)
    assert orjson.dumps(body) == before


# -- request: options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({}, {}, id="nothing-extra"),
        pytest.param({"temperature": 0.2, "top_p": 0.9, "top_k": 40}, {"temperature": 0.2, "top_p": 0.9, "top_k": 40},
                     id="sampling"),
        pytest.param({"stop": "END"}, {"stop_sequences": ["END"]}, id="stop-string"),
        pytest.param({"stop": ["a", "b"]}, {"stop_sequences": ["a", "b"]}, id="stop-list"),
        pytest.param({"user": "user-42"}, {"metadata": {"user_id": "user-42"}}, id="user"),
        pytest.param({"safety_identifier": "hash-1"}, {"metadata": {"user_id": "hash-1"}}, id="safety-identifier"),
        pytest.param({"thinking": {"type": "enabled", "budget_tokens": 2048}},
                     {"thinking": {"type": "enabled", "budget_tokens": 2048}}, id="thinking-passes"),
        # what Anthropic has no counterpart for is left out rather than failing the call
        pytest.param({"seed": 7, "presence_penalty": 0.5, "frequency_penalty": 0.1, "logit_bias": {"1": 2}}, {},
                     id="openai-only-hints-dropped"),
        pytest.param({"response_format": {"type": "text"}}, {}, id="text-format"),
    ],
)
def test_options(extra, expected):
    out = translate.request_body({"model": "m", "messages": [USER], **extra}, "claude-haiku-4-5").body
    base = {"model": "claude-haiku-4-5", "max_tokens": 64000, "messages": [USER]}
    assert out == {**base, **expected}


@pytest.mark.parametrize(
    ("model", "extra", "max_tokens"),
    [
        ("claude-sonnet-4-5", {}, 64000),
        ("claude-sonnet-4-5-20250929", {}, 64000),
        ("claude-sonnet-4-20250514", {}, 64000),
        ("claude-haiku-4-5", {}, 64000),
        ("claude-opus-4-1-20250805", {}, 32000),
        ("claude-opus-4-20250514", {}, 32000),
        ("claude-opus-4-5", {}, 64000),
        ("claude-3-7-sonnet-latest", {}, 64000),
        ("claude-3-5-haiku-latest", {}, 8192),
        ("claude-3-5-sonnet-20241022", {}, 8192),
        ("claude-3-haiku-20240307", {}, 4096),
        ("claude-sonnet-4-5", {"max_tokens": 300}, 300),
        ("claude-sonnet-4-5", {"max_completion_tokens": 200, "max_tokens": 300}, 200),
    ],
)
def test_max_tokens(model, extra, max_tokens):
    assert translate.request_body({"model": "x", "messages": [USER], **extra}, model).body["max_tokens"] == max_tokens


WEATHER = tool("get_weather", description="Weather of a city",
               parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
WEATHER_OUT = {"name": "get_weather", "description": "Weather of a city",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.mark.parametrize(
    ("extra", "tools", "tool_choice"),
    [
        ({}, [WEATHER_OUT], None),
        ({"tool_choice": "auto"}, [WEATHER_OUT], {"type": "auto"}),
        ({"tool_choice": "required"}, [WEATHER_OUT], {"type": "any"}),
        ({"tool_choice": "none"}, [WEATHER_OUT], {"type": "none"}),
        ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, [WEATHER_OUT],
         {"type": "tool", "name": "get_weather"}),
        ({"parallel_tool_calls": False}, [WEATHER_OUT], {"type": "auto", "disable_parallel_tool_use": True}),
        ({"parallel_tool_calls": False, "tool_choice": "required"}, [WEATHER_OUT],
         {"type": "any", "disable_parallel_tool_use": True}),
        ({"parallel_tool_calls": False, "tool_choice": "none"}, [WEATHER_OUT], {"type": "none"}),
        ({"parallel_tool_calls": True}, [WEATHER_OUT], None),
        ({"tools": [tool("now")]}, [{"name": "now", "input_schema": {"type": "object", "properties": {}}}], None),
        ({"tools": [{**tool("now"), "cache_control": {"type": "ephemeral"}}]},
         [{"name": "now", "input_schema": {"type": "object", "properties": {}}, "cache_control": {"type": "ephemeral"}}],
         None),
        ({"tools": [], "tool_choice": "auto"}, None, None),  # no tools: nothing to choose from
    ],
)
def test_tools_and_tool_choice(extra, tools, tool_choice):
    out = translate.request_body({"model": "m", "messages": [USER], "tools": [WEATHER], **extra}, "claude-haiku-4-5").body
    assert out.get("tools") == tools
    assert out.get("tool_choice") == tool_choice


SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


@pytest.mark.parametrize(
    ("response_format", "name", "schema"),
    [
        ({"type": "json_schema", "json_schema": {"name": "math", "schema": SCHEMA, "strict": True}}, "math", SCHEMA),
        ({"type": "json_schema", "json_schema": {"schema": SCHEMA}}, "json_response", SCHEMA),
        ({"type": "json_object"}, "json_response", {"type": "object"}),
    ],
)
def test_response_format_becomes_a_forced_tool(response_format, name, schema):
    prepared = translate.request_body({"model": "m", "messages": [USER], "response_format": response_format},
                                      "claude-haiku-4-5")
    assert prepared.json_tool == name
    (forced,) = prepared.body["tools"]
    assert (forced["name"], forced["input_schema"]) == (name, schema)
    assert prepared.body["tool_choice"] == {"type": "tool", "name": name}


@pytest.mark.parametrize(
    ("stream", "stream_options", "include_usage"),
    [(False, None, False), (True, None, False), (True, {"include_usage": False}, False),
     (True, {"include_usage": True}, True), (False, {"include_usage": True}, False)],
)
def test_stream_flag(stream, stream_options, include_usage):
    prepared = translate.request_body({"model": "m", "messages": [USER], "stream_options": stream_options},
                                      "claude-haiku-4-5", stream=stream)
    assert prepared.body.get("stream") is (True if stream else None)
    assert "stream_options" not in prepared.body
    assert prepared.include_usage is include_usage


@pytest.mark.parametrize(
    ("extra", "param", "code", "words"),
    [
        ({"n": 2}, "n", "unsupported_parameter", "one choice"),
        ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
         "messages[0].content[0]", "unsupported_content", "input_audio"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role", "invalid_request",
         "function"),
        ({"messages": [{"role": "assistant", "tool_calls": [call("c", "f", "{not json")]}]},
         "messages[0].tool_calls[0]", "invalid_request", "JSON object"),
        ({"messages": [{"role": "assistant", "tool_calls": [call("c", "f", "[1]")]}]},
         "messages[0].tool_calls[0]", "invalid_request", "JSON object"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]}]},
         "messages[0].content[0]", "invalid_image_url", "base64"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]},
         "messages[0].content[0]", "invalid_image_url", "https"),
        ({"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}]},
         "messages[0].content[0]", "unsupported_content", "file_data"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]", "invalid_request", "function tools"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice", "invalid_request", "tool_choice"),
        ({"tools": [WEATHER], "response_format": {"type": "json_object"}}, "response_format", "unsupported_parameter",
         "tools"),
        ({"response_format": {"type": "yaml"}}, "response_format", "invalid_request", "yaml"),
        ({"tools": [{"type": "function"}]}, None, "invalid_request", "malformed"),
    ],
)
def test_request_errors(extra, param, code, words):
    with pytest.raises(ApiError) as info:
        translate.request_body({"model": "m", "messages": [USER], **extra}, "claude-haiku-4-5")
    error = info.value
    assert (error.status, error.param, error.code) == (400, param, code)
    assert words in error.message


def completion(msg: dict[str, Any], json_tool: str | None = None) -> tuple[dict[str, Any], Usage]:
    body, usage = translate.response_body(orjson.dumps(msg), "anthropic", json_tool)
    data = orjson.loads(body)
    openapi.validate("CreateChatCompletionResponse", data)
    return data, usage


def test_text_response():
    data, usage = completion(fa.message(fa.text("Hello"), fa.text(" world"), tokens=fa.usage(10, 3)))
    assert data["id"] == "msg_01XFDUDYJgAACzvnptvVoYEL" and data["model"] == fa.MODEL
    assert data["object"] == "chat.completion" and isinstance(data["created"], int)
    (choice,) = data["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Hello world", "refusal": None}
    assert choice["finish_reason"] == "stop"
    assert data["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13,
                             "prompt_tokens_details": {"cached_tokens": 0}}
    assert usage == Usage(input_tokens=10, output_tokens=3)


def test_tool_use_response():
    msg = fa.message(fa.text("Checking."), fa.tool_use("toolu_01", "get_weather", {"city": "Paris"}),
                     fa.tool_use("toolu_02", "now", {}), stop_reason="tool_use")
    data, _ = completion(msg)
    (choice,) = data["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Checking."
    assert choice["message"]["tool_calls"] == [
        {"id": "toolu_01", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
        {"id": "toolu_02", "type": "function", "function": {"name": "now", "arguments": "{}"}},
    ]


def test_tool_only_response_has_null_content():
    data, _ = completion(fa.message(fa.tool_use("toolu_01", "now", {}), stop_reason="tool_use"))
    assert data["choices"][0]["message"]["content"] is None


def test_thinking_is_kept_out_of_content():
    data, usage = completion(fa.message(fa.thinking("Let me think."), fa.text("42"), tokens=fa.usage(5, 30)))
    message = data["choices"][0]["message"]
    assert message["content"] == "42" and message["reasoning_content"] == "Let me think."
    assert usage.output_tokens == 30 and data["usage"]["completion_tokens"] == 30  # counted once


def test_forced_json_tool_becomes_the_content():
    msg = fa.message(fa.tool_use("toolu_01", "math", {"answer": 4}), stop_reason="tool_use")
    data, _ = completion(msg, json_tool="math")
    (choice,) = data["choices"]
    assert orjson.loads(choice["message"]["content"]) == {"answer": 4}
    assert "tool_calls" not in choice["message"] and choice["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
     ("refusal", "content_filter"), ("pause_turn", "stop"), ("model_context_window_exceeded", "length"),
     ("something_new", "stop"), (None, "stop")],
)
def test_finish_reasons(stop_reason, finish):
    data, _ = completion(fa.message(fa.text("x"), stop_reason=stop_reason))
    assert data["choices"][0]["finish_reason"] == finish


@pytest.mark.parametrize(
    ("raw", "usage", "openai"),
    [
        (fa.usage(100, 20, cache_write=300, cache_read=2000),
         Usage(100, 20, cache_read_tokens=2000, cache_write_tokens=300),
         {"prompt_tokens": 2400, "completion_tokens": 20, "total_tokens": 2420,
          "prompt_tokens_details": {"cached_tokens": 2000}}),
        ({"input_tokens": 7, "output_tokens": 1, "cache_creation_input_tokens": None, "cache_read_input_tokens": None},
         Usage(7, 1), {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8,
                       "prompt_tokens_details": {"cached_tokens": 0}}),
        (None, Usage(), {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                         "prompt_tokens_details": {"cached_tokens": 0}}),
    ],
)
def test_usage(raw, usage, openai):
    assert translate.usage_from(raw) == usage
    assert translate.openai_usage(usage) == openai


@pytest.mark.parametrize("raw", [b"<html>", b"[]", orjson.dumps(fa.error_body("api_error", "x"))])
def test_invalid_response_body(raw):
    with pytest.raises(UpstreamError) as info:
        translate.response_body(raw, "anthropic")
    assert (info.value.status, info.value.code) == (502, "upstream_bad_response")


# -- errors -----------------------------------------------------------------------------------

SECRET = "sk-ant-test-SECRET-0123456789"


@pytest.mark.parametrize(
    ("status", "kind", "client_status", "etype", "code"),
    [
        (400, "invalid_request_error", 400, "invalid_request_error", "invalid_request_error"),
        (401, "authentication_error", 502, "api_error", "upstream_auth_failed"),
        (403, "permission_error", 502, "api_error", "upstream_auth_failed"),
        (404, "not_found_error", 404, "invalid_request_error", "not_found_error"),
        (413, "request_too_large", 413, "invalid_request_error", "request_too_large"),
        (429, "rate_limit_error", 429, "rate_limit_error", "rate_limit_error"),
        (500, "api_error", 502, "api_error", "upstream_error"),
        (529, "overloaded_error", 503, "api_error", "upstream_overloaded"),
    ],
)
def test_http_errors(status, kind, client_status, etype, code):
    body = orjson.dumps(fa.error_body(kind, f"{kind} happened (key {SECRET})"))
    error = translate.error_from_status("anthropic", status, body, Credential("c", SECRET), {"retry-after": "3"})
    assert (error.status, error.type, error.code, error.upstream_status) == (client_status, etype, code, status)
    assert f"{kind} happened" in error.message and SECRET not in error.message
    if status in (429, 529):  # the client may wait as long as Anthropic asked
        assert error.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("overloaded_error", 503, "upstream_overloaded"), ("rate_limit_error", 429, "rate_limit_error"),
     ("api_error", 502, "upstream_error"), ("invalid_request_error", 400, "invalid_request_error"),
     ("timeout_error", 502, "upstream_error"), ("brand_new_error", 502, "upstream_error")],
)
def test_stream_errors(kind, status, code):
    error = translate.stream_error("anthropic", orjson.dumps(fa.error_body(kind, "Overloaded")), None)
    assert (error.status, error.code) == (status, code)
    assert "Overloaded" in error.message


@pytest.mark.parametrize("operation", ["embeddings", "image generation"])
def test_unsupported_operations(operation):
    error = translate.unsupported(operation)
    assert (error.status, error.code) == (400, "unsupported_operation") and operation in error.message


# -- stream -----------------------------------------------------------------------------------


def run(evts: list[dict[str, Any]], **options: Any) -> tuple[translate.StreamTranslator, list[dict[str, Any]]]:
    """Feed events as the SSE decoder hands them over; every frame must be a valid chunk."""
    translator = translate.StreamTranslator("anthropic", **options)
    chunks = []
    for event in evts:
        for frame in translator.feed(event["type"].encode(), orjson.dumps(event)):
            assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
            chunk = orjson.loads(frame[6:-2])
            openapi.validate("CreateChatCompletionStreamResponse", chunk)
            chunks.append(chunk)
        if translator.error is not None:
            break
    return translator, chunks


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def arguments(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """Tool calls assembled the way OpenAI clients do: by index, arguments concatenated."""
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas(chunks):
        for part in delta.get("tool_calls") or ():
            entry = calls.setdefault(part["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += part.get("id") or ""
            entry["name"] += (part.get("function") or {}).get("name") or ""
            entry["arguments"] += (part.get("function") or {}).get("arguments") or ""
    return calls


def test_text_stream():
    msg = fa.message(fa.text("Hello there, streaming world!"), tokens=fa.usage(25, 9))
    translator, chunks = run(fa.events(msg, piece=4))
    assert translator.done and translator.error is None
    assert {c["id"] for c in chunks} == {msg["id"]} and {c["model"] for c in chunks} == {fa.MODEL}
    assert deltas(chunks)[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "Hello there, streaming world!"
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert all(c["choices"] for c in chunks)  # no usage chunk unless asked for
    assert translator.usage == Usage(input_tokens=25, output_tokens=9)
    assert translator.output_chars == len("Hello there, streaming world!")


def test_tool_use_stream():
    msg = fa.message(fa.text("Let me look."), fa.tool_use("toolu_A", "get_weather", {"city": "Paris", "days": 3}),
                     fa.tool_use("toolu_B", "now", {}), stop_reason="tool_use")
    translator, chunks = run(fa.events(msg, piece=3))
    calls = arguments(chunks)
    assert calls == {0: {"id": "toolu_A", "name": "get_weather", "arguments": '{"city":"Paris","days":3}'},
                     1: {"id": "toolu_B", "name": "now", "arguments": "{}"}}
    first = next(d["tool_calls"][0] for d in deltas(chunks) if d.get("tool_calls"))
    assert first == {"index": 0, "id": "toolu_A", "type": "function",
                     "function": {"name": "get_weather", "arguments": ""}}
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "Let me look."
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert translator.done


def test_stream_with_error_event_midway():
    msg = fa.message(fa.text("This will not finish"))
    evts = fa.events(msg, error=fa.error_body("overloaded_error", "Overloaded"), error_after=5)
    translator, chunks = run(evts)
    assert not translator.done
    assert (translator.error.status, translator.error.code) == (503, "upstream_overloaded")
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "This will "
    # input counts are Anthropic's; the output, never reported, is estimated from what arrived
    assert translator.usage == Usage(input_tokens=12, output_tokens=3, estimated=True)


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream_usage_with_cache_tokens(include_usage):
    msg = fa.message(fa.text("Cached answer"), tokens=fa.usage(40, 7, cache_write=1200, cache_read=5000))
    translator, chunks = run(fa.events(msg), include_usage=include_usage)
    assert translator.usage == Usage(input_tokens=40, output_tokens=7, cache_read_tokens=5000, cache_write_tokens=1200)
    usage_chunks = [c for c in chunks if not c["choices"]]
    if include_usage:
        assert chunks[-1] is usage_chunks[0] and chunks[-2]["choices"][0]["finish_reason"] == "stop"
        assert chunks[-1]["usage"] == {"prompt_tokens": 6240, "completion_tokens": 7, "total_tokens": 6247,
                                       "prompt_tokens_details": {"cached_tokens": 5000}}
    else:
        assert usage_chunks == []


def test_message_delta_counts_replace_message_start_counts():
    msg = fa.message(fa.text("x"), tokens=fa.usage(10, 2))
    evts = fa.events(msg)
    evts[-2]["usage"] = {"input_tokens": 15, "cache_read_input_tokens": 3, "output_tokens": 4,
                         "server_tool_use": {"web_search_requests": 1}}
    translator, _ = run(evts)
    assert translator.usage == Usage(input_tokens=15, output_tokens=4, cache_read_tokens=3)


def test_thinking_stream_goes_to_reasoning_content():
    msg = fa.message(fa.thinking("Hmm, two and two."), fa.text("4"), tokens=fa.usage(5, 40))
    translator, chunks = run(fa.events(msg))
    assert "".join(d.get("reasoning_content") or "" for d in deltas(chunks)) == "Hmm, two and two."
    assert "".join(d.get("content") or "" for d in deltas(chunks)) == "4"
    assert translator.usage.output_tokens == 40


def test_forced_json_tool_streams_as_content():
    msg = fa.message(fa.tool_use("toolu_J", "math", {"answer": 4, "why": "2+2"}), stop_reason="tool_use")
    _, chunks = run(fa.events(msg, piece=4), json_tool="math")
    assert orjson.loads("".join(d.get("content") or "" for d in deltas(chunks))) == {"answer": 4, "why": "2+2"}
    assert arguments(chunks) == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("evts", "error"),
    [
        ([{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}], "message_start"),
        ([{"type": "message_start"}], "malformed"),
    ],
)
def test_malformed_streams(evts, error):
    translator, chunks = run(evts)
    assert chunks == [] and translator.error.code == "upstream_bad_response" and error in translator.error.message


def test_ping_and_unknown_events_are_ignored():
    msg = fa.message(fa.text("ok"))
    evts = fa.events(msg)
    evts.insert(2, {"type": "ping"})
    evts.insert(3, {"type": "some_future_event", "x": 1})
    _, plain = run(fa.events(msg))
    _, extra = run(evts)
    assert deltas(extra) == deltas(plain)


def test_non_json_event_is_an_error():
    translator = translate.StreamTranslator("anthropic")
    assert translator.feed(b"message_start", b"{not json") == ()
    assert translator.error.code == "upstream_bad_response"


# -- native passthrough (the Anthropic surface) -------------------------------------------------


def relay(evts: list[dict[str, Any]]) -> tuple[translate.PassThrough, bytes]:
    """Feed Anthropic's frames as the adapter reads them; what the client gets back."""
    through = translate.PassThrough("anthropic")
    out = b""
    for raw in fa.sse(evts):
        event, data = sse.parse_event(raw.strip())
        out += b"".join(through.feed(event, data))
        if through.error is not None:
            break
    return through, out


def test_passthrough_relays_frames_unchanged_and_reads_usage():
    msg = fa.message(fa.thinking("Hmm."), fa.text("Hi there"), fa.tool_use("toolu_1", "f", {"a": 1}),
                     stop_reason="tool_use", tokens=fa.usage(40, 25, cache_write=7, cache_read=300))
    evts = fa.events(msg, piece=3)
    through, out = relay(evts)
    assert out == b"".join(fa.sse(evts))
    assert through.done and through.error is None
    assert through.usage == Usage(input_tokens=40, output_tokens=25, cache_read_tokens=300, cache_write_tokens=7)


def test_passthrough_cut_short_estimates_output():
    msg = fa.message(fa.text("x" * 40), tokens=fa.usage(40, 25))
    through, _ = relay(fa.events(msg, piece=40)[:-3])  # no message_delta, no message_stop
    assert not through.done
    assert through.usage == Usage(input_tokens=40, output_tokens=10, estimated=True)


def test_passthrough_error_event_is_kept_for_the_surface_to_render():
    msg = fa.message(fa.text("Half"), tokens=fa.usage(5, 2))
    through, out = relay(fa.events(msg, error=fa.error_body("overloaded_error", "Overloaded"), error_after=2))
    assert b"overloaded_error" not in out
    assert isinstance(through.error, UpstreamError) and through.error.code == "upstream_overloaded"


def test_native_body_changes_only_the_model():
    body = {"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5, "messages": [], "thinking": {"type": "enabled"}}
    out = translate.native_body(body, "claude-sonnet-4-5")
    assert out == {**body, "model": "claude-sonnet-4-5"} and list(out) == list(body)
    assert body["model"] == "anthropic/claude-sonnet-4-5"
