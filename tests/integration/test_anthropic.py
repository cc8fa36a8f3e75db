"""The official openai SDK drives the real gateway in front of a fake Anthropic Messages API."""
from __future__ import annotations

import httpx
import openai
import orjson
import pytest

from tests.fakes import anthropic as fa
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import UPSTREAM_KEYS

KEY = UPSTREAM_KEYS["ANTHROPIC_API_KEY"]
SONNET = "anthropic/claude-sonnet-4-5"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                   "required": ["city"]}}}
WEATHER_TOOL = {"name": "get_weather", "description": "Current weather of a city",
                "input_schema": WEATHER["function"]["parameters"]}


def raw_stream(gateway, user, body: dict) -> list[dict]:
    """The gateway's SSE chunks as sent, each checked against OpenAI's schema; ends with [DONE]."""
    chunks = []
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json=body, timeout=20,
                      headers={"authorization": f"Bearer {user['key']}"}) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        chunk = orjson.loads(line[6:])
        openapi.validate("CreateChatCompletionStreamResponse", chunk)
        chunks.append(chunk)
    return chunks


def test_chat(fake, client, admin, user):
    msg = fa.message(fa.text("Paris."), tokens=fa.usage(21, 3))
    fake.add_rule(fa.MessagesRule(msg))
    raw = client.chat.completions.with_raw_response.create(
        model=SONNET, max_tokens=100, temperature=0.3, stop=["\n\n"], user="end-user-7",
        messages=[{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of France?"}])
    openapi.validate("CreateChatCompletionResponse", orjson.loads(raw.content))
    completion = raw.parse()

    (sent,) = fake.requests
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["content-type"] == "application/json" and "authorization" not in sent.headers
    assert sent.json == {
        "model": "claude-sonnet-4-5", "max_tokens": 100, "system": "Answer in one word.",
        "messages": [{"role": "user", "content": "Capital of France?"}],
        "temperature": 0.3, "stop_sequences": ["\n\n"], "metadata": {"user_id": "end-user-7"},
    }

    assert (completion.id, completion.model) == (msg["id"], fa.MODEL)
    assert completion.choices[0].message.content == "Paris."
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (21, 3, 24)
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["provider"], call["model"]) == ("success", "anthropic", "claude-sonnet-4-5")
    assert (call["prompt_tokens"], call["completion_tokens"]) == (21, 3)
    assert call["request_id"] == raw.headers["x-request-id"]


def test_bare_claude_name_goes_to_anthropic_with_the_models_max_tokens(fake, client):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("hi"), model="claude-haiku-4-5-20251001")))
    raw = client.chat.completions.with_raw_response.create(model="claude-haiku-4-5",
                                                           messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-aihub-provider"] == "anthropic"
    (sent,) = fake.requests
    assert (sent.json["model"], sent.json["max_tokens"]) == ("claude-haiku-4-5", 64000)
    assert raw.parse().model == "claude-haiku-4-5-20251001"


def test_usage_with_cache_tokens_is_recorded_as_anthropic_reported(fake, client, admin, user):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("ok"), tokens=fa.usage(100, 20, cache_write=300, cache_read=2000))))
    completion = client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "again"}])
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2400, 20, 2420)
    assert usage.prompt_tokens_details.cached_tokens == 2000
    (call,) = calls_of(admin, user["account_id"])
    assert (call["prompt_tokens"], call["cache_write_tokens"], call["cache_read_tokens"], call["completion_tokens"]) == \
        (100, 300, 2000, 20)
    assert call["usage_estimated"] in (0, False)


def test_streaming_text_with_usage(fake, gateway, admin, user):
    text = "Streaming from Claude, one small piece at a time."
    msg = fa.message(fa.text(text), tokens=fa.usage(30, 12, cache_write=5, cache_read=800))
    fake.add_rule(fa.MessagesRule(msg, evts=fa.events(msg, piece=6)))
    chunks = raw_stream(gateway, user, {"model": SONNET, "stream": True, "stream_options": {"include_usage": True},
                                        "messages": [{"role": "user", "content": "stream please"}]})
    assert fake.requests[0].json["stream"] is True and "stream_options" not in fake.requests[0].json
    with_choices = [c for c in chunks if c["choices"]]
    assert with_choices[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in with_choices) == text
    assert with_choices[-1]["choices"][0]["finish_reason"] == "stop"
    assert {c["id"] for c in chunks} == {msg["id"]}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {
        "prompt_tokens": 835, "completion_tokens": 12, "total_tokens": 847, "prompt_tokens_details": {"cached_tokens": 800}}
    (call,) = calls_of(admin, user["account_id"])
    assert call["status"] == "success" and call["stream"] in (1, True)
    assert (call["prompt_tokens"], call["cache_write_tokens"], call["cache_read_tokens"], call["completion_tokens"]) == \
        (30, 5, 800, 12)


