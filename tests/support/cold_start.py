"""A cold Lambda container, imitated: a fresh interpreter that imports app and answers one request
through the API function's handler (`app.app`) with an API Gateway REST proxy event, then reports
the answer and every module it loaded.

The bench times it (tests/bench/scenarios.py, cold_start); tests/deploy/test_cold_start.py checks
what it loaded. The database is already at the current schema, as a Lambda finds it after the
first deploy.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.gateway import ROOT, upstream_env

ADMIN_KEY = "cold-start-admin-key-0123456789abcdef-01"
CHAT_MODEL = "openai/gpt-4o-mini"

# GET /health, or (with the key in COLD_KEY) the first chat completion to the fake upstream.
# BARE is the same interpreter doing nothing: the baseline both are measured over.
BARE = "import time; print('COLD {\"cpu_ms\": %f}' % (time.process_time() * 1000), flush=True)"
CHILD = r"""
import json, os, sys, time
import app
path, key = os.environ["COLD_PATH"], os.environ.get("COLD_KEY")
method = "POST" if key else "GET"
headers = {"Accept": "*/*", "Host": "abc123.execute-api.us-east-1.amazonaws.com"}
if key:
    headers.update({"Authorization": "Bearer " + key, "Content-Type": "application/json"})
body = json.dumps({"model": os.environ["COLD_MODEL"], "messages": [{"role": "user", "content": "Say hello."}]}) if key else None
event = {
    "resource": path, "path": path, "httpMethod": method, "headers": headers,
    "multiValueHeaders": {k: [v] for k, v in headers.items()},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
    "requestContext": {"resourcePath": path, "httpMethod": method, "path": "/api" + path,
                       "stage": "api", "apiId": "abc123", "requestId": "cold",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
response = app.app(event, None)
cpu_ms = time.process_time() * 1000  # every thread of the process, from its start to the answer
print("COLD " + json.dumps({"status": response["statusCode"], "body": response["body"][:300], "cpu_ms": cpu_ms,
                            "modules": sorted(n for n, m in sys.modules.items() if m is not None)}), flush=True)
"""
HEALTH = ("GET /health", "/health", False)
FIRST_CHAT = ("first chat completion", "/v1/chat/completions", True)
PATHS = (HEALTH, FIRST_CHAT)


def base_env(parent: dict[str, str], upstream_url: str, db: Path) -> dict[str, str]:
    """`parent` (an environment with nothing that steers the gateway) with every provider at the
    fake upstream and a database file of its own."""
    own = dict(parent)
    # A shell with PYTHONDONTWRITEBYTECODE would have every run compile every module from source;
    # the warm-up run writes the .pyc files, as a package built with compiled bytecode has them.
    own.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**own, **upstream_env(upstream_url), "AIHUB_DB": str(db), "AIHUB_ADMIN_KEY": ADMIN_KEY}


def user_key(env: dict[str, str]) -> str:
    """A user key with credits in env's database (which this creates and migrates, in a process
    of its own, so the children find it at the current schema)."""
    code = ("from chalicelib.store.shared import store; from chalicelib.store import keys; "
            "print(keys.create_key(store(), name='cold', credits_minor=10**12)[1])")
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"creating the cold-start key failed:\n{done.stderr.decode(errors='replace')}")
    return done.stdout.decode().split()[-1]


def child_env(env: dict[str, str], path: str, key: str | None) -> dict[str, str]:
    """env for one child answering `path` (a chat completion when `key` is given), as in a Lambda,
    whose AWS_LAMBDA_FUNCTION_NAME picks the Lambda's observers (EMF) and no background tasks."""
    return {**env, "AWS_LAMBDA_FUNCTION_NAME": "aihub-cold-start", "COLD_PATH": path, "COLD_MODEL": CHAT_MODEL,
            **({"COLD_KEY": key} if key else {})}


def spawn(env: dict[str, str], code: str = CHILD) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def parse(line: str) -> dict[str, Any]:
    return json.loads(line.removeprefix("COLD "))


def run(env: dict[str, str]) -> dict[str, Any]:
    """One child to the end: its report (status, body, modules)."""
    out, err = spawn(env).communicate(timeout=60)
    lines = [line for line in out.decode().splitlines() if line.startswith("COLD ")]
    if not lines:
        raise RuntimeError(f"cold-start child failed:\n{err.decode(errors='replace')}")
    return parse(lines[-1])
