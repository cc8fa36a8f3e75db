"""Bedrock through the real gateway (openai SDK as the client) against a loopback fake of the
bedrock-runtime API, plus in-process checks of the boto3 layer (event pump, client reuse)."""
from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import time
from dataclasses import replace

import httpx
import openai
import orjson
import pytest

from chalicelib import config
from chalicelib.credentials import pool
from chalicelib.errors import ApiError
from chalicelib.gateway.resolve import plan
from chalicelib.providers.base import Credential, Target
from chalicelib.providers.bedrock import adapter
from tests.fakes import bedrock
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import RecordedRequest
from tests.integration.conftest import calls_of
from tests.support import openapi
from tests.support.gateway import ROOT, UPSTREAM_KEYS, upstream_env

CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-lite-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
CANVAS = "amazon.nova-canvas-v1:0"
ACCESS_KEY = UPSTREAM_KEYS["AWS_ACCESS_KEY_ID"]
SECRET_KEY = UPSTREAM_KEYS["AWS_SECRET_ACCESS_KEY"]
SIGV4 = re.compile(rf"^AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/\d{{8}}/us-east-1/bedrock/aws4_request, "
                   r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def sent(fake: FakeUpstream, operation: str) -> list[RecordedRequest]:
    """What the gateway sent for one Bedrock operation, signed as SigV4 with the test key."""
    found = [r for r in fake.requests if (bedrock.model_and_operation(r.path) or ("", ""))[1] == operation]
    for request in found:
        assert SIGV4.match(request.headers["authorization"]), request.headers["authorization"]
        assert re.match(r"^\d{8}T\d{6}Z$", request.headers["x-amz-date"])
    return found


def messages() -> list[dict]:
    return [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Say hello"}]


# -- chat --------------------------------------------------------------------------------------

def test_chat(fake, client, admin, user):
    bedrock.route(fake, "converse", model=CLAUDE, json=bedrock.converse_body(
        "Hello!", token_usage=bedrock.usage(12, 3, cache_read=100, cache_write=20)))
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()
    raw = client.chat.completions.with_raw_response.create(
        model=f"bedrock/{CLAUDE}", max_tokens=64, temperature=0.3, top_p=0.8, stop=["\n\n"],
        messages=[*messages()[:1], {"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": image}}]}])
    completion = raw.parse()
    openapi.validate("CreateChatCompletionResponse", orjson.loads(raw.content))
    assert completion.choices[0].message.content == "Hello!"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == CLAUDE and completion.id.startswith("chatcmpl-")
    assert completion.usage.prompt_tokens == 132 and completion.usage.completion_tokens == 3
    assert completion.usage.prompt_tokens_details.cached_tokens == 100
    (request,) = sent(fake, "converse")
    assert request.path == f"/model/{CLAUDE}/converse"  # botocore sends ':' as %3A; either way it is the id
    assert request.json == {
        "system": [{"text": "Answer briefly."}],
        "messages": [{"role": "user", "content": [
            {"text": "What is in this picture?"},
            {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}]}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.3, "topP": 0.8, "stopSequences": ["\n\n"]},
    }
    (call,) = calls_of(admin, user["account_id"])
    assert (call["provider"], call["model"], call["status"]) == ("bedrock", CLAUDE, "success")
    assert (call["prompt_tokens"], call["completion_tokens"], call["cache_read_tokens"],
            call["cache_write_tokens"], call["usage_estimated"]) == (12, 3, 100, 20, 0)
    assert call["credential_id"] == "env:AWS_ACCESS_KEY_ID"
    assert call["request_id"] == raw.headers["x-request-id"]


