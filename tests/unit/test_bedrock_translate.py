"""Table-driven tests of the Bedrock translation (pure functions, no I/O, no boto3)."""
from __future__ import annotations

import base64
import struct
import sys
import time

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers.base import Credential, Usage
from chalicelib.providers.bedrock import translate

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
PNG = b"\x89PNG\r\n\x1a\nfake"
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
CRED = Credential("env:AWS_ACCESS_KEY_ID", {"access_key_id": "AKIATESTSECRET0123456",
                                             "secret_access_key": "aws-test-SECRET-0123456789abcdefghijklmnop"})


def user(content):
    return {"role": "user", "content": content}


# -- requests ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # plain text
        ({"messages": [user("Hi")]},
         {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "Hi"}]}]}),
        # system and developer -> system blocks, wherever they stand
        ({"messages": [{"role": "system", "content": "Be brief."}, user("Hi"),
                       {"role": "developer", "content": [{"type": "text", "text": "Use French."}]}]},
         {"modelId": MODEL, "system": [{"text": "Be brief."}, {"text": "Use French."}],
          "messages": [{"role": "user", "content": [{"text": "Hi"}]}]}),
        # inference config
        ({"messages": [user("Hi")], "max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "stop": "END"},
         {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
          "inferenceConfig": {"maxTokens": 50, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}}),
        # max_completion_tokens wins; stop as a list
        ({"messages": [user("Hi")], "max_tokens": 50, "max_completion_tokens": 70, "stop": ["a", "b"]},
         {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
          "inferenceConfig": {"maxTokens": 70, "stopSequences": ["a", "b"]}}),
        # an image part becomes raw bytes; empty text parts are dropped
        ({"messages": [user([{"type": "text", "text": "What is this?"}, {"type": "text", "text": ""},
                             {"type": "image_url", "image_url": {"url": PNG_URL}}])]},
         {"modelId": MODEL, "messages": [{"role": "user", "content": [
             {"text": "What is this?"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]}]}),
        # consecutive user turns merge
        ({"messages": [user("a"), user("b")]},
         {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]}),
    ],
)
def test_converse_request(body, expected):
    assert translate.converse_request(body, MODEL) == expected


def test_tool_round_trip_request():
    body = {
        "messages": [
            user("Weather in Paris and Rome?"),
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
                {"id": "t2", "type": "function", "function": {"name": "weather", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "t1", "content": '{"temp": 21}'},
            {"role": "tool", "tool_call_id": "t2", "content": "sunny"},
            user("Thanks, and?"),
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather of a city",
                                                     "parameters": {"type": "object",
                                                                    "properties": {"city": {"type": "string"}}}}},
                  {"type": "function", "function": {"name": "noop"}}],
        "tool_choice": "required",
    }
    out = translate.converse_request(body, MODEL)
    assert out["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Rome?"}]},
        {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Paris"}}},
            {"toolUse": {"toolUseId": "t2", "name": "weather", "input": {}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "t1", "content": [{"json": {"temp": 21}}]}},
            {"toolResult": {"toolUseId": "t2", "content": [{"text": "sunny"}]}},
            {"text": "Thanks, and?"}]},
    ]
    assert out["toolConfig"] == {
        "tools": [
            {"toolSpec": {"name": "weather", "description": "Weather of a city", "inputSchema": {"json": {
                "type": "object", "properties": {"city": {"type": "string"}}}}}},
            {"toolSpec": {"name": "noop", "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
        "toolChoice": {"any": {}},
    }


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
HISTORY_WITH_TOOLS = [user("x"), {"role": "assistant", "tool_calls": [
    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "t1", "content": "ok"}]


@pytest.mark.parametrize(
    ("messages", "choice", "expected"),
    [
        ([user("x")], None, {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]}),
        ([user("x")], "auto", {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}],
                               "toolChoice": {"auto": {}}}),
        ([user("x")], {"type": "function", "function": {"name": "f"}},
         {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}],
          "toolChoice": {"tool": {"name": "f"}}}),
        ([user("x")], "none", None),  # Converse has no "none": the tools are left out
        (HISTORY_WITH_TOOLS, "none",  # ... unless earlier turns use them
         {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]}),
    ],
)
def test_tool_choice(messages, choice, expected):
    body = {"messages": messages, "tools": TOOLS, **({"tool_choice": choice} if choice else {})}
    assert translate.converse_request(body, MODEL).get("toolConfig") == expected


