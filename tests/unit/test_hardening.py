"""Unit checks of the hardening of issue 10: admin key length, header folding, the UI redirect."""
from __future__ import annotations

import asyncio

import pytest

from chalicelib import config
from chalicelib.gateway.http import ApiRequest, fold_headers
from chalicelib.handlers import ui


@pytest.mark.parametrize(("key", "accepted"), [("abc", False), ("x" * 31, False), ("x" * 32, True), (None, True)])
def test_admin_key_needs_32_characters(key, accepted):
    env = {"AIHUB_ADMIN_KEY": key} if key else {}
    cfg = config.from_env(env)
    if accepted:
        assert cfg.admin_key == key and cfg.admin_key_error is None
    else:
        assert cfg.admin_key is None and "32" in cfg.admin_key_error


def test_a_lambda_ignores_a_short_admin_key_and_says_so(local_env, caplog):
    local_env({"AIHUB_ADMIN_KEY": "short"})
    with caplog.at_level("ERROR", logger="aihub"):
        assert config.settings().admin_key is None
    assert "AIHUB_ADMIN_KEY is 5 characters long" in caplog.text


def test_fold_headers_joins_repeats_and_names_them():
    assert fold_headers([("Accept", "a"), ("X-Api-Key", "k")]) == ({"accept": "a", "x-api-key": "k"}, frozenset())
    headers, repeated = fold_headers([("Authorization", "Bearer a"), ("accept", "x"), ("authorization", "Bearer b")])
    assert headers == {"authorization": "Bearer a, Bearer b", "accept": "x"} and repeated == {"authorization"}


@pytest.mark.parametrize(("path", "query", "location"), [
    ("/prod", {}, "/prod/"),
    ("/prod", {"a": "1"}, "/prod/?a=1"),
])
def test_ui_page_gets_its_trailing_slash_from_the_server(path, query, location):
    response = asyncio.run(ui.index(ApiRequest("GET", path, {}, query=query)))
    assert response.status == 308 and response.headers["location"] == location


def test_ui_page_sets_a_policy_without_inline_script():
    response = asyncio.run(ui.index(ApiRequest("GET", "/", {})))
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy


SECRET = "unit-master-secret-0123456789-0123456789"


def test_migration_seals_provider_headers_stored_in_plaintext(local_env, tmp_path, monkeypatch):
    import orjson

    from chalicelib.credentials import sealed_headers
    from chalicelib.store import migrations
    from chalicelib.store.db import Store

    local_env({"AIHUB_SECRET": SECRET})
    db = Store(str(tmp_path / "old.db"))
    every = migrations.MIGRATIONS
    before = every.index(migrations._v8_sealed_provider_headers)
    monkeypatch.setattr(migrations, "MIGRATIONS", every[:before])  # the schema before this change
    assert migrations.migrate(db) == before
    config = {"models": ["m"], "headers": {"x-org-key": "org-SECRET-0123456789abcdef", "x-team": "blue"}}
    db.conn.execute("INSERT INTO providers (name, kind, enabled, config, created_at, updated_at)"
                    " VALUES ('mine', 'openai', 1, ?, 1, 1)", (orjson.dumps(config).decode(),))
    monkeypatch.setattr(migrations, "MIGRATIONS", every)
    assert migrations.migrate(db) == len(migrations.MIGRATIONS)
    raw = db.conn.execute("SELECT config, sealed_headers FROM providers").fetchone()
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"org-SECRET" not in (tmp_path / "old.db").read_bytes()
    assert orjson.loads(raw[0]) == {"models": ["m"], "headers": {"x-org-key": "org-...cdef", "x-team": "****"}}
    assert sealed_headers.open_sealed("mine", raw[1]) == config["headers"]
    assert migrations.migrate(db) == len(migrations.MIGRATIONS)  # once only


def test_key_changes_bump_the_counter_in_their_transaction(local_env):
    from chalicelib.store import keys, versions
    from chalicelib.store.shared import store

    local_env({})
    start = versions.current("api_keys")
    record, _ = keys.create_key(store(), name="k")  # a process that knew its hash as unknown must look again
    keys.update_key(store(), record.id, {"rpm": 5})
    keys.revoke_key(store(), record.id)
    assert versions.current("api_keys") == start + 3
