"""The official google-genai SDK drives aihub's generateContent surface on the real server:
natively to a fake Gemini (the client's body goes up unchanged, Gemini's answer and chunks come
back unchanged), and translated to other providers' fakes (OpenAI-compatible, Anthropic) and
the offline demo; one call record per call with surface "gemini", usage and credits exact."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes import anthropic as fa
from tests.fakes import chat_echo
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

FLASH = "google/gemini-2.5-flash"
CHAT = fg.path("gemini-2.5-flash", "generateContent")
STREAM = fg.path("gemini-2.5-flash", "streamGenerateContent")
WEATHER = types.FunctionDeclaration(
    name="get_weather", description="Current weather of a city",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)},
                            required=["city"]))
WEATHER_JSON = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def sdk(gateway: Gateway, key: str) -> genai.Client:
    """The client as tools built on google-genai configure it: aihub's URL as the base URL."""
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=gateway.url, timeout=20_000))


@pytest.fixture
def google(gateway: Gateway, user: dict) -> genai.Client:
    return sdk(gateway, user["key"])


def the_call(admin: httpx.Client, user: dict) -> dict:
    return only_call(admin, user, "gemini")


def tokens(call: dict) -> tuple[int, int, int, int]:
    return call["prompt_tokens"], call["cache_read_tokens"], call["completion_tokens"], call["reasoning_tokens"]


