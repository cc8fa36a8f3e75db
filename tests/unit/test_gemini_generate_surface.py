"""The generateContent surface's pure translators, both ways, and its stream renderers."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from chalicelib.api import gemini as wire
from chalicelib.api.validation import validate
from chalicelib.errors import ApiError
from chalicelib.providers import sse
from chalicelib.providers.base import Usage
from chalicelib.providers.gemini import translate as provider
from chalicelib.surfaces.gemini_generate import translate as t

USER = {"role": "user", "parts": [{"text": "Hi"}]}
CITY = {"type": "OBJECT", "properties": {"city": {"type": "STRING", "nullable": True}}, "required": ["city"],
        "propertyOrdering": ["city"]}
CITY_JSON = {"type": "object", "properties": {"city": {"type": ["string", "null"]}}, "required": ["city"]}


def image(mime: str = "image/png") -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime, "data": "AAAA"}}


# -- request: generateContent -> OpenAI -------------------------------------------------------------

REQUESTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"contents": [USER]}, {"messages": [{"role": "user", "content": "Hi"}]}),
    ({"contents": [USER, {"role": "model", "parts": [{"text": "Thinking", "thought": True}, {"text": "Hello"}]},
                   {"parts": [{"text": "Again"}]}], "systemInstruction": {"parts": [{"text": "A"}, {"text": "B"}]}},
     {"messages": [{"role": "system", "content": "A\nB"}, {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Again"}]}),
    ({"contents": [{"role": "user", "parts": [{"text": "What is it?"}, image(), image("audio/wav"),
                                             image("application/pdf"),
                                             {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x/y.jpg"}}]}]},
     {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "What is it?"},
         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
         {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
         {"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA", "filename": "file"}},
         {"type": "image_url", "image_url": {"url": "https://x/y.jpg"}}]}]}),
    # Calls without ids are numbered; answers without ids pair with the earliest open call of their name.
    ({"contents": [USER, {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"a": 1}}},
                                                     {"functionCall": {"name": "f", "args": {"a": 2}}}]},
                   {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": 1}}},
                                              {"functionResponse": {"name": "f", "response": {"r": 2}}}]}]},
     {"messages": [{"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": None, "tool_calls": [
                       {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
                       {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": '{"a":2}'}}]},
                   {"role": "tool", "tool_call_id": "call_1", "content": '{"r":1}'},
                   {"role": "tool", "tool_call_id": "call_2", "content": '{"r":2}'}]}),
    ({"contents": [{"role": "model", "parts": [{"functionCall": {"id": "x9", "name": "g", "args": {}}}]},
                   {"role": "user", "parts": [{"functionResponse": {"id": "x9", "name": "g", "response": {}}}]}]},
     {"messages": [{"role": "assistant", "content": None, "tool_calls": [
         {"id": "x9", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "x9", "content": "{}"}]}),
    ({"contents": [USER], "tools": [{"functionDeclarations": [
        {"name": "get", "description": "Get it", "parameters": CITY}, {"name": "now"},
        {"name": "raw", "parametersJsonSchema": {"type": "object", "additionalProperties": False}}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get"]}}},
     {"messages": [{"role": "user", "content": "Hi"}], "tool_choice": {"type": "function", "function": {"name": "get"}},
      "tools": [{"type": "function", "function": {"name": "get", "description": "Get it", "parameters": CITY_JSON}},
                {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}},
                {"type": "function", "function": {"name": "raw", "parameters": {"type": "object",
                                                                                "additionalProperties": False}}}]}),
    ({"contents": [USER], "tools": [{"functionDeclarations": [{"name": "f"}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}},
     {"messages": [{"role": "user", "content": "Hi"}], "tool_choice": "none",
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]}),
    ({"contents": [USER], "generationConfig": {
        "temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 100, "stopSequences": ["X"], "candidateCount": 2,
        "seed": 7, "presencePenalty": 0.5, "frequencyPenalty": 0.1, "responseMimeType": "application/json",
        "responseSchema": CITY, "thinkingConfig": {"thinkingBudget": 8000}}},
     {"messages": [{"role": "user", "content": "Hi"}], "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 100,
      "stop": ["X"], "n": 2, "seed": 7, "presence_penalty": 0.5, "frequency_penalty": 0.1, "reasoning_effort": "medium",
      "response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": CITY_JSON}}}),
    ({"contents": [USER], "generationConfig": {"responseMimeType": "application/json",
                                               "thinkingConfig": {"thinkingLevel": "HIGH"}}},
     {"messages": [{"role": "user", "content": "Hi"}], "response_format": {"type": "json_object"},
      "reasoning_effort": "medium"}),
    ({"contents": [USER], "generationConfig": {"responseJsonSchema": {"type": "integer"},
                                               "thinkingConfig": {"thinking_budget": 0}}},
     {"messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "none",
      "response_format": {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "integer"}}}}),
    ({"contents": [USER], "generationConfig": {"thinkingConfig": {"thinkingBudget": -1}}},
     {"messages": [{"role": "user", "content": "Hi"}]}),
]


@pytest.mark.parametrize(("body", "expected"), REQUESTS)
def test_request_to_openai(body: dict[str, Any], expected: dict[str, Any]) -> None:
    validate(wire.GenerateContentRequest, body)
    assert t.to_openai(body, "m/x") == {"model": "m/x", **expected}


def test_stream_asks_for_usage() -> None:
    out = t.to_openai({"contents": [USER]}, "m", stream=True)
    assert (out["stream"], out["stream_options"]) == (True, {"include_usage": True})


@pytest.mark.parametrize(("body", "param"), [
    ({"contents": [{"role": "user", "parts": [{"executableCode": {"code": "1"}}]}]}, "contents[0].parts[0]"),
    ({"contents": [{"role": "user", "parts": [{"fileData": {"fileUri": "gs://a/b.pdf", "mimeType": "application/pdf"}}]}]},
     "contents[0].parts[0]"),
    ({"contents": [{"role": "model", "parts": [{"text": "a"}, {"executableCode": {}}]}]}, "contents[0].parts[1]"),
    ({"contents": [USER], "tools": [{"googleSearch": {}}]}, "tools[0].googleSearch"),
    ({"contents": [USER], "generationConfig": {"responseMimeType": "text/x.enum"}}, "generationConfig.responseMimeType"),
])
def test_untranslatable_requests_are_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as refused:
        t.to_openai(body, "m")
    assert (refused.value.status, refused.value.param) == (400, param)
    assert param in refused.value.message


def test_lenient_translation_drops_what_only_gemini_reads() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}, {"executableCode": {}}]}],
            "tools": [{"googleSearch": {}, "functionDeclarations": [{"name": "f"}]}]}
    out = t.to_openai(body, "google/x", lenient=True)
    assert out["messages"] == [{"role": "user", "content": "Hi"}] and len(out["tools"]) == 1


@pytest.mark.parametrize(("body", "param"), [
    ({"contents": []}, "contents"),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "contents[0].role"),
    ({"contents": [{"role": "user", "parts": [{}]}]}, "contents[0].parts[0]"),
    ({"contents": [{"role": "user", "parts": [{"text": 3}]}]}, "contents[0].parts[0].text"),
    ({"contents": [USER], "generationConfig": {"maxOutputTokens": 0}}, "generationConfig.maxOutputTokens"),
    ({"contents": [USER], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}},
     "toolConfig.functionCallingConfig.mode"),
])
def test_invalid_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as refused:
        validate(wire.GenerateContentRequest, body)
    assert (refused.value.status, refused.value.param) == (400, param)


def test_unknown_fields_and_parts_pass_validation_for_gemini_itself() -> None:
    validate(wire.GenerateContentRequest, {"contents": [{"role": "user", "parts": [{"executableCode": {"code": "1"}}]}],
                                           "cachedContent": "cachedContents/x", "safetySettings": []})


# -- answer: OpenAI -> GenerateContentResponse -------------------------------------------------------


def completion(message: dict[str, Any], finish: str, usage: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-x",
                         "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
                         **({"usage": usage} if usage else {})})


ANSWERS: list[tuple[bytes, dict[str, Any]]] = [
    (completion({"content": "Hello"}, "stop", {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}),
     {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello"}]}, "finishReason": "STOP", "index": 0}],
      "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}}),
    (completion({"content": "Cut", "refusal": None}, "length",
                {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39,
                 "prompt_tokens_details": {"cached_tokens": 20}, "completion_tokens_details": {"reasoning_tokens": 4}}),
     {"candidates": [{"content": {"role": "model", "parts": [{"text": "Cut"}]}, "finishReason": "MAX_TOKENS", "index": 0}],
      "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 5, "totalTokenCount": 39,
                        "cachedContentTokenCount": 20, "thoughtsTokenCount": 4}}),
    (completion({"content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                  "function": {"name": "f", "arguments": '{"a":1}'}}]}, "tool_calls"),
     {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "call_1", "name": "f",
                                                                                "args": {"a": 1}}}]},
                      "finishReason": "STOP", "index": 0}]}),
    (completion({"content": None, "refusal": "No."}, "content_filter"),
     {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "SAFETY", "index": 0}]}),
]


@pytest.mark.parametrize(("raw", "expected"), ANSWERS)
def test_response_from_openai(raw: bytes, expected: dict[str, Any]) -> None:
    assert orjson.loads(t.response_from(raw)) == {**expected, "modelVersion": "gpt-x", "responseId": "chatcmpl-1"}


def test_finish_reasons_are_the_provider_table_read_backwards() -> None:
    for reason in ("STOP", "MAX_TOKENS", "SAFETY"):
        assert t.finish_reason(provider.finish_reason(reason, False)) == reason
    assert t.finish_reason("tool_calls") == "STOP"


def test_usage_metadata_reads_back_as_the_same_usage() -> None:
    """What the surface reports is what Gemini's own usageMetadata would have been billed as."""
    usage = Usage(input_tokens=100, output_tokens=40, cache_read_tokens=300, reasoning_tokens=15)
    assert provider.usage_of(t.usage_metadata(usage)) == usage


