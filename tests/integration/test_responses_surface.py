"""OpenAI's Responses API end to end with the official SDK: translated for chat providers
(DeepSeek, Anthropic), native for OpenAI itself; stored responses, previous_response_id across
turns, account isolation and the TTL; exact usage, credits and one call record per call."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import orjson
import pytest
from pydantic import BaseModel

from tests.fakes import anthropic as fa
from tests.fakes import responses as fr
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import RecordedRequest, dumps, sse_frame
from tests.integration.conftest import calls_of, only_call
from tests.support import openapi
from tests.support.gateway import Gateway, create_key, start_gateway, upstream_env

RATES = {  # credits per token
    ("deepseek", "deepseek-chat"): {"input_rate": 0.000001, "output_rate": 0.000002, "cache_read_rate": 0.0000001},
    ("openai", "gpt-5-nano"): {"input_rate": 0.00000005, "output_rate": 0.0000004, "cache_read_rate": 0.000000005},
    ("anthropic", "claude-sonnet-4-5"): {"input_rate": 0.000003, "output_rate": 0.000015},
}
CHAT = "/v1/chat/completions"
TOOLS = [{"type": "function", "name": "get_weather", "description": "Weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


@pytest.fixture(scope="module")
def gw(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {**upstream_env(fake.base_url), "AIHUB_BILLING": "on"}
    gateway = start_gateway(tmp_path_factory.mktemp("responses"), env)
    with gateway.admin() as api:
        for (provider, model), rate in RATES.items():
            created = api.post("/admin/model-rates", json={"provider": provider, "model": model, **rate})
            assert created.status_code == 201
    yield gateway
    gateway.stop()


@pytest.fixture
def sdk(gw: Gateway, key: dict) -> openai.OpenAI:
    return gw.openai(key["key"])


# -- helpers ------------------------------------------------------------------------------------


def chat_answer(message: dict[str, Any], finish: str = "stop", prompt: int = 21, completion: int = 9,
                cached: int = 0) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1756315696, "model": "deepseek-chat",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached}}}


def chat_chunks(deltas: list[dict[str, Any]], finish: str = "stop", prompt: int = 21,
                completion: int = 9) -> list[bytes]:
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1756315696, "model": "deepseek-chat"}
    chunks = [{**head, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    chunks.append({**head, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                                    "total_tokens": prompt + completion}})
    return [sse_frame(c) for c in chunks] + [sse_frame("[DONE]")]


def route_chat(fake: FakeUpstream, message: dict[str, Any], deltas: list[dict[str, Any]] | None = None,
               **usage: Any) -> None:
    """DeepSeek's chat endpoint answering `message`, or streaming `deltas` when asked to stream."""
    finish = usage.pop("finish", "stop")

    def handler(req: RecordedRequest) -> tuple[int, dict[str, str], Any]:
        if req.json.get("stream"):
            return 200, {"content-type": "text/event-stream"}, chat_chunks(deltas or [], finish, **usage)
        return 200, {"content-type": "application/json"}, dumps(chat_answer(message, finish, **usage))

    fake.route("POST", CHAT, handler=handler)


def upstream_bodies(fake: FakeUpstream, path: str) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == path]


def the_call(api: httpx.Client, key: dict) -> dict[str, Any]:
    return only_call(api, key, "responses")


def credits(provider: str, model: str, *, input: int, output: int, cache_read: int = 0) -> Decimal:
    rate = {k: Decimal(str(v)) for k, v in RATES[(provider, model)].items()}
    return input * rate["input_rate"] + output * rate["output_rate"] + cache_read * rate["cache_read_rate"]