def test_streaming_via_sdk_without_usage_chunk(fake, client, admin, user):
    text = "No usage chunk for me."
    msg = fa.message(fa.text(text), tokens=fa.usage(9, 6))
    fake.add_rule(fa.MessagesRule(msg, evts=fa.events(msg, piece=3)))
    chunks = list(client.chat.completions.create(model="claude-haiku-4-5", stream=True,
                                                 messages=[{"role": "user", "content": "x"}]))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == "stop"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["prompt_tokens"], call["completion_tokens"]) == (9, 6)  # recorded all the same


def test_streaming_tool_call_via_sdk(fake, client, admin, user):
    msg = fa.message(fa.text("Let me check."), fa.tool_use("toolu_01A", "get_weather", {"city": "Paris", "unit": "C"}),
                     fa.tool_use("toolu_01B", "get_weather", {"city": "Lyon"}), stop_reason="tool_use",
                     tokens=fa.usage(310, 95))
    fake.add_rule(fa.MessagesRule(msg, evts=fa.events(msg, piece=4)))
    stream = client.chat.completions.create(model=SONNET, stream=True, stream_options={"include_usage": True},
                                            tools=[WEATHER], tool_choice="auto",
                                            messages=[{"role": "user", "content": "Weather in Paris and Lyon?"}])
    calls: dict[int, dict] = {}
    content, finish, usage = "", None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            content += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for part in choice.delta.tool_calls or ():
                entry = calls.setdefault(part.index, {"id": None, "name": None, "arguments": ""})
                entry["id"] = part.id or entry["id"]
                entry["name"] = (part.function.name if part.function else None) or entry["name"]
                entry["arguments"] += (part.function.arguments if part.function else None) or ""
    assert content == "Let me check." and finish == "tool_calls"
    assert [(c["id"], c["name"], orjson.loads(c["arguments"])) for c in calls.values()] == [
        ("toolu_01A", "get_weather", {"city": "Paris", "unit": "C"}), ("toolu_01B", "get_weather", {"city": "Lyon"})]
    assert (usage.prompt_tokens, usage.completion_tokens) == (310, 95)
    sent = fake.requests[0].json
    assert sent["tools"] == [WEATHER_TOOL] and sent["tool_choice"] == {"type": "auto"}


def test_tools_round_trip(fake, client, admin, user):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("It is 18C in Paris."), id="msg_final")))
    fake.add_rule(fa.MessagesRule(fa.message(fa.tool_use("toolu_01", "get_weather", {"city": "Paris"}),
                                             id="msg_tool", stop_reason="tool_use"), times=1))
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model=SONNET, messages=messages, tools=[WEATHER],
                                           tool_choice={"type": "function", "function": {"name": "get_weather"}},
                                           parallel_tool_calls=False)
    assert first.choices[0].finish_reason == "tool_calls"
    (tool_call,) = first.choices[0].message.tool_calls
    assert (tool_call.id, tool_call.function.name, orjson.loads(tool_call.function.arguments)) == \
        ("toolu_01", "get_weather", {"city": "Paris"})
    assert fake.requests[0].json["tool_choice"] == {"type": "tool", "name": "get_weather",
                                                     "disable_parallel_tool_use": True}

    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": tool_call.id, "content": "18C, sunny"}]
    second = client.chat.completions.create(model=SONNET, messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content == "It is 18C in Paris." and second.id == "msg_final"
    assert fake.requests[1].json["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "get_weather",
                                           "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C, sunny"}]},
    ]
    assert len(calls_of(admin, user["account_id"])) == 2