def openai_chunk(delta: dict, finish: str | None = None) -> dict:
    return {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


# -- native: Gemini ------------------------------------------------------------------------------


def test_generate_goes_up_unchanged(fake, google, admin, user):
    answer = fg.response([fg.candidate([fg.text("Bonjour"), fg.text(" !")])], fg.usage(21, 4, cached=8, thoughts=6))
    fake.route("POST", CHAT, json=answer)
    raw = google.models.generate_content(
        model=FLASH, contents="Hello",
        config=types.GenerateContentConfig(system_instruction="Answer in French.", temperature=0.3, top_k=5,
                                           max_output_tokens=200, safety_settings=[types.SafetySetting(
                                               category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                                               threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH)]))
    assert raw.text == "Bonjour !"
    assert (raw.response_id, raw.model_version) == (fg.RESPONSE_ID, fg.MODEL_VERSION)
    u = raw.usage_metadata
    assert (u.prompt_token_count, u.cached_content_token_count, u.thoughts_token_count) == (21, 8, 6)

    sent = only(fake, CHAT)
    assert sent.json == {"contents": [{"parts": [{"text": "Hello"}], "role": "user"}],
                         "systemInstruction": {"parts": [{"text": "Answer in French."}], "role": "user"},
                         "generationConfig": {"temperature": 0.3, "topK": 5, "maxOutputTokens": 200},
                         "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]}
    assert sent.headers["x-goog-api-key"] == UPSTREAM_KEYS["GEMINI_API_KEY"]
    call = the_call(admin, user)
    assert (call["provider"], call["model"], call["status"], call["stream"]) == ("google", "gemini-2.5-flash",
                                                                                 "success", 0)
    assert tokens(call) == (13, 8, 10, 6) and call["usage_estimated"] == 0


def test_native_body_and_answer_are_the_clients_bytes(fake, gateway, user):
    """A field this gateway has never heard of goes up, and Gemini's answer comes back as it came."""
    answer = fg.response([fg.candidate([fg.text("ok")])], fg.usage(3, 1))
    answer["someNewField"] = {"kept": True}
    fake.route("POST", CHAT, json=answer)
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "cachedContent": "cachedContents/abc",
            "labels": {"team": "x"}}
    response = httpx.post(f"{gateway.url}/v1beta/models/{FLASH}:generateContent", json=body,
                          params={"key": user["key"]}, timeout=20)
    assert response.status_code == 200, response.text
    assert response.json() == answer
    assert only(fake, CHAT).json == body


def test_stream_chunks_pass_through(fake, gateway, google, admin, user):
    chunks = fg.stream([[fg.text("Once")], [fg.text(" upon")], [fg.text(" a time.")]], fg.usage(12, 5))
    fake.route("POST", STREAM, sse=chunks)
    pieces = list(google.models.generate_content_stream(model=FLASH, contents="A story"))
    assert "".join(p.text for p in pieces) == "Once upon a time."
    assert pieces[-1].usage_metadata.candidates_token_count == 5
    assert only(fake, STREAM).query == "alt=sse"

    with httpx.stream("POST", f"{gateway.url}/v1beta/models/{FLASH}:streamGenerateContent", params={"alt": "sse"},
                      headers={"x-goog-api-key": user["key"]}, timeout=20,
                      json={"contents": [{"role": "user", "parts": [{"text": "again"}]}]}) as response:
        raw = response.read()
    assert [orjson.loads(line[6:]) for line in raw.decode().split("\n\n") if line] == chunks
    first, second = calls_of(admin, user["account_id"])
    assert {first["surface"], second["surface"]} == {"gemini"} and first["stream"] == 1
    assert tokens(first) == (12, 0, 5, 0)


def test_count_tokens_is_geminis_own(fake, google, admin, user):
    fake.route("POST", fg.path("gemini-2.5-flash", "countTokens"), json={"totalTokens": 31})
    assert google.models.count_tokens(model=FLASH, contents="How many?").total_tokens == 31
    assert only(fake, fg.path("gemini-2.5-flash", "countTokens")).json == {
        "contents": [{"parts": [{"text": "How many?"}], "role": "user"}]}
    assert calls_of(admin, user["account_id"]) == []  # free, not a call


def test_embed_content_native(fake, google, admin, user):
    model = "gemini-embedding-001"
    fake.route("POST", fg.path(model, "batchEmbedContents"), handler=fg.batch_embed_handler)
    result = google.models.embed_content(model=f"google/{model}", contents=["alpha", "beta"],
                                         config=types.EmbedContentConfig(output_dimensionality=8))
    assert [e.values for e in result.embeddings] == [fg.vector("alpha"), fg.vector("beta")]
    sent = only(fake, fg.path(model, "batchEmbedContents")).json
    assert [r["model"] for r in sent["requests"]] == [f"models/{model}"] * 2  # the provider's own id
    call = the_call(admin, user)
    assert (call["type"], call["provider"], call["usage_estimated"]) == ("embedding", "google", 1)


def test_error_mid_stream_is_an_error_chunk(fake, gateway, admin, user):
    fake.route("POST", STREAM, sse=[fg.stream([[fg.text("Hi")], [fg.text("!")]], fg.usage(3, 1))[0],
                                    fg.error(503, "The model is overloaded.", "UNAVAILABLE")])
    with httpx.stream("POST", f"{gateway.url}/v1beta/models/{FLASH}:streamGenerateContent?alt=sse",
                      headers={"x-goog-api-key": user["key"]}, timeout=20,
                      json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]}) as response:
        raw = response.read().decode()
    last = orjson.loads(raw.strip().split("\n\n")[-1][6:])
    assert last["error"]["status"] == "UNAVAILABLE" and last["error"]["code"] == 503
    assert the_call(admin, user)["status"] == "failed"


# -- translated: other providers -----------------------------------------------------------------