def raw_events(gw: Gateway, key: dict, body: dict[str, Any]) -> list[dict[str, Any]]:
    with httpx.stream("POST", gw.url + "/v1/responses", json={**body, "stream": True}, timeout=20,
                      headers={"authorization": f"Bearer {key['key']}"}) as response:
        assert response.status_code == 200, response.read()
        text = response.read().decode()
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        event = orjson.loads(lines["data"])
        assert lines["event"] == event["type"]
        events.append(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


# -- translated: DeepSeek's chat API behind the Responses surface -------------------------------


def test_text_is_translated_to_chat_and_back_with_exact_usage(fake, sdk, api, key):
    route_chat(fake, {"content": "Hello there."}, prompt=21, completion=9, cached=5)
    raw = sdk.responses.with_raw_response.create(model="deepseek/deepseek-chat", instructions="Be brief.",
                                                 input="Hi", max_output_tokens=50, temperature=0.3)
    openapi.validate("Response", raw.http_response.json())
    response = raw.parse()
    assert response.output_text == "Hello there."
    assert response.id.startswith("resp_") and response.output[0].id.startswith("msg_")
    assert response.status == "completed" and response.store is True
    assert (response.usage.input_tokens, response.usage.output_tokens) == (21, 9)
    assert response.usage.input_tokens_details.cached_tokens == 5
    (upstream,) = upstream_bodies(fake, CHAT)
    assert upstream["model"] == "deepseek-chat"
    assert upstream["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Hi"}]
    assert (upstream["max_completion_tokens"], upstream["temperature"]) == (50, 0.3)
    call = the_call(api, key)
    assert (call["prompt_tokens"], call["cache_read_tokens"], call["completion_tokens"]) == (16, 5, 9)
    assert Decimal(str(call["credits"])) == credits("deepseek", "deepseek-chat", input=16, cache_read=5, output=9)


def test_stream_is_the_semantic_event_sequence(fake, sdk, api, key, gw):
    route_chat(fake, {}, [{"role": "assistant", "reasoning_content": "Think"}, {"reasoning_content": "ing."},
                          {"content": "Hel"}, {"content": "lo."}], prompt=12, completion=7)
    with sdk.responses.stream(model="deepseek/deepseek-chat", input="Hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["Hel", "lo."] and final.output_text == "Hello."
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == "Thinking."
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 7)
    call = the_call(api, key)
    assert call["stream"] == 1 and (call["prompt_tokens"], call["completion_tokens"]) == (12, 7)
    assert Decimal(str(call["credits"])) == credits("deepseek", "deepseek-chat", input=12, output=7)

    events = raw_events(gw, key, {"model": "deepseek/deepseek-chat", "input": "Hi"})
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    for event in events:
        openapi.validate("ResponseStreamEvent", event)


def test_function_call_then_its_output_via_previous_response_id(fake, sdk, api, key):
    call = {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    route_chat(fake, {"content": None, "tool_calls": [call]}, finish="tool_calls")
    first = sdk.responses.create(model="deepseek/deepseek-chat", input="Weather in Paris?", tools=TOOLS,
                                 tool_choice={"type": "function", "name": "get_weather"})
    (item,) = first.output
    assert (item.type, item.call_id, item.name, item.arguments) == ("function_call", "call_abc", "get_weather",
                                                                    '{"city":"Paris"}')
    assert item.id.startswith("fc_")
    upstream = upstream_bodies(fake, CHAT)[0]
    assert upstream["tools"] == [{"type": "function", "function": {k: v for k, v in TOOLS[0].items() if k != "type"}}]
    assert upstream["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}

    fake.reset()
    route_chat(fake, {"content": "Sunny, 21 degrees."})
    output = {"type": "function_call_output", "call_id": "call_abc", "output": "sunny, 21"}
    second = sdk.responses.create(model="deepseek/deepseek-chat", previous_response_id=first.id, tools=TOOLS,
                                  input=[output])
    assert second.output_text == "Sunny, 21 degrees." and second.previous_response_id == first.id
    assert upstream_bodies(fake, CHAT)[0]["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_abc", "content": "sunny, 21"},
    ]
    listed = sdk.responses.input_items.list(second.id, order="asc")
    assert [i.type for i in listed.data] == ["message", "function_call", "function_call_output"]
    assert len(calls_of(api, key["account_id"])) == 2


def test_streamed_function_call_arguments(fake, sdk):
    route_chat(fake, {}, [
        {"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                              "function": {"name": "get_weather", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]},
    ], finish="tool_calls")
    with sdk.responses.stream(model="deepseek/deepseek-chat", input="Weather in Oslo?", tools=TOOLS) as stream:
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    assert deltas == ['{"city":', '"Oslo"}']
    (item,) = final.output
    assert (item.type, item.call_id, item.arguments) == ("function_call", "call_1", '{"city":"Oslo"}')


class Weather(BaseModel):
    city: str
    degrees: int


def test_structured_output_with_a_json_schema(fake, sdk):
    route_chat(fake, {"content": '{"city":"Rome","degrees":25}'})
    parsed = sdk.responses.parse(model="deepseek/deepseek-chat", input="Weather in Rome?", text_format=Weather)
    assert parsed.output_parsed == Weather(city="Rome", degrees=25)
    response_format = upstream_bodies(fake, CHAT)[0]["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "Weather"
    assert response_format["json_schema"]["schema"]["required"] == ["city", "degrees"]

    route_chat(fake, {}, [{"role": "assistant", "content": '{"city":"Rome",'}, {"content": '"degrees":25}'}])
    with sdk.responses.stream(model="deepseek/deepseek-chat", input="Weather in Rome?", text_format=Weather) as stream:
        streamed = stream.get_final_response()
    assert streamed.output_parsed == Weather(city="Rome", degrees=25)


def test_length_cut_answer_is_incomplete(fake, sdk):
    route_chat(fake, {"content": "Once upon"}, finish="length")
    response = sdk.responses.create(model="deepseek/deepseek-chat", input="A story", max_output_tokens=16)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"


def test_mid_stream_failure_ends_with_error_and_response_failed(fake, gw, api, key):
    frames = chat_chunks([{"role": "assistant", "content": "Hal"}])[:1]
    fake.route("POST", CHAT, sse=[orjson.loads(f[6:]) for f in frames], fault="cut_stream")
    events = raw_events(gw, key, {"model": "deepseek/deepseek-chat", "input": "Hi"})
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    assert events[-1]["response"]["status"] == "failed"
    assert events[-1]["response"]["error"]["code"] == "server_error"
    call = the_call(api, key)
    assert call["status"] == "failed" and call["credits"] == 0


def test_two_turns_on_anthropic(fake, sdk, api, key):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Nice to meet you, Ada."))))
    first = sdk.responses.create(model="anthropic/claude-sonnet-4-5", input="I am Ada.", max_output_tokens=100)
    fake.reset()
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("You are Ada."))))
    second = sdk.responses.create(model="anthropic/claude-sonnet-4-5", input="Who am I?", max_output_tokens=100,
                                  previous_response_id=first.id, instructions="Answer briefly.")
    assert second.output_text == "You are Ada."
    (upstream,) = upstream_bodies(fake, fa.PATH)
    assert upstream["system"] == "Answer briefly."
    texts = [(m["role"], m["content"] if isinstance(m["content"], str) else m["content"][0]["text"])
             for m in upstream["messages"]]
    assert texts == [("user", "I am Ada."), ("assistant", "Nice to meet you, Ada."), ("user", "Who am I?")]
    assert [c["surface"] for c in calls_of(api, key["account_id"])] == ["responses", "responses"]


