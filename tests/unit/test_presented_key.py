"""The one API key a request may present, whichever way it carries it (bearer, x-api-key,
x-goog-api-key, ?key=). Route matching, greedy parameters included: test_routing.py."""
from __future__ import annotations

import pytest

from chalicelib.errors import ApiError
from chalicelib.gateway.auth import presented_key
from chalicelib.gateway.http import ApiRequest


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
