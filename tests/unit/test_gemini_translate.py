"""Table-driven tests of the Gemini translation (pure functions, no I/O)."""
from __future__ import annotations

import base64
import struct

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers.base import Credential, Usage
from chalicelib.providers.gemini import api, translate
from tests.fakes import gemini as g

PNG_URL = "data:image/png;base64,iVBORw0KGgo="


def user(content):
    return {"role": "user", "content": content}


def call(id_, name, arguments, **extra):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}, **extra}


# -- paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "method", "expected"),
    [
        ("gemini-2.5-flash", "generateContent", "/v1beta/models/gemini-2.5-flash:generateContent"),
        ("models/text-embedding-004", "embedContent", "/v1beta/models/text-embedding-004:embedContent"),
        ("../files?x=1#", "predict", "/v1beta/models/..%2Ffiles%3Fx%3D1%23:predict"),  # cannot leave its path
    ],
)
def test_path(model, method, expected):
    assert api.path(model, method) == expected


def test_stream_path_asks_for_sse():
    assert api.stream_path("gemini-2.5-flash") == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


# -- messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "contents", "system"),
    [
        ([user("hi")], [{"role": "user", "parts": [{"text": "hi"}]}], []),
        # system and developer both become systemInstruction, in order, wherever they are
        ([{"role": "system", "content": "be brief"}, user("hi"),
          {"role": "developer", "content": [{"type": "text", "text": "and kind"}]}],
         [{"role": "user", "parts": [{"text": "hi"}]}], [{"text": "be brief"}, {"text": "and kind"}]),
        # assistant -> model; an assistant turn with nothing in it is left out
        ([user("a"), {"role": "assistant", "content": "b"}, {"role": "assistant", "content": ""}, user("c")],
         [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]},
          {"role": "user", "parts": [{"text": "c"}]}], []),
        # tool calls and their results, parallel results in one user turn, names found by id
        ([user("weather?"),
          {"role": "assistant", "content": None, "tool_calls": [
              call("call_0", "get_weather", '{"city":"Paris"}'),
              call("call_1", "get_time", "", extra_content={"google": {"thought_signature": "sig=="}})]},
          {"role": "tool", "tool_call_id": "call_1", "content": "noon"},
          {"role": "tool", "tool_call_id": "call_0", "content": '{"temp": 21}'}],
         [{"role": "user", "parts": [{"text": "weather?"}]},
          {"role": "model", "parts": [
              {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
              {"functionCall": {"name": "get_time", "args": {}}, "thoughtSignature": "sig=="}]},
          {"role": "user", "parts": [
              {"functionResponse": {"name": "get_time", "response": {"result": "noon"}}},
              {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]}], []),
        # the latest call of an id wins when ids repeat across turns (call_0 in each response)
        ([{"role": "assistant", "tool_calls": [call("call_0", "a", "{}")]},
          {"role": "tool", "tool_call_id": "call_0", "content": "1"},
          {"role": "assistant", "tool_calls": [call("call_0", "b", "{}")]},
          {"role": "tool", "tool_call_id": "call_0", "content": [{"type": "text", "text": "[1, 2]"}]}],
         [{"role": "model", "parts": [{"functionCall": {"name": "a", "args": {}}}]},
          {"role": "user", "parts": [{"functionResponse": {"name": "a", "response": {"result": 1}}}]},
          {"role": "model", "parts": [{"functionCall": {"name": "b", "args": {}}}]},
          {"role": "user", "parts": [{"functionResponse": {"name": "b", "response": {"result": [1, 2]}}}]}], []),
        # the legacy function-calling shapes
        ([{"role": "assistant", "function_call": {"name": "f", "arguments": '{"x": 1}'}},
          {"role": "function", "name": "f", "content": "ok"}],
         [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}}}]},
          {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"result": "ok"}}}]}], []),
    ],
)
def test_messages_to_contents(messages, contents, system):
    assert translate.messages_to_contents(messages) == (contents, system)


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": "tool", "tool_call_id": "call_9", "content": "x"}], "messages[0].tool_call_id"),
        ([{"role": "narrator", "content": "x"}], "messages[0].role"),
        ([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]}], "messages[0].content"),
        ([{"role": "assistant", "tool_calls": [call("c", "f", "not json")]}], "messages[0].tool_calls[0]"),
        ([{"role": "assistant", "tool_calls": [call("c", "f", "[1]")]}], "messages[0].tool_calls[0]"),
        ([user([{"type": "file", "file": {"file_id": "file-abc"}}])], "messages[0].content[0]"),
        ([user([{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}])], "messages[0].content[0]"),
        ([user([{"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}])], "messages[0].content[0]"),
    ],
)
def test_messages_rejected(messages, param):
    with pytest.raises(ApiError) as info:
        translate.messages_to_contents(messages)
    assert (info.value.status, info.value.param) == (400, param)


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ({"type": "text", "text": "look"}, {"text": "look"}),
        ({"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}},
         {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}),
        ({"type": "image_url", "image_url": {"url": "data:image/webp;name=a.webp;base64,UklG"}},
         {"inlineData": {"mimeType": "image/webp", "data": "UklG"}}),
        ({"type": "image_url", "image_url": {"url": "https://example.com/cat.png?size=2"}},
         {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png?size=2"}}),
        ({"type": "image_url", "image_url": {"url": "https://example.com/photo"}},
         {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}}),
        ({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
         {"inlineData": {"mimeType": "audio/mp3", "data": "UklGRg=="}}),
        ({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
         {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}),
    ],
)
def test_user_parts(part, expected):
    assert translate.user_parts([part], 0) == [expected]


def test_empty_text_parts_are_dropped():
    assert translate.user_parts([{"type": "text", "text": ""}, {"type": "text", "text": "x"}], 0) == [{"text": "x"}]


@pytest.mark.parametrize(
    ("text", "response"),
    [('{"ok": true}', {"ok": True}), ("[1]", {"result": [1]}), ("42", {"result": 42}), ("plain", {"result": "plain"}),
     ("", {"result": ""})],
)
def test_tool_result(text, response):
    assert translate.tool_result(text) == response


# -- tools ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "cleaned"),
    [
        ({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False, "$schema": "http://json-schema.org/draft-07/schema#", "strict": True},
         {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        # nested objects and arrays are cleaned too
        ({"type": "object", "properties": {"items": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "properties": {"n": {"type": "integer", "examples": [1]}}}}}},
         {"type": "object", "properties": {"items": {"type": "array", "items": {
             "type": "object", "properties": {"n": {"type": "integer"}}}}}}),
        # JSON Schema type lists -> nullable / anyOf; oneOf -> anyOf; const -> enum
        ({"type": ["string", "null"]}, {"type": "string", "nullable": True}),
        ({"type": ["string", "integer"]}, {"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        ({"oneOf": [{"type": "string"}, {"const": "x"}]}, {"anyOf": [{"type": "string"}, {"enum": ["x"]}]}),
        # local $refs (pydantic's $defs) are inlined, allOf merged, the definitions dropped
        ({"type": "object", "$defs": {"Unit": {"type": "string", "enum": ["C", "F"], "title": "Unit"}},
          "properties": {"unit": {"$ref": "#/$defs/Unit", "description": "which"},
                         "when": {"allOf": [{"type": "string"}, {"format": "date-time"}]}}},
         {"type": "object", "properties": {"unit": {"description": "which", "type": "string", "enum": ["C", "F"],
                                                    "title": "Unit"},
                                           "when": {"type": "string", "format": "date-time"}}}),
    ],
)
def test_clean_schema(schema, cleaned):
    assert translate.clean_schema(schema) == cleaned


@pytest.mark.parametrize(
    "schema",
    [{"$ref": "https://example.com/s.json"}, {"$ref": "#/$defs/Missing"},
     {"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"}],
)
def test_clean_schema_rejects(schema):
    with pytest.raises(ApiError) as info:
        translate.clean_schema(schema)
    assert info.value.status == 400


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": False}}}


@pytest.mark.parametrize(
    ("tools", "declarations"),
    [
        ([WEATHER], [{"name": "get_weather", "description": "Weather of a city",
                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]),
        # no arguments: Gemini rejects an OBJECT schema without properties, so none is sent
        ([{"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}},
          {"type": "function", "function": {"name": "ping"}}],
         [{"name": "now"}, {"name": "ping"}]),
    ],
)
def test_function_declarations(tools, declarations):
    assert translate.function_declarations(tools) == declarations


def test_non_function_tools_rejected():
    with pytest.raises(ApiError) as info:
        translate.function_declarations([{"type": "custom", "custom": {"name": "x"}}])
    assert info.value.param == "tools[0].type"


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        (None, None),
        ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        ("required", {"functionCallingConfig": {"mode": "ANY"}}),
        ("none", {"functionCallingConfig": {"mode": "NONE"}}),
        ({"type": "function", "function": {"name": "get_weather"}},
         {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}),
    ],
)
def test_tool_config(choice, config):
    assert translate.tool_config(choice) == config


@pytest.mark.parametrize("choice", ["sometimes", {"type": "function"}, {"type": "allowed_tools"}])
def test_tool_config_rejects(choice):
    with pytest.raises(ApiError):
        translate.tool_config(choice)


# -- generation config ------------------------------------------------------------------------------


SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}


@pytest.mark.parametrize(
    ("body", "model", "config"),
    [
        ({}, "gemini-2.5-flash", {}),
        ({"temperature": 0.2, "top_p": 0.9, "n": 2, "seed": 7, "presence_penalty": 0.5, "frequency_penalty": -0.5,
          "max_tokens": 100, "stop": "END"}, "gemini-2.5-flash",
         {"temperature": 0.2, "topP": 0.9, "candidateCount": 2, "seed": 7, "presencePenalty": 0.5,
          "frequencyPenalty": -0.5, "maxOutputTokens": 100, "stopSequences": ["END"]}),
        ({"temperature": 0, "max_completion_tokens": 50, "max_tokens": 100, "stop": ["a", "b"]}, "gemini-2.5-flash",
         {"temperature": 0, "maxOutputTokens": 50, "stopSequences": ["a", "b"]}),
        ({"response_format": {"type": "text"}}, "gemini-2.5-flash", {}),
        ({"response_format": {"type": "json_object"}}, "gemini-2.5-flash", {"responseMimeType": "application/json"}),
        # the JSON Schema goes as it is: responseJsonSchema takes full JSON Schema
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": True, "schema": SCHEMA}}},
         "gemini-2.5-flash", {"responseMimeType": "application/json", "responseJsonSchema": SCHEMA}),
        ({"reasoning_effort": "none"}, "gemini-2.5-flash", {"thinkingConfig": {"thinkingBudget": 0}}),
        ({"reasoning_effort": "medium"}, "models/gemini-2.5-pro", {"thinkingConfig": {"thinkingBudget": 8192}}),
        ({"reasoning_effort": "high"}, "gemini-2.5-flash", {"thinkingConfig": {"thinkingBudget": 24576}}),
        ({"reasoning_effort": "minimal"}, "gemini-3-pro-preview", {"thinkingConfig": {"thinkingLevel": "low"}}),
        ({"reasoning_effort": "high"}, "gemini-3-pro-preview", {"thinkingConfig": {"thinkingLevel": "high"}}),
    ],
)
def test_generation_config(body, model, config):
    assert translate.generation_config(body, model) == config


@pytest.mark.parametrize("body", [{"response_format": {"type": "xml"}}, {"reasoning_effort": "extreme"}])
def test_generation_config_rejects(body):
    with pytest.raises(ApiError):
        translate.generation_config(body, "gemini-2.5-flash")


def test_chat_request_puts_it_together():
    body = {"model": "google/gemini-2.5-flash", "messages": [{"role": "system", "content": "sys"}, user("hi")],
            "tools": [WEATHER], "tool_choice": "auto", "temperature": 1}
    assert translate.chat_request(body, "gemini-2.5-flash") == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "tools": [{"functionDeclarations": translate.function_declarations([WEATHER])}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {"temperature": 1},
    }
    # no tools, no toolConfig (tool_choice alone means nothing to Gemini); no empty sections
    assert translate.chat_request({"messages": [user("hi")], "tool_choice": "none"}, "m") == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


# -- responses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "tools", "expected"),
    [("STOP", False, "stop"), ("STOP", True, "tool_calls"), ("MAX_TOKENS", True, "length"),
     ("SAFETY", False, "content_filter"), ("RECITATION", False, "content_filter"),
     ("BLOCKLIST", False, "content_filter"), ("PROHIBITED_CONTENT", False, "content_filter"),
     ("SPII", False, "content_filter"), ("IMAGE_SAFETY", False, "content_filter"),
     ("MALFORMED_FUNCTION_CALL", False, "stop"), ("OTHER", False, "stop"), (None, False, "stop")],
)
def test_finish_reason(reason, tools, expected):
    assert translate.finish_reason(reason, tools) == expected


META = g.usage(100, 20, cached=60, thoughts=30, tool_use=5)


@pytest.mark.parametrize(
    ("meta", "usage", "openai"),
    [
        # no thinking: no reasoning details (as OpenAI's own non-reasoning models report)
        ({}, Usage(), {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                       "prompt_tokens_details": {"cached_tokens": 0}}),
        (g.usage(12, 3), Usage(input_tokens=12, output_tokens=3),
         {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15,
          "prompt_tokens_details": {"cached_tokens": 0}}),
        # cached is inside promptTokenCount; tool-use prompt and thoughts are outside the other counts
        (META, Usage(input_tokens=45, output_tokens=50, cache_read_tokens=60, reasoning_tokens=30),
         {"prompt_tokens": 105, "completion_tokens": 50, "total_tokens": 155,
          "prompt_tokens_details": {"cached_tokens": 60}, "completion_tokens_details": {"reasoning_tokens": 30}}),
    ],
)
def test_usage(meta, usage, openai):
    assert translate.usage_of(meta) == usage
    assert translate.openai_usage(meta) == openai
    if meta:  # the client's total is Gemini's total
        assert openai["total_tokens"] == meta["totalTokenCount"]


def message(content, tool_calls=None, refusal=None):
    out = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        out["tool_calls"] = tool_calls
    return out


def choice(index, msg, reason):
    return {"index": index, "message": msg, "logprobs": None, "finish_reason": reason}


TOOL_CALL_0 = {"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}


@pytest.mark.parametrize(
    ("data", "choices"),
    [
        (g.response([g.candidate([g.text("Hel"), g.text("lo")])], g.usage(3, 2)), [choice(0, message("Hello"), "stop")]),
        # thoughts are left out
        (g.response([g.candidate([g.text("hmm", thought=True), g.text("4")])], g.usage(3, 1, thoughts=9)),
         [choice(0, message("4"), "stop")]),
        (g.response([g.candidate([g.text("cut")], "MAX_TOKENS")], g.usage(3, 1)), [choice(0, message("cut"), "length")]),
        # function calls -> tool_calls, ids unique across candidates; signatures carried along
        (g.response([g.candidate([g.function_call("get_weather", {"city": "Paris"})]),
                     g.candidate([g.text("Sure."), g.function_call("get_weather", {}, signature="c2ln")], index=1)],
                    g.usage(3, 2)),
         [choice(0, message(None, [TOOL_CALL_0]), "tool_calls"),
          choice(1, message("Sure.", [{"id": "call_1", "type": "function",
                                       "function": {"name": "get_weather", "arguments": "{}"},
                                       "extra_content": {"google": {"thought_signature": "c2ln"}}}]), "tool_calls")]),
        # a safety stop: content_filter, no text
        (g.response([g.candidate(None, "SAFETY")], g.usage(3, 0)), [choice(0, message(None), "content_filter")]),
        (g.response([g.candidate([], "STOP")], g.usage(3, 0)), [choice(0, message(""), "stop")]),
        # the prompt itself blocked: no candidates, an answer that says so
        (g.blocked_prompt("PROHIBITED_CONTENT"),
         [choice(0, message(None, refusal="Gemini blocked the prompt (PROHIBITED_CONTENT)."), "content_filter")]),
    ],
)
def test_chat_response(data, choices):
    out, usage = translate.chat_response(data, "gemini-2.5-flash", "google")
    assert out["choices"] == choices
    assert (out["id"], out["object"], out["model"]) == (g.RESPONSE_ID, "chat.completion", g.MODEL_VERSION)
    assert out["usage"] == translate.openai_usage(data["usageMetadata"])
    assert usage == translate.usage_of(data["usageMetadata"])


def test_chat_response_fallbacks():
    out, usage = translate.chat_response({"candidates": [g.candidate([g.text("x")])]}, "gemini-2.5-pro", "google")
    assert out["id"].startswith("chatcmpl-") and out["model"] == "gemini-2.5-pro"
    assert usage == Usage() and out["usage"]["total_tokens"] == 0
    with pytest.raises(ApiError) as info:
        translate.chat_response({"usageMetadata": {}}, "m", "google")
    assert info.value.status == 502


# -- streaming -------------------------------------------------------------------------------------


def run_stream(chunks, *, include_usage=False, candidates=1):
    t = translate.StreamTranslator("google", "gemini-2.5-flash", include_usage=include_usage, candidates=candidates)
    frames = []
    for chunk in chunks:
        data = chunk if isinstance(chunk, bytes) else orjson.dumps(chunk)
        frames += [orjson.loads(f[len(b"data: "):]) for f in t.feed(None, data)]
    return t, frames


def choices_of(frames):
    return [c for f in frames for c in f["choices"]]


def test_stream_text_finish_and_usage():
    meta = g.usage(10, 4, cached=6, thoughts=3)
    chunks = g.stream([[g.text("think", thought=True), g.text("Hel")], [g.text("lo")], [g.text("!")]], meta)
    t, frames = run_stream(chunks, include_usage=True)
    assert [c["delta"] for c in choices_of(frames)] == [
        {"role": "assistant", "content": "Hel"}, {"content": "lo"}, {"content": "!"}, {}]
    assert [c["finish_reason"] for c in choices_of(frames)] == [None, None, None, "stop"]
    assert frames[-1]["choices"] == [] and frames[-1]["usage"] == translate.openai_usage(meta)
    assert {(f["id"], f["model"], f["object"]) for f in frames} == {(g.RESPONSE_ID, g.MODEL_VERSION,
                                                                      "chat.completion.chunk")}
    assert len({f["created"] for f in frames}) == 1
    assert t.done and t.error is None and t.output_chars == 6
    assert t.usage == Usage(input_tokens=4, output_tokens=7, cache_read_tokens=6, reasoning_tokens=3)


def test_stream_usage_chunk_only_when_asked():
    t, frames = run_stream(g.stream([[g.text("a")]], g.usage(1, 1)))
    assert all(f["choices"] and "usage" not in f for f in frames)
    assert t.done and t.usage == Usage(1, 1)


def test_stream_is_done_only_after_a_finish_reason():
    t, _ = run_stream(g.stream([[g.text("a")], [g.text("b")]], g.usage(1, 1))[:1])
    assert not t.done and t.usage == Usage(input_tokens=1)  # the partial usage so far


def test_stream_tool_calls():
    chunks = g.stream([[g.text("Checking.")],
                       [g.function_call("get_weather", {"city": "Paris"}), g.function_call("get_time", {})]],
                      g.usage(5, 8))
    t, frames = run_stream(chunks)
    deltas = [c["delta"] for c in choices_of(frames)]
    assert deltas[1] == {"tool_calls": [
        {"index": 0, **TOOL_CALL_0},
        {"index": 1, "id": "call_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}
    assert choices_of(frames)[-1]["finish_reason"] == "tool_calls"
    assert t.output_chars == len("Checking.") + len('{"city":"Paris"}') + 2


def test_stream_several_candidates_finish_together():
    meta = g.usage(2, 2)
    first = g.response([g.candidate([g.text("a")], None, 0), g.candidate([g.text("b")], None, 1)], meta)
    last = g.response([g.candidate([g.text("c")], "STOP", 0)], meta)
    t, _ = run_stream([first, last], candidates=2)
    assert not t.done
    t.feed(None, orjson.dumps(g.response([g.candidate([], "MAX_TOKENS", 1)], meta)))
    assert t.done


def test_stream_blocked_prompt():
    t, frames = run_stream([g.blocked_prompt()], include_usage=True)
    assert [(c["delta"], c["finish_reason"]) for c in choices_of(frames)] == [
        ({"role": "assistant"}, None), ({}, "content_filter")]
    assert frames[-1]["usage"]["prompt_tokens"] == 9 and t.done


@pytest.mark.parametrize(
    ("chunk", "status", "code"),
    [
        (g.error(503, "The model is overloaded.", "UNAVAILABLE"), 503, "upstream_overloaded"),
        (g.error(429, "Quota exceeded.", "RESOURCE_EXHAUSTED"), 429, "resource_exhausted"),
        ({"error": {"message": "boom", "status": "INTERNAL"}}, 502, "upstream_error"),
        (b"not json", 502, "upstream_bad_response"),
        (b"[1]", 502, "upstream_bad_response"),
    ],
)
def test_stream_errors(chunk, status, code):
    t, frames = run_stream([g.stream([[g.text("a")], [g.text("b")]], g.usage(1, 1))[0], chunk])
    assert len(frames) == 1 and not t.done
    assert (t.error.status, t.error.code) == (status, code)


# -- embeddings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "method", "upstream"),
    [
        ({"input": "hello"}, "embedContent", {"content": {"parts": [{"text": "hello"}]}}),
        ({"input": "hello", "dimensions": 256}, "embedContent",
         {"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 256}),
        ({"input": ["a", "b"], "dimensions": 3}, "batchEmbedContents", {"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 3}]}),
    ],
)
def test_embed_request(body, method, upstream):
    assert translate.embed_request(body, "text-embedding-004") == (method, upstream)


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_embed_request_rejects_tokens(tokens):
    with pytest.raises(ApiError) as info:
        translate.embed_request({"input": tokens}, "text-embedding-004")
    assert (info.value.status, info.value.param) == (400, "input")


@pytest.mark.parametrize(
    ("body", "data", "vectors"),
    [
        ({"input": "hello"}, {"embedding": {"values": [0.5, -0.25]}}, [[0.5, -0.25]]),
        ({"input": ["a", "bb"]}, {"embeddings": [{"values": [1.0]}, {"values": [2.0]}]}, [[1.0], [2.0]]),
    ],
)
def test_embed_response(body, data, vectors):
    out, usage = translate.embed_response(data, body, "text-embedding-004", "google")
    assert out["object"] == "list" and out["model"] == "text-embedding-004"
    assert [d["embedding"] for d in out["data"]] == vectors
    assert [d["index"] for d in out["data"]] == list(range(len(vectors)))
    chars = sum(map(len, [body["input"]] if isinstance(body["input"], str) else body["input"]))
    assert usage == Usage(input_tokens=(chars + 3) // 4, estimated=True)
    assert out["usage"] == {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens}


def test_embed_response_base64_is_little_endian_float32():
    values = [0.5, -0.25, 1.0]
    out, _ = translate.embed_response({"embedding": {"values": values}}, {"input": "x", "encoding_format": "base64"},
                                      "m", "google")
    raw = base64.b64decode(out["data"][0]["embedding"])
    assert list(struct.unpack("<3f", raw)) == values


@pytest.mark.parametrize("data", [{"embeddings": [{"values": [1.0]}]}, {}, {"embedding": {}}])
def test_embed_response_mismatch(data):
    with pytest.raises(ApiError) as info:
        translate.embed_response(data, {"input": ["a", "b"] if "embeddings" in data else "a"}, "m", "google")
    assert info.value.status == 502


# -- images ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "allowed", "ratio"),
    [(None, translate.IMAGEN_RATIOS, None), ("auto", translate.IMAGEN_RATIOS, None),
     ("1024x1024", translate.IMAGEN_RATIOS, "1:1"), ("1792x1024", translate.IMAGEN_RATIOS, "16:9"),
     ("1024x1536", translate.IMAGEN_RATIOS, "3:4"), ("1024x1536", translate.GEMINI_IMAGE_RATIOS, "2:3"),
     ("2520x1080", translate.GEMINI_IMAGE_RATIOS, "21:9")],
)
def test_aspect_ratio(size, allowed, ratio):
    assert translate.aspect_ratio(size, allowed) == ratio


@pytest.mark.parametrize("size", ["big", "0x10", "10x"])
def test_aspect_ratio_rejects(size):
    with pytest.raises(ApiError):
        translate.aspect_ratio(size, translate.IMAGEN_RATIOS)


@pytest.mark.parametrize(
    ("body", "model", "method", "upstream"),
    [
        ({"prompt": "a cat"}, "imagen-4.0-generate-001", "predict",
         {"instances": [{"prompt": "a cat"}], "parameters": {"sampleCount": 1, "includeRaiReason": True}}),
        ({"prompt": "a cat", "n": 2, "size": "1792x1024"}, "imagen-4.0-generate-001", "predict",
         {"instances": [{"prompt": "a cat"}],
          "parameters": {"sampleCount": 2, "includeRaiReason": True, "aspectRatio": "16:9"}}),
        ({"prompt": "a cat"}, "gemini-2.5-flash-image", "generateContent",
         {"contents": [{"role": "user", "parts": [{"text": "a cat"}]}],
          "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}),
        ({"prompt": "a cat", "n": 2, "size": "1024x1024"}, "gemini-2.5-flash-image", "generateContent",
         {"contents": [{"role": "user", "parts": [{"text": "a cat"}]}],
          "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "candidateCount": 2,
                               "imageConfig": {"aspectRatio": "1:1"}}}),
    ],
)
def test_image_request(body, model, method, upstream):
    assert translate.image_request(body, model) == (method, upstream)


PNG = g.png("x")
PNG64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    ("data", "model", "body", "items", "usage"),
    [
        (g.imagen([PNG, PNG], filtered=["one image was filtered"]), "imagen-4.0-generate-001", {"prompt": "p"},
         [{"b64_json": PNG64}] * 2, Usage(images=2)),
        (g.imagen([PNG]), "imagen-4.0-generate-001", {"prompt": "p", "response_format": "url"},
         [{"url": "data:image/png;base64," + PNG64}], Usage(images=1)),
        # a Gemini image model: image parts (not thought images), usage from its tokens
        (g.response([g.candidate([g.text("Here:"), {**g.inline_image(b"draft"), "thought": True}, g.inline_image(PNG)])],
                    g.usage(6, 1290)),
         "gemini-2.5-flash-image", {"prompt": "p"}, [{"b64_json": PNG64}],
         Usage(input_tokens=6, output_tokens=1290, images=1)),
    ],
)
def test_image_response(data, model, body, items, usage):
    out, got = translate.image_response(data, body, model, "google")
    assert out["data"] == items and isinstance(out["created"], int)
    assert got == usage


@pytest.mark.parametrize(
    ("data", "model", "status", "code", "words"),
    [
        (g.imagen([], filtered=["Your prompt may violate our policies."]), "imagen-4.0-generate-001", 400,
         "content_policy_violation", "violate"),
        ({}, "imagen-4.0-generate-001", 400, "content_policy_violation", "no image"),
        (g.blocked_prompt(), "gemini-2.5-flash-image", 400, "content_policy_violation", "SAFETY"),
        (g.response([g.candidate(None, "IMAGE_SAFETY")], g.usage(3, 0)), "gemini-2.5-flash-image", 400,
         "content_policy_violation", "IMAGE_SAFETY"),
        (g.response([g.candidate([g.text("I can only describe it.")])], g.usage(3, 5)), "gemini-2.5-flash-image", 502,
         "upstream_no_image", "describe"),
    ],
)
def test_image_response_without_images(data, model, status, code, words):
    with pytest.raises(ApiError) as info:
        translate.image_response(data, {"prompt": "p"}, model, "google")
    assert (info.value.status, info.value.code) == (status, code)
    assert words in info.value.message


# -- errors ---------------------------------------------------------------------------------------


KEY = "gemini-test-SECRET-0123456789"


@pytest.mark.parametrize(
    ("status", "body", "expected_status", "code", "upstream"),
    [
        (400, g.error(400, "Invalid value at 'contents'", "INVALID_ARGUMENT"), 400, "invalid_argument", 400),
        (429, g.error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"), 429,
         "resource_exhausted", 429),
        (404, [g.error(404, "models/nope is not found", "NOT_FOUND")], 404, "not_found", 404),  # wrapped in a list
        (403, g.error(403, "Permission denied", "PERMISSION_DENIED"), 502, "upstream_auth_failed", 403),
        (401, g.error(401, "Request had invalid authentication credentials", "UNAUTHENTICATED"), 502,
         "upstream_auth_failed", 401),
        (503, g.error(503, "The model is overloaded.", "UNAVAILABLE"), 503, "upstream_overloaded", 503),
        (500, g.error(500, "Internal error", "INTERNAL"), 502, "upstream_error", 500),
        # a bad key is a 400 at Gemini, but the gateway's credential is at fault
        (400, g.error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", reason="API_KEY_INVALID"),
         502, "upstream_auth_failed", 401),
    ],
)
def test_upstream_error(status, body, expected_status, code, upstream):
    err = translate.upstream_error("google", status, orjson.dumps(body), Credential("c", KEY), {"retry-after": "7"})
    assert (err.status, err.code, err.upstream_status) == (expected_status, code, upstream)
    fields = body[0] if isinstance(body, list) else body
    assert fields["error"]["message"] in err.message
    assert err.type == {400: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_error"}.get(
        expected_status, "api_error")
    if expected_status in (429, 503):
        assert err.headers == {"retry-after": "7"}


def test_upstream_error_scrubs_the_key():
    body = orjson.dumps(g.error(400, f"bad key {KEY}", "INVALID_ARGUMENT"))
    err = translate.upstream_error("google", 400, body, Credential("c", KEY))
    assert KEY not in err.message and "gemi...6789" in err.message


def test_parse():
    assert translate.parse(b'{"a": 1}', "google") == {"a": 1}
    for bad in (b"<html>", b"[]"):
        with pytest.raises(ApiError) as info:
            translate.parse(bad, "google")
        assert info.value.code == "upstream_bad_response"
