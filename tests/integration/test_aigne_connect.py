"""`aigne hub connect` (shared/aigne-hub-v2.md §5.8) against the real server: the session's life
(pending, approved, single use, deleted, expired, unknown), the approval issuing a key of the
approving user's account that the CLI's own decryption opens, and the real `aigne` CLI (pinned in
tests/node) connecting with a throwaway HOME, then `aigne run` answering through aihub with the
key it stored. Here the approval is the HTTP call the web UI page makes; tests/e2e/test_connect.py
gives it in Chromium through the page itself."""
from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chalicelib.connect import cryptojs
from tests.integration.conftest import calls_of
from tests.integration.test_aigne_hub import NODE_DIR, node  # noqa: F401 (a fixture)
from tests.support.gateway import Gateway, create_key, start_gateway
from tests.unit.test_connect_cryptojs import decrypt

SESSION = "/.well-known/service/api/access-key/session"
APPROVE = "/.well-known/service/api/access-key/approve"
PAGE = "/.well-known/service/gen-simple-access-key"


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("connect"), {"AIHUB_BILLING": "on", "AIHUB_CREDIT_PREFIX": "$"})
    with gateway.admin() as api:
        rate = {"provider": "demo", "model": "echo", "type": "chat", "input_rate": 0.000001, "output_rate": 0.000002}
        assert api.post("/admin/model-rates", json=rate).status_code == 201
    yield gateway
    gateway.stop()


@pytest.fixture
def user(gw: Gateway) -> dict:
    with gw.admin() as api:
        return create_key(api, credits=5, rpm=77)


def token_of(sid: str) -> str:
    """What the CLI puts in the page's `__token__`: base64url of the session id, no padding."""
    return base64.urlsafe_b64encode(sid.encode()).decode().rstrip("=")


def approve(gw: Gateway, key: str, token: str, app: str | None = " AIGNE CLI") -> httpx.Response:
    return httpx.post(gw.url + APPROVE, json={"token": token, **({"appName": app} if app else {})},
                      headers={"authorization": f"Bearer {key}"})


def test_session_pending_approved_used_then_gone(gw, user):
    sid = httpx.post(gw.url + SESSION).json()["id"]
    assert len(sid) >= 40
    assert httpx.get(gw.url + SESSION, params={"sid": sid}).json() == {"id": sid}

    approved = approve(gw, user["key"], token_of(sid))
    assert approved.status_code == 200, approved.text
    assert "key" not in approved.json() and approved.json()["name"] == "AIGNE CLI (aigne hub connect)"
    session = httpx.get(gw.url + SESSION, params={"sid": sid}, headers={"x-request-count": "3"}).json()
    assert session["accessKeyId"] == approved.json()["key_id"]
    raw = decrypt(session["accessKeySecret"], cryptojs.passphrase(session["challenge"], session["accessKeyId"]))
    assert raw.startswith("ah-") and raw not in approved.text
    with sqlite3.connect(gw.db_path) as db:
        (at_rest,) = db.execute("SELECT secret_cipher FROM access_key_sessions WHERE id = ?", (sid,)).fetchone()
        keys_table = db.execute("SELECT * FROM api_keys").fetchall()
    # at rest, sealed again with the master secret; the key itself only as its hash
    assert at_rest.startswith("v1:") and session["accessKeySecret"] not in at_rest
    assert raw not in repr(keys_table) and hashlib.sha256(raw.encode()).hexdigest() in repr(keys_table)

    # the key is the approving user's: same account, same limits, a user key
    with gw.admin() as api:
        issued = next(k for k in api.get("/admin/keys", params={"account_id": user["account_id"]}).json()["data"]
                      if k["id"] == session["accessKeyId"])
    assert (issued["role"], issued["rpm"]) == ("user", 77)
    info = httpx.get(gw.url + "/api/user/info", headers={"authorization": f"Bearer {raw}"})
    assert info.json()["user"]["did"] == user["account_id"]

    # single use: no second approval (and no second key), then the CLI's DELETE ends it
    again = approve(gw, user["key"], token_of(sid))
    assert again.status_code == 409
    with gw.admin() as api:
        keys_now = api.get("/admin/keys", params={"account_id": user["account_id"]}).json()["data"]
    assert len(keys_now) == 2
    assert httpx.delete(gw.url + SESSION, params={"sid": sid}).json() == {}
    assert httpx.get(gw.url + SESSION, params={"sid": sid}).status_code == 404
    assert httpx.delete(gw.url + SESSION, params={"sid": sid}).status_code == 404
    assert approve(gw, user["key"], token_of(sid)).status_code == 404


def test_unknown_bad_and_unauthorised(gw, user):
    assert httpx.get(gw.url + SESSION, params={"sid": "nope"}).status_code == 404
    missing = httpx.get(gw.url + SESSION)
    assert missing.status_code == 400 and "sid" in missing.json()["error"]["message"]
    sid = httpx.post(gw.url + SESSION).json()["id"]
    assert approve(gw, "ah-not-a-key", token_of(sid)).status_code == 401
    admin = approve(gw, gw.admin_key, token_of(sid))
    assert admin.status_code == 403 and "account" in admin.json()["error"]["message"]
    bad = approve(gw, user["key"], "%%%")
    assert bad.status_code == 400 and "token" in bad.json()["error"]["message"]
    assert approve(gw, user["key"], token_of("sess-unknown")).status_code == 404
    assert httpx.get(gw.url + SESSION, params={"sid": sid}).json() == {"id": sid}  # still pending