def test_json_schema_response_format():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    body = {"messages": [user("x")], "response_format": {"type": "json_schema",
                                                          "json_schema": {"name": "thing", "schema": schema}}}
    assert translate.converse_request(body, MODEL)["outputConfig"] == {"textFormat": {
        "type": "json_schema", "structure": {"jsonSchema": {"schema": orjson.dumps(schema).decode(), "name": "thing"}}}}
    assert "outputConfig" not in translate.converse_request({**body, "response_format": {"type": "json_object"}}, MODEL)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"messages": [user("x")], "n": 2}, "n", "unsupported_value"),
        ({"messages": [user([{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}])]},
         "messages[0].content[0].image_url.url", "unsupported_image_url"),
        ({"messages": [user([{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AAAA"}}])]},
         "messages[0].content[0].image_url.url", "unsupported_image_format"),
        ({"messages": [user([{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}])]},
         "messages[0].content[0].image_url.url", "invalid_image"),
        ({"messages": [user([{"type": "input_audio", "input_audio": {}}])]}, "messages[0].content[0]",
         "unsupported_content"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role", "invalid_request"),
        ({"messages": [user("x"), {"role": "tool", "content": "x"}]}, "messages[1].tool_call_id", "invalid_request"),
        ({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]},
         "messages[0].tool_calls[0].function.arguments", "invalid_request"),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, "messages", "invalid_request"),
        ({"messages": [user("x")], "tools": [{"type": "web_search"}]}, "tools[0]", "invalid_request"),
    ],
)
def test_request_errors(body, param, code):
    with pytest.raises(ApiError) as info:
        translate.converse_request(body, MODEL)
    assert (info.value.status, info.value.param, info.value.code) == (400, param, code)


@pytest.mark.parametrize(("mime", "fmt"), [("image/png", "png"), ("image/jpeg", "jpeg"), ("image/jpg", "jpeg"),
                                           ("image/gif", "gif"), ("image/webp", "webp")])
def test_image_formats(mime, fmt):
    block = translate.image_block(f"data:{mime};base64,QUJD", "p")
    assert block == {"image": {"format": fmt, "source": {"bytes": b"ABC"}}}


# -- responses and usage -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "usage", "openai"),
    [
        ({"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}, Usage(10, 5),
         {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
          "prompt_tokens_details": {"cached_tokens": 0}}),
        ({"inputTokens": 4, "outputTokens": 7, "totalTokens": 111, "cacheReadInputTokens": 60,
          "cacheWriteInputTokens": 40},
         Usage(input_tokens=4, output_tokens=7, cache_read_tokens=60, cache_write_tokens=40),
         {"prompt_tokens": 104, "completion_tokens": 7, "total_tokens": 111,
          "prompt_tokens_details": {"cached_tokens": 60}}),
        (None, Usage(), {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
                         "prompt_tokens_details": {"cached_tokens": 0}}),
    ],
)
def test_usage(raw, usage, openai):
    assert translate.usage_from(raw) == usage
    assert translate.openai_usage(usage) == openai


@pytest.mark.parametrize(
    ("stop", "finish"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
     ("model_context_window_exceeded", "length"), ("tool_use", "tool_calls"),
     ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"), (None, "stop")],
)
def test_finish_reason(stop, finish):
    assert translate.finish_reason(stop) == finish


def converse(content, stop="end_turn", usage=None):
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop,
            "usage": usage or {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}, "metrics": {"latencyMs": 1},
            "ResponseMetadata": {"RequestId": "req-1"}}


@pytest.mark.parametrize(
    ("content", "stop", "message", "finish"),
    [
        ([{"text": "Hel"}, {"text": "lo"}], "end_turn",
         {"role": "assistant", "content": "Hello", "refusal": None}, "stop"),
        ([{"text": "Checking."}, {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Paris"}}}],
         "tool_use",
         {"role": "assistant", "content": "Checking.", "refusal": None, "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}]},
         "tool_calls"),
        ([{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}], "tool_use",
         {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, "tool_calls"),
        ([{"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "sig"}}}, {"text": "42"}],
         "max_tokens", {"role": "assistant", "content": "42", "refusal": None, "reasoning_content": "Think."},
         "length"),
    ],
)
def test_chat_completion(content, stop, message, finish):
    body, usage = translate.chat_completion(converse(content, stop), MODEL, "chatcmpl-req-1", 7, "bedrock")
    assert body == {"id": "chatcmpl-req-1", "object": "chat.completion", "created": 7, "model": MODEL,
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                              "prompt_tokens_details": {"cached_tokens": 0}}}
    assert usage == Usage(3, 2)


def test_chat_completion_without_message_is_a_bad_response():
    with pytest.raises(ApiError) as info:
        translate.chat_completion({"stopReason": "end_turn"}, MODEL, "c", 1, "bedrock")
    assert (info.value.status, info.value.code) == (502, "upstream_bad_response")


def test_completion_id():
    assert translate.completion_id("abc") == "chatcmpl-abc"
    assert translate.completion_id(None).startswith("chatcmpl-") and len(translate.completion_id(None)) > 20


# -- stream events -----------------------------------------------------------------------------

def state(wants_usage: bool = False) -> translate.StreamState:
    return translate.StreamState("bedrock", "chatcmpl-s", 9, MODEL, wants_usage, CRED)


def chunk(delta=None, finish=None, **extra):
    base = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 9, "model": MODEL}
    if "usage" in extra:
        return {**base, "choices": [], **extra}
    return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


def decoded(frames) -> list[dict]:
    return [orjson.loads(f.removeprefix(b"data: ").removesuffix(b"\n\n")) for f in frames]


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        (b"messageStart", {"role": "assistant"}, [chunk({"role": "assistant", "content": ""})]),
        (b"contentBlockDelta", {"delta": {"text": "Hi"}, "contentBlockIndex": 0}, [chunk({"content": "Hi"})]),
        (b"contentBlockDelta", {"delta": {"text": ""}, "contentBlockIndex": 0}, []),
        (b"contentBlockDelta", {"delta": {"reasoningContent": {"text": "hmm"}}, "contentBlockIndex": 0},
         [chunk({"reasoning_content": "hmm"})]),
        (b"contentBlockDelta", {"delta": {"reasoningContent": {"signature": "sig"}}, "contentBlockIndex": 0}, []),
        (b"contentBlockStart", {"start": {"toolUse": {"toolUseId": "t1", "name": "f"}}, "contentBlockIndex": 1},
         [chunk({"tool_calls": [{"index": 0, "id": "t1", "type": "function",
                                 "function": {"name": "f", "arguments": ""}}]})]),
        (b"contentBlockStop", {"contentBlockIndex": 0}, []),
        (b"messageStop", {"stopReason": "max_tokens"}, [chunk({}, "length")]),
        (b"metadata", {"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}, "metrics": {}}, []),
        (b"someFutureEvent", {"x": 1}, []),
    ],
)
def test_stream_event(event, data, expected):
    s = state()
    assert decoded(s.feed(event, data)) == expected
    assert s.error is None


def test_stream_tool_fragments_follow_their_block():
    s = state()
    s.feed(b"contentBlockStart", {"start": {"toolUse": {"toolUseId": "a", "name": "f"}}, "contentBlockIndex": 1})
    s.feed(b"contentBlockStart", {"start": {"toolUse": {"toolUseId": "b", "name": "g"}}, "contentBlockIndex": 2})
    out = decoded(s.feed(b"contentBlockDelta", {"delta": {"toolUse": {"input": '{"x":'}}, "contentBlockIndex": 2}))
    assert out == [chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"x":'}}]})]
    assert s.output_chars == 5
    # a fragment of a block that never started is dropped
    assert s.feed(b"contentBlockDelta", {"delta": {"toolUse": {"input": "{}"}}, "contentBlockIndex": 7}) == ()


@pytest.mark.parametrize("wants_usage", [True, False])
def test_stream_done_at_metadata_with_usage(wants_usage):
    s = state(wants_usage)
    s.feed(b"messageStop", {"stopReason": "end_turn"})
    assert not s.done
    raw = {"inputTokens": 5, "outputTokens": 2, "totalTokens": 57, "cacheReadInputTokens": 30,
           "cacheWriteInputTokens": 20}
    out = decoded(s.feed(b"metadata", {"usage": raw, "metrics": {"latencyMs": 3}}))
    assert s.done and s.usage == Usage(input_tokens=5, output_tokens=2, cache_read_tokens=30, cache_write_tokens=20)
    expected_usage = {"prompt_tokens": 55, "completion_tokens": 2, "total_tokens": 57,
                      "prompt_tokens_details": {"cached_tokens": 30}}
    assert out == ([chunk(usage=expected_usage)] if wants_usage else [])


@pytest.mark.parametrize(("stopped", "done"), [(True, True), (False, False)])
def test_stream_clean_end_without_metadata(stopped, done):
    s = state()
    if stopped:
        s.feed(b"messageStop", {"stopReason": "end_turn"})
    assert s.feed(None, None) == ()
    assert s.done is done and s.usage is None


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (b"throttlingException", 429, "ThrottlingException"),
        (b"validationException", 400, "ValidationException"),
        (b"modelStreamErrorException", 502, "upstream_error"),
        (b"internalServerException", 502, "upstream_error"),
        (b"serviceUnavailableException", 503, "upstream_overloaded"),
    ],
)
def test_stream_exceptions(event, status, code):
    s = state()
    assert s.feed(event, {"message": "boom with AKIATESTSECRET0123456"}) == ()
    assert (s.error.status, s.error.code) == (status, code)
    assert "AKIATESTSECRET0123456" not in s.error.message and "boom" in s.error.message


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "http", "status", "etype", "out_code"),
    [
        ("ThrottlingException", 429, 429, "rate_limit_error", "ThrottlingException"),
        ("ServiceQuotaExceededException", 400, 429, "rate_limit_error", "ServiceQuotaExceededException"),
        ("ValidationException", 400, 400, "invalid_request_error", "ValidationException"),
        ("ResourceNotFoundException", 404, 404, "invalid_request_error", "ResourceNotFoundException"),
        ("AccessDeniedException", 403, 502, "api_error", "upstream_auth_failed"),
        ("UnrecognizedClientException", 403, 502, "api_error", "upstream_auth_failed"),
        ("ExpiredTokenException", 403, 502, "api_error", "upstream_auth_failed"),
        ("ModelNotReadyException", 429, 503, "api_error", "upstream_overloaded"),
        ("ServiceUnavailableException", 503, 503, "api_error", "upstream_overloaded"),
        ("ModelTimeoutException", 408, 504, "api_error", "upstream_timeout"),
        ("InternalServerException", 500, 502, "api_error", "upstream_error"),
        ("ModelErrorException", 424, 502, "api_error", "upstream_error"),
        ("SomethingNewException", 409, 409, "invalid_request_error", "SomethingNewException"),
        ("", 500, 502, "api_error", "upstream_error"),
    ],
)
def test_error_from(code, http, status, etype, out_code):
    secret = CRED.secret["secret_access_key"]
    error = translate.error_from("bedrock", code, f"failed for key {secret}", http, CRED)
    assert (error.status, error.type, error.code, error.upstream_status) == (status, etype, out_code, http)
    assert secret not in error.message


def test_error_keeps_retry_after():
    error = translate.error_from("bedrock", "ThrottlingException", "slow down", 429, None, {"retry-after": "3"})
    assert error.headers == {"retry-after": "3"}


# -- embeddings --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("model", "body", "family"),
    [
        ("amazon.titan-embed-text-v2:0", {}, "titan"),
        ("amazon.titan-embed-text-v2:0", {"dimensions": 256}, "titan"),
        ("amazon.titan-embed-text-v1", {}, "titan"),
        ("cohere.embed-english-v3", {}, "cohere"),
        ("us.cohere.embed-multilingual-v3", {}, "cohere"),
    ],
)
def test_embedding_family(model, body, family):
    assert translate.embedding_family(body, model) == family


@pytest.mark.parametrize(
    ("model", "body", "param"),
    [
        ("amazon.titan-embed-text-v2:0", {"dimensions": 300}, "dimensions"),
        ("amazon.titan-embed-text-v1", {"dimensions": 256}, "dimensions"),
        ("cohere.embed-english-v3", {"dimensions": 256}, "dimensions"),
        ("amazon.nova-lite-v1:0", {}, "model"),
    ],
)
def test_embedding_family_errors(model, body, param):
    with pytest.raises(ApiError) as info:
        translate.embedding_family(body, model)
    assert (info.value.status, info.value.param) == (400, param)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", ["a"]), (["a", "b"], ["a", "b"]), ([1, 2], None), ([[1]], None), ([], None)],
)
def test_embedding_inputs(value, expected):
    if expected is None:
        with pytest.raises(ApiError):
            translate.embedding_inputs({"input": value})
    else:
        assert translate.embedding_inputs({"input": value}) == expected


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("amazon.titan-embed-text-v2:0", {}, {"inputText": "hi", "normalize": True}),
        ("amazon.titan-embed-text-v2:0", {"dimensions": 512}, {"inputText": "hi", "normalize": True,
                                                               "dimensions": 512}),
        ("amazon.titan-embed-text-v1", {}, {"inputText": "hi"}),
    ],
)
def test_titan_embedding_request(model, body, expected):
    assert translate.titan_embedding_request("hi", body, model) == expected


