"""The Anthropic Messages surface, table-driven: requests into the internal OpenAI body, OpenAI
answers and chunk streams into Anthropic's message and event sequence, errors in its shape."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers import sse
from chalicelib.providers.anthropic import translate as provider
from chalicelib.providers.base import UpstreamError, Usage
from chalicelib.surfaces.anthropic_messages import translate as t

PNG = "iVBORw0KGgo="
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def req(**fields: Any) -> dict[str, Any]:
    return {"model": "openai/gpt-4o", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **fields}


BASE = {"model": "openai/gpt-4o", "max_completion_tokens": 100}

# -- request: Anthropic -> internal OpenAI body ------------------------------------------------

REQUESTS = [
    ("plain text", req(), {**BASE, "messages": [{"role": "user", "content": "hi"}]}),
    ("system string, sampling, stops; metadata and top_k have no counterpart",
     req(system="Be brief.", temperature=0.2, top_p=0.9, top_k=5, stop_sequences=["END"],
         metadata={"user_id": "u1"}),
     {**BASE, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
      "temperature": 0.2, "top_p": 0.9, "stop": ["END"]}),
    ("system blocks (cache_control is Anthropic's alone)",
     req(system=[{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "B"}]),
     {**BASE, "messages": [{"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
                           {"role": "user", "content": "hi"}]}),
    ("one text block becomes a plain string; images become image_url parts",
     req(messages=[{"role": "user", "content": [{"type": "text", "text": "solo"}]},
                   {"role": "assistant", "content": "ok"},
                   {"role": "user", "content": [
                       {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                       {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                       {"type": "text", "text": "what?"}]}]),
     {**BASE, "messages": [
         {"role": "user", "content": "solo"}, {"role": "assistant", "content": "ok"},
         {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                                      {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                                      {"type": "text", "text": "what?"}]}]}),
    ("documents: base64 as a file part, text source as text",
     req(messages=[{"role": "user", "content": [
         {"type": "document", "title": "r.pdf", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
         {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}}]}]),
     {**BASE, "messages": [{"role": "user", "content": [
         {"type": "file", "file": {"filename": "r.pdf", "file_data": "data:application/pdf;base64,JVBE"}},
         {"type": "text", "text": "plain doc"}]}]}),
    (("tool round trip: tool_use -> tool_calls, tool_result -> tool messages ahead of the user's text; "
      "thinking dropped; tools, tool_choice and parallel calls"),
     req(tools=[{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA},
                {"type": "custom", "name": "noop"}],
         tool_choice={"type": "any", "disable_parallel_tool_use": True},
         messages=[
             {"role": "user", "content": "Weather in Paris and Rome?"},
             {"role": "assistant", "content": [
                 {"type": "thinking", "thinking": "two calls", "signature": "sig"},
                 {"type": "text", "text": "Checking."},
                 {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                 {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]},
             {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                 {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
                  "content": [{"type": "text", "text": "no data"},
                              {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
                 {"type": "text", "text": "And?"}]}]),
     {**BASE,
      "messages": [
          {"role": "user", "content": "Weather in Paris and Rome?"},
          {"role": "assistant", "content": "Checking.", "tool_calls": [
              {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
              {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]},
          {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
          {"role": "tool", "tool_call_id": "toolu_2", "content": "no data"},
          {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                                       {"type": "text", "text": "And?"}]}],
      "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA,
                                                  "description": "Weather"}},
                {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}}],
      "tool_choice": "required", "parallel_tool_calls": False}),
    ("a named tool choice; an assistant turn of thinking alone says nothing",
     req(tools=[{"name": "f", "input_schema": {"type": "object"}}], tool_choice={"type": "tool", "name": "f"},
         messages=[{"role": "user", "content": "a"},
                   {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xx"}]},
                   {"role": "user", "content": "b"}]),
     {**BASE, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
      "tool_choice": {"type": "function", "function": {"name": "f"}}}),
    ("structured output as response_format; effort ignored",
     req(output_config={"effort": "high", "format": {"type": "json_schema", "schema": WEATHER_SCHEMA}}),
     {**BASE, "messages": [{"role": "user", "content": "hi"}],
      "response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": WEATHER_SCHEMA}}}),
    ("stream asks for the usage chunk; thinking config dropped",
     req(stream=True, thinking={"type": "enabled", "budget_tokens": 1024}),
     {**BASE, "messages": [{"role": "user", "content": "hi"}], "stream": True,
      "stream_options": {"include_usage": True}}),
]


@pytest.mark.parametrize(("body", "expected"), [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS])
def test_request_to_openai(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert t.to_openai(body) == expected


REFUSED = [
    ("server tool", req(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools[0]"),
    ("document by file id", req(messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "file", "file_id": "file_1"}}]}]), "messages[0].content[0]"),
    ("server tool result block", req(messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}]}]),
     "messages[1].content[0]"),
]


@pytest.mark.parametrize(("body", "param"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_untranslatable_requests_are_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        t.to_openai(body)
    assert (caught.value.status, caught.value.param) == (400, param)


def test_lenient_translation_keeps_what_it_cannot_translate_as_text_for_the_hold() -> None:
    block = {"type": "document", "source": {"type": "file", "file_id": "file_1"}}
    body = req(tools=[{"type": "web_search_20250305", "name": "web_search"}],
               messages=[{"role": "user", "content": [block, {"type": "text", "text": "sum up"}]}])
    out = t.to_openai(body, lenient=True)
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": orjson.dumps(block).decode()},
                                                            {"type": "text", "text": "sum up"}]}]
    assert "tools" not in out


def test_estimate_counts_text_but_not_ids_data_or_signatures() -> None:
    small = req(messages=[{"role": "user", "content": "x" * 400}])
    padded = req(messages=[{"role": "user", "content": [
        {"type": "text", "text": "x" * 400},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A" * 100_000}}]}])
    assert t.estimate_input_tokens(small) == t.estimate_input_tokens(padded) == 100 + 4


# -- answer: OpenAI completion -> Anthropic message --------------------------------------------


def completion(message: dict[str, Any], finish: str, usage: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024",
                         "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
                         "usage": usage or {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})


USAGE = {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 3}

ANSWERS = [
    ("text", completion({"content": "Paris."}, "stop"), False,
     {"content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn", "usage": USAGE}),
    ("cut at the limit, cached input apart",
     completion({"content": "Par"}, "length", {"prompt_tokens": 110, "completion_tokens": 3,
                                               "prompt_tokens_details": {"cached_tokens": 100}}), False,
     {"content": [{"type": "text", "text": "Par"}], "stop_reason": "max_tokens",
      "usage": {**USAGE, "cache_read_input_tokens": 100}}),
    ("tool calls (arguments that are no object become {})",
     completion({"content": None, "tool_calls": [
         {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
         {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": "not json"}}]}, "tool_calls"),
     False,
     {"content": [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                  {"type": "tool_use", "id": "call_2", "name": "noop", "input": {}}],
      "stop_reason": "tool_use", "usage": USAGE}),
    ("reasoning shown as thinking when asked for", completion({"content": "42", "reasoning_content": "hmm"}, "stop"),
     True, {"content": [{"type": "thinking", "thinking": "hmm", "signature": ""}, {"type": "text", "text": "42"}],
            "stop_reason": "end_turn", "usage": USAGE}),
    ("reasoning not shown unasked; a refusal is what was said",
     completion({"content": None, "refusal": "I can't.", "reasoning_content": "hmm"}, "content_filter"), False,
     {"content": [{"type": "text", "text": "I can't."}], "stop_reason": "refusal", "usage": USAGE}),
]


@pytest.mark.parametrize(("raw", "thinking", "expected"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS])
def test_message_from_openai(raw: bytes, thinking: bool, expected: dict[str, Any]) -> None:
    assert orjson.loads(t.message_from(raw, thinking=thinking)) == {
        "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-4o-2024", "stop_sequence": None,
        **expected}


def test_stop_reasons_are_the_provider_table_read_backwards() -> None:
    for finish, reason in t.STOP_REASONS.items():
        if finish != "function_call":
            assert provider.finish_reason(reason) == finish


# -- stream: OpenAI chunks -> Anthropic events -------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return sse.frame(orjson.dumps({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1,
                                   "model": "gpt-4o-2024", "choices": choices, **extra}))


def render(frames: list[bytes], usage: Usage | None, error: ApiError | None = None,
           thinking: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The events a renderer sends for these frames, as (event name, data); each event's name
    must be its data's type, as Anthropic sends them."""
    renderer = t.MessageStream(thinking)
    raw = b"".join(renderer.feed(f) for f in frames) + renderer.close(usage, error)
    out = []
    for block in raw.decode().split("\n\n")[:-1]:
        name, data = sse.parse_event(block.encode())
        payload = orjson.loads(data)
        assert name is not None and name.decode() == payload["type"]
        out.append((payload["type"], payload))
    return out