def test_function_calling_round_trip_through_an_openai_provider(fake, google, admin, user):
    call_1 = chat_echo.completion_with({"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city":"Paris"}'}}]}, "tool_calls",
        {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49, "prompt_tokens_details": {"cached_tokens": 32}})
    fake.route("POST", "/v1/chat/completions", json=call_1, times=1)
    config = types.GenerateContentConfig(
        system_instruction="Be brief.", tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")))
    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])]
    first = google.models.generate_content(model="openai/gpt-4o", contents=contents, config=config)
    (fc,) = first.function_calls
    assert (fc.name, fc.args, fc.id) == ("get_weather", {"city": "Paris"}, "call_1")
    assert first.candidates[0].finish_reason == types.FinishReason.STOP
    u = first.usage_metadata
    assert (u.prompt_token_count, u.cached_content_token_count, u.candidates_token_count) == (40, 32, 9)
    sent = only(fake, "/v1/chat/completions").json
    assert sent == {"model": "gpt-4o", "tool_choice": "required",
                    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}],
                    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_JSON,
                                                                "description": "Current weather of a city"}}]}

    fake.reset()
    fake.route("POST", "/v1/chat/completions", json=chat_echo.completion_with({"content": "18C and sunny."}, "stop",
                                                                      chat_echo.USAGE))
    contents += [first.candidates[0].content,
                 types.Content(role="user", parts=[types.Part.from_function_response(
                     name="get_weather", response={"temperature": "18C"})])]
    second = google.models.generate_content(model="openai/gpt-4o", contents=contents, config=config)
    assert second.text == "18C and sunny."
    assert only(fake, "/v1/chat/completions").json["messages"][2:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature":"18C"}'}]
    rows = calls_of(admin, user["account_id"])
    assert [r["surface"] for r in rows] == ["gemini", "gemini"]
    assert tokens(rows[-1]) == (8, 32, 9, 0) and rows[-1]["provider"] == "openai"


def test_structured_output_through_an_openai_provider(fake, google, admin, user):
    fake.route("POST", "/v1/chat/completions", json=chat_echo.completion_with({"content": '{"city":"Oslo"}'}, "stop",
                                                                      chat_echo.USAGE))
    result = google.models.generate_content(
        model="openai/gpt-4o-mini", contents="A northern capital",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=WEATHER.parameters,
                                           stop_sequences=["END"], candidate_count=1, top_p=0.5,
                                           thinking_config=types.ThinkingConfig(thinking_budget=1024)))
    assert result.parsed == {"city": "Oslo"}
    sent = only(fake, "/v1/chat/completions").json
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "response", "schema": WEATHER_JSON}}
    assert (sent["stop"], sent["n"], sent["top_p"], sent["reasoning_effort"]) == (["END"], 1, 0.5, "minimal")
    assert the_call(admin, user)["provider"] == "openai"


def test_stream_through_an_openai_provider(fake, google, admin, user):
    usage = {**openai_chunk({}), "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 11,
                                                          "total_tokens": 41}}
    fake.route("POST", "/v1/chat/completions", sse=[
        openai_chunk({"role": "assistant", "content": "Checking"}), openai_chunk({"content": " now."}),
        openai_chunk({"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                                      "function": {"name": "get_weather", "arguments": ""}}]}),
        openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]}),
        openai_chunk({}, "tool_calls"), usage, "[DONE]"])
    pieces = list(google.models.generate_content_stream(
        model="openai/gpt-4o", contents="Rome?",
        config=types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])])))
    assert "".join(p.text or "" for p in pieces) == "Checking now."
    last = pieces[-1]
    assert [(c.name, c.args) for c in last.function_calls] == [("get_weather", {"city": "Rome"})]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == (30, 11)
    assert only(fake, "/v1/chat/completions").json["stream_options"] == {"include_usage": True}
    call = the_call(admin, user)
    assert (call["provider"], call["stream"], tokens(call)) == ("openai", 1, (30, 0, 11, 0))


def test_translated_to_anthropic(fake, google, admin, user):
    fake.add_rule(fa.MessagesRule(fa.message(fa.text("Hallo."), tokens=fa.usage(20, 3, cache_read=100))))
    result = google.models.generate_content(model="anthropic/claude-sonnet-4-5", contents="Hello in German",
                                            config=types.GenerateContentConfig(max_output_tokens=64))
    assert result.text == "Hallo." and result.candidates[0].finish_reason == types.FinishReason.STOP
    assert result.usage_metadata.prompt_token_count == 120
    sent = only(fake, fa.PATH).json
    assert sent["max_tokens"] == 64 and sent["messages"] == [{"role": "user", "content": "Hello in German"}]
    call = the_call(admin, user)
    assert (call["provider"], tokens(call)) == ("anthropic", (20, 100, 3, 0))


def test_demo_offline_and_estimated_count(google, admin, user):
    result = google.models.generate_content(model="demo/echo", contents="ping")
    assert result.text == "This is aihub's offline demo model. You said: ping"
    assert "".join(p.text or "" for p in google.models.generate_content_stream(model="demo/echo", contents="pong")) == \
        "This is aihub's offline demo model. You said: pong"
    assert google.models.count_tokens(model="demo/echo", contents="x" * 40).total_tokens == 10
    assert len(calls_of(admin, user["account_id"])) == 2


