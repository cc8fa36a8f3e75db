"""Gemini through the real gateway: the openai SDK in front, a fake Generative Language API
(v1beta, built from Google's reference) behind, on loopback."""
from __future__ import annotations

import base64

import httpx
import openai
import orjson
import pytest

from tests.fakes import gemini as g
from tests.integration.conftest import calls_of, only_call
from tests.support import openapi
from tests.support.gateway import UPSTREAM_KEYS

KEY = UPSTREAM_KEYS["GEMINI_API_KEY"]
CHAT = g.path("gemini-2.5-flash", "generateContent")
STREAM = g.path("gemini-2.5-flash", "streamGenerateContent")
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather", "description": "Current weather of a city", "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                       "additionalProperties": False},
    },
}


def only_request(fake, path: str):
    (request,) = [r for r in fake.requests if r.path == path]
    assert request.headers["x-goog-api-key"] == KEY
    assert "authorization" not in request.headers
    return request


def the_call(admin, user) -> dict:
    return only_call(admin, user)


def tokens(call: dict) -> dict:
    return {k: call[k] for k in ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens",
                                 "reasoning_tokens", "images", "usage_estimated")}


def sse_chunks(gateway, user, body: dict) -> list[bytes]:
    """The gateway's raw SSE payloads (to validate them as sent, not as the SDK parsed them)."""
    response = httpx.post(gateway.url + "/v1/chat/completions", json=body, timeout=20,
                          headers={"authorization": f"Bearer {user['key']}"})
    assert response.status_code == 200, response.text
    return [line[len("data: "):].encode() for line in response.text.split("\n\n") if line.startswith("data: ")]


# -- chat ------------------------------------------------------------------------------------------


def test_chat(fake, client, admin, user):
    meta = g.usage(21, 4, cached=8, thoughts=6)
    fake.route("POST", CHAT, json=g.response([g.candidate([g.text("Bonjour"), g.text(" !")])], meta))
    raw = client.chat.completions.with_raw_response.create(
        model="google/gemini-2.5-flash", temperature=0.3, max_completion_tokens=200, stop=["END"], seed=3, top_p=0.9,
        messages=[{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Hello"},
                  {"role": "assistant", "content": "Salut"}, {"role": "user", "content": "Again"}])
    openapi.validate("CreateChatCompletionResponse", orjson.loads(raw.http_response.content))
    completion = raw.parse()
    assert completion.choices[0].message.content == "Bonjour !"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.id, completion.model) == (g.RESPONSE_ID, g.MODEL_VERSION)
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (21, 10, 31)
    assert usage.prompt_tokens_details.cached_tokens == 8
    assert usage.completion_tokens_details.reasoning_tokens == 6

    request = only_request(fake, CHAT)
    assert request.query == ""
    assert request.json == {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}, {"role": "model", "parts": [{"text": "Salut"}]},
                     {"role": "user", "parts": [{"text": "Again"}]}],
        "systemInstruction": {"parts": [{"text": "Answer in French."}]},
        "generationConfig": {"temperature": 0.3, "topP": 0.9, "seed": 3, "maxOutputTokens": 200,
                             "stopSequences": ["END"]},
    }
    call = the_call(admin, user)
    assert (call["provider"], call["model"], call["status"]) == ("google", "gemini-2.5-flash", "success")
    assert call["request_id"] == raw.headers["x-request-id"]
    # input = prompt - cached; output = candidates + thoughts
    assert tokens(call) == {"prompt_tokens": 13, "completion_tokens": 10, "cache_read_tokens": 8,
                            "cache_write_tokens": 0, "reasoning_tokens": 6, "images": 0, "usage_estimated": 0}


def test_bare_model_name_reaches_gemini(fake, client, admin, user):
    fake.route("POST", CHAT, json=g.response([g.candidate([g.text("ok")])], g.usage(3, 1)))
    completion = client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "ok"
    only_request(fake, CHAT)
    assert the_call(admin, user)["provider"] == "google"


def test_json_schema_and_reasoning_effort(fake, client):
    fake.route("POST", CHAT, json=g.response([g.candidate([g.text('{"a": "x"}')])], g.usage(3, 4, thoughts=100)))
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}
    completion = client.chat.completions.create(
        model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "json"}], reasoning_effort="low",
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema, "strict": True}})
    assert orjson.loads(completion.choices[0].message.content) == {"a": "x"}
    assert only_request(fake, CHAT).json["generationConfig"] == {
        "responseMimeType": "application/json", "responseJsonSchema": schema, "thinkingConfig": {"thinkingBudget": 1024}}


# -- streaming -------------------------------------------------------------------------------------