def test_chat_tools_round_trip(fake, client):
    bedrock.route(fake, "converse", model=NOVA, json=bedrock.converse_body(
        "Let me check.", tool_uses=[{"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}],
        stop_reason="tool_use"))
    completion = client.chat.completions.create(
        model=f"bedrock/{NOVA}", tools=[WEATHER_TOOL], tool_choice="auto",
        messages=[{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "tooluse_0", "type": "function",
                       "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
                  {"role": "tool", "tool_call_id": "tooluse_0", "content": '{"temp_c": 24}'},
                  {"role": "user", "content": "And Paris?"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert (call.id, call.function.name, orjson.loads(call.function.arguments)) == (
        "tooluse_1", "get_weather", {"city": "Paris"})
    (request,) = sent(fake, "converse")
    assert request.json["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "tooluse_0", "name": "get_weather", "input": {"city": "Rome"}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "tooluse_0", "content": [{"json": {"temp_c": 24}}]}},
            {"text": "And Paris?"}]},
    ]
    assert request.json["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "get_weather", "description": "Current weather of a city",
                                "inputSchema": {"json": WEATHER_TOOL["function"]["parameters"]}}}],
        "toolChoice": {"auto": {}}}


def test_stream_text_with_usage(fake, client, admin, user):
    events = bedrock.text_stream(["Hel", "lo, ", "world"], stop_reason="max_tokens",
                                 token_usage=bedrock.usage(7, 3, cache_read=50, cache_write=25))
    bedrock.route(fake, "converse-stream", model=CLAUDE, events=events, split=11)  # messages straddle writes
    chunks = list(client.chat.completions.create(model=f"bedrock/{CLAUDE}", messages=messages(), stream=True,
                                                 stream_options={"include_usage": True}))
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello, world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert len({c.id for c in chunks}) == 1
    usage = chunks[-1].usage
    assert not chunks[-1].choices
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (82, 3, 85)
    assert usage.prompt_tokens_details.cached_tokens == 50
    (request,) = sent(fake, "converse-stream")
    assert request.json == {"system": [{"text": "Answer briefly."}],
                            "messages": [{"role": "user", "content": [{"text": "Say hello"}]}]}
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["stream"]) == ("success", True)
    assert (call["prompt_tokens"], call["completion_tokens"], call["cache_read_tokens"],
            call["cache_write_tokens"], call["usage_estimated"]) == (7, 3, 50, 25, 0)


def test_stream_tool_use_fragments(fake, client, admin, user):
    events = bedrock.tool_stream("Checking.", [("tooluse_a", "get_weather", ['{"ci', 'ty": "Par', 'is"}']),
                                               ("tooluse_b", "get_weather", ['{"city": ', '"Rome"}'])],
                                 token_usage=bedrock.usage(40, 18))
    bedrock.route(fake, "converse-stream", model=NOVA, events=events)
    chunks = list(client.chat.completions.create(model=f"bedrock/{NOVA}", tools=[WEATHER_TOOL], stream=True,
                                                 messages=[{"role": "user", "content": "Paris and Rome?"}]))
    calls: dict[int, dict] = {}
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        for delta in chunk.choices[0].delta.tool_calls or ():
            slot = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            slot["id"] = delta.id or slot["id"]
            slot["name"] = (delta.function.name if delta.function else None) or slot["name"]
            slot["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert calls == {0: {"id": "tooluse_a", "name": "get_weather", "arguments": '{"city": "Paris"}'},
                     1: {"id": "tooluse_b", "name": "get_weather", "arguments": '{"city": "Rome"}'}}
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Checking."
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(c.usage is None for c in chunks)  # not asked for: no usage chunk
    (request,) = sent(fake, "converse-stream")
    assert request.json["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["prompt_tokens"], call["completion_tokens"], call["usage_estimated"]) == (40, 18, 0)


def test_stream_without_metadata_ends_at_message_stop(fake, client, admin, user):
    bedrock.route(fake, "converse-stream", events=bedrock.text_stream(["one two three"], metadata=False))
    chunks = list(client.chat.completions.create(model=f"bedrock/{NOVA}", messages=messages(), stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["usage_estimated"]) == ("success", 1)
    assert call["completion_tokens"] == 4  # 13 characters, estimated


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("error", "sdk_error", "status", "etype", "code"),
    [
        ((429, "ThrottlingException", "Too many requests, please wait before trying again."),
         openai.RateLimitError, 429, "rate_limit_error", "ThrottlingException"),
        ((400, "ValidationException", "messages: text content blocks must be non-empty"), openai.BadRequestError, 400, "invalid_request_error", "ValidationException"),
        ((404, "ResourceNotFoundException", "Model not found"), openai.NotFoundError, 404, "invalid_request_error",
         "ResourceNotFoundException"),
        ((403, "AccessDeniedException", f"User: arn:aws:iam::123:user/x with key {ACCESS_KEY} is not authorized"),
         openai.InternalServerError, 502, "api_error", "upstream_auth_failed"),
        ((403, "UnrecognizedClientException", "The security token included in the request is invalid."),
         openai.InternalServerError, 502, "api_error", "upstream_auth_failed"),
        ((503, "ServiceUnavailableException", "Service is unavailable"), openai.InternalServerError, 503, "api_error",
         "upstream_overloaded"),
        ((408, "ModelTimeoutException", "Model timed out"), openai.InternalServerError, 504, "api_error",
         "upstream_timeout"),
        ((500, "InternalServerException", "Internal failure"), openai.InternalServerError, 502, "api_error",
         "upstream_error"),
    ],
)
def test_http_errors(fake, client, admin, user, error, sdk_error, status, etype, code):
    bedrock.route(fake, "converse", error=error)
    with pytest.raises(sdk_error) as info:
        client.chat.completions.create(model=f"bedrock/{NOVA}", messages=messages())
    assert info.value.status_code == status
    body = info.value.body
    openapi.validate("ErrorResponse", {"error": body})
    assert (body["type"], body["code"]) == (etype, code)
    assert ACCESS_KEY not in info.value.response.text and SECRET_KEY not in info.value.response.text
    assert len(sent(fake, "converse")) == 1  # no SDK retries: the gateway decides
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["credits"]) == ("failed", status, 0)


