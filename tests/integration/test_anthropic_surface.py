"""The official anthropic SDK drives aihub's Anthropic Messages surface on the real server:
natively to a fake Anthropic (the client's body goes up unchanged but for the model id, the
frames come back unchanged), and translated to other providers' fakes (OpenAI-compatible,
Gemini) and the offline demo; one call record per call, usage and credits exact."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import anthropic
import httpx
import orjson
import pytest

from tests.fakes import anthropic as fa
from tests.fakes import bedrock, chat_echo
from tests.fakes import gemini as fg
from tests.fakes.upstream import FakeUpstream
from tests.integration.conftest import calls_of, only, only_call
from tests.support.gateway import (
    UPSTREAM_KEYS,
    Gateway,
    create_key,
    start_gateway,
    upstream_env,
)

SONNET = "anthropic/claude-sonnet-4-5"
BETA = "interleaved-thinking-2025-05-14"
WEATHER = {"name": "get_weather", "description": "Current weather of a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
SIGNATURE = fa.thinking("")["signature"]


def sdk(gateway: Gateway, key: str) -> anthropic.Anthropic:
    """The client as Claude Code and other tools configure it: base URL without /v1."""
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def claude(gateway: Gateway, user: dict) -> anthropic.Anthropic:
    return sdk(gateway, user["key"])


def the_call(admin: httpx.Client, user: dict) -> dict:
    return only_call(admin, user, "anthropic")


def tokens(call: dict) -> tuple[int, int, int, int]:
    return call["prompt_tokens"], call["cache_write_tokens"], call["cache_read_tokens"], call["completion_tokens"]


def events_of(gateway: Gateway, key: str, body: dict, **headers: str) -> tuple[bytes, list[tuple[str, dict]]]:
    """The raw SSE body of a streamed call (sent with x-api-key, as Claude Code sends it), and its events."""
    with httpx.stream("POST", gateway.url + "/v1/messages", json=body, timeout=20,
                      headers={"x-api-key": key, "anthropic-version": "2023-06-01", **headers}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    out = []
    for block in raw.decode().split("\n\n")[:-1]:
        name, data = block.split("\n")
        payload = orjson.loads(data.removeprefix("data: "))
        assert name == "event: " + payload["type"]
        out.append((payload["type"], payload))
    return raw, out


# -- native: Anthropic ---------------------------------------------------------------------------


def test_create_goes_up_unchanged_but_for_the_model(fake, claude, admin, user):
    msg = fa.message(fa.text("Paris."), tokens=fa.usage(21, 3, cache_write=40, cache_read=500))
    fake.add_rule(fa.MessagesRule(msg))
    system = [{"type": "text", "text": "Answer in one word.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    raw = claude.messages.with_raw_response.create(
        model=SONNET, max_tokens=64, system=system, extra_body={"temperature": 0.3, "top_k": 5}, stop_sequences=["\n\n"],
        metadata={"user_id": "end-user-7"}, extra_headers={"anthropic-beta": BETA},
        messages=[{"role": "user", "content": [{"type": "text", "text": "Capital of France?",
                                                "cache_control": {"type": "ephemeral"}}]}])
    message = raw.parse()
    assert orjson.loads(raw.http_response.content) == msg  # Anthropic's answer, as it came
    assert message.content[0].text == "Paris." and message.stop_reason == "end_turn"
    u = message.usage
    assert (u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens, u.output_tokens) == (21, 40, 500, 3)

    sent = only(fake, fa.PATH)
    client_body = orjson.loads(raw.http_request.content)
    assert sent.json == {**client_body, "model": "claude-sonnet-4-5"}
    assert list(sent.json) == list(client_body)  # nothing added, nothing reordered
    assert sent.headers["x-api-key"] == UPSTREAM_KEYS["ANTHROPIC_API_KEY"] and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == raw.http_request.headers["anthropic-version"]  # the client's own
    assert sent.headers["anthropic-beta"] == BETA

    call = the_call(admin, user)
    assert (call["status"], call["provider"], call["model"], call["stream"]) == ("success", "anthropic",
                                                                                 "claude-sonnet-4-5", 0)
    assert tokens(call) == (21, 40, 500, 3) and call["usage_estimated"] == 0
    assert call["request_id"] == raw.headers["x-request-id"]


def test_stream_frames_pass_through_unchanged(fake, gateway, claude, admin, user):
    text = "Streaming from Claude, one small piece at a time."
    msg = fa.message(fa.text(text), tokens=fa.usage(30, 12, cache_write=5, cache_read=800))
    evts = fa.events(msg, piece=6)
    fake.add_rule(fa.MessagesRule(msg, evts=evts))
    with claude.messages.stream(model=SONNET, max_tokens=100,
                                messages=[{"role": "user", "content": "stream please"}]) as stream:
        assert "".join(stream.text_stream) == text
        final = stream.get_final_message()
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    u = final.usage
    assert (u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens, u.output_tokens) == (30, 5, 800, 12)
    assert only(fake, fa.PATH).json["stream"] is True
    call = the_call(admin, user)
    assert (call["status"], call["stream"]) == ("success", 1) and tokens(call) == (30, 5, 800, 12)

    raw, _ = events_of(gateway, user["key"], {"model": SONNET, "max_tokens": 100, "stream": True,
                                              "messages": [{"role": "user", "content": "again"}]})
    assert raw == b"".join(fa.sse(evts))  # byte for byte what Anthropic sent


def test_thinking_with_signature_round_trips(fake, gateway, claude, admin, user):
    msg = fa.message(fa.thinking("The user wants a city."), fa.tool_use("toolu_01", "get_weather", {"city": "Paris"}),
                     stop_reason="tool_use", tokens=fa.usage(50, 30))
    fake.add_rule(fa.MessagesRule(msg, evts=fa.events(msg, piece=4)))
    thinking = {"type": "enabled", "budget_tokens": 2048}
    first = [{"role": "user", "content": "Weather in Paris?"}]
    with claude.messages.stream(model=SONNET, max_tokens=4096, thinking=thinking, tools=[WEATHER],
                                messages=first, extra_headers={"anthropic-beta": BETA}) as stream:
        kinds = [e.delta.type for e in stream if e.type == "content_block_delta"]
        turn = stream.get_final_message()
    assert {"thinking_delta", "signature_delta", "input_json_delta"} <= set(kinds)
    assert turn.content[0].type == "thinking" and turn.content[0].signature == SIGNATURE
    assert turn.content[1].input == {"city": "Paris"} and turn.stop_reason == "tool_use"

    fake.clear()
    follow_up = [*first, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in turn.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C"}]}]
    raw = claude.messages.with_raw_response.create(model=SONNET, max_tokens=4096, thinking=thinking, tools=[WEATHER],
                                                   messages=follow_up)
    sent = only(fake, fa.PATH)
    assert sent.json == {**orjson.loads(raw.http_request.content), "model": "claude-sonnet-4-5"}
    assert sent.json["messages"][1]["content"][0] == {"type": "thinking", "thinking": "The user wants a city.",
                                                      "signature": SIGNATURE}
    assert SIGNATURE.encode() in sent.body
    assert len(calls_of(admin, user["account_id"])) == 2


def test_count_tokens_is_anthropics_own(fake, claude, admin, user):
    fake.add_rule(fa.CountTokensRule(1234))
    raw = claude.messages.with_raw_response.count_tokens(
        model=SONNET, system="Be brief.", tools=[WEATHER], messages=[{"role": "user", "content": "Weather?"}])
    assert raw.parse().input_tokens == 1234 and raw.headers["x-aihub-token-count"] == "provider"
    sent = only(fake, fa.COUNT_TOKENS_PATH)
    assert sent.json == {**orjson.loads(raw.http_request.content), "model": "claude-sonnet-4-5"}
    assert calls_of(admin, user["account_id"]) == []  # free, so no call record


def test_count_tokens_elsewhere_is_an_estimate(fake, claude, admin, user):
    raw = claude.messages.with_raw_response.count_tokens(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "x" * 400}])
    assert raw.headers["x-aihub-token-count"] == "estimated"
    assert raw.parse().input_tokens == 104
    assert fake.requests == []


def test_upstream_errors_keep_anthropics_type(fake, claude, admin, user):
    fake.route("POST", fa.PATH, status=429, json=fa.error_body("rate_limit_error", "Number of request tokens exceeded"),
               headers={"retry-after": "7"})
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(model=SONNET, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body == {"type": "error", "error": {"type": "rate_limit_error",
                                                            "message": "Number of request tokens exceeded"}}
    assert caught.value.response.headers["retry-after"] == "7"
    call = the_call(admin, user)
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", 429, 0)


def test_error_mid_stream_is_an_error_event(fake, gateway, claude, admin, user):
    msg = fa.message(fa.text("Half an answer that never ends"), tokens=fa.usage(10, 8))
    overloaded = fa.error_body("overloaded_error", "Overloaded")
    fake.add_rule(fa.MessagesRule(msg, evts=fa.events(msg, error=overloaded, error_after=5)))
    with pytest.raises(anthropic.APIStatusError) as caught, \
            claude.messages.stream(model=SONNET, max_tokens=100, messages=[{"role": "user", "content": "x"}]) as s:
        s.until_done()
    assert caught.value.body["error"]["type"] == "overloaded_error"
    call = the_call(admin, user)
    assert call["status"] == "failed" and call["error_code"] == "upstream_overloaded"


# -- native: Claude on Bedrock ---------------------------------------------------------------------

BEDROCK_CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_claude_on_bedrock_takes_the_messages_body(fake, claude, admin, user):
    msg = fa.message(fa.thinking("Short."), fa.text("Paris."), tokens=fa.usage(20, 9, cache_read=100))
    bedrock.route(fake, "invoke", model=BEDROCK_CLAUDE, json=msg)
    raw = claude.messages.with_raw_response.create(
        model="bedrock/" + BEDROCK_CLAUDE, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
        system=[{"type": "text", "text": "One word.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Capital of France?"}], extra_headers={"anthropic-beta": BETA})
    assert orjson.loads(raw.http_response.content) == msg
    client_body = orjson.loads(raw.http_request.content)
    (sent,) = fake.requests
    assert bedrock.model_and_operation(sent.path) == (BEDROCK_CLAUDE, "invoke")
    assert sent.json == {**{k: v for k, v in client_body.items() if k != "model"},
                         "anthropic_version": "bedrock-2023-05-31", "anthropic_beta": [BETA]}
    call = the_call(admin, user)
    assert (call["provider"], call["model"], call["status"]) == ("bedrock", BEDROCK_CLAUDE, "success")
    assert tokens(call) == (20, 0, 100, 9)


def test_claude_on_bedrock_streams_anthropics_own_events(fake, gateway, claude, admin, user):
    msg = fa.message(fa.text("Streamed through Bedrock, unchanged."), tokens=fa.usage(15, 8, cache_write=4))
    chunks = bedrock.claude_chunks(fa.events(msg, piece=7))
    bedrock.route(fake, "invoke-with-response-stream", model=BEDROCK_CLAUDE, events=chunks, split=29)
    raw, _ = events_of(gateway, user["key"], {"model": "bedrock/" + BEDROCK_CLAUDE, "max_tokens": 64, "stream": True,
                                              "messages": [{"role": "user", "content": "go"}]})
    assert raw == b"".join(fa.sse(bedrock.claude_events(chunks)))  # Anthropic's framing of Claude's own events
    assert "stream" not in fake.requests[0].json
    call = the_call(admin, user)
    assert (call["provider"], call["stream"]) == ("bedrock", 1) and tokens(call) == (15, 4, 0, 8)

    with claude.messages.stream(model="bedrock/" + BEDROCK_CLAUDE, max_tokens=64,
                                messages=[{"role": "user", "content": "again"}]) as stream:
        assert "".join(stream.text_stream) == "Streamed through Bedrock, unchanged."


def test_other_bedrock_models_are_translated(fake, claude, admin, user):
    bedrock.route(fake, "converse", model="amazon.nova-lite-v1:0",
                  json=bedrock.converse_body("Hi from Nova.", token_usage=bedrock.usage(11, 4)))
    message = claude.messages.create(model="bedrock/amazon.nova-lite-v1:0", max_tokens=64,
                                     messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "Hi from Nova." and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 4)
    assert tokens(the_call(admin, user)) == (11, 0, 0, 4)


# -- gateway errors, in Anthropic's shape --------------------------------------------------------


def test_typed_errors(fake, gateway, claude):
    with pytest.raises(anthropic.AuthenticationError) as caught:
        sdk(gateway, "sk-not-a-key").messages.create(model=SONNET, max_tokens=10,
                                                     messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == "authentication_error"

    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["error"]["type"] == "not_found_error"

    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=SONNET, max_tokens=10, extra_body={"temperature": 1.5},
                               messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "'temperature'" in caught.value.body["error"]["message"]

    with pytest.raises(anthropic.BadRequestError) as caught:  # what only Anthropic could serve
        claude.messages.create(model="openai/gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "hi"}],
                               tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert caught.value.body["error"]["message"].startswith("tools[0]: The server tool 'web_search_20250305'")
    assert fake.requests == []


def test_x_api_key_and_bad_bodies(gateway, user):
    url = gateway.url + "/v1/messages"
    missing = httpx.post(url, json={"model": SONNET, "messages": [{"role": "user", "content": "hi"}]},
                         headers={"x-api-key": user["key"]})
    assert missing.status_code == 400
    assert missing.json() == {"type": "error", "error": {"type": "invalid_request_error",
                                                         "message": "Invalid 'max_tokens': Field required."}}
    block = httpx.post(url, json={"model": SONNET, "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f"}]}]}, headers={"x-api-key": user["key"]})
    assert block.status_code == 400 and "messages[0].content[0]" in block.json()["error"]["message"]
    anonymous = httpx.post(url, json={})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "authentication_error"


def test_models_in_anthropics_shape(gateway, claude, user):
    ids = [m.id for m in claude.models.list(limit=3)]  # paged through, 3 at a time
    assert SONNET in ids and "demo/echo" in ids and len(ids) == len(set(ids))
    page = claude.models.list(limit=2)
    assert len(page.data) == 2 and page.has_more and page.last_id == page.data[-1].id
    assert page.data[0].type == "model" and page.data[0].display_name == page.data[0].id
    openai_shape = httpx.get(gateway.url + "/v1/models", headers={"authorization": f"Bearer {user['key']}"}).json()
    assert openai_shape["object"] == "list" and sorted(m["id"] for m in openai_shape["data"]) == sorted(ids)


# -- translated: other providers -----------------------------------------------------------------


def test_tool_use_round_trip_through_an_openai_provider(fake, claude, admin, user):
    call_1 = chat_echo.completion_with({"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city":"Paris"}'}}]}, "tool_calls",
        {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49, "prompt_tokens_details": {"cached_tokens": 32}})
    fake.route("POST", "/v1/chat/completions", json=call_1, times=1)
    messages: list[dict] = [{"role": "user", "content": "Weather in Paris?"}]
    first = claude.messages.create(model="openai/gpt-4o", max_tokens=200, system="Be brief.", tools=[WEATHER],
                                   tool_choice={"type": "auto"}, messages=messages)
    assert first.stop_reason == "tool_use" and first.id == chat_echo.ID
    (use,) = first.content
    assert (use.type, use.id, use.name, use.input) == ("tool_use", "call_1", "get_weather", {"city": "Paris"})
    u = first.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.output_tokens) == (8, 32, 9)
    sent = only(fake, "/v1/chat/completions").json
    assert sent == {"model": "gpt-4o", "max_completion_tokens": 200, "tool_choice": "auto",
                    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
                    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER["input_schema"],
                                                                "description": WEATHER["description"]}}]}

    fake.reset()
    fake.route("POST", "/v1/chat/completions", json=chat_echo.completion_with({"content": "18C and sunny."}, "stop",
                                                                      chat_echo.USAGE))
    messages += [{"role": "assistant", "content": [use.model_dump(exclude_none=True)]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "18C, sun"}]}]
    second = claude.messages.create(model="openai/gpt-4o", max_tokens=200, tools=[WEATHER], messages=messages)
    assert second.content[0].text == "18C and sunny." and second.stop_reason == "end_turn"
    assert only(fake, "/v1/chat/completions").json["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sun"}]
    first_call, second_call = reversed(calls_of(admin, user["account_id"]))
    assert {first_call["surface"], second_call["surface"]} == {"anthropic"}
    assert tokens(first_call) == (8, 0, 32, 9) and first_call["provider"] == "openai"


def test_streamed_tool_call_through_an_openai_provider(fake, claude, admin, user):
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    usage = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024",
             "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 11, "total_tokens": 41}}
    fake.route("POST", "/v1/chat/completions", sse=[
        chunk({"role": "assistant", "content": "Checking."}),
        chunk({"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]}),
        chunk({}, "tool_calls"), usage, "[DONE]"])
    with claude.messages.stream(model="openai/gpt-4o", max_tokens=100, tools=[WEATHER],
                                messages=[{"role": "user", "content": "Rome?"}]) as stream:
        assert "".join(stream.text_stream) == "Checking."
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {"city": "Rome"} and final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (30, 11)
    sent = only(fake, "/v1/chat/completions").json
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    call = the_call(admin, user)
    assert (call["provider"], call["stream"], call["status"]) == ("openai", 1, "success")
    assert tokens(call) == (30, 0, 0, 11) and call["usage_estimated"] == 0


def test_error_mid_stream_from_an_openai_provider(fake, gateway, admin, user):
    fake.route("POST", "/v1/chat/completions", sse=[
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]},
        {"error": {"message": "The server had an error", "type": "server_error", "code": None}}])
    _, events = events_of(gateway, user["key"], {"model": "openai/gpt-4o", "max_tokens": 10, "stream": True,
                                                 "messages": [{"role": "user", "content": "x"}]})
    assert [name for name, _ in events] == ["message_start", "ping", "content_block_start", "content_block_delta",
                                            "error"]
    assert events[-1][1]["error"]["type"] == "api_error"
    assert the_call(admin, user)["status"] == "failed"


def test_gemini_translated(fake, claude, admin, user):
    meta = fg.usage(21, 4, cached=8)
    fake.route("POST", fg.path("gemini-2.5-flash", "generateContent"),
               json=fg.response([fg.candidate([fg.text("Bonjour !")])], meta))
    message = claude.messages.create(model="google/gemini-2.5-flash", max_tokens=50, system="French.",
                                     messages=[{"role": "user", "content": "Hello"}])
    assert message.content[0].text == "Bonjour !" and message.model == fg.MODEL_VERSION
    u = message.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.output_tokens) == (13, 8, 4)
    sent = only(fake, fg.path("gemini-2.5-flash", "generateContent")).json
    assert sent["systemInstruction"] == {"parts": [{"text": "French."}]}
    assert sent["generationConfig"] == {"maxOutputTokens": 50}
    call = the_call(admin, user)
    assert (call["provider"], tokens(call)) == ("google", (13, 0, 8, 4))


def test_gemini_translated_stream(fake, claude, admin, user):
    fake.route("POST", fg.path("gemini-2.5-flash", "streamGenerateContent"),
               sse=fg.stream([[fg.text("Once")], [fg.text(" upon")], [fg.text(" a time.")]], fg.usage(12, 5)))
    with claude.messages.stream(model="google/gemini-2.5-flash", max_tokens=50,
                                messages=[{"role": "user", "content": "A story"}]) as stream:
        assert "".join(stream.text_stream) == "Once upon a time."
        final = stream.get_final_message()
    assert (final.usage.input_tokens, final.usage.output_tokens, final.stop_reason) == (12, 5, "end_turn")
    assert tokens(the_call(admin, user)) == (12, 0, 0, 5)


def test_demo_offline(claude, admin, user):
    message = claude.messages.create(model="demo/echo", max_tokens=50, messages=[{"role": "user", "content": "ping"}])
    assert message.content[0].text == "This is aihub's offline demo model. You said: ping"
    with claude.messages.stream(model="demo/echo", max_tokens=50, messages=[{"role": "user", "content": "pong"}]) as s:
        assert "".join(s.text_stream) == "This is aihub's offline demo model. You said: pong"
    assert len(calls_of(admin, user["account_id"])) == 2


# -- billing -------------------------------------------------------------------------------------

RATES = {("anthropic", "claude-sonnet-4-5"): {"input_rate": "0.000003", "output_rate": "0.000015",
                                              "cache_read_rate": "0.0000003", "cache_write_rate": "0.00000375"},
         ("openai", "gpt-4o"): {"input_rate": "0.0000025", "output_rate": "0.00001", "cache_read_rate": "0.00000125"}}


@pytest.fixture(scope="module")
def billed(fake: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("billed"), {**upstream_env(fake.base_url), "AIHUB_BILLING": "on"})
    with gateway.admin() as api:
        for (provider, model), rate in RATES.items():
            body = {"provider": provider, "model": model, **{k: float(v) for k, v in rate.items()}}
            assert api.post("/admin/model-rates", json=body).status_code == 201
    yield gateway
    gateway.stop()


def cost(provider: str, model: str, input: int, output: int, cache_read: int = 0, cache_write: int = 0) -> Decimal:
    rate = {k: Decimal(v) for k, v in RATES[(provider, model)].items()}
    return (input * rate["input_rate"] + output * rate["output_rate"] + cache_read * rate["cache_read_rate"]
            + cache_write * rate.get("cache_write_rate", rate["input_rate"]))


def balance(gateway: Gateway, key: dict) -> Decimal:
    found = httpx.get(gateway.url + "/v1/credits", headers={"x-api-key": key["key"]}).json()
    return Decimal(str(found["balance"]))


def test_credits_exact_native_and_translated(fake, billed):
    with billed.admin() as api:
        key = create_key(api, credits=5)
        client = sdk(billed, key["key"])
        msg = fa.message(fa.text("ok"), tokens=fa.usage(1000, 200, cache_write=300, cache_read=4000))
        fake.add_rule(fa.MessagesRule(msg))
        client.messages.create(model=SONNET, max_tokens=500, messages=[{"role": "user", "content": "hi"}])
        native = cost("anthropic", "claude-sonnet-4-5", 1000, 200, cache_read=4000, cache_write=300)
        assert balance(billed, key) == 5 - native

        with client.messages.stream(model=SONNET, max_tokens=500, messages=[{"role": "user", "content": "again"}]) as s:
            s.until_done()
        assert balance(billed, key) == 5 - 2 * native

        fake.route("POST", "/v1/chat/completions", json=chat_echo.completion_with(
            {"content": "ok"}, "stop", {"prompt_tokens": 700, "completion_tokens": 50, "total_tokens": 750,
                                        "prompt_tokens_details": {"cached_tokens": 600}}))
        client.messages.create(model="openai/gpt-4o", max_tokens=500, messages=[{"role": "user", "content": "hi"}])
        translated = cost("openai", "gpt-4o", 100, 50, cache_read=600)
        assert balance(billed, key) == 5 - 2 * native - translated

        rows = calls_of(api, key["account_id"])
        assert [r["surface"] for r in rows] == ["anthropic"] * 3
        assert sum(Decimal(str(r["credits"])) for r in rows) == 2 * native + translated


def test_no_credits_left_is_a_billing_error(fake, billed):
    with billed.admin() as api:
        key = create_key(api, credits=0.0001)
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk(billed, key["key"]).messages.create(model=SONNET, max_tokens=4000,
                                                messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 402
    assert caught.value.body["error"]["type"] == "billing_error"
    assert fake.requests == []


def test_beta_client_as_claude_code_uses_it(fake, gateway, user, admin):
    """Claude Code calls the beta resource (`?beta=true`, betas in `anthropic-beta`) with x-api-key."""
    client = anthropic.Anthropic(base_url=gateway.url, api_key=None, max_retries=0, timeout=20,
                                 default_headers={"x-api-key": user["key"]})
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Done."))))
    message = client.beta.messages.create(model="claude-opus-4-6", max_tokens=32, betas=[BETA, "context-1m"],
                                          messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "Done."
    sent = only(fake, fa.PATH)
    assert sent.headers["anthropic-beta"] == f"{BETA},context-1m" and sent.json["model"] == "claude-opus-4-6"
    assert the_call(admin, user)["provider"] == "anthropic"


def test_what_only_anthropic_understands_goes_to_anthropic_alone(fake, gateway, admin, user):
    """A bare Claude name that Bedrock also serves: a server tool keeps the call on Anthropic."""
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Searched."))))
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "news?"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]}
    response = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": user["key"]})
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "Searched."
    assert only(fake, fa.PATH).json == body
    assert the_call(admin, user)["provider"] == "anthropic"