def test_streaming_text_finish_and_usage(fake, gateway, admin, user):
    meta = g.usage(30, 7, cached=10, thoughts=12)
    chunks = g.stream([[g.text("Let me think.", thought=True)], [g.text("Once upon")], [g.text(" a time")],
                       [g.text(".")]], meta)
    fake.route("POST", STREAM, sse=chunks)
    body = {"model": "google/gemini-2.5-flash", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "A story"}]}
    payloads = sse_chunks(gateway, user, body)
    assert payloads[-1] == b"[DONE]"
    events = [orjson.loads(p) for p in payloads[:-1]]
    for event in events:
        openapi.validate("CreateChatCompletionStreamResponse", event)
    deltas = [c for e in events for c in e["choices"]]
    assert deltas[0]["delta"]["role"] == "assistant"
    assert "".join(c["delta"].get("content") or "" for c in deltas) == "Once upon a time."
    assert [c["finish_reason"] for c in deltas if c["finish_reason"]] == ["stop"]
    assert events[-1]["choices"] == []
    assert events[-1]["usage"] == {"prompt_tokens": 30, "completion_tokens": 19, "total_tokens": 49,
                                   "prompt_tokens_details": {"cached_tokens": 10},
                                   "completion_tokens_details": {"reasoning_tokens": 12}}
    request = only_request(fake, STREAM)
    assert request.query == "alt=sse"
    assert request.json == {"contents": [{"role": "user", "parts": [{"text": "A story"}]}]}
    call = the_call(admin, user)
    assert (call["status"], call["stream"]) == ("success", 1)
    assert tokens(call) == {"prompt_tokens": 20, "completion_tokens": 19, "cache_read_tokens": 10,
                            "cache_write_tokens": 0, "reasoning_tokens": 12, "images": 0, "usage_estimated": 0}


def test_streaming_via_sdk_without_usage_chunk(fake, client, admin, user):
    fake.route("POST", STREAM, sse=g.stream([[g.text("Hi")], [g.text(" you")]], g.usage(5, 2)), chunk_delay=0.01)
    chunks = list(client.chat.completions.create(model="google/gemini-2.5-flash", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hi you"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None and c.choices for c in chunks)  # not asked for: no usage chunk
    call = the_call(admin, user)
    assert (call["prompt_tokens"], call["completion_tokens"], call["usage_estimated"]) == (5, 2, 0)


def test_stream_cut_before_finish_is_a_failed_call(fake, client, admin, user):
    fake.route("POST", STREAM, sse=g.stream([[g.text("Hi")], [g.text(" you")]], g.usage(5, 2))[:1])
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="google/gemini-2.5-flash", stream=True,
                                            messages=[{"role": "user", "content": "hi"}]))
    call = the_call(admin, user)
    assert (call["status"], call["error_code"]) == ("failed", "upstream_bad_response")