@pytest.mark.parametrize(("fault", "status", "code"), [("reset", 502, "upstream_unreachable"),
                                                      ("hang", 504, "upstream_timeout")])
def test_transport_failures(fake, gateway, user, fault, status, code):
    fake.route("POST", f"/model/{NOVA}/converse", fault=fault)  # the fake sees the decoded path
    response = httpx.post(gateway.url + "/v1/chat/completions", timeout=20,
                          headers={"authorization": f"Bearer {user['key']}"},
                          json={"model": f"bedrock/{NOVA}", "messages": messages()})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_exception_mid_stream(fake, client, admin, user):
    events = [bedrock.event("messageStart", {"role": "assistant"}),
              bedrock.event("contentBlockDelta", {"delta": {"text": "partial answer"}, "contentBlockIndex": 0}),
              bedrock.exception("modelStreamErrorException", "The model stream failed; please retry.")]
    bedrock.route(fake, "converse-stream", events=events)
    received: list = []
    with pytest.raises(openai.APIError) as info:
        received.extend(client.chat.completions.create(model=f"bedrock/{NOVA}", messages=messages(), stream=True))
    assert "model stream failed" in str(info.value)
    assert "".join(c.choices[0].delta.content or "" for c in received) == "partial answer"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["stream"], call["error_code"]) == ("failed", True, "upstream_error")
    assert call["completion_tokens"] > 0  # what did arrive is still counted


def test_throttling_mid_stream(fake, gateway, admin, user):
    events = [bedrock.event("messageStart", {"role": "assistant"}),
              bedrock.exception("throttlingException", "Too many tokens, please wait.")]
    bedrock.route(fake, "converse-stream", events=events)
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", timeout=20,
                      headers={"authorization": f"Bearer {user['key']}"},
                      json={"model": f"bedrock/{NOVA}", "messages": messages(), "stream": True}) as response:
        datas = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert response.status_code == 200  # the stream had begun
    error = orjson.loads(datas[-1])
    openapi.validate("ErrorResponse", error)
    assert (error["error"]["type"], error["error"]["code"]) == ("rate_limit_error", "ThrottlingException")
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"]) == ("failed", 429)


def test_unsupported_requests_are_400_before_any_call(fake, client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=f"bedrock/{NOVA}", n=2, messages=messages())
    assert info.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=f"bedrock/{NOVA}", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    assert "data URL" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=f"bedrock/{COHERE}", input="x", dimensions=256)
    assert fake.requests == []


# -- embeddings and images ---------------------------------------------------------------------

def _titan(req: RecordedRequest):
    text = req.json["inputText"]
    return bedrock.json_reply({"embedding": [float(len(text)), 0.5, -0.25], "inputTextTokenCount": len(text) + 1,
                               "embeddingsByType": {"float": [float(len(text)), 0.5, -0.25]}})


def test_titan_embeddings(fake, client, admin, user):
    bedrock.route(fake, "invoke", model=TITAN, handler=_titan)
    inputs = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff"]
    result = client.embeddings.create(model=f"bedrock/{TITAN}", input=inputs, dimensions=256)  # SDK asks base64
    assert [d.embedding for d in result.data] == [[float(len(t)), 0.5, -0.25] for t in inputs]
    assert [d.index for d in result.data] == list(range(len(inputs)))
    assert result.usage.prompt_tokens == sum(len(t) + 1 for t in inputs) == 27
    requests = sent(fake, "invoke")
    assert sorted(r.json["inputText"] for r in requests) == inputs
    assert all(r.json == {"inputText": r.json["inputText"], "normalize": True, "dimensions": 256} for r in requests)
    assert all(r.headers["content-type"] == "application/json" for r in requests)
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["prompt_tokens"], call["usage_estimated"]) == ("embedding", 27, 0)

    response = httpx.post(str(client.base_url) + "embeddings", headers={"authorization": f"Bearer {client.api_key}"},
                          json={"model": f"bedrock/{TITAN}", "input": "one", "encoding_format": "float"})
    openapi.validate("CreateEmbeddingResponse", response.json())