@pytest.mark.parametrize(
    ("body", "input_type"),
    [({}, "search_document"), ({"input_type": "search_query"}, "search_query"), ({"input_type": "bogus"},
                                                                                 "search_document")],
)
def test_cohere_embedding_request(body, input_type):
    assert translate.cohere_embedding_request(["a", "b"], body) == {"texts": ["a", "b"], "input_type": input_type}


@pytest.mark.parametrize(
    "raw",
    [{"embeddings": [[0.1], [0.2]], "id": "x", "response_type": "embeddings_floats", "texts": ["a", "b"]},
     {"embeddings": {"float": [[0.1], [0.2]]}, "response_type": "embeddings_by_type"}],
)
def test_cohere_embedding_result(raw):
    assert translate.cohere_embedding_result(raw, 2, "bedrock") == [[0.1], [0.2]]


@pytest.mark.parametrize("raw", [{"embeddings": [[0.1]]}, {}, [1]])
def test_bad_embedding_results(raw):
    with pytest.raises(ApiError):
        translate.cohere_embedding_result(raw, 2, "bedrock")
    if not (isinstance(raw, dict) and "embeddings" in raw):
        with pytest.raises(ApiError):
            translate.titan_embedding_result(raw, "bedrock")


def test_titan_embedding_result():
    assert translate.titan_embedding_result({"embedding": [0.5], "inputTextTokenCount": 3}, "bedrock") == ([0.5], 3)


