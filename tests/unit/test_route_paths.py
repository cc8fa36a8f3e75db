"""Route paths as both fronts match them (greedy `{name+}` parameters included), and the one
API key a request may present, whichever way it carries it."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.errors import ApiError
from chalicelib.fronts import paths
from chalicelib.fronts.asgi_front import AsgiApp
from chalicelib.gateway.auth import presented_key
from chalicelib.gateway.http import ApiRequest


@pytest.mark.parametrize(("route", "path", "params"), [
    ("/v1/models", "/v1/models", {}),
    ("/admin/keys/{id}", "/admin/keys/k1", {"id": "k1"}),
    ("/admin/keys/{id}", "/admin/keys/k1/x", None),
    ("/admin/models/{provider}/{model}/probe", "/admin/models/p/m/probe", {"provider": "p", "model": "m"}),
    ("/v1beta/models/{id+}", "/v1beta/models/openai/gpt-4o-mini:generateContent",
     {"id": "openai/gpt-4o-mini:generateContent"}),
    ("/v1beta/models/{id+}", "/v1beta/models/", None),
    ("/v1/usage/calls.csv", "/v1/usage/callsXcsv", None),  # literal dots are literal
])
def test_pattern(route: str, path: str, params: dict[str, str] | None) -> None:
    found = paths.pattern(route).match(path)
    assert (found.groupdict() if found else None) == params


def _app(routes: dict[str, list[str]]) -> AsgiApp:
    table = {path: {m: SimpleNamespace(view_function=SimpleNamespace(endpoint=f"{m} {path}")) for m in methods}
             for path, methods in routes.items()}
    return AsgiApp(SimpleNamespace(routes=table))


def test_literal_before_parameter_before_greedy_and_methods_across_routes() -> None:
    app = _app({"/v1/models/{id+}": ["POST"], "/v1/models/{id}": ["GET"], "/v1/models/fixed": ["GET"]})
    assert app.match("GET", "/v1/models/fixed")[0] == "GET /v1/models/fixed"
    assert app.match("GET", "/v1/models/a") == ("GET /v1/models/{id}", {"id": "a"}, None)
    # A POST to a one-segment id reaches the greedy route past the GET-only one.
    assert app.match("POST", "/v1/models/a") == ("POST /v1/models/{id+}", {"id": "a"}, None)
    assert app.match("POST", "/v1/models/a/b:generateContent")[1] == {"id": "a/b:generateContent"}
    assert app.match("DELETE", "/v1/models/a") == (None, {}, ["GET", "POST"])
    assert app.match("GET", "/nowhere") == (None, {}, None)


def request(headers: dict[str, str], query: dict[str, str] | None = None) -> ApiRequest:
    return ApiRequest("POST", "/", headers=headers, query=query or {})


@pytest.mark.parametrize(("headers", "query", "key"), [
    ({"authorization": "Bearer k1"}, {}, "k1"),
    ({"x-api-key": "k1"}, {}, "k1"),
    ({"x-goog-api-key": "k1"}, {}, "k1"),
    ({}, {"key": "k1"}, "k1"),
    ({"authorization": "Bearer k1", "x-goog-api-key": "k1"}, {"key": "k1"}, "k1"),  # the same key twice is one key
    ({}, {}, None),
])
def test_presented_key(headers: dict[str, str], query: dict[str, str], key: str | None) -> None:
    assert presented_key(request(headers, query)) == key


@pytest.mark.parametrize(("headers", "query"), [
    ({"authorization": "Bearer k1", "x-goog-api-key": "k2"}, {}),
    ({"x-goog-api-key": "k1"}, {"key": "k2"}),
    ({"x-api-key": "k1", "x-goog-api-key": "k2"}, {}),
])
def test_two_different_keys_are_refused(headers: dict[str, str], query: dict[str, str]) -> None:
    with pytest.raises(ApiError) as refused:
        presented_key(request(headers, query))
    assert (refused.value.status, refused.value.code) == (400, "ambiguous_api_key")
    assert "k1" not in refused.value.message and "k2" not in refused.value.message


def test_a_repeated_goog_header_is_refused() -> None:
    req = ApiRequest("POST", "/", headers={"x-goog-api-key": "k1, k2"}, repeated=frozenset({"x-goog-api-key"}))
    with pytest.raises(ApiError) as refused:
        presented_key(req)
    assert refused.value.code == "ambiguous_api_key"
