"""Which origins CORS lets in (AIHUB_CORS_ORIGINS), and what a preflight grants."""
from __future__ import annotations

import pytest

from chalicelib.gateway import cors
from chalicelib.gateway.http import ApiRequest


def _req(origin: str | None, asked: str = "") -> ApiRequest:
    headers = {"origin": origin} if origin else {}
    if asked:
        headers["access-control-request-headers"] = asked
    return ApiRequest("OPTIONS", "/v1/chat/completions", headers)


@pytest.mark.parametrize(("configured", "origin", "allowed"), [
    ("", "https://app.example", None),  # none unless configured
    ("https://app.example", "https://app.example", "https://app.example"),
    ("https://app.example/", "https://app.example", "https://app.example"),  # a trailing slash is no difference
    ("https://app.example", "https://app.example.evil", None),
    ("https://app.example", "http://app.example", None),  # another scheme is another origin
    ("https://a.example, https://b.example", "https://b.example", "https://b.example"),
    ("*", "https://anyone.example", "*"),
    ("*", None, None),  # no Origin: not a browser's cross-origin request
])
def test_allowed_origin(local_env, configured, origin, allowed):
    local_env({"AIHUB_CORS_ORIGINS": configured})
    assert cors.allowed_origin(_req(origin)) == allowed


def test_preflight_grants_the_sdk_headers_and_only_x_stainless_extras(local_env):
    local_env({"AIHUB_CORS_ORIGINS": "https://app.example"})
    response = cors.preflight(_req("https://app.example", "Authorization, X-Stainless-Retry-Count, X-Secret"),
                              ("POST",))
    granted = response.headers["access-control-allow-headers"].split(", ")
    assert "x-stainless-retry-count" in granted and "authorization" in granted
    assert "x-secret" not in granted
    assert response.headers["access-control-allow-methods"] == "OPTIONS, POST"
    assert "access-control-allow-credentials" not in response.headers


def test_an_answer_keeps_its_own_vary(local_env):
    from chalicelib.gateway.http import ApiResponse

    local_env({"AIHUB_CORS_ORIGINS": "https://app.example"})
    response = ApiResponse(200, b"", {"vary": "accept-encoding"})
    cors.decorate(_req("https://app.example"), response)
    assert response.headers["vary"] == "accept-encoding, origin"
    assert response.headers["access-control-allow-origin"] == "https://app.example"