def test_embedding_response_float_and_base64():
    vectors = [[0.5, -1.25], [2.0, 0.0]]
    out = translate.embedding_response(vectors, "m", 7, None)
    assert out == {"object": "list", "model": "m", "usage": {"prompt_tokens": 7, "total_tokens": 7},
                   "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -1.25]},
                            {"object": "embedding", "index": 1, "embedding": [2.0, 0.0]}]}
    packed = translate.embedding_response(vectors, "m", 7, "base64")["data"][0]["embedding"]
    assert struct.unpack("<2f", base64.b64decode(packed)) == (0.5, -1.25)


@pytest.mark.parametrize(
    ("texts", "reported", "expected"),
    [(["abcd", "abcdefgh"], 9, Usage(input_tokens=9)), (["abcd", "abcdefgh"], None, Usage(input_tokens=3,
                                                                                           estimated=True))],
)
def test_embedding_usage(texts, reported, expected):
    assert translate.embedding_usage(texts, reported) == expected


# -- images ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("model", "body", "config"),
    [
        ("amazon.titan-image-generator-v2:0", {"prompt": "a cat"}, {"numberOfImages": 1}),
        ("amazon.nova-canvas-v1:0", {"prompt": "a cat", "n": 2, "size": "512x768", "quality": "hd"},
         {"numberOfImages": 2, "width": 512, "height": 768, "quality": "premium"}),
        ("amazon.nova-canvas-v1:0", {"prompt": "a cat", "size": "auto", "response_format": "b64_json", "seed": 4},
         {"numberOfImages": 1, "seed": 4}),
    ],
)
def test_image_request(model, body, config):
    assert translate.image_request(body, model) == {
        "taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a cat"}, "imageGenerationConfig": config}


