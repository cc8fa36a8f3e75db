"""Keys, auth and the admin API over real HTTP; the raw key is shown once and stored hashed."""
from __future__ import annotations

import hashlib
import sqlite3

import httpx
import openai
import pytest

from tests.support import openapi


def _get(gateway, path: str, key: str | None, **kw) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.get(gateway.url + path, headers=headers, timeout=10, **kw)


def test_health_needs_no_key(gateway):
    response = httpx.get(gateway.url + "/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("key", [None, "nope", "ah-unknownunknownunknownunknown"])
def test_missing_or_unknown_key_is_401(gateway, key):
    response = _get(gateway, "/v1/models", key)
    assert response.status_code == 401
    openapi.validate("ErrorResponse", response.json())
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["x-request-id"]


def test_sdk_sees_authentication_error(gateway):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key="ah-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_key_lifecycle(gateway, admin):
    created = admin.post("/admin/keys", json={"name": "lifecycle", "credits": 2.5, "role": "user"})
    assert created.status_code == 201
    body = created.json()
    assert {"id", "key", "account_id", "masked"} <= body.keys()
    raw = body["key"]
    assert body["masked"] == f"{raw[:4]}...{raw[-4:]}"
    assert _get(gateway, "/v1/models", raw).status_code == 200

    credits = _get(gateway, "/v1/credits", raw)
    assert credits.status_code == 200 and credits.json()["balance"] == 2.5

    listed = admin.get("/admin/keys").json()["data"]
    assert any(k["id"] == body["id"] for k in listed)
    assert raw not in admin.get("/admin/keys").text  # never shown again

    # Stored only as a hash.
    db = sqlite3.connect(gateway.db_path)
    (stored,) = db.execute("SELECT key_hash FROM api_keys WHERE id = ?", (body["id"],)).fetchone()
    assert stored == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.encode() not in gateway.db_path.read_bytes()

    revoked = admin.delete(f"/admin/keys/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert _get(gateway, "/v1/models", raw).status_code == 401


def test_user_key_on_admin_route_is_403(gateway, user):
    for method, path in [("GET", "/admin/keys"), ("POST", "/admin/keys"), ("GET", "/admin/calls"),
                         ("DELETE", "/admin/keys/key_x")]:
        response = httpx.request(method, gateway.url + path, headers={"authorization": f"Bearer {user['key']}"},
                                 json={"name": "x"} if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["type"] == "permission_error"


def test_admin_key_created_by_admin_can_admin(gateway, admin):
    created = admin.post("/admin/keys", json={"name": "second admin", "role": "admin"}).json()
    assert _get(gateway, "/admin/keys", created["key"]).status_code == 200


def test_key_on_existing_account_shares_the_balance(gateway, admin, user):
    second = admin.post("/admin/keys", json={"name": "second", "account_id": user["account_id"]})
    assert second.status_code == 201 and second.json()["account_id"] == user["account_id"]
    assert _get(gateway, "/v1/credits", second.json()["key"]).json()["balance"] == 5
    missing = admin.post("/admin/keys", json={"name": "x", "account_id": "acct_missing"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [({"name": "x", "role": "root"}, "role"), ({"name": "x", "credits": -1}, "credits"),
     ({"name": "x", "credits": "lots"}, "credits"), ({"name": "x", "surprise": 1}, "surprise")],
)
def test_admin_key_validation(admin, body, param):
    response = admin.post("/admin/keys", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_bad_json_and_schema_errors_name_the_problem(gateway, user):
    headers = {"authorization": f"Bearer {user['key']}", "content-type": "application/json"}
    bad = httpx.post(gateway.url + "/v1/chat/completions", content=b"{not json", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    schema = httpx.post(gateway.url + "/v1/chat/completions", headers=headers,
                        json={"model": "demo/echo", "messages": [{"role": "user", "content": "x"}], "n": 0})
    assert schema.status_code == 400 and schema.json()["error"]["param"] == "n"


def test_unknown_route_and_method(gateway, admin):
    assert admin.get("/v2/nothing").status_code == 404
    wrong = admin.get("/v1/chat/completions")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]


def test_calls_paging_by_cursor(gateway, admin):
    key = admin.post("/admin/keys", json={"name": "pager"}).json()
    client = gateway.openai(key["key"])
    ids = [client.chat.completions.with_raw_response.create(
        model="demo/echo", messages=[{"role": "user", "content": str(i)}]).headers["x-request-id"] for i in range(5)]
    first = admin.get("/admin/calls", params={"account_id": key["account_id"], "limit": 2}).json()
    assert [c["request_id"] for c in first["data"]] == ids[::-1][:2] and first["has_more"]
    second = admin.get("/admin/calls", params={"account_id": key["account_id"], "limit": 2,
                                               "before": first["next_cursor"]}).json()
    assert [c["request_id"] for c in second["data"]] == ids[::-1][2:4]
    assert admin.get("/admin/calls", params={"limit": 1000}).status_code == 200
    assert admin.get("/admin/calls", params={"limit": 0}).status_code == 400
    assert admin.get("/admin/calls", params={"limit": "ten"}).status_code == 400


def test_web_ui_is_served_compressed_to_browsers_that_accept_it(gateway):
    page = httpx.get(gateway.url + "/", headers={"accept-encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = [a for a in page.text.split('"') if a.startswith("./assets/")]
    for asset in assets:
        packed = httpx.get(gateway.url + asset[1:], headers={"accept-encoding": "gzip"})
        plain = httpx.get(gateway.url + asset[1:], headers={"accept-encoding": "identity"})
        assert packed.status_code == plain.status_code == 200
        assert packed.content == plain.content  # httpx decodes gzip
        if int(plain.headers["content-length"]) >= 1024:
            assert packed.headers["content-encoding"] == "gzip"
            assert int(packed.headers["content-length"]) < int(plain.headers["content-length"])
    api = httpx.get(gateway.url + "/health", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in api.headers  # API answers are not compressed