# -- streams ---------------------------------------------------------------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return sse.frame(orjson.dumps({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-x",
                                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))


def decoded(raw: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(block.removeprefix(b"data: ")) for block in raw.split(b"\n\n") if block]


def test_stream_renderer_text_then_tool_call_then_usage() -> None:
    renderer = t.ResponseStream()
    frames = [chunk({"role": "assistant", "content": "Hel"}), chunk({"content": "lo"}),
              chunk({"tool_calls": [{"index": 0, "id": "call_7", "function": {"name": "f", "arguments": ""}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": "2}"}}]}),
              chunk({}, "tool_calls"), sse.DONE]
    out = b"".join(renderer.feed(f) for f in frames)
    out += renderer.close(Usage(input_tokens=8, output_tokens=6), None)
    head = {"modelVersion": "gpt-x", "responseId": "c1"}
    assert decoded(out) == [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}], **head},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "index": 0}], **head},
        {"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"id": "call_7", "name": "f", "args": {"a": 2}}}]}, "finishReason": "STOP", "index": 0}],
         "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 6, "totalTokenCount": 14}, **head}]


def test_stream_renderer_ends_a_failed_stream_with_an_error_chunk() -> None:
    renderer = t.ResponseStream()
    assert decoded(renderer.feed(chunk({"content": "Hi"})))[0]["candidates"][0]["content"]["parts"] == [{"text": "Hi"}]
    end = decoded(renderer.close(None, ApiError(504, "The provider timed out.")))
    assert end == [{"error": {"code": 504, "message": "The provider timed out.", "status": "DEADLINE_EXCEEDED"}}]


def test_native_relay_passes_chunks_and_renders_a_failure() -> None:
    relay = t.Relay()
    assert relay.feed(b"data: {\"candidates\":[]}\n\n") == b"data: {\"candidates\":[]}\n\n"
    assert relay.close(Usage(), None) == b""
    assert decoded(relay.close(None, ApiError(503, "busy")))[0]["error"]["status"] == "UNAVAILABLE"


def test_native_pass_through_reads_usage_and_the_end() -> None:
    relay = provider.PassThrough("google", candidates=2)
    first = orjson.dumps({"candidates": [{"index": 0, "content": {"parts": [{"text": "ab"}]}, "finishReason": "STOP"}]})
    last = orjson.dumps({"candidates": [{"index": 1, "content": {"parts": [{"text": "c"}]}, "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4, "cachedContentTokenCount": 5}})
    assert relay.feed(None, first) == (sse.frame(first),) and not relay.done
    assert relay.feed(None, last) == (sse.frame(last),) and relay.done
    assert relay.usage == Usage(input_tokens=4, output_tokens=4, cache_read_tokens=5) and relay.output_chars == 3
    failing = provider.PassThrough("google")
    assert failing.feed(None, b'{"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}') == ()
    assert failing.error is not None and failing.error.status == 429


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "name"), [
    (400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (402, "RESOURCE_EXHAUSTED"), (403, "PERMISSION_DENIED"),
    (404, "NOT_FOUND"), (413, "INVALID_ARGUMENT"), (429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"),
    (502, "UNAVAILABLE"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED"), (599, "INTERNAL"),
])
def test_error_body(status: int, name: str) -> None:
    assert t.error_body(ApiError(status, "why")) == {"error": {"code": status, "message": "why", "status": name}}


# -- countTokens and embeddings ----------------------------------------------------------------------


def test_token_estimate_counts_text_of_either_form() -> None:
    contents = [{"role": "user", "parts": [{"text": "x" * 40}, image()]}]
    assert t.estimate_tokens_of({"contents": contents}) == 10
    assert t.estimate_tokens_of({"generateContentRequest": {"contents": contents,
                                                            "systemInstruction": {"parts": [{"text": "y" * 8}]}}}) == 12


def test_embeddings_both_ways() -> None:
    single = {"content": {"parts": [{"text": "a"}, {"text": "b"}]}, "outputDimensionality": 4}
    assert t.embed_to_openai(single, "embedContent", "m") == {"model": "m", "input": ["a b"], "dimensions": 4}
    batch = {"requests": [{"model": "models/x", "content": {"parts": [{"text": "a"}]}},
                          {"model": "models/x", "content": {"parts": [{"text": "b"}]}}]}
    assert t.embed_to_openai(batch, "batchEmbedContents", "m") == {"model": "m", "input": ["a", "b"]}
    answer = orjson.dumps({"data": [{"index": 1, "embedding": [0.5]}, {"index": 0, "embedding": [0.25]}]})
    assert orjson.loads(t.embed_from_openai(answer, "batchEmbedContents")) == {
        "embeddings": [{"values": [0.25]}, {"values": [0.5]}]}
    assert orjson.loads(t.embed_from_openai(answer, "embedContent")) == {"embedding": {"values": [0.25]}}
    with pytest.raises(ApiError) as refused:
        t.embed_to_openai({"requests": [{"content": {"parts": [image()]}}]}, "batchEmbedContents", "m")
    assert refused.value.param == "requests[0].content.parts"


def test_native_bodies_name_the_providers_model() -> None:
    batch = {"requests": [{"model": "models/google/e-1", "content": {}}]}
    assert provider.native_body(batch, "e-1") == {"requests": [{"model": "models/e-1", "content": {}}]}
    count = {"generateContentRequest": {"model": "models/google/g", "contents": []}}
    assert provider.native_body(count, "g")["generateContentRequest"]["model"] == "models/g"
    assert provider.native_body({"contents": []}, "g") == {"contents": []}