def test_streamed_thinking_on_anthropic_is_a_reasoning_summary_and_the_turn_is_kept(fake, sdk):
    msg = fa.message(fa.thinking("The user greets."), fa.text("Hello, Ada."), tokens=fa.usage(30, 12))
    fake.add_rule(fa.MessagesRule(msg, evts=fa.events(msg, piece=6)))
    with sdk.responses.stream(model="anthropic/claude-sonnet-4-5", input="Hi, I am Ada.",
                              max_output_tokens=2000) as stream:
        kinds = [e.type for e in stream]
        first = stream.get_final_response()
    assert kinds.count("response.reasoning_summary_text.delta") == 3  # "The us", "er gre", "ets."
    assert [item.type for item in first.output] == ["reasoning", "message"]
    assert first.output[0].summary[0].text == "The user greets." and first.output_text == "Hello, Ada."
    assert (first.usage.input_tokens, first.usage.output_tokens) == (30, 12)

    fake.reset()
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Ada."))))
    sdk.responses.create(model="anthropic/claude-sonnet-4-5", input="My name?", previous_response_id=first.id,
                         max_output_tokens=100)
    (upstream,) = upstream_bodies(fake, fa.PATH)
    assert [m["role"] for m in upstream["messages"]] == ["user", "assistant", "user"]


def test_built_in_tools_need_openai(fake, sdk):
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model="deepseek/deepseek-chat", input="News?", tools=[{"type": "web_search"}])
    assert info.value.body["param"] == "tools[0].type"
    assert not fake.requests


