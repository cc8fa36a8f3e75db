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
