"""On Lambda (the API function, in a process of its own as a cold container): /health imports
neither OpenTelemetry nor prometheus-client, a call's log line carries its CloudWatch embedded
metrics, /metrics is absent, and with an OTLP endpoint the call's spans are exported."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.deploy.conftest import ROOT
from tests.support.gateway import ADMIN_KEY, TEST_SECRET
from tests.support.otlp import OtlpReceiver

SCRIPT = """
import json, sys
import app

def event(method, path, headers, body=None):
    return {"resource": path, "path": path, "httpMethod": method, "headers": {"host": "x", **headers},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
            "requestContext": {"resourcePath": path, "httpMethod": method, "path": path, "stage": "api",
                               "requestId": "r1", "identity": {"sourceIp": "127.0.0.1"}}}

def loaded():
    return sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("opentelemetry", "prometheus_client")})

admin = {"authorization": "Bearer %s", "content-type": "application/json"}
health = app.app(event("GET", "/health", {}), None)
after_health = loaded()
chat = app.app(event("POST", "/v1/chat/completions", admin,
                     json.dumps({"model": "demo/echo", "messages": [{"role": "user", "content": "hi"}]})), None)
metrics = app.app(event("GET", "/metrics", admin), None)
print("RESULT " + json.dumps({"health": health["statusCode"], "after_health": after_health,
                              "chat": chat["statusCode"], "request_id": chat["headers"]["x-request-id"],
                              "metrics": metrics["statusCode"], "after_chat": loaded()}), flush=True)
""" % ADMIN_KEY


def run_cold(tmp_path, **env: str) -> tuple[dict, list[dict]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "OTEL_", "AWS_", "PROMETHEUS_"))}
    full = {**base, "AIHUB_DB": str(tmp_path / "lambda.db"), "AIHUB_SECRET": TEST_SECRET, "AIHUB_ADMIN_KEY": ADMIN_KEY,
            "AWS_LAMBDA_FUNCTION_NAME": "aihub-prod-APIHandler", "AWS_REGION": "us-east-1", **env}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=full, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr + out.stdout
    lines = out.stdout.splitlines()
    (result,) = [json.loads(line.removeprefix("RESULT ")) for line in lines if line.startswith("RESULT ")]
    # On Lambda stdout is the log: every line of it must be JSON (EMF lines especially).
    logged = [json.loads(line) for line in lines if not line.startswith("RESULT ")]
    return result, logged


def test_a_lambda_call_line_carries_its_embedded_metrics(tmp_path):
    result, logged = run_cold(tmp_path)
    assert (result["health"], result["chat"]) == (200, 200)
    assert result["metrics"] == 404, "on Lambda the figures are EMF, not /metrics"
    assert result["after_health"] == [] and result["after_chat"] == []
    (line,) = [x for x in logged if x.get("logger") == "aihub.calls"]
    assert line["request_id"] == result["request_id"]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "aihub" and [] in directive["Dimensions"]
    for dims in directive["Dimensions"]:
        assert all(d in line for d in dims)  # every dimension is a member of the line
    names = {m["Name"] for m in directive["Metrics"]}
    assert {"Requests", "Errors5xx", "Throttles", "ProviderErrors", "Duration", "InputTokens"} <= names
    assert all(isinstance(line[n], (int, float)) for n in names if n in line)
    assert (line["Requests"], line["Errors5xx"], line["Attempts"], line["Provider"]) == (1, 0, 1, "demo")
    assert line["InputTokens"] == line["prompt_tokens"] > 0
    db = [x for x in logged if x.get("_aws", {}).get("CloudWatchMetrics", [{}])[0].get("Metrics", [{}])[0].get("Name")
          == "DbWriteLatency"]
    assert db and all(x["DbWriteLatency"] >= 0 for x in db)
    assert sum(x["DbWriteJobs"] for x in db) >= 1  # the call's settlement (chores commit with no job)


def test_with_an_otlp_endpoint_health_stays_light_and_the_call_is_traced(tmp_path):
    with OtlpReceiver() as otlp:
        result, _ = run_cold(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint)
        assert result["after_health"] == [], "OpenTelemetry is loaded by the first call, not by /health"
        assert result["after_chat"] == ["opentelemetry"]
        # The process has exited: its batch was flushed on the way out.
        spans = [s for s in otlp.spans if s.attributes.get("aihub.request_id") == result["request_id"]]
    assert len(spans) == 1 and spans[0].attributes["gen_ai.provider.name"] == "demo"
    assert spans[0].attributes["gen_ai.operation.name"] == "chat"