def test_embed_content_through_openai(fake, gateway, google, admin, user):
    vectors = [[0.5, -0.25], [0.125, 1.0]]
    fake.route("POST", "/v1/embeddings", json={"object": "list", "model": "text-embedding-3-small",
                                               "usage": {"prompt_tokens": 4, "total_tokens": 4},
                                               "data": [{"object": "embedding", "index": i, "embedding": v}
                                                        for i, v in enumerate(vectors)]})
    result = google.models.embed_content(model="openai/text-embedding-3-small", contents=["one", "two"],
                                         config=types.EmbedContentConfig(output_dimensionality=2))
    assert [e.values for e in result.embeddings] == vectors
    assert only(fake, "/v1/embeddings").json == {"model": "text-embedding-3-small", "input": ["one", "two"],
                                                 "dimensions": 2}
    single = httpx.post(f"{gateway.url}/v1beta/models/openai/text-embedding-3-small:embedContent", timeout=20,
                        headers={"x-goog-api-key": user["key"]}, json={"content": {"parts": [{"text": "one"}]}})
    assert single.status_code == 200 and single.json() == {"embedding": {"values": vectors[0]}}
    assert fake.requests[-1].json == {"model": "text-embedding-3-small", "input": ["one"]}
    first, second = calls_of(admin, user["account_id"])
    assert {first["surface"], second["surface"]} == {"gemini"}
    assert (first["type"], first["provider"], first["prompt_tokens"]) == ("embedding", "openai", 4)


def test_what_only_gemini_understands_goes_to_gemini_alone(fake, gateway, admin, user):
    fake.route("POST", CHAT, json=fg.response([fg.candidate([fg.text("Searched.")])], fg.usage(9, 2)))
    body = {"contents": [{"role": "user", "parts": [{"text": "News?"}]}], "tools": [{"googleSearch": {}}]}
    native = httpx.post(f"{gateway.url}/v1beta/models/{FLASH}:generateContent", json=body,
                        headers={"x-goog-api-key": user["key"]}, timeout=20)
    assert native.status_code == 200 and only(fake, CHAT).json == body
    elsewhere = httpx.post(f"{gateway.url}/v1beta/models/openai/gpt-4o:generateContent", json=body,
                           headers={"x-goog-api-key": user["key"]}, timeout=20)
    assert elsewhere.status_code == 400 and "tools[0].googleSearch" in elsewhere.json()["error"]["message"]
    assert [r.path for r in fake.requests] == [CHAT]
    (call,) = [c for c in calls_of(admin, user["account_id"]) if c["status"] == "success"]
    assert call["provider"] == "google"


# -- errors and auth -----------------------------------------------------------------------------


def test_typed_errors(fake, gateway, google):
    stranger = sdk(gateway, "aihub-not-a-key")  # held: a Client closes its connections when dropped
    with pytest.raises(errors.ClientError) as bad_key:
        stranger.models.generate_content(model=FLASH, contents="x")
    assert (bad_key.value.code, bad_key.value.status) == (401, "UNAUTHENTICATED")
    with pytest.raises(errors.ClientError) as unknown:
        google.models.generate_content(model="nosuch/model-x", contents="x")
    assert (unknown.value.code, unknown.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError) as bad:
        google.models.generate_content(model=FLASH, contents="x",
                                       config=types.GenerateContentConfig(temperature=9))
    assert (bad.value.code, bad.value.status) == (400, "INVALID_ARGUMENT")
    assert "generationConfig.temperature" in bad.value.message
    fake.route("POST", CHAT, status=429, json=fg.error(429, "Quota exceeded.", "RESOURCE_EXHAUSTED"))
    with pytest.raises(errors.ClientError) as limited:
        google.models.generate_content(model=FLASH, contents="x")
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert fake.requests and UPSTREAM_KEYS["GEMINI_API_KEY"] not in str(limited.value.details)