@pytest.mark.parametrize(
    ("model", "body", "param"),
    [
        ("stability.sd3-large-v1:0", {"prompt": "x"}, "model"),
        ("amazon.nova-canvas-v1:0", {"prompt": "x", "response_format": "url"}, "response_format"),
        ("amazon.nova-canvas-v1:0", {"prompt": "x", "size": "big"}, "size"),
    ],
)
def test_image_request_errors(model, body, param):
    with pytest.raises(ApiError) as info:
        translate.image_request(body, model)
    assert (info.value.status, info.value.param) == (400, param)


def test_image_response():
    body, usage = translate.image_response({"images": ["QUJD", "REVG"], "error": None}, 5, "bedrock")
    assert body == {"created": 5, "data": [{"b64_json": "QUJD"}, {"b64_json": "REVG"}]}
    assert usage == Usage(images=2)
    with pytest.raises(ApiError) as info:
        translate.image_response({"images": [], "error": "blocked"}, 5, "bedrock")
    assert "blocked" in info.value.message


# -- budget ------------------------------------------------------------------------------------

def test_translation_is_cheap():
    """Budget: under 0.3 ms a request/response, under 20 us a streamed chunk (generous margins
    for a loaded CI machine are taken by timing many and comparing the mean)."""
    body = {"messages": [{"role": "system", "content": "Be brief."}, user("Hello " * 50)], "max_tokens": 100,
            "tools": TOOLS}
    response = converse([{"text": "Hello " * 50}])
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        translate.converse_request(body, MODEL)
        translate.chat_completion(response, MODEL, "c", 1, "bedrock")
    per_call = (time.perf_counter() - started) / rounds
    s = state()
    delta = {"delta": {"text": "token"}, "contentBlockIndex": 0}
    started = time.perf_counter()
    for _ in range(rounds * 5):
        s.feed(b"contentBlockDelta", delta)
    per_chunk = (time.perf_counter() - started) / (rounds * 5)
    slack = 3 if sys.gettrace() is None else 20  # coverage tracing slows everything down
    assert per_call < 0.0003 * slack, per_call
    assert per_chunk < 0.00002 * slack, per_chunk


