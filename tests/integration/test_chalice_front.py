"""The Chalice front (API Gateway + Lambda) serves the same routes through the same pipeline;
a stream comes back as one buffered, valid SSE body."""
from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest
from chalice.test import Client

from tests.fakes.upstream import FakeUpstream
from tests.support import apigw, cassettes, openapi
from tests.support.gateway import ADMIN_KEY, upstream_env

AUTH = {"authorization": f"Bearer {ADMIN_KEY}", "content-type": "application/json"}


@pytest.fixture
def lambda_client(fake: FakeUpstream, tmp_path, local_env) -> Iterator[Client]:
    import app

    with Client(app.app) as client:
        # The test client applies the stage's environment from .chalice/config.json; ours wins.
        local_env({**upstream_env(fake.base_url), "AIHUB_DB": str(tmp_path / "lambda.db"), "AIHUB_ADMIN_KEY": ADMIN_KEY})
        yield client


def test_health_and_models(lambda_client):
    assert lambda_client.http.get("/health").json_body == {"status": "ok"}
    models = lambda_client.http.get("/v1/models", headers=AUTH)
    assert models.status_code == 200 and models.headers["x-request-id"]
    assert "demo/echo" in [m["id"] for m in models.json_body["data"]]


def test_chat_replays_cassette(fake, lambda_client):
    (interaction,) = fake.add_cassette("chat-basic")
    response = lambda_client.http.post("/v1/chat/completions", headers=AUTH, body=json.dumps(interaction.request_json))
    assert response.status_code == 200
    assert orjson.loads(response.body) == orjson.loads(interaction.response_body)


def test_stream_is_buffered_sse(fake, lambda_client):
    (interaction,) = fake.add_cassette("chat-streaming")
    response = lambda_client.http.post("/v1/chat/completions", headers=AUTH, body=json.dumps(interaction.request_json))
    assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
    events = [line[6:] for line in response.body.decode().split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert chunks == [orjson.loads(e) for e in interaction.sse_events() if e != b"[DONE]"]
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk)


def test_anthropic_messages_route_buffers_its_stream_and_speaks_its_errors(fake, lambda_client):
    from tests.fakes import anthropic as fa

    msg = fa.message(fa.text("Buffered, yet whole."))
    fake.add_rule(fa.MessagesRule(msg))
    body = {"model": "anthropic/claude-sonnet-4-5", "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    response = lambda_client.http.post("/v1/messages", headers={"x-api-key": ADMIN_KEY}, body=json.dumps(body))
    assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
    assert response.body == b"".join(fa.sse(fa.events(msg)))
    unknown = lambda_client.http.post("/v1/messages", headers={"x-api-key": ADMIN_KEY},
                                      body=json.dumps({**body, "model": "no-such-model"}))
    assert unknown.status_code == 404 and unknown.json_body["type"] == "error"
    assert unknown.json_body["error"]["type"] == "not_found_error"


def test_errors_keep_their_shape(fake, lambda_client):
    missing = lambda_client.http.post("/v1/chat/completions", body="{}")
    assert missing.status_code == 401 and missing.json_body["error"]["code"] == "missing_api_key"
    bad = lambda_client.http.post("/v1/chat/completions", headers=AUTH, body="{oops")
    assert bad.status_code == 400
    fake.route("POST", "/v1/chat/completions", fault="reset")
    failed = lambda_client.http.post("/v1/chat/completions", headers=AUTH,
                                     body=json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}))
    assert failed.status_code == 502 and "Traceback" not in failed.body.decode()


def test_admin_routes_and_calls(lambda_client):
    created = lambda_client.http.post("/admin/keys", headers=AUTH, body=json.dumps({"name": "lambda", "credits": 1}))
    assert created.status_code == 201
    key = created.json_body
    user = {"authorization": f"Bearer {key['key']}", "content-type": "application/json"}
    chat = lambda_client.http.post("/v1/chat/completions", headers=user,
                                   body=json.dumps({"model": "demo/echo", "messages": [{"role": "user", "content": "x"}]}))
    assert chat.status_code == 200
    calls = lambda_client.http.get(f"/admin/calls?account_id={key['account_id']}", headers=AUTH).json_body["data"]
    assert [c["request_id"] for c in calls] == [chat.headers["x-request-id"]]
    revoked = lambda_client.http.delete(f"/admin/keys/{key['id']}", headers=AUTH)
    assert revoked.status_code == 200
    assert lambda_client.http.get("/v1/credits", headers=user).status_code == 401


def test_cassettes_available_offline():
    assert cassettes.load("chat-basic")


