"""The Chalice front (API Gateway + Lambda) serves the same routes through the same pipeline;
a stream comes back as one buffered, valid SSE body."""
from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest
from chalice.test import Client

from tests.fakes.upstream import FakeUpstream
from tests.support import cassettes, openapi
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
