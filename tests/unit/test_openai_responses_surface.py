"""The Responses surface's translators, both ways, and its stream renderers, table-driven."""
from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.gateway.auth import ENV_ADMIN
from chalicelib.handlers import responses_api
from chalicelib.providers.base import Usage
from chalicelib.providers.openai_compat.translate import ResponsesRelay
from chalicelib.providers.sse import frame
from chalicelib.store import responses as stored
from chalicelib.store.db import Store
from chalicelib.store.migrations import migrate
from chalicelib.surfaces.openai_responses import translate as t
from tests.fakes import responses as fr
from tests.support import cassettes, openapi

USER_HI = {"role": "user", "content": "Hi"}
FN_TOOL = {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True}


def ids() -> t.Ids:
    counter = itertools.count()
    return lambda prefix: f"{prefix}_{next(counter)}"


def chat(body: dict[str, Any], previous: list[dict[str, Any]] | None = None, lenient: bool = False) -> dict[str, Any]:
    return t.to_chat({"model": "m", **body}, previous or [], lenient=lenient)


# -- request -> chat -----------------------------------------------------------------------------

TO_CHAT = [
    ("string input", {"input": "Hi"}, {"messages": [USER_HI]}),
    ("instructions first, as system", {"instructions": "Be brief", "input": "Hi"},
     {"messages": [{"role": "system", "content": "Be brief"}, USER_HI]}),
    ("developer and assistant turns as text",
     {"input": [{"role": "developer", "content": "Rules"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "A"}, {"type": "refusal",
                                                                                      "refusal": "B"}]},
                {"type": "message", "role": "user", "content": "Q"}]},
     {"messages": [{"role": "system", "content": "Rules"}, {"role": "assistant", "content": "AB"},
                   {"role": "user", "content": "Q"}]}),
    ("image and file parts",
     {"input": [{"role": "user", "content": [
         {"type": "input_text", "text": "What is it?"},
         {"type": "input_image", "image_url": "https://x/cat.png", "detail": "low"},
         {"type": "input_file", "file_data": "data:application/pdf;base64,AA==", "filename": "a.pdf"}]}]},
     {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "What is it?"},
         {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
         {"type": "file", "file": {"file_data": "data:application/pdf;base64,AA==", "filename": "a.pdf"}}]}]}),
    ("a turn's text and calls share its message; outputs are tool messages; reasoning stays behind",
     {"input": [{"role": "user", "content": "Weather?"},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"role": "assistant", "content": "Checking."},
                {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{\"a\":1}"},
                {"type": "function_call", "call_id": "c2", "name": "w", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sun"},
                {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "rain"}]}]},
     {"messages": [{"role": "user", "content": "Weather?"},
                   {"role": "assistant", "content": "Checking.", "tool_calls": [
                       {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{\"a\":1}"}},
                       {"id": "c2", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
                   {"role": "tool", "tool_call_id": "c1", "content": "sun"},
                   {"role": "tool", "tool_call_id": "c2", "content": "rain"}]}),
    ("a call with no text before it opens an assistant message",
     {"input": [{"type": "function_call", "call_id": "c", "name": "w", "arguments": "{}"}]},
     {"messages": [{"role": "assistant", "content": None,
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "w", "arguments": "{}"}}]}]}),
    ("function tools, a named tool choice, parallel calls",
     {"input": "Hi", "tools": [FN_TOOL], "tool_choice": {"type": "function", "name": "f"},
      "parallel_tool_calls": False},
     {"messages": [USER_HI], "parallel_tool_calls": False,
      "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"},
                                                  "strict": True}}],
      "tool_choice": {"type": "function", "function": {"name": "f"}}}),
    ("a tool choice without tools is left out", {"input": "Hi", "tool_choice": "required"}, {"messages": [USER_HI]}),
    ("json_schema format", {"input": "Hi", "text": {"format": {"type": "json_schema", "name": "W", "strict": True,
                                                                "schema": {"type": "object"}}}},
     {"messages": [USER_HI], "response_format": {"type": "json_schema", "json_schema": {
         "name": "W", "schema": {"type": "object"}, "strict": True}}}),
    ("json_object format", {"input": "Hi", "text": {"format": {"type": "json_object"}}},
     {"messages": [USER_HI], "response_format": {"type": "json_object"}}),
    ("text format adds nothing", {"input": "Hi", "text": {"format": {"type": "text"}}}, {"messages": [USER_HI]}),
    ("sampling, limits, effort, stream",
     {"input": "Hi", "reasoning": {"effort": "high", "summary": "auto"}, "max_output_tokens": 99, "temperature": 0.2,
      "top_p": 0.9, "user": "u1", "stream": True, "store": False, "metadata": {"a": "b"}},
     {"messages": [USER_HI], "stream": True, "reasoning_effort": "high", "max_completion_tokens": 99,
      "temperature": 0.2, "top_p": 0.9, "user": "u1"}),
]


