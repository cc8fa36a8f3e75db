"""Every route of app.py, walked from its route table, fuzzed with hypothesis.

Bodies (valid seeds mutated at any depth, wrong types, huge and unicode strings, huge ints,
floats, deep nesting, invalid JSON, oversized bodies), query strings and path parameters go to
the real ASGI app with admin keys, user keys and none. No answer may be a 500 (a provider that
fails may give a 502, 503 or 504), and every error
must be OpenAI's `{"error": {"message", "type", "code", "param"}}`. derandomize=True: CI runs
the same examples every time.
"""
from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import app as chalice_app
from chalicelib.api import admin as admin_api
from chalicelib.api import openai as openai_api
from tests.fuzz.conftest import World

# Per route: 1,000 to 3,000 per route group, about 30 s in all on 2 cores. FUZZ_EXAMPLES=2000 digs deeper.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 200))


def _routes() -> list[tuple[str, str, str]]:
    found = [(method, endpoint.path, endpoint.auth) for endpoint in chalice_app.route.endpoints
             for method in ([endpoint.method, "HEAD"] if endpoint.method == "GET" else [endpoint.method])]
    # Deletions last, so the routes before them still find what the fuzz set up.
    return sorted(found, key=lambda route: (route[0] == "DELETE", route[1], route[0]))


ROUTES = _routes()
DIALECTS = {endpoint.path: endpoint.dialect for endpoint in chalice_app.route.endpoints}

# Valid bodies to mutate, so a mutation gets past the first check and into the handler, and into
# each adapter's translation (tests/fuzz/conftest.py prices those models).
CHAT_MODELS = ["demo/echo", "openai/gpt-4o", "anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash",
               "bedrock/amazon.nova-lite-v1:0"]
CHAT = {
    "max_tokens": 5, "n": 1, "stream": False, "stop": ["x"], "temperature": 0.5,
    "messages": [{"role": "system", "content": "be brief"},
                 {"role": "user", "content": [
                     {"type": "text", "text": "hi"},
                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]},
                 {"role": "assistant", "content": None,
                  "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "42"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "tool_choice": "auto",
}
STRUCTURED = {"messages": [{"role": "user", "content": "hi"}],
              "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}
SEEDS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("POST", "/v1/chat/completions"): [{**seed, "model": model}
                                       for model in CHAT_MODELS for seed in (CHAT, STRUCTURED)],
    ("POST", "/v1/embeddings"): [{"model": model, "input": ["hi"], "dimensions": 8} for model in
                                 ("demo/embed", "openai/text-embedding-3-small", "google/gemini-embedding-001")],
    ("POST", "/v1/images/generations"): [{"model": model, "prompt": "a cat", "n": 1, "size": "1024x1024"} for model in
                                         ("demo/image", "openai/gpt-image-1", "ideogram/V_3")],
    ("POST", "/admin/keys"): [{"name": "k", "credits": 1, "rpm": 10}],
    ("POST", "/admin/providers"): [{"name": "fuzzed", "kind": "openai", "base_url": "http://127.0.0.1:9/v1",
                                    "config": {"models": ["m"], "headers": {"x-a": "b"}}}],
    ("PATCH", "/admin/providers/{name}"): [{"display_name": "x", "config": {"read_timeout": 5}}],
    ("POST", "/admin/providers/{name}/credentials"): [{"name": "c", "value": "sk-fuzz-0123456789", "check": False}],
    ("PATCH", "/admin/credentials/{id}"): [{"weight": 2, "name": "c"}],
    # Another model than the priced ones, so fuzzed rates never price the calls fuzzed elsewhere.
    ("POST", "/admin/model-rates"): [{"provider": "fuzz", "model": "m", "input_rate": 0.000001,
                                      "metadata": {"a": [1]}}],
    ("PATCH", "/admin/model-rates/{id}"): [{"input_rate": 0.000001, "deprecated": False}],
    ("POST", "/admin/model-rates/bulk"): [{"margin": 0.2, "credit_price": 0.001, "provider": "fuzz"}],
    ("POST", "/admin/accounts/{id}/credits"): [{"amount": 1, "note": "n", "expires_at": 4102444800000}],
    ("PATCH", "/admin/keys/{id}"): [{"rpm": 100, "daily_cap": 5, "expires_at": 4102444800000}],
}

QUERY_NAMES = ["account_id", "before", "by", "cursor", "from", "to", "granularity", "group_by",
               "include_deprecated", "key_id", "limit", "model", "provider", "search", "status", "type"]


def _field_names() -> list[str]:
    names: set[str] = set()
    for module in (openai_api, admin_api):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                names.update(value.model_fields)
    return sorted(names)


FIELDS = _field_names()
ODD_TEXT = [
    "", " ", "0", "-1", "1.5", "1e400", "NaN", "Infinity", "null", "true", "é", "\u202e", "\x00", "../..", "%00",
    "a,b", "model,key", "hour", "day", "month", "success", "failed", "chat", "calls", "credits",
    "1" * 30, "1" * 30 + "_1", "1_" + "1" * 30, "9" * 5000, "x" * 300, "é" * 5000, "x" * 8000,
    "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2025-13-45",
    "2025-01-31", "2025-01-31T12:00:00Z", "253402300799999", "-0", "0x10", "١٢٣",
]
HUGE_INTS = [2**31 - 1, 2**31, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63) - 1, 10**30]

text = st.one_of(st.text(max_size=30), st.sampled_from(ODD_TEXT), st.integers().map(str), st.floats().map(str))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE_INTS), st.floats(), st.just(2.0), st.just(1e-12),
    st.just(9.3e9), text,
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8),
                                                              inner, max_size=4),
    max_leaves=12,
)