def test_keys_and_bad_requests(gateway, user):
    url = f"{gateway.url}/v1beta/models/demo/echo:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    ok = httpx.post(url, json=body, headers={"authorization": f"Bearer {user['key']}"}, timeout=20)
    assert ok.status_code == 200 and ok.json()["candidates"][0]["content"]["role"] == "model"
    two = httpx.post(url, json=body, params={"key": "another"}, headers={"x-goog-api-key": user["key"]}, timeout=20)
    assert two.status_code == 400 and two.json()["error"]["status"] == "INVALID_ARGUMENT"
    same = httpx.post(url, json=body, params={"key": user["key"]}, headers={"x-goog-api-key": user["key"]}, timeout=20)
    assert same.status_code == 200
    cases = [({"contents": []}, "contents"), ({"contents": [{"role": "bot", "parts": [{"text": "x"}]}]}, "role"),
             ({"contents": [{"role": "user", "parts": [{}]}]}, "parts[0]")]
    for bad, field in cases:
        refused = httpx.post(url, json=bad, params={"key": user["key"]}, timeout=20)
        assert refused.status_code == 400 and field in refused.json()["error"]["message"], refused.text
    unknown = httpx.post(f"{gateway.url}/v1beta/models/demo/echo:explode", json=body, params={"key": user["key"]})
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"
    no_sse = httpx.post(f"{gateway.url}/v1beta/models/demo/echo:streamGenerateContent", json=body,
                        params={"key": user["key"]})
    assert no_sse.status_code == 400 and "alt=sse" in no_sse.json()["error"]["message"]


# -- billing -------------------------------------------------------------------------------------

RATES = {("google", "gemini-2.5-flash"): {"input_rate": "0.0000003", "output_rate": "0.0000025",
                                          "cache_read_rate": "0.00000003"},
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


def cost(provider: str, model: str, input: int, output: int, cache_read: int = 0) -> Decimal:
    rate = {k: Decimal(v) for k, v in RATES[(provider, model)].items()}
    return input * rate["input_rate"] + output * rate["output_rate"] + cache_read * rate["cache_read_rate"]


def balance(gateway: Gateway, key: dict) -> Decimal:
    found = httpx.get(gateway.url + "/v1/credits", headers={"x-goog-api-key": key["key"]}).json()
    return Decimal(str(found["balance"]))


def test_credits_exact_native_and_translated(fake, billed):
    with billed.admin() as api:
        key = create_key(api, credits=5)
        client = sdk(billed, key["key"])
        fake.route("POST", CHAT, json=fg.response([fg.candidate([fg.text("ok")])],
                                                  fg.usage(5000, 300, cached=4000, thoughts=200)))
        client.models.generate_content(model=FLASH, contents="hi")
        native = cost("google", "gemini-2.5-flash", 1000, 500, cache_read=4000)
        assert balance(billed, key) == 5 - native

        fake.route("POST", STREAM, sse=fg.stream([[fg.text("o")], [fg.text("k")]],
                                                 fg.usage(5000, 300, cached=4000, thoughts=200)))
        list(client.models.generate_content_stream(model=FLASH, contents="again"))
        assert balance(billed, key) == 5 - 2 * native

        fake.route("POST", "/v1/chat/completions", json=chat_echo.completion_with(
            {"content": "ok"}, "stop", {"prompt_tokens": 700, "completion_tokens": 50, "total_tokens": 750,
                                        "prompt_tokens_details": {"cached_tokens": 600}}))
        client.models.generate_content(model="openai/gpt-4o", contents="hi")
        translated = cost("openai", "gpt-4o", 100, 50, cache_read=600)
        assert balance(billed, key) == 5 - 2 * native - translated

        rows = calls_of(api, key["account_id"])
        assert [r["surface"] for r in rows] == ["gemini"] * 3
        assert sum(Decimal(str(r["credits"])) for r in rows) == 2 * native + translated


def test_no_credits_left_is_resource_exhausted(billed):
    with billed.admin() as api:
        key = create_key(api, credits=0)
    client = sdk(billed, key["key"])
    with pytest.raises(errors.ClientError) as refused:
        client.models.generate_content(model=FLASH, contents="hi")
    assert (refused.value.code, refused.value.status) == (402, "RESOURCE_EXHAUSTED")