def test_image_input(fake, client):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("A single pixel."))))
    completion = client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Describe both."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}}]}])
    assert completion.choices[0].message.content == "A single pixel."
    (sent,) = fake.requests
    assert sent.json["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "Describe both."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]}]


def test_json_schema_is_served_by_a_forced_tool(fake, client):
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"],
              "additionalProperties": False}
    fake.add_rule(fa.MessagesRule(fa.message(fa.tool_use("toolu_9", "arithmetic", {"answer": 4}), stop_reason="tool_use")))
    completion = client.chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "2+2?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "arithmetic", "schema": schema, "strict": True}})
    assert orjson.loads(completion.choices[0].message.content) == {"answer": 4}
    assert completion.choices[0].finish_reason == "stop" and not completion.choices[0].message.tool_calls
    sent = fake.requests[0].json
    assert sent["tool_choice"] == {"type": "tool", "name": "arithmetic"}
    assert [(t["name"], t["input_schema"]) for t in sent["tools"]] == [("arithmetic", schema)]


def test_mid_stream_error_raises_in_sdk_and_records_a_failed_call(fake, client, admin, user):
    msg = fa.message(fa.text("This answer will be cut short by an overload."), tokens=fa.usage(44, 30))
    evts = fa.events(msg, error=fa.error_body("overloaded_error", "Overloaded"), error_after=6)
    fake.add_rule(fa.MessagesRule(msg, evts=evts))
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(model=SONNET, stream=True,
                                                     messages=[{"role": "user", "content": "x"}]):
            received.append(chunk.choices[0].delta.content or "")
    assert "overloaded" in str(info.value).lower()
    assert "".join(received) == "This answer wil"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["error_code"], call["credits"]) == \
        ("failed", 503, "upstream_overloaded", 0)
    assert call["prompt_tokens"] == 44  # input as Anthropic reported it at message_start


@pytest.mark.parametrize(
    ("status", "error", "client_status", "code"),
    [
        (529, fa.error_body("overloaded_error", "Overloaded"), 503, "upstream_overloaded"),
        (401, fa.error_body("authentication_error", f"invalid x-api-key {KEY}"), 502, "upstream_auth_failed"),
        (403, fa.error_body("permission_error", "Your API key does not have permission"), 502, "upstream_auth_failed"),
        (500, fa.error_body("api_error", "Internal server error"), 502, "upstream_error"),
    ],
)
def test_upstream_failures(status, error, client_status, code, fake, gateway, admin, user):
    fake.route("POST", "/v1/messages", status=status, json=error)
    response = httpx.post(gateway.url + "/v1/chat/completions", timeout=20,
                          headers={"authorization": f"Bearer {user['key']}"},
                          json={"model": SONNET, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == client_status
    body = response.json()
    openapi.validate("ErrorResponse", body)
    assert body["error"]["code"] == code and body["error"]["type"] == "api_error"
    assert error["error"]["message"].split(" sk-")[0] in body["error"]["message"]
    assert KEY not in response.text and "Traceback" not in response.text
    assert KEY not in gateway.log_path.read_text()
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", client_status, 0)


@pytest.mark.parametrize(
    ("status", "kind", "exception"),
    [(400, "invalid_request_error", openai.BadRequestError), (404, "not_found_error", openai.NotFoundError),
     (429, "rate_limit_error", openai.RateLimitError)],
)
def test_client_faults_pass_through_with_anthropics_message(status, kind, exception, fake, client):
    fake.route("POST", "/v1/messages", status=status, headers={"retry-after": "9"},
               json=fa.error_body(kind, f"{kind}: details from Anthropic"))
    with pytest.raises(exception) as info:
        client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "x"}])
    error = info.value.body
    assert error["message"] == f"{kind}: details from Anthropic" and error["code"] == kind
    assert error["type"] == {400: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_error"}[status]
    if status == 429:
        assert info.value.response.headers["retry-after"] == "9"


def test_n_above_one_is_refused_before_calling_anthropic(fake, client, admin, user):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=SONNET, n=2, messages=[{"role": "user", "content": "x"}])
    assert info.value.body["param"] == "n" and "Anthropic" in info.value.body["message"]
    assert fake.requests == []
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"]) == ("failed", 400)


def test_embeddings_and_images_are_unsupported(fake, client):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=SONNET, input="hello")
    assert info.value.body["code"] == "unsupported_operation"
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model=SONNET, prompt="a cat")
    assert info.value.body["code"] == "unsupported_operation"
    assert fake.requests == []