def test_titan_dimensions_rejected(fake, client):
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=f"bedrock/{TITAN}", input="x", dimensions=300)
    assert info.value.body["param"] == "dimensions"


def test_cohere_embeddings(fake, client, admin, user):
    def answer(req: RecordedRequest):
        texts = req.json["texts"]
        return bedrock.json_reply({"id": "e1", "response_type": "embeddings_floats", "texts": texts,
                                   "embeddings": [[float(i), 0.125] for i, _ in enumerate(texts)]})

    bedrock.route(fake, "invoke", model=COHERE, handler=answer)
    response = httpx.post(str(client.base_url) + "embeddings", headers={"authorization": f"Bearer {client.api_key}"},
                          json={"model": f"bedrock/{COHERE}", "input": ["first text", "second text!"]})
    body = response.json()
    openapi.validate("CreateEmbeddingResponse", body)
    assert [d["embedding"] for d in body["data"]] == [[0.0, 0.125], [1.0, 0.125]]
    (request,) = sent(fake, "invoke")
    assert request.json == {"texts": ["first text", "second text!"], "input_type": "search_document"}
    (call,) = calls_of(admin, user["account_id"])
    assert (call["prompt_tokens"], call["usage_estimated"]) == (3 + 3, 1)  # no count from Cohere: estimated


def test_images(fake, client, admin, user):
    images = [base64.b64encode(b"image-one").decode(), base64.b64encode(b"image-two").decode()]
    bedrock.route(fake, "invoke", model=CANVAS, json={"images": images, "error": None})
    raw = client.images.with_raw_response.generate(model=f"bedrock/{CANVAS}", prompt="a red fox", n=2,
                                                   size="512x512", response_format="b64_json")
    openapi.validate("ImagesResponse", orjson.loads(raw.content))
    assert [d.b64_json for d in raw.parse().data] == images
    (request,) = sent(fake, "invoke")
    assert request.json == {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a red fox"},
                            "imageGenerationConfig": {"numberOfImages": 2, "width": 512, "height": 512}}
    (call,) = calls_of(admin, user["account_id"])
    assert (call["type"], call["images"]) == ("image", 2)


# -- cold start --------------------------------------------------------------------------------

COLD_START = """
import sys
import app

def event(path, headers):
    return {"resource": path, "path": path, "httpMethod": "GET", "headers": {"host": "x", **headers},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "path": path, "stage": "api",
                               "requestId": "r1", "identity": {"sourceIp": "127.0.0.1"}}}

class Context:
    aws_request_id = "r1"
    function_name = "aihub"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123:function:aihub"
    log_group_name = log_stream_name = "x"

statuses = [app.app(event("/health", {}), Context())["statusCode"],
            app.app(event("/v1/models", {"authorization": "Bearer cold-start-admin-key-0123456789abcdef"}),
                    Context())["statusCode"]]
print(statuses, sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore")))
"""