@pytest.mark.parametrize("body, param", [
    ({"model": "deepseek/deepseek-chat"}, "input"),
    ({"model": "deepseek/deepseek-chat", "input": [{"role": "user"}]}, "input[0]"),
    ({"model": "deepseek/deepseek-chat", "input": "x", "temperature": 3}, "temperature"),
    ({"model": "deepseek/deepseek-chat", "input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
])
def test_invalid_requests_name_the_field(gw, key, body, param):
    response = httpx.post(gw.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {key['key']}"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


# -- stored responses -----------------------------------------------------------------------------


def test_retrieve_list_and_delete_only_for_the_owning_account(fake, gw, sdk, api):
    route_chat(fake, {"content": "Stored."})
    response = sdk.responses.create(model="deepseek/deepseek-chat", input="Keep this", metadata={"k": "v"})
    got = sdk.responses.retrieve(response.id)
    assert got.model_dump() == response.model_dump()
    items = sdk.responses.input_items.list(response.id)
    assert [i.content[0].text for i in items.data] == ["Keep this"] and items.has_more is False
    raw = sdk.responses.input_items.with_raw_response.list(response.id)
    openapi.validate("ResponseItemList", raw.http_response.json())

    stranger = gw.openai(create_key(api, credits=1)["key"])
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.input_items.list(response.id)
    with pytest.raises(openai.NotFoundError) as info:
        stranger.responses.create(model="deepseek/deepseek-chat", input="x", previous_response_id=response.id)
    assert info.value.body["code"] == "previous_response_not_found"

    sdk.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)


def test_store_false_keeps_nothing(fake, sdk):
    route_chat(fake, {"content": "Gone."})
    response = sdk.responses.create(model="deepseek/deepseek-chat", input="Forget this", store=False)
    assert response.store is False
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)


def test_input_items_pages_newest_first(fake, sdk):
    route_chat(fake, {"content": "ok"})
    turns = [{"role": "user", "content": f"message {n}"} for n in range(5)]
    response = sdk.responses.create(model="deepseek/deepseek-chat", input=turns)
    page = sdk.responses.input_items.list(response.id, limit=2)
    assert [i.content[0].text for i in page.data] == ["message 4", "message 3"] and page.has_more
    rest = sdk.responses.input_items.list(response.id, limit=10, after=page.last_id)
    assert [i.content[0].text for i in rest.data] == ["message 2", "message 1", "message 0"]
    assert not rest.has_more


# -- native: OpenAI's own Responses API -----------------------------------------------------------


NATIVE_BODY: dict[str, Any] = {
    "model": "openai/gpt-5-nano",
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "Latest news?"}]},
              {"type": "reasoning", "id": "rs_prior", "summary": [], "encrypted_content": "gAAAA-opaque"}],
    "tools": [{"type": "web_search"}],
    "include": ["reasoning.encrypted_content"],
    "reasoning": {"effort": "low", "summary": "auto"},
    "store": True,
    "text": {"verbosity": "low"},
}


def test_native_body_passes_through_and_usage_is_billed(fake, sdk, api, key):
    tokens = fr.usage(input_tokens=120, cached=100, output_tokens=40, reasoning_tokens=30)
    fake.add_rule(fr.ResponsesRule(fr.reasoning(), fr.message("All quiet."), tokens=tokens))
    response = sdk.responses.create(**NATIVE_BODY)
    assert response.id == fr.ID and response.output_text == "All quiet."
    (upstream,) = upstream_bodies(fake, fr.PATH)
    assert upstream == {**NATIVE_BODY, "model": "gpt-5-nano"}
    assert not upstream_bodies(fake, CHAT)
    call = the_call(api, key)
    assert (call["provider"], call["model"]) == ("openai", "gpt-5-nano")
    assert (call["prompt_tokens"], call["cache_read_tokens"], call["completion_tokens"], call["reasoning_tokens"]) \
        == (20, 100, 40, 30)
    assert Decimal(str(call["credits"])) == credits("openai", "gpt-5-nano", input=20, cache_read=100, output=40)
    assert sdk.responses.retrieve(fr.ID).output_text == "All quiet."


def test_native_stream_frames_pass_through(fake, gw, api, key):
    fake.add_rule(fr.ResponsesRule(fr.message("Streamed natively."), tokens=fr.usage(30, 10, reasoning_tokens=0)))
    events = raw_events(gw, key, NATIVE_BODY)
    final = fr.response(fr.message("Streamed natively."), request={**NATIVE_BODY, "model": "gpt-5-nano",
                                                                   "stream": True},
                        tokens=fr.usage(30, 10, reasoning_tokens=0))
    assert events == fr.events(final)
    (upstream,) = upstream_bodies(fake, fr.PATH)
    assert upstream == {**NATIVE_BODY, "model": "gpt-5-nano", "stream": True}
    call = the_call(api, key)
    assert (call["prompt_tokens"], call["completion_tokens"], call["stream"]) == (30, 10, 1)
    assert Decimal(str(call["credits"])) == credits("openai", "gpt-5-nano", input=30, output=10)