# -- Claude's own Messages API (the Anthropic surface's native path) -----------------------------


@pytest.mark.parametrize(("model", "claude"), [
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", True), ("us.anthropic.claude-opus-4-1-20250805-v1:0", True),
    ("amazon.nova-lite-v1:0", False), ("anthropic.other", False)])
def test_is_claude(model, claude):
    assert translate.is_claude(model) is claude


@pytest.mark.parametrize(("betas", "expected"), [(None, None), ("a-1", ["a-1"]), ("a-1, b-2,", ["a-1", "b-2"])])
def test_claude_body_keeps_the_clients_body(betas, expected):
    body = {"model": "bedrock/x", "max_tokens": 9, "stream": True, "messages": [{"role": "user", "content": "hi"}],
            "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]}
    out = translate.claude_body(body, betas)
    want = {"max_tokens": 9, "messages": body["messages"], "system": body["system"],
            "anthropic_version": "bedrock-2023-05-31"}
    assert out == (want if expected is None else {**want, "anthropic_beta": expected})


def test_claude_chunks_relay_anthropics_events():
    from tests.fakes import anthropic as fa

    msg = fa.message(fa.text("Hello"), tokens=fa.usage(7, 2))
    chunks = translate.ClaudeChunks("bedrock")
    out = b"".join(b"".join(chunks.feed(b"chunk", {"bytes": orjson.dumps(e)})) for e in fa.events(msg))
    assert out == b"".join(fa.sse(fa.events(msg)))
    assert chunks.done and chunks.usage == Usage(input_tokens=7, output_tokens=2)
    assert chunks.feed(b"throttlingException", {"message": "slow down"}) == ()
    assert chunks.error is not None and chunks.error.status == 429