def test_responses_stream_is_buffered_and_the_response_kept(fake, lambda_client):
    fake.add_cassette("chat-streaming")  # the Responses request below becomes this chat request
    # Through DeepSeek's route to the same fake (openai/ would be served natively, not translated).
    body = {"model": "deepseek/gpt-5-nano", "input": [{"role": "user", "content": "Hello!"}], "stream": True}
    response = lambda_client.http.post("/v1/responses", headers=AUTH, body=json.dumps(body))
    assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
    events = [orjson.loads(line[6:]) for line in response.body.decode().split("\n") if line.startswith("data: ")]
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    kept = lambda_client.http.get(f"/v1/responses/{events[-1]['response']['id']}", headers=AUTH)
    assert kept.status_code == 200 and kept.json_body == events[-1]["response"]


def test_chalice_own_answers_carry_the_security_headers(lambda_client):
    for response in (lambda_client.http.put("/health"), lambda_client.http.get("/health"),
                     lambda_client.http.head("/v1/models", headers=AUTH)):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_head_is_get_without_the_body(lambda_client):
    got = lambda_client.http.get("/v1/models", headers=AUTH)
    head = lambda_client.http.head("/v1/models", headers=AUTH)
    assert head.status_code == got.status_code == 200 and head.body == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def _api_gateway_event(path: str, headers: dict[str, list[str]]) -> dict:
    """A REST API proxy event: `headers` keeps the last value of each, multiValueHeaders all."""
    return {"resource": path, "path": path, "httpMethod": "GET",
            "headers": {name: values[-1] for name, values in headers.items()}, "multiValueHeaders": headers,
            "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
            "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "path": path, "stage": "api",
                               "requestId": "r1", "identity": {"sourceIp": "127.0.0.1"}}}


def test_two_authorization_headers_through_api_gateway_are_refused(lambda_client):
    import app

    created = lambda_client.http.post("/admin/keys", headers=AUTH, body=json.dumps({"name": "twice"})).json_body
    one = _api_gateway_event("/v1/models", {"Authorization": [f"Bearer {created['key']}"]})
    two = _api_gateway_event("/v1/models", {"Authorization": [f"Bearer {ADMIN_KEY}", f"Bearer {created['key']}"]})
    assert app.app(one, None)["statusCode"] == 200
    refused = app.app(two, None)
    assert refused["statusCode"] == 400 and json.loads(refused["body"])["error"]["code"] == "ambiguous_api_key"


def _lambda_env(local_env, fake, tmp_path, **extra: str) -> None:
    local_env({**upstream_env(fake.base_url), "AIHUB_DB": str(tmp_path / "lambda.db"), "AIHUB_ADMIN_KEY": ADMIN_KEY,
               **extra})


def test_greedy_path_parameters_through_api_gateway_events(fake, tmp_path, local_env):
    """API Gateway routes /v1/models/demo/echo to the {id+} resource and the probe of a model id
    to the {proxy+} tail Chalice registered; the view finds the route in the shared table."""
    import app

    _lambda_env(local_env, fake, tmp_path)
    status, headers, body = apigw.call(app.app, "GET", "/v1/models/demo/echo", headers=AUTH)
    assert status == 200 and apigw.json_of(body)["id"] == "demo/echo" and headers["x-request-id"]
    status, _, body = apigw.call(app.app, "GET", "/v1/models/demo/nope", headers=AUTH)
    assert status == 404 and apigw.json_of(body)["error"]["code"] == "model_not_found"
    status, _, body = apigw.call(app.app, "POST", "/admin/models/demo/echo/probe", headers=AUTH)
    assert status == 200 and apigw.json_of(body)["model"] == "echo" and apigw.json_of(body)["available"] is True
    status, headers, _ = apigw.call(app.app, "GET", "/admin/models/demo/echo/probe", headers=AUTH)
    assert status == 405 and "POST" in headers["allow"]  # Chalice's own answer: no GET is registered there


