"""The Lambda entry points, in process, with the prod stage's environment.

`chalice.test.Client` turns requests into API Gateway proxy events and hands them to `app.app`,
the API function's handler; other tests build such events by hand, as API Gateway sends them
(tests/support/apigw.py), which greedy path parameters need.
The prod stage's settings apply (rollback journal, billing on) on a local database file, with
the secrets given directly (on AWS they come from Secrets Manager: docs/DEPLOY.md).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from tests.deploy.conftest import ROOT
from tests.support import apigw
from tests.support.gateway import ADMIN_KEY, TEST_SECRET

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}", "content-type": "application/json"}
PUBLIC = {"/health", "/openapi.json", "/", "/assets/{name}", "/files/{token}",  # no key: health, the API
          # description, the web UI, signed file URLs,
          "/__blocklet__.js", "/api/ai/models", "/api/v2/status",  # what AIGNE clients read unauthenticated,
          "/.well-known/service/api/access-key/session",  # and the `aigne hub connect` handshake
          "/.well-known/service/gen-simple-access-key"}


@pytest.fixture
def prod_client(tmp_path: Path, local_env) -> Iterator[tuple[Client, Path]]:
    local_env({})  # no provider key or AIHUB_* from the developer's shell; fresh process caches
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = config["stages"]["prod"]["environment_variables"]
    db = tmp_path / "efs" / "aihub.db"
    env.update(AIHUB_DB=str(db), AIHUB_SECRET=TEST_SECRET, AIHUB_ADMIN_KEY=ADMIN_KEY)
    for reference in ("AIHUB_SECRET_ID", "AIHUB_ADMIN_KEY_ID"):
        env.pop(reference)
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    import app

    with Client(app.app, stage_name="prod", project_dir=str(tmp_path)) as client:
        yield client, db


def _routes() -> list[tuple[str, str]]:
    """Every route app.py declares (GET ones answer HEAD too)."""
    import app

    return sorted((method, e.path) for e in app.route.endpoints
                  for method in ([e.method, "HEAD"] if e.method == "GET" else [e.method]))


def _concrete(path: str) -> str:
    return (path.replace("{provider}", "demo").replace("{model+}", "mistralai/mistral-7b")
            .replace("{name}", "no-such-provider").replace("{id}", "no-such-id").replace("{id+}", "no/such-id"))


def _check_shape(status: int, headers: dict[str, str], body: bytes, where: str, method: str) -> None:
    assert headers.get("x-request-id"), where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), where
    if method in ("HEAD", "OPTIONS"):  # HEAD: the GET's status and headers; OPTIONS: a preflight
        assert body == b"", where
        return
    assert "Traceback" not in body.decode(errors="replace"), where
    if status >= 400:
        error = json.loads(body)["error"]  # OpenAI's shape has a code, Anthropic's a type
        assert error["message"] and (error.get("code") or error.get("type")), where


@pytest.mark.parametrize(("method", "path"), _routes(), ids=lambda v: v.replace("/", "_"))
def test_every_route_answers_through_the_lambda_handler(prod_client, method, path):
    import app

    client, _ = prod_client
    url = _concrete(path)
    body = b"{}" if method in ("POST", "PATCH", "PUT") else b""
    with client.http._patched_env_vars(client.http._config.scope("prod", "api_handler").environment_variables):
        status, headers, out = apigw.call(app.app, method, url, headers={"content-type": "application/json"}, body=body)
        _check_shape(status, headers, out, f"{method} {path} without a key", method)
        if path in PUBLIC:
            # 404: the asset named here does not exist; 400: no session id to ask about; 302: the
            # approval page's redirect to the web UI
            assert status in (200, 302, 400, 404), out
        else:
            assert status == 401, out
        status, headers, out = apigw.call(app.app, method, url, headers=ADMIN, body=body)
        _check_shape(status, headers, out, f"{method} {path} as admin", method)
        assert status < 500, (method, path, status, out[:300])
        status, headers, out = apigw.call(app.app, "OPTIONS", url)
        _check_shape(status, headers, out, f"OPTIONS {path}", "OPTIONS")
        assert status == 204 and method in headers["allow"], (path, status, headers)


def test_a_user_session_on_the_prod_settings(prod_client):
    client, db = prod_client
    created = client.http.post("/admin/keys", headers=ADMIN, body=json.dumps({"name": "lambda", "credits": 3}))
    assert created.status_code == 201, created.body
    key = created.json_body
    user = {"authorization": f"Bearer {key['key']}", "content-type": "application/json"}
    # prod sells calls (AIHUB_BILLING=on): the model needs a rate first
    rate = {"provider": "demo", "model": "echo", "input_rate": 0, "output_rate": 0.001}
    assert client.http.post("/admin/model-rates", headers=ADMIN, body=json.dumps(rate)).status_code == 201
    ask = {"model": "demo/echo", "messages": [{"role": "user", "content": "hello lambda"}], "stream": True,
           "max_tokens": 100}
    chat = client.http.post("/v1/chat/completions", headers=user, body=json.dumps(ask))
    assert chat.status_code == 200 and chat.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in chat.body.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and "hello" in "".join(events)
    assert client.http.get("/v1/credits", headers=user).json_body["balance"] <= 3
    calls = client.http.get(f"/admin/calls?account_id={key['account_id']}", headers=ADMIN).json_body["data"]
    assert [c["request_id"] for c in calls] == [chat.headers["x-request-id"]]
    # The Lambda settings took effect: rollback journal (EFS), not WAL.
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_raw_api_gateway_proxy_event(prod_client):
    import app

    body = json.dumps({"model": "demo/echo", "messages": [{"role": "user", "content": "raw event"}]})
    event = {
        "resource": "/v1/chat/completions", "path": "/v1/chat/completions", "httpMethod": "POST",
        "headers": {"Authorization": ADMIN["authorization"], "Content-Type": "application/json", "Host": "x.execute-api"},
        "multiValueHeaders": {"Authorization": [ADMIN["authorization"]], "Content-Type": ["application/json"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {"resourcePath": "/v1/chat/completions", "httpMethod": "POST", "stage": "prod",
                           "path": "/prod/v1/chat/completions", "requestId": "req-1", "accountId": "123456789012",
                           "identity": {"sourceIp": "203.0.113.9"}},
        "body": body, "isBase64Encoded": False,
    }
    client, _ = prod_client
    with client.http._patched_env_vars(client.http._config.scope("prod", "api_handler").environment_variables):
        response = app.app(event, None)
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["choices"][0]["message"]["content"]
    assert response["headers"]["x-request-id"]


def test_scheduled_function_runs(prod_client):
    client, _ = prod_client
    client.http.get("/health")
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=["arn:aws:events:us-east-1:123456789012:rule/x"])
    result = client.lambda_.invoke("maintenance_run", event)
    assert result.payload is None