@pytest.mark.parametrize("body, expected", [case[1:] for case in TO_CHAT], ids=[case[0] for case in TO_CHAT])
def test_request_to_chat(body, expected):
    assert chat(body) == {"model": "m", **expected}


def test_previous_items_come_before_the_new_input_and_after_instructions():
    previous = t.history(t.input_items("I am Ada."), [{"id": "msg_1", "type": "message", "status": "completed",
                                                       "role": "assistant",
                                                       "content": [{"type": "output_text", "text": "Hi Ada."}]}],
                         native=False)
    assert chat({"instructions": "Brief.", "input": "Who am I?"}, previous)["messages"] == [
        {"role": "system", "content": "Brief."},
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Hi Ada."},
        {"role": "user", "content": "Who am I?"}]


NATIVE_ONLY = [
    ("built-in tool", {"input": "Hi", "tools": [FN_TOOL, {"type": "web_search"}]}, "tools[1].type"),
    ("built-in tool call item", {"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0].type"),
    ("image by file id", {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
     "input[0].content[0]"),
    ("hosted tool choice", {"input": "Hi", "tools": [FN_TOOL], "tool_choice": {"type": "web_search"}}, "tool_choice"),
    ("stored prompt", {"input": "Hi", "prompt": {"id": "pmpt_1"}}, "prompt"),
]


@pytest.mark.parametrize("body, param", [case[1:] for case in NATIVE_ONLY], ids=[case[0] for case in NATIVE_ONLY])
def test_what_only_openai_does_is_refused_unless_it_may_go_native(body, param):
    with pytest.raises(ApiError) as info:
        chat(body)
    assert (info.value.status, info.value.param) == (400, param)
    lenient = chat(body, lenient=True)  # only sizes the hold: what chat lacks is left out
    assert all(tool["type"] == "function" for tool in lenient.get("tools", []))


# -- chat answer -> Response -------------------------------------------------------------------

CTX = t.Context(id="resp_1", created_at=1, model="deepseek/deepseek-chat", request={"model": "x", "input": "Hi"})


def answer(message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion", "created": 1, "model": "deepseek-chat",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
            **({"usage": usage} if usage else {})}


FROM_CHAT = [
    ("text", answer({"content": "Hi."}), "completed", None,
     [{"id": "msg_0", "type": "message", "status": "completed", "role": "assistant",
       "content": [{"type": "output_text", "text": "Hi.", "annotations": [], "logprobs": []}]}]),
    ("reasoning first, then text", answer({"content": "4", "reasoning_content": "2+2"}), "completed", None,
     [{"id": "rs_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "2+2"}]},
      {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
       "content": [{"type": "output_text", "text": "4", "annotations": [], "logprobs": []}]}]),
    ("refusal", answer({"content": None, "refusal": "No."}), "completed", None,
     [{"id": "msg_0", "type": "message", "status": "completed", "role": "assistant",
       "content": [{"type": "refusal", "refusal": "No."}]}]),
    ("cut at the limit", answer({"content": "Once"}, "length"), "incomplete", {"reason": "max_output_tokens"},
     [{"id": "msg_0", "type": "message", "status": "incomplete", "role": "assistant",
       "content": [{"type": "output_text", "text": "Once", "annotations": [], "logprobs": []}]}]),
    ("filtered", answer({"content": ""}, "content_filter"), "incomplete", {"reason": "content_filter"}, []),
]


@pytest.mark.parametrize("chat_json, status, incomplete, output", [c[1:] for c in FROM_CHAT],
                         ids=[c[0] for c in FROM_CHAT])
def test_chat_answer_to_response(chat_json, status, incomplete, output):
    response = t.chat_to_response(chat_json, CTX, ids())
    assert (response["status"], response["incomplete_details"], response["output"]) == (status, incomplete, output)
    assert (response["id"], response["model"], response["object"]) == ("resp_1", "deepseek-chat", "response")
    openapi.validate("Response", response)


def test_recorded_parallel_tool_calls_become_function_call_items_with_usage():
    (interaction,) = cassettes.load("chat-parallel-tools")
    completion = orjson.loads(interaction.response_body)
    response = t.chat_to_response(completion, CTX, ids())
    calls = completion["choices"][0]["message"]["tool_calls"]
    assert [(i["type"], i["call_id"], i["name"], i["arguments"]) for i in response["output"]] == [
        ("function_call", c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls]
    usage = completion["usage"]
    assert response["usage"] == {
        "input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": usage["completion_tokens_details"]["reasoning_tokens"]},
        "total_tokens": usage["total_tokens"]}
    openapi.validate("Response", response)


@pytest.mark.parametrize("usage, expected", [
    (Usage(input_tokens=10, output_tokens=5), (10, 0, 0, 5, 0)),
    (Usage(input_tokens=10, cache_read_tokens=80, cache_write_tokens=30, output_tokens=5, reasoning_tokens=3),
     (120, 80, 30, 5, 3)),
])
def test_usage_counts_cache_reads_and_writes_as_input(usage, expected):
    u = t.usage_object(usage)
    details = u["input_tokens_details"]
    assert (u["input_tokens"], details["cached_tokens"], details["cache_write_tokens"], u["output_tokens"],
            u["output_tokens_details"]["reasoning_tokens"]) == expected
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"]


# -- chat chunks -> events ---------------------------------------------------------------------


def parse(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for block in raw.decode().strip().split("\n\n"):
        name, data = block.split("\n")
        event = orjson.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        events.append(event)
    return events


def render(frames: list[bytes], usage: Usage | None = None, error: ApiError | None = None,
           kept: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    renderer = t.ResponseEvents(CTX, kept.append if kept is not None else None, ids())
    events = parse(b"".join(renderer.feed(f) for f in frames) + renderer.close(usage, error))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        openapi.validate("ResponseStreamEvent", event)
    return events


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return frame(orjson.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
                               "choices": choices, **extra}))


def test_recorded_text_stream():
    (interaction,) = cassettes.load("chat-streaming")
    kept: list[dict[str, Any]] = []
    events = render(interaction.sse_frames(), Usage(input_tokens=8, output_tokens=20), kept=kept)
    types = [e["type"] for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    done = next(e for e in events if e["type"] == "response.output_text.done")
    assert done["text"] == text and text
    final = events[-1]["response"]
    assert final["output"][0]["content"][0]["text"] == text and final["model"] == "gpt-5-nano-2025-08-07"
    assert final["usage"]["input_tokens"] == 8 and kept == [final]


TOOL_STREAM = [
    chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather", "arguments": ""}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
    chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                           "function": {"name": "time", "arguments": "{}"}}]}),
    chunk({}, "tool_calls"),
    chunk(None, usage={"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}),
    frame(b"[DONE]"),
]


def test_streamed_parallel_function_calls():
    events = render(TOOL_STREAM, Usage(input_tokens=50, output_tokens=20))
    assert [(e["type"], e.get("output_index")) for e in events] == [
        ("response.created", None), ("response.in_progress", None),
        ("response.output_item.added", 0),
        ("response.function_call_arguments.delta", 0), ("response.function_call_arguments.delta", 0),
        ("response.output_item.added", 1), ("response.function_call_arguments.delta", 1),
        ("response.function_call_arguments.done", 0), ("response.output_item.done", 0),
        ("response.function_call_arguments.done", 1), ("response.output_item.done", 1),
        ("response.completed", None)]
    added = events[2]["item"]
    assert (added["id"], added["call_id"], added["name"], added["arguments"]) == ("fc_0", "call_a", "weather", "")
    assert [(i["call_id"], i["arguments"], i["status"]) for i in events[-1]["response"]["output"]] == [
        ("call_a", "{\"city\":\"Paris\"}", "completed"), ("call_b", "{}", "completed")]


def test_text_then_a_call_closes_the_message_first():
    events = render([chunk({"content": "Let me check."}), *TOOL_STREAM[:3], chunk({}, "tool_calls")])
    assert [e["type"] for e in events][2:] == [
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"]
    assert "usage" not in events[-1]["response"]  # none reported


def test_mid_stream_error_ends_with_error_and_failed_response():
    kept: list[dict[str, Any]] = []
    error = ApiError(502, "Provider deepseek failed mid-stream: overloaded", code="upstream_error")
    events = render([chunk({"content": "Hal"})], None, error, kept)
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    assert (events[-2]["code"], events[-2]["message"]) == ("upstream_error", error.message)
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": error.message}
    assert not kept  # a failed response is not kept


def test_error_before_any_chunk_still_opens_the_response():
    events = render([], None, ApiError(429, "slow down"))
    assert [e["type"] for e in events] == ["response.created", "response.in_progress", "error", "response.failed"]
    assert events[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_length_finish_ends_incomplete():
    events = render([chunk({"content": "Once"}), chunk({}, "length")], Usage(1, 1))
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-2]["item"]["status"] == "incomplete"


# -- native: OpenAI's own stream, relayed ------------------------------------------------------

FINAL = fr.response(fr.reasoning(), fr.message("Native."), tokens=fr.usage(40, 12, cached=30, reasoning_tokens=8))
NATIVE_FRAMES = fr.sse(fr.events(FINAL))


def relay(frames: tuple[bytes, ...]) -> ResponsesRelay:
    state = ResponsesRelay("openai")
    for raw in frames:
        event, data = raw.split(b"\n")[0][7:], raw.split(b"\n")[1][6:]
        assert state.feed(event, data) == (raw,)  # relayed byte for byte
    return state


def test_relay_reads_usage_from_the_completed_event():
    state = relay(NATIVE_FRAMES)
    assert state.done and state.error is None
    assert state.usage == Usage(input_tokens=10, cache_read_tokens=30, output_tokens=12, reasoning_tokens=8)
    assert state.output_chars == len("Native.")


def test_relay_notes_an_error_event():
    state = relay(fr.sse(fr.events(FINAL, error_after=4)))
    assert state.error is not None and state.error.status == 502 and state.usage is None


def test_passthrough_keeps_the_final_response_and_adds_nothing():
    kept: list[dict[str, Any]] = []
    renderer = t.Passthrough(kept.append)
    assert b"".join(renderer.feed(f) for f in NATIVE_FRAMES) == b"".join(NATIVE_FRAMES)
    assert renderer.close(Usage(), None) == b"" and kept == [FINAL]


@pytest.mark.parametrize("frames, closing", [
    (fr.sse(fr.events(FINAL))[:5], [{"type": "error", "code": "upstream_bad_response", "message": "cut",
                                     "param": None, "sequence_number": 5}]),
    (fr.sse(fr.events(FINAL, error_after=5)), []),  # the provider said so itself
])
def test_passthrough_ends_a_broken_stream_with_one_error(frames, closing):
    renderer = t.Passthrough()
    for f in frames:
        renderer.feed(f)
    raw = renderer.close(None, ApiError(502, "cut", code="upstream_bad_response"))
    assert (parse(raw) if raw else []) == closing


# -- stored conversations ------------------------------------------------------------------------


def test_history_of_a_native_response_is_kept_whole():
    output = [fr.reasoning(), fr.message("Hi.")]
    assert t.history([{"type": "message", "role": "user", "content": "Hi"}], output, native=True)[1:] == output


def test_history_of_a_translated_response_drops_aihubs_ids_and_reasoning():
    output = t.chat_to_response(answer({"content": "Hi.", "reasoning_content": "r", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}), CTX, ids())["output"]
    assert t.history([], output, native=False) == [
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hi.", "annotations": [], "logprobs": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}]


def test_listed_items_have_ids_and_content_lists():
    items = [*t.input_items("Hi"), {"role": "assistant", "content": "Yo"},
             {"type": "function_call_output", "call_id": "c", "output": "x", "id": "fco_own"}]
    listed = t.listed_items(items, "resp_abc")
    assert [i["id"] for i in listed] == ["msg_abc0000", "msg_abc0001", "fco_own"]
    assert listed[1]["content"] == [{"type": "output_text", "text": "Yo"}]
    assert listed[0]["status"] == "completed"
    openapi.validate("ResponseItemList", {"object": "list", "data": listed[:1], "first_id": "msg_abc0000",
                                          "last_id": "msg_abc0000", "has_more": False})


# -- the table --------------------------------------------------------------------------------


def test_stored_responses_are_per_account_expire_and_are_purged(tmp_path):
    db = Store(str(tmp_path / "aihub.db"))
    migrate(db)

    def row(id: str, account: str | None, expires_at: int) -> stored.StoredResponse:
        return stored.StoredResponse(id, account, "m", False, {"id": id, "output": []}, [{"type": "message"}], 0,
                                     expires_at)

    for r in (row("resp_a", "acct_1", 2000), row("resp_b", None, 2000), row("resp_old", "acct_1", 1000)):
        db.write(lambda conn, r=r: stored.save(conn, r))
    assert stored.get(db, "resp_a", "acct_1", 1500).input_items == [{"type": "message"}]
    assert stored.get(db, "resp_a", "acct_2", 1500) is None  # another account's
    assert stored.get(db, "resp_a", None, 1500) is None
    assert stored.get(db, "resp_b", None, 1500).id == "resp_b"  # the environment's admin key has its own
    assert stored.get(db, "resp_old", "acct_1", 1500) is None  # expired, even before the purge
    assert not stored.delete(db, "resp_a", "acct_2", 1500) and stored.delete(db, "resp_a", "acct_1", 1500)
    assert db.write(lambda conn: stored.purge_expired(conn, 1500)) == 1
    assert stored.expiry(1000, 0.5) == 1000 + 43_200_000


def test_a_failed_write_of_the_kept_response_is_logged_not_raised(monkeypatch, caplog):
    class Broken:
        def write(self, fn: Any) -> None:
            raise OSError("disk full")

    monkeypatch.setattr(responses_api, "store", Broken)
    keep = responses_api._keeper(ENV_ADMIN, [], native=False)
    keep({"id": "resp_1", "model": "m", "output": []})  # the client's answer goes on regardless
    assert "could not keep response resp_1" in caplog.text