def _nested(depth: int) -> bytes:
    return b'{"model": "demo/echo", "tools": ' + b"[" * depth + b"]" * depth + b"}"


RAW_BODIES = [
    b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe{}", b"\xef\xbb\xbf{}", b'{"a": 1e400}', b'{"a": NaN}',
    _nested(63), _nested(65), _nested(1000), _nested(100_000),
    b'{"model": "' + b"x" * (1 << 20) + b'", "messages": [{"role": "user", "content": "hi"}]}',  # 1 MiB: 413 on /admin
]


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON tree a value can be put."""
    found = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, child in tree.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(tree, list):
        for index, child in enumerate(tree):
            found += _paths(child, (*prefix, index))
    return found


def _put(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        tree = tree[step]
    tree[path[-1]] = value


@st.composite
def bodies(draw: st.DrawFn, seeds: list[dict[str, Any]]) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(RAW_BODIES))
    if kind == 1:
        return json.dumps(draw(values)).encode()
    body = json.loads(json.dumps(draw(st.sampled_from(seeds))))
    for _ in range(draw(st.integers(0, 3))):  # 0: the seed as is, which must get through
        places = _paths(body)
        if places and draw(st.booleans()):
            _put(body, draw(st.sampled_from(places)), draw(values))
        else:
            body[draw(st.sampled_from(FIELDS))] = draw(values)
    return json.dumps(body).encode()


def _path_values(world: World) -> dict[str, list[str]]:
    """Real things a path may name, by the segment before the parameter, so some requests get
    past the lookup (the key and account are a victim's: never the ones the fuzz calls with)."""
    return {
        "keys": [world.victim_key_id], "accounts": [world.victim_account_id, world.account_id],
        "credentials": [world.credential_id], "model-rates": [str(world.rate_id)],
        "providers": ["demo", "openai", "fuzzed"], "models": ["demo", "openai"], "calls": [world.request_id],
        "assets": ["index.js", "index.css"],
    }


def _request(data: st.DataObject, world: World, method: str, path: str, auth: str) -> httpx.Response:
    known = _path_values(world)

    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            # By the segment before; "{provider}/{model}" names a model after a provider.
            real = known.get(segments[index - 1], ["echo", "gpt-4o"])
            odd = data.draw(st.integers(0, 2), label=f"{segment} is odd") == 0
            value = data.draw(text.filter(bool) if odd else st.sampled_from(real), label=segment)
            segments[index] = quote(value, safe="")
    url = "/".join(segments)
    query = data.draw(st.dictionaries(st.sampled_from(QUERY_NAMES) | st.text(max_size=5), text, max_size=4),
                      label="query")
    who = data.draw(st.sampled_from(["right", "right", "right", "admin", "user", "none", "bogus"]), label="key")
    if who == "right":
        who = "admin" if auth == "admin" else "user"
    key = {"admin": world.gw.admin_key, "user": world.user_key, "none": None, "bogus": "ah-not-a-key"}[who]
    seeds = SEEDS.get((method, path), [{}])
    content = data.draw(bodies(seeds), label="body") if method in ("POST", "PATCH") else None
    return world.gw.request(method, url, key=key, params=query, content=content,
                            headers={"content-type": "application/json"})


# What a gateway honestly answers when a provider fails or has no credential left (the fuzz
# points providers at a closed port and may disable their credentials); 500 is always a bug.
UPSTREAM_STATUSES = (502, 503, 504)


def check(response: httpx.Response, dialect: str = "openai_chat") -> None:
    assert response.status_code < 500 or response.status_code in UPSTREAM_STATUSES, response.text[:2000]
    if response.request.method == "HEAD":
        assert response.content == b""  # the GET's status and headers, never a body
    elif response.status_code >= 400:
        body = orjson.loads(response.content)
        error = body["error"]
        assert isinstance(error["message"], str) and error["message"]
        if body.get("type") == "error":  # Anthropic's shape, on its routes
            assert isinstance(error["type"], str)
        elif "status" in error:  # Google's shape, on its routes
            assert error["code"] == response.status_code and isinstance(error["status"], str)
        elif dialect == "aigne_hub":  # AIGNE Hub's: a type and a code, no param
            assert isinstance(error["type"], str) and "code" in error
        else:  # OpenAI's, everywhere else
            assert isinstance(error["type"], str)
            assert {"code", "param"} <= error.keys()
    elif response.headers.get("content-type", "").startswith("application/json"):
        orjson.loads(response.content)


@pytest.mark.parametrize(("method", "path", "auth"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_route_answers_5xx(world: World, method: str, path: str, auth: str, data: st.DataObject) -> None:
    check(_request(data, world, method, path, auth), DIALECTS.get(path, "openai_chat"))


def test_every_route_is_fuzzed() -> None:
    """The table is walked, not listed: a route added to app.py is fuzzed with no change here."""
    declared = chalice_app.route.endpoints
    assert len(ROUTES) == len(declared) + sum(e.method == "GET" for e in declared) > 40
    assert set(SEEDS) <= {(m, p) for m, p, _ in ROUTES}