def test_error_mid_stream(fake, client, admin, user):
    chunks = [g.stream([[g.text("Hi")], [g.text("!")]], g.usage(5, 2))[0],
              g.error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE")]
    fake.route("POST", STREAM, sse=chunks)
    with pytest.raises(openai.APIError) as info:
        list(client.chat.completions.create(model="google/gemini-2.5-flash", stream=True,
                                            messages=[{"role": "user", "content": "hi"}]))
    assert "overloaded" in str(info.value)
    call = the_call(admin, user)
    assert (call["status"], call["http_status"], call["error_code"]) == ("failed", 503, "upstream_overloaded")


# -- tools -----------------------------------------------------------------------------------------


def test_tools_round_trip(fake, client, admin, user):
    fake.route("POST", CHAT, json=g.response(
        [g.candidate([g.function_call("get_weather", {"city": "Paris"}, signature="c2lnbmF0dXJl")])], g.usage(40, 9)),
        times=1)
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    completion = client.chat.completions.create(model="google/gemini-2.5-flash", messages=messages,
                                                tools=[WEATHER_TOOL], tool_choice={"type": "function",
                                                                                   "function": {"name": "get_weather"}})
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert (call.id, call.type, call.function.name) == ("call_0", "function", "get_weather")
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}
    first = fake.requests[-1].json
    assert first["tools"] == [{"functionDeclarations": [{
        "name": "get_weather", "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]}]
    assert first["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}

    # The client runs the tool and sends the result back, with the assistant turn as it got it.
    fake.route("POST", CHAT, json=g.response([g.candidate([g.text("21 °C in Paris.")])], g.usage(60, 6)))
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'}]
    final = client.chat.completions.create(model="google/gemini-2.5-flash", messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "21 °C in Paris."
    second = fake.requests[-1].json
    assert second["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                     "thoughtSignature": "c2lnbmF0dXJl"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}}]},
    ]
    assert "toolConfig" not in second
    assert [c["prompt_tokens"] for c in calls_of(admin, user["account_id"])] == [60, 40]


def test_streamed_tool_call(fake, client):
    fake.route("POST", STREAM, sse=g.stream(
        [[g.text("Checking.")], [g.function_call("get_weather", {"city": "Oslo"})]], g.usage(12, 8)))
    chunks = list(client.chat.completions.create(model="google/gemini-2.5-flash", stream=True, tools=[WEATHER_TOOL],
                                                 messages=[{"role": "user", "content": "Weather in Oslo?"}]))
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert [(tc.index, tc.id, tc.function.name) for tc in calls] == [(0, "call_0", "get_weather")]
    assert orjson.loads(calls[0].function.arguments) == {"city": "Oslo"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# -- image input -----------------------------------------------------------------------------------


def test_image_input(fake, client):
    fake.route("POST", CHAT, json=g.response([g.candidate([g.text("A red square.")])], g.usage(270, 4)))
    png = base64.b64encode(g.png("red")).decode()
    completion = client.chat.completions.create(model="google/gemini-2.5-flash", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What are these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/photos/cat.jpg"}},
    ]}])
    assert completion.choices[0].message.content == "A red square."
    assert only_request(fake, CHAT).json["contents"] == [{"role": "user", "parts": [
        {"text": "What are these?"},
        {"inlineData": {"mimeType": "image/png", "data": png}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photos/cat.jpg"}},
    ]}]


# -- safety ----------------------------------------------------------------------------------------


def test_safety_stop_is_a_content_filter_answer(fake, client, admin, user):
    fake.route("POST", CHAT, json=g.response([g.candidate(None, "SAFETY")], g.usage(11, 0)))
    raw = client.chat.completions.with_raw_response.create(model="google/gemini-2.5-flash",
                                                           messages=[{"role": "user", "content": "something bad"}])
    openapi.validate("CreateChatCompletionResponse", orjson.loads(raw.http_response.content))
    completion = raw.parse()
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content is None
    assert the_call(admin, user)["status"] == "success"


def test_blocked_prompt_is_a_content_filter_answer(fake, client, admin, user):
    fake.route("POST", CHAT, json=g.blocked_prompt("SAFETY", prompt_tokens=9))
    completion = client.chat.completions.create(model="google/gemini-2.5-flash",
                                                messages=[{"role": "user", "content": "something worse"}])
    choice = completion.choices[0]
    assert (choice.finish_reason, choice.message.content) == ("content_filter", None)
    assert "blocked" in choice.message.refusal
    assert tokens(the_call(admin, user))["prompt_tokens"] == 9


def test_blocked_prompt_stream(fake, client):
    fake.route("POST", STREAM, sse=[g.blocked_prompt()])
    chunks = list(client.chat.completions.create(model="google/gemini-2.5-flash", stream=True,
                                                 messages=[{"role": "user", "content": "something worse"}]))
    assert chunks[-1].choices[0].finish_reason == "content_filter"


# -- embeddings ------------------------------------------------------------------------------------


def test_embeddings_single(fake, client, admin, user):
    path = g.path("text-embedding-004", "embedContent")
    fake.route("POST", path, handler=g.embed_handler)
    raw = client.embeddings.with_raw_response.create(model="google/text-embedding-004", input="hello world",
                                                     encoding_format="float")
    openapi.validate("CreateEmbeddingResponse", orjson.loads(raw.http_response.content))
    result = raw.parse()
    assert result.data[0].embedding == g.vector("hello world")
    assert result.model == "text-embedding-004"
    assert result.usage.prompt_tokens == 3  # 11 characters, estimated
    assert only_request(fake, path).json == {"content": {"parts": [{"text": "hello world"}]}}
    call = the_call(admin, user)
    assert (call["type"], call["prompt_tokens"], call["usage_estimated"]) == ("embedding", 3, 1)


def test_embeddings_batch_dimensions_base64(fake, client, admin, user):
    path = g.path("text-embedding-004", "batchEmbedContents")
    fake.route("POST", path, handler=g.batch_embed_handler)
    inputs = ["first text", "second", "third one here"]
    # The SDK asks for base64 by default and decodes the little-endian float32s itself.
    result = client.embeddings.create(model="google/text-embedding-004", input=inputs, dimensions=16)
    assert [d.embedding for d in result.data] == [g.vector(t, 16) for t in inputs]
    assert [d.index for d in result.data] == [0, 1, 2]
    sent = only_request(fake, path).json
    assert sent == {"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": t}]},
                                  "outputDimensionality": 16} for t in inputs]}
    assert the_call(admin, user)["usage_estimated"] == 1