def test_completions_and_moderations_on_lambda(fake, lambda_client):
    body = json.dumps({"model": "demo/echo", "prompt": "on lambda", "stream": True})
    response = lambda_client.http.post("/v1/completions", headers=AUTH, body=body)
    events = [line[6:] for line in response.body.decode().split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "".join(orjson.loads(e)["choices"][0]["text"] for e in events[:-1] if orjson.loads(e)["choices"]) \
        == "This is aihub's offline demo model. You said: on lambda"
    flagged = lambda_client.http.post("/v1/moderations", headers=AUTH,
                                      body=json.dumps({"model": "demo/moderation", "input": "aihub-flag"}))
    assert flagged.json_body["results"][0]["flagged"] is True


def test_cors_and_413_on_lambda(fake, tmp_path, local_env):
    import app

    _lambda_env(local_env, fake, tmp_path, AIHUB_CORS_ORIGINS="https://app.example", AIHUB_MAX_BODY="1048")
    asked = {"origin": "https://app.example", "access-control-request-method": "POST",
             "access-control-request-headers": "authorization, x-stainless-arch"}
    status, headers, body = apigw.call(app.app, "OPTIONS", "/v1/chat/completions", headers=asked)
    assert status == 204 and body == b"" and headers["access-control-allow-origin"] == "https://app.example"
    assert "x-stainless-arch" in headers["access-control-allow-headers"]
    status, headers, _ = apigw.call(app.app, "OPTIONS", "/v1/chat/completions",
                                    headers={**asked, "origin": "https://evil.example"})
    assert status == 204 and "access-control-allow-origin" not in headers
    status, headers, _ = apigw.call(app.app, "GET", "/v1/models", headers={**AUTH, "origin": "https://app.example"})
    assert status == 200 and headers["access-control-allow-origin"] == "https://app.example"
    big = json.dumps({"model": "demo/echo", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 2000}]})
    status, _, body = apigw.call(app.app, "POST", "/v1/chat/completions", headers=AUTH, body=big)
    assert status == 413 and apigw.json_of(body)["error"]["code"] == "body_too_large"
    status, _, body = apigw.call(app.app, "POST", "/v1/messages", headers=AUTH, body=big)
    assert status == 413 and apigw.json_of(body)["type"] == "error"
def test_greedy_route_through_api_gateway(lambda_client):
    """API Gateway passes a `{id+}` parameter in pathParameters, slashes and all: the Gemini
    route finds the model and the method in it, and the key in `?key=`."""
    import app

    created = lambda_client.http.post("/admin/keys", headers=AUTH, body=json.dumps({"name": "gemini"})).json_body
    event = _api_gateway_event("/v1beta/models/demo/echo:generateContent", {"Content-Type": ["application/json"]})
    event.update(resource="/v1beta/models/{id+}", httpMethod="POST", pathParameters={"id": "demo/echo:generateContent"},
                 queryStringParameters={"key": created["key"]}, multiValueQueryStringParameters={"key": [created["key"]]},
                 body=json.dumps({"contents": [{"role": "user", "parts": [{"text": "ping"}]}]}))
    event["requestContext"].update(resourcePath="/v1beta/models/{id+}", httpMethod="POST")
    answered = app.app(event, None)
    assert answered["statusCode"] == 200, answered["body"]
    (candidate,) = json.loads(answered["body"])["candidates"]
    assert candidate["content"]["parts"] == [{"text": "This is aihub's offline demo model. You said: ping"}]
    event["pathParameters"] = {"id": "demo/echo:explode"}
    refused = app.app(event, None)
    assert refused["statusCode"] == 404 and json.loads(refused["body"])["error"]["status"] == "NOT_FOUND"
def test_audio_upload_and_binary_speech_through_api_gateway(lambda_client):
    """API Gateway hands a multipart upload over base64 (a binary media type) and takes the
    generated audio back the same way; the Lambda must return bytes for it, not text."""
    import httpx

    from chalicelib.media import wav

    clip = wav.silence(1.5, 16_000)[:44] + bytes(range(256)) * 94  # 1.5 s, with every byte value
    upload = httpx.Request("POST", "http://x", data={"model": "demo/whisper", "response_format": "text"},
                           files={"file": ("clip.wav", clip, "audio/wav")})
    heard = lambda_client.http.post("/v1/audio/transcriptions", body=upload.read(),
                                    headers={**AUTH, "content-type": upload.headers["content-type"]})
    assert heard.status_code == 200 and heard.body == b"demo transcript of 1.50 seconds\n"
    spoken = lambda_client.http.post("/v1/audio/speech", body=json.dumps(
        {"model": "demo/tts", "voice": "alloy", "input": "one two"}),
        headers={**AUTH, "accept": "application/octet-stream"})
    assert spoken.status_code == 200 and spoken.headers["content-type"] == "audio/wav"
    assert wav.duration(spoken.body) == 0.35  # 7 characters at 0.05 s

def test_video_job_finishes_inside_the_lambda_call_and_its_file_comes_back_whole(lambda_client):
    # No background task outlives a Lambda's answer: the job is done when create answers.
    created = lambda_client.http.post("/v1/videos", headers=AUTH, body=json.dumps(
        {"model": "demo/video", "prompt": "a lighthouse", "seconds": "4"})).json_body
    assert (created["status"], created["seconds"], created["error"]) == ("completed", "4", None)
    assert lambda_client.http.get(f"/v1/videos/{created['id']}", headers=AUTH).json_body == created
    content = lambda_client.http.get(f"/v1/videos/{created['id']}/content",
                                     headers={**AUTH, "accept": "application/binary"})  # as the openai SDK asks
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4", content.body[:300]
    assert content.body[4:8] == b"ftyp" and len(content.body) == int(content.headers["content-length"])