START = ("message_start", {"type": "message_start", "message": {
    "id": "chatcmpl-9", "type": "message", "role": "assistant", "model": "gpt-4o-2024", "content": [],
    "stop_reason": None, "stop_sequence": None,
    "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}}})
PING = ("ping", {"type": "ping"})


def start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, **d: Any) -> tuple[str, dict[str, Any]]:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}


def stop(index: int) -> tuple[str, dict[str, Any]]:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


def end(reason: str, usage: dict[str, int]) -> list[tuple[str, dict[str, Any]]]:
    return [("message_delta", {"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                               "usage": usage}),
            ("message_stop", {"type": "message_stop"})]


TEXT_STREAM = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}), chunk({"content": "lo."}),
               chunk({}, "stop"), chunk(usage={"prompt_tokens": 120, "completion_tokens": 2, "total_tokens": 122,
                                               "prompt_tokens_details": {"cached_tokens": 100}})]
TOOL_STREAM = [
    chunk({"role": "assistant", "content": "Let me check."}),
    chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                           "function": {"name": "get_weather", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Paris"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                           "function": {"name": "get_time", "arguments": "{}"}}]}),
    chunk({}, "tool_calls"),
    chunk(usage={"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}),
]
STREAMS = [
    ("text with a usage chunk: cache reads and writes apart, as the adapter reported them",
     TEXT_STREAM, Usage(input_tokens=20, output_tokens=2, cache_read_tokens=90, cache_write_tokens=10), None, False,
     [START, PING, start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="Hel"),
      delta(0, type="text_delta", text="lo."), stop(0),
      *end("end_turn", {"input_tokens": 20, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 90,
                        "output_tokens": 2})]),
    ("text then two tool calls with streamed arguments", TOOL_STREAM, Usage(input_tokens=50, output_tokens=20), None,
     False,
     [START, PING, start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="Let me check."), stop(0),
      start(1, {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}),
      delta(1, type="input_json_delta", partial_json='{"ci'),
      delta(1, type="input_json_delta", partial_json='ty":"Paris"}'), stop(1),
      start(2, {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}),
      delta(2, type="input_json_delta", partial_json="{}"), stop(2),
      *end("tool_use", {"input_tokens": 50, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                        "output_tokens": 20})]),
    ("reasoning as a thinking block when asked for",
     [chunk({"role": "assistant", "reasoning_content": "Think"}), chunk({"reasoning_content": "ing."}),
      chunk({"content": "Done."}), chunk({}, "length")], Usage(input_tokens=5, output_tokens=9), None, True,
     [START, PING, start(0, {"type": "thinking", "thinking": "", "signature": ""}),
      delta(0, type="thinking_delta", thinking="Think"), delta(0, type="thinking_delta", thinking="ing."), stop(0),
      start(1, {"type": "text", "text": ""}), delta(1, type="text_delta", text="Done."), stop(1),
      *end("max_tokens", {"input_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                          "output_tokens": 9})]),
    ("reasoning unasked is not shown",
     [chunk({"role": "assistant", "reasoning_content": "hidden"}), chunk({"content": "Hi"}), chunk({}, "stop")],
     None, None, False,
     [START, PING, start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="Hi"), stop(0),
      *end("end_turn", {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                        "output_tokens": 0})]),
    ("an error mid-stream ends it with an error event, no message_stop",
     TEXT_STREAM[:2], None, UpstreamError(502, "Provider openai failed mid-stream: boom", code="upstream_error"), False,
     [START, PING, start(0, {"type": "text", "text": ""}), delta(0, type="text_delta", text="Hel"),
      ("error", {"type": "error", "error": {"type": "api_error", "message": "Provider openai failed mid-stream: boom"}})]),
]


@pytest.mark.parametrize(("frames", "usage", "error", "thinking", "expected"), [s[1:] for s in STREAMS],
                         ids=[s[0] for s in STREAMS])
def test_stream_renderer(frames: list[bytes], usage: Usage | None, error: ApiError | None, thinking: bool,
                         expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert render(frames, usage, error, thinking) == expected


def test_native_relay_passes_frames_and_renders_a_failure() -> None:
    frame = b'event: ping\ndata: {"type": "ping"}\n\n'
    relay = t.Relay()
    assert relay.feed(frame) == frame
    assert relay.close(Usage(), None) == b""
    closing = relay.close(None, UpstreamError(503, "overloaded", code="upstream_overloaded"))
    assert closing == b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"overloaded"}}\n\n'


# -- errors ------------------------------------------------------------------------------------

ERRORS = [
    (ApiError(400, "bad"), "invalid_request_error"),
    (ApiError(401, "who?"), "authentication_error"),
    (ApiError(402, "no credits"), "billing_error"),
    (ApiError(403, "admins only"), "permission_error"),
    (ApiError(404, "no such model"), "not_found_error"),
    (ApiError(405, "wrong method"), "invalid_request_error"),
    (ApiError(413, "too big"), "request_too_large"),
    (ApiError(429, "slow down"), "rate_limit_error"),
    (ApiError(500, "bug"), "api_error"),
    (ApiError(502, "upstream failed"), "api_error"),
    (ApiError(503, "no credential", code="no_active_credential"), "api_error"),
    (UpstreamError(503, "busy", code="upstream_overloaded"), "overloaded_error"),
    (ApiError(504, "slow upstream"), "timeout_error"),
    (UpstreamError(400, "passed through", code="invalid_request_error"), "invalid_request_error"),
]


@pytest.mark.parametrize(("error", "kind"), ERRORS, ids=[f"{e.status}-{k}" for e, k in ERRORS])
def test_error_body(error: ApiError, kind: str) -> None:
    assert t.error_body(error) == {"type": "error", "error": {"type": kind, "message": error.message}}


# -- models ------------------------------------------------------------------------------------

IDS = ["a/1", "a/2", "b/1", "b/2", "c/1"]
PAGES = [
    ({"limit": 20}, ["a/1", "a/2", "b/1", "b/2", "c/1"], False),
    ({"limit": 2}, ["a/1", "a/2"], True),
    ({"limit": 2, "after_id": "a/2"}, ["b/1", "b/2"], True),
    ({"limit": 2, "after_id": "b/2"}, ["c/1"], False),
    ({"limit": 2, "before_id": "c/1"}, ["b/1", "b/2"], True),
    ({"limit": 2, "before_id": "b/1"}, ["a/1", "a/2"], False),
    ({"limit": 2, "after_id": "gone"}, [], False),
]


@pytest.mark.parametrize(("query", "ids", "more"), PAGES, ids=[str(p[0]) for p in PAGES])
def test_model_page(query: dict[str, Any], ids: list[str], more: bool) -> None:
    page = t.model_page(IDS, "2025-01-01T00:00:00Z", **query)
    assert [m["id"] for m in page["data"]] == ids and page["has_more"] is more
    assert (page["first_id"], page["last_id"]) == ((ids[0], ids[-1]) if ids else (None, None))
    assert all(m == {"type": "model", "id": m["id"], "display_name": m["id"], "created_at": "2025-01-01T00:00:00Z"}
               for m in page["data"])


# -- validation at the edge ----------------------------------------------------------------------

INVALID = [
    ({"max_tokens": None}, "max_tokens", "Input should be a valid integer"),
    ({"messages": []}, "messages", "at least 1 item"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role", "'user' or 'assistant'"),
    ({"messages": [{"role": "user", "content": [{"type": "image"}]}]}, "messages[0].content[0]",
     "image blocks need 'source'"),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text"}]}]}]},
     "messages[0].content[0]", "in its content, text blocks need 'text'"),
    ({"system": [{"type": "text"}]}, "system[0]", "text blocks need 'text'"),
    ({"tool_choice": {"type": "tool"}}, "tool_choice", "needs the tool's name"),
    ({"temperature": 1.5}, "temperature", "less than or equal to 1"),
    ({"output_config": {"format": {"type": "json_schema", "schema": "x"}}}, "output_config.format.schema",
     "valid dictionary"),
]


@pytest.mark.parametrize(("change", "param", "words"), INVALID, ids=[i[1] for i in INVALID])
def test_invalid_requests_name_the_field(change: dict[str, Any], param: str, words: str) -> None:
    from chalicelib.api.anthropic import MessagesRequest
    from chalicelib.api.validation import validate

    with pytest.raises(ApiError) as caught:
        validate(MessagesRequest, {**req(), **change})
    assert (caught.value.status, caught.value.param) == (400, param)
    assert words in caught.value.message


def test_unknown_blocks_and_fields_pass_validation_for_anthropic_itself() -> None:
    from chalicelib.api.anthropic import MessagesRequest
    from chalicelib.api.validation import validate

    validate(MessagesRequest, req(context_management={"edits": []}, messages=[{"role": "user", "content": [
        {"type": "search_result", "source": "https://x.test", "title": "t", "content": [{"type": "text", "text": "a"}]},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": {"type": "error"}}]}]))