def test_embeddings_base64_on_the_wire(fake, gateway, user):
    fake.route("POST", g.path("text-embedding-004", "embedContent"), handler=g.embed_handler)
    response = httpx.post(gateway.url + "/v1/embeddings", headers={"authorization": f"Bearer {user['key']}"},
                          json={"model": "google/text-embedding-004", "input": "abc", "encoding_format": "base64"})
    body = response.json()
    openapi.validate("CreateEmbeddingResponse", body)
    raw = base64.b64decode(body["data"][0]["embedding"])
    assert list(memoryview(raw).cast("f")) == g.vector("abc")  # little-endian float32 on this machine


def test_embeddings_of_tokens_are_refused(fake, client):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="google/text-embedding-004", input=[[1, 2, 3]])
    assert "token" in info.value.message
    assert fake.requests == []


# -- images ----------------------------------------------------------------------------------------


def test_images_with_imagen(fake, client, admin, user):
    path = g.path("imagen-4.0-generate-001", "predict")
    images = [g.png("one"), g.png("two")]
    fake.route("POST", path, json=g.imagen(images))
    raw = client.images.with_raw_response.generate(model="google/imagen-4.0-generate-001", prompt="two cats", n=2,
                                                   size="1792x1024")
    openapi.validate("ImagesResponse", orjson.loads(raw.http_response.content))
    result = raw.parse()
    assert [base64.b64decode(d.b64_json) for d in result.data] == images
    assert only_request(fake, path).json == {
        "instances": [{"prompt": "two cats"}],
        "parameters": {"sampleCount": 2, "includeRaiReason": True, "aspectRatio": "16:9"}}
    call = the_call(admin, user)
    assert (call["type"], call["images"], call["status"]) == ("image", 2, "success")


def test_images_with_a_gemini_image_model(fake, client, admin, user):
    path = g.path("gemini-2.5-flash-image", "generateContent")
    image = g.png("cat")
    fake.route("POST", path, json=g.response([g.candidate([g.text("Here it is."), g.inline_image(image)])],
                                             g.usage(7, 1290), model_version="gemini-2.5-flash-image"))
    result = client.images.generate(model="google/gemini-2.5-flash-image", prompt="a cat", response_format="url")
    (item,) = result.data
    assert item.url == "data:image/png;base64," + base64.b64encode(image).decode()
    assert only_request(fake, path).json == {"contents": [{"role": "user", "parts": [{"text": "a cat"}]}],
                                             "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
    call = the_call(admin, user)
    assert (call["images"], call["prompt_tokens"], call["completion_tokens"]) == (1, 7, 1290)


def test_images_filtered_by_imagen(fake, client, admin, user):
    fake.route("POST", g.path("imagen-4.0-generate-001", "predict"),
               json=g.imagen([], filtered=["The prompt could not be submitted."]))
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="google/imagen-4.0-generate-001", prompt="forbidden")
    assert info.value.code == "content_policy_violation"
    assert "could not be submitted" in info.value.message
    assert the_call(admin, user)["status"] == "failed"


# -- errors ----------------------------------------------------------------------------------------


def test_resource_exhausted_is_429(fake, client, admin, user):
    fake.route("POST", CHAT, status=429, json=g.error(
        429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"))
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    error = info.value
    assert error.status_code == 429
    assert error.code == "resource_exhausted" and error.type == "rate_limit_error"
    assert "exhausted" in error.message
    assert KEY not in error.response.text
    call = the_call(admin, user)
    assert (call["status"], call["http_status"], call["prompt_tokens"]) == ("failed", 429, 0)


@pytest.mark.parametrize(
    ("status", "body", "sdk_error", "client_status"),
    [
        (400, g.error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT"), openai.BadRequestError, 400),
        (404, [g.error(404, "models/gemini-2.5-flash is not found.", "NOT_FOUND")], openai.NotFoundError, 404),
        (400, g.error(400, f"API key not valid: {KEY}", "INVALID_ARGUMENT", reason="API_KEY_INVALID"),
         openai.InternalServerError, 502),
        (503, g.error(503, "The model is overloaded.", "UNAVAILABLE"), openai.InternalServerError, 503),
    ],
)
def test_provider_errors(fake, client, status, body, sdk_error, client_status):
    fake.route("POST", CHAT, status=status, json=body)
    with pytest.raises(sdk_error) as info:
        client.chat.completions.create(model="google/gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == client_status
    assert KEY not in info.value.response.text and "Traceback" not in info.value.response.text