def test_native_mid_stream_error_is_relayed_and_recorded(fake, gw, api, key):
    fake.add_rule(fr.ResponsesRule(fr.message("Never finished."), error_after=5))
    events = raw_events(gw, key, {"model": "openai/gpt-5-nano", "input": "Hi"})
    assert events[-1]["type"] == "error" and len(events) == 6
    call = the_call(api, key)
    assert call["status"] == "failed"


def test_native_previous_response_id_sends_the_conversation(fake, sdk, api, key):
    fake.add_rule(fr.ResponsesRule(fr.reasoning(), fr.message("Hi Ada.")))
    first = sdk.responses.create(model="openai/gpt-5-nano", input="I am Ada.")
    fake.reset()
    fake.add_rule(fr.ResponsesRule(fr.message("You are Ada.")))
    sdk.responses.create(model="openai/gpt-5-nano", input="Who am I?", previous_response_id=first.id)
    (upstream,) = upstream_bodies(fake, fr.PATH)
    assert "previous_response_id" not in upstream
    assert upstream["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "I am Ada."}]},
        fr.reasoning(), fr.message("Hi Ada."),
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Who am I?"}]},
    ]


def test_conversation_moves_from_translated_to_native(fake, sdk):
    route_chat(fake, {"content": "Hi Bob.", "reasoning_content": "A greeting."})
    first = sdk.responses.create(model="deepseek/deepseek-chat", input="I am Bob.")
    fake.add_rule(fr.ResponsesRule(fr.message("You are Bob.")))
    sdk.responses.create(model="openai/gpt-5-nano", input="Who am I?", previous_response_id=first.id)
    (upstream,) = upstream_bodies(fake, fr.PATH)
    # aihub's own reasoning summary and item ids stay behind: OpenAI could not resolve them
    assert upstream["input"][1] == {"type": "message", "role": "assistant",
                                    "content": [{"type": "output_text", "text": "Hi Bob.", "annotations": [],
                                                                 "logprobs": []}]}
    assert len(upstream["input"]) == 3


def test_an_operators_provider_marked_responses_api_is_served_natively(fake, sdk, api):
    created = api.post("/admin/providers", json={"name": "azureish", "kind": "openai",
                                                 "base_url": f"{fake.base_url}/azureish/v1",
                                                 "config": {"models": ["gpt-5-nano"], "responses_api": True}})
    assert created.status_code == 201, created.text
    added = api.post("/admin/providers/azureish/credentials", json={"value": "sk-azureish-0000000001", "check": False})
    assert added.status_code == 201, added.text
    rate = {"provider": "azureish", "model": "gpt-5-nano", "input_rate": 0.0000001, "output_rate": 0.0000001}
    assert api.post("/admin/model-rates", json=rate).status_code == 201
    fake.add_rule(fr.ResponsesRule(fr.message("From my own endpoint."), path="/azureish/v1/responses"))
    response = sdk.responses.create(model="azureish/gpt-5-nano", input="Hi", tools=[{"type": "web_search"}])
    assert response.output_text == "From my own endpoint."
    (upstream,) = [r.json for r in fake.requests]
    assert upstream == {"model": "gpt-5-nano", "input": "Hi", "tools": [{"type": "web_search"}]}


# -- no responses kept ----------------------------------------------------------------------------


def test_ttl_zero_keeps_nothing_and_refuses_previous_response_id(fake, tmp_path):
    gateway = start_gateway(tmp_path, {**upstream_env(fake.base_url), "AIHUB_RESPONSES_TTL_DAYS": "0"})
    try:
        with gateway.admin() as api:
            sdk = gateway.openai(create_key(api)["key"])
        route_chat(fake, {"content": "Not kept."})
        response = sdk.responses.create(model="deepseek/deepseek-chat", input="Hi")
        assert response.store is False
        with pytest.raises(openai.NotFoundError):
            sdk.responses.retrieve(response.id)
        with pytest.raises(openai.BadRequestError) as info:
            sdk.responses.create(model="deepseek/deepseek-chat", input="x", previous_response_id=response.id)
        assert info.value.body["param"] == "previous_response_id"
        assert "AIHUB_RESPONSES_TTL_DAYS" in info.value.body["message"]
    finally:
        gateway.stop()