def test_cold_start_does_not_import_boto3(tmp_path, fake):
    env = {**upstream_env(fake.base_url), "AIHUB_DB": str(tmp_path / "cold.db"),
           "AIHUB_ADMIN_KEY": "cold-start-admin-key-0123456789abcdef", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", COLD_START], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[200, 200] []"


# -- the boto3 layer in process ----------------------------------------------------------------

@pytest.fixture
def target(fake: FakeUpstream, local_env) -> Target:
    local_env(upstream_env(fake.base_url))
    spec, model = plan(f"bedrock/{NOVA}").routes[0]
    credential = pool.pick(spec)
    assert credential is not None
    return Target(spec, model, credential)


def test_abandoned_stream_is_closed_and_its_thread_ends(fake, target):
    bedrock.route(fake, "converse-stream", events=bedrock.text_stream(["tick"] * 2), chunk_delay=2)

    async def main() -> None:
        bedrock_client = await adapter.client(target)
        pump = adapter.EventPump(lambda: bedrock_client.converse_stream(
            modelId=NOVA, messages=[{"role": "user", "content": [{"text": "x"}]}]), target)
        response = await pump.opened
        events = pump.events()
        assert await events.__anext__() == (b"messageStart", {"role": "assistant"})
        started = time.monotonic()
        await pump.aclose()  # the worker is blocked reading the next event, 2 s away
        assert pump.finished.done() and time.monotonic() - started < 1
        assert response["stream"]._raw_stream.closed

    asyncio.run(main())


def test_client_is_made_once_and_serves_any_loop(fake, target):
    bedrock.route(fake, "converse", json=bedrock.converse_body("hi"))
    bedrock.route(fake, "converse-stream", events=bedrock.text_stream(["hi"]))
    body = {"model": NOVA, "messages": [{"role": "user", "content": "x"}]}

    async def stream_text() -> str:
        stream = await adapter.ADAPTER.chat_stream(target, body)
        frames = [f async for batch in stream.batches() for f in batch]
        await stream.aclose()
        assert stream.error is None
        return "".join((orjson.loads(f[6:])["choices"] or [{}])[0].get("delta", {}).get("content") or ""
                       for f in frames)

    # A loop per call, as the Chalice front has one per thread: the cached client serves them all.
    assert asyncio.run(stream_text()) == "hi"
    first = asyncio.run(adapter.client(target))
    answer = orjson.loads(asyncio.run(adapter.ADAPTER.chat(target, body)).body)
    assert answer["choices"][0]["message"]["content"] == "hi"
    assert asyncio.run(adapter.client(target)) is first


def test_fake_eventstream_framing_is_what_botocore_reads():
    """The fake's encoder against botocore's own decoder: CRCs, headers and payloads."""
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(bedrock.event("contentBlockDelta", {"delta": {"text": "é"}, "contentBlockIndex": 0})
                    + bedrock.exception("throttlingException", "slow down"))
    first, second = list(buffer)
    assert first.headers == {":event-type": "contentBlockDelta", ":content-type": "application/json",
                             ":message-type": "event"}
    assert json.loads(first.payload)["delta"] == {"text": "é"}
    assert second.headers[":exception-type"] == "throttlingException"
    assert json.loads(second.payload) == {"message": "slow down"}


@pytest.mark.parametrize(
    ("spec_fields", "secret", "scope"),
    [
        # a provider record's own region and base URL (as a database provider has them)
        ({"region": "eu-west-3", "base_url": "{fake}"}, {"access_key_id": "AKIADBKEY000000000001",
                                                       "secret_access_key": "db-secret-0123456789"},
         "AKIADBKEY000000000001/*/eu-west-3/bedrock"),
        # no secret: the standard AWS chain (here the environment's keys)
        ({"base_url": "{fake}"}, None, f"{ACCESS_KEY}/*/us-east-1/bedrock"),
    ],
)
def test_region_endpoint_and_credentials(fake, target, monkeypatch, spec_fields, secret, scope):
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")  # so only the record's base URL can lead to the fake
    config.settings.cache_clear()
    spec = replace(target.provider, base_url_env=None,
                   **{k: v.format(fake=fake.base_url) for k, v in spec_fields.items()})
    bedrock.route(fake, "converse", json=bedrock.converse_body("hi"))
    result = asyncio.run(adapter.ADAPTER.chat(Target(spec, NOVA, Credential("c1", secret)),
                                              {"messages": [{"role": "user", "content": "x"}]}))
    assert orjson.loads(result.body)["choices"][0]["message"]["content"] == "hi"
    (request,) = fake.requests
    credential_scope = request.headers["authorization"].split("Credential=")[1].split("/aws4_request")[0]
    assert re.fullmatch(scope.replace("*", r"\d{8}"), credential_scope)


def test_malformed_credential_is_the_gateways_problem(target):
    bad = Target(target.provider, NOVA, Credential("c2", "AKIA-as-a-plain-string"))
    with pytest.raises(ApiError) as info:
        asyncio.run(adapter.ADAPTER.chat(bad, {"messages": [{"role": "user", "content": "x"}]}))
    assert (info.value.status, info.value.code) == (502, "upstream_auth_failed")
    assert "AKIA-as-a-plain-string" not in info.value.message


def test_exception_as_first_stream_message_is_an_http_error(fake, client, admin, user):
    bedrock.route(fake, "converse-stream", events=[bedrock.exception("throttlingException", "Too many tokens.")])
    with pytest.raises(openai.RateLimitError) as info:
        list(client.chat.completions.create(model=f"bedrock/{NOVA}", messages=messages(), stream=True))
    assert info.value.body["code"] == "ThrottlingException"
    (call,) = calls_of(admin, user["account_id"])
    assert (call["status"], call["http_status"], call["stream"]) == ("failed", 429, True)
