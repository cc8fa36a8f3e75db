"""The route matcher both fronts share: one-segment and greedy parameters, literal routes first,
and the path API Gateway is given for templates it cannot express."""
from __future__ import annotations

import pytest

from chalicelib.gateway import routing
from chalicelib.gateway.routing import RouteTable, compile_path, concrete_path, gateway_path, parameters, plain

TABLE = RouteTable([
    ("GET", "/v1/models", "list"),
    ("GET", "/v1/models/{id+}", "retrieve"),
    ("GET", "/v1/models/featured", "featured"),  # literal, declared after the greedy route
    ("POST", "/admin/models/{provider}/{model+}/probe", "probe"),
    ("POST", "/admin/models/{provider}/refresh", "refresh"),
    ("GET", "/admin/keys/{id}", "key"),
    ("DELETE", "/admin/keys/{id}", "revoke"),
    ("POST", "/v1beta/models/{model+}:generateContent", "generate"),
    ("POST", "/v1beta/models/{model+}:streamGenerateContent", "stream"),
    ("GET", "/v1beta/models/{model+}", "gemini_model"),
])


@pytest.mark.parametrize(("method", "path", "target", "params"), [
    ("GET", "/v1/models", "list", {}),
    ("GET", "/v1/models/gpt-4o", "retrieve", {"id": "gpt-4o"}),
    ("GET", "/v1/models/demo/echo", "retrieve", {"id": "demo/echo"}),
    ("GET", "/v1/models/openrouter/mistralai/mistral-7b-instruct", "retrieve",
     {"id": "openrouter/mistralai/mistral-7b-instruct"}),
    ("GET", "/v1/models/featured", "featured", {}),  # the literal wins over the greedy route
    ("GET", "/v1/models/featured/x", "retrieve", {"id": "featured/x"}),
    ("POST", "/admin/models/openrouter/mistralai/mistral-7b-instruct/probe", "probe",
     {"provider": "openrouter", "model": "mistralai/mistral-7b-instruct"}),
    ("POST", "/admin/models/demo/echo/probe", "probe", {"provider": "demo", "model": "echo"}),
    ("POST", "/admin/models/demo/refresh", "refresh", {"provider": "demo"}),  # one-segment before greedy
    ("GET", "/admin/keys/key_1", "key", {"id": "key_1"}),
    ("POST", "/v1beta/models/gemini-2.5-flash:generateContent", "generate", {"model": "gemini-2.5-flash"}),
    ("POST", "/v1beta/models/tunedModels/x:streamGenerateContent", "stream", {"model": "tunedModels/x"}),
    ("GET", "/v1beta/models/gemini-2.5-flash", "gemini_model", {"model": "gemini-2.5-flash"}),
])
def test_matches(method, path, target, params):
    found = TABLE.match(method, path)
    assert found is not None and (found.target, found.params) == (target, params)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("POST", "/v1/models/demo/echo", ("GET",)),
    ("PATCH", "/admin/keys/x", ("DELETE", "GET")),
])
def test_a_method_not_served_gives_the_methods_that_are(method, path, allowed):
    found = TABLE.match(method, path)
    assert found is not None and found.target is None and found.allowed == allowed


@pytest.mark.parametrize("path", ["/v1/models/", "/admin/keys/a/b", "/admin/models/demo/probe", "/v2/models",
                                  "/v1/modelsX"])
def test_no_route(path):
    assert TABLE.match("GET", path) is None and TABLE.match("POST", path) is None


def test_one_segment_parameters_never_take_a_slash_and_literals_are_not_patterns():
    assert compile_path("/a/{x}").match("/a/b/c") is None
    assert compile_path("/v1/usage/calls.csv").match("/v1/usage/callsXcsv") is None


def test_a_template_is_declared_once_per_method():
    table = RouteTable([("GET", "/a/{x}", 1)])
    with pytest.raises(ValueError):
        table.add("GET", "/a/{x}", 2)


@pytest.mark.parametrize(("template", "registered"), [
    ("/v1/models", "/v1/models"),
    ("/admin/keys/{id}", "/admin/keys/{id}"),
    ("/v1/models/{id+}", "/v1/models/{id+}"),  # greedy last: API Gateway's own form
    ("/admin/models/{provider}/{model+}/probe", "/admin/models/{provider}/{proxy+}"),
    ("/v1beta/models/{model}:generateContent", "/v1beta/models/{proxy+}"),
])
def test_gateway_path(template, registered):
    assert gateway_path(template) == registered


def test_concrete_path_rebuilds_what_api_gateway_split():
    assert concrete_path("/admin/models/{provider}/{proxy+}", {"provider": "openrouter", "proxy": "a/b/probe"}) \
        == "/admin/models/openrouter/a/b/probe"
    # Chalice's local server keeps the "+" in the parameter's name
    assert concrete_path("/v1/models/{id+}", {"id+": "gpt-4o"}) == "/v1/models/gpt-4o"


@pytest.mark.parametrize(("template", "written", "params"), [
    ("/v1/models", "/v1/models", []),
    ("/admin/keys/{id}", "/admin/keys/{id}", [("id", False)]),
    ("/v1/models/{id+}", "/v1/models/{id}", [("id", True)]),
    ("/admin/models/{provider}/{model+}/probe", "/admin/models/{provider}/{model}/probe",
     [("provider", False), ("model", True)]),
    ("/v1beta/models/{model+}:generateContent", "/v1beta/models/{model}:generateContent", [("model", True)]),
])
def test_templates_as_openapi_writes_them(template, written, params):
    """OpenAPI has no greedy parameter: `{id+}` is written `{id}` (the description notes it)."""
    assert plain(template) == written
    assert parameters(template) == params


def test_regexes_are_compiled_by_the_first_match_that_needs_them(monkeypatch):
    """Cold start: declaring the table and matching literal paths compiles nothing; the first
    templated match compiles each template once; a route added later is compiled in turn."""
    compiled: list[str] = []
    real = routing.compile_path
    monkeypatch.setattr(routing, "compile_path", lambda template: compiled.append(template) or real(template))
    table = RouteTable([("GET", "/health", "health"), ("POST", "/v1/chat/completions", "chat"),
                        ("GET", "/admin/keys/{id}", "key"), ("GET", "/v1/models/{id+}", "model")])
    assert table.match("POST", "/v1/chat/completions").target == "chat"
    assert table.match("GET", "/health").target == "health"
    assert compiled == []
    assert table.match("GET", "/admin/keys/k1").params == {"id": "k1"}
    assert table.match("GET", "/v1/models/a/b").params == {"id": "a/b"}
    assert sorted(compiled) == ["/admin/keys/{id}", "/v1/models/{id+}"]
    table.add("GET", "/admin/calls/{id}", "call")
    assert table.match("GET", "/admin/calls/c1").target == "call"
    assert sorted(compiled[2:]) == ["/admin/calls/{id}", "/admin/keys/{id}", "/v1/models/{id+}"]