def test_the_page_the_cli_opens_is_the_web_uis_approval_page(gw):
    query = {"__token__": "abc", "source": "@aigne/cli connect to AIGNE hub", "appName": " AIGNE CLI"}
    page = httpx.get(gw.url + PAGE, params=query)
    assert page.status_code == 302
    target = urlsplit(str(httpx.URL(gw.url + PAGE).join(page.headers["location"])))
    assert target.path == "/" and target.fragment.startswith("/connect?")
    assert {k: v[0] for k, v in parse_qs(target.fragment.partition("?")[2]).items()} == query


def test_sessions_expire(tmp_path: Path):
    gateway = start_gateway(tmp_path, {"AIHUB_CONNECT_SESSION_TTL": "1"})
    try:
        with gateway.admin() as api:
            user = create_key(api)
        sid = httpx.post(gateway.url + SESSION).json()["id"]
        time.sleep(1.2)
        assert httpx.get(gateway.url + SESSION, params={"sid": sid}).status_code == 404
        assert approve(gateway, user["key"], token_of(sid)).status_code == 404
    finally:
        gateway.stop()


# -- the real CLI -----------------------------------------------------------------------------


def browser_stub(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """`open` (the CLI's) runs xdg-open, which runs $BROWSER: here a script noting the URL."""
    opened = tmp_path / "opened-url"
    stub = tmp_path / "browser"
    stub.write_text(f"#!{sys.executable}\nimport sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n")
    stub.chmod(0o755)
    return {"BROWSER": str(stub), "DISPLAY": ""}, opened


def cli_env(home: Path) -> dict[str, str]:
    # CI / NODE_ENV=test would put the CLI in its test mode (a fake hub); they must be unset
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "NO_COLOR": "1"}


def start_connect(node_bin: str, gw: Gateway, tmp_path: Path) -> tuple[subprocess.Popen, Path, str]:
    """`aigne hub connect <url>` running, and the page URL it opened."""
    home = tmp_path / "home"
    (home / ".aigne").mkdir(parents=True)
    browser, opened = browser_stub(tmp_path)
    cli = subprocess.Popen([node_bin, str(NODE_DIR / "node_modules" / ".bin" / "aigne"), "hub", "connect", gw.url],
                           cwd=tmp_path, env={**cli_env(home), **browser}, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not opened.exists() and cli.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened.exists(), cli.communicate(timeout=5)[0] if cli.poll() is not None else "no page opened"
    return cli, home, opened.read_text()


def run_agent(node_bin: str, home: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`aigne run` with only what connect stored: no key in the environment."""
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "aigne.yaml").write_text("name: test\nmodel: aignehub:demo/echo\nagents:\n  - chat.yaml\n")
    (agent / "chat.yaml").write_text("type: ai\nname: chat\ninstructions: Repeat the user.\ninput_key: message\n")
    return subprocess.run([node_bin, str(NODE_DIR / "node_modules" / ".bin" / "aigne"), "run", str(agent), "chat",
                           "--input", "hello through connect", "--model", "aignehub:demo/echo"],
                          cwd=tmp_path, env=cli_env(home), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False, timeout=60)


def assert_connected_and_runs(node_bin: str, gw: Gateway, user: dict, cli: subprocess.Popen, home: Path,
                              tmp_path: Path) -> None:
    out = cli.communicate(timeout=60)[0]
    assert cli.returncode == 0 and "connected successfully" in out, out
    stored = (home / ".aigne" / "aigne-hub-connected.yaml").read_text()
    assert f"AIGNE_HUB_API_URL: {gw.url}" in stored and "AIGNE_HUB_API_KEY: ah-" in stored
    done = run_agent(node_bin, home, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello through connect" in done.stdout
    with gw.admin() as api:
        (call,) = calls_of(api, user["account_id"])
        issued = [k["id"] for k in api.get("/admin/keys", params={"account_id": user["account_id"]}).json()["data"]
                  if k["id"] != user["id"]]
    assert (call["surface"], call["provider"], call["status"]) == ("aigne", "demo", "success")
    assert call["key_id"] in issued


def test_aigne_hub_connect_then_run(node, gw, user, tmp_path: Path):  # noqa: F811
    cli, home, page_url = start_connect(node, gw, tmp_path)
    assert page_url.startswith(gw.url + PAGE + "?")
    query = parse_qs(urlsplit(page_url).query)
    assert query["appName"] == [" AIGNE CLI"] and query["cli"] == ["true"]
    time.sleep(2)  # the CLI polls a pending session meanwhile
    assert approve(gw, user["key"], query["__token__"][0]).status_code == 200
    assert_connected_and_runs(node, gw, user, cli, home, tmp_path)
