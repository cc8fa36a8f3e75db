"""The OpenAPI description built from the real route table: valid OpenAPI 3.1, every route in
it, each route's auth, body, greedy parameters and error shape as the table and handlers say,
and nothing of it paid for by a cold start."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import textwrap
from functools import cache
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

import app
from chalicelib.gateway.dispatch import Endpoint
from chalicelib.gateway.routing import parameters, plain
from chalicelib.openapi.document import SECURITY_SCHEMES, build
from chalicelib.openapi.operations import ERRORS, OPERATIONS, described

ENDPOINTS = app.route.endpoints


@cache
def spec() -> dict[str, Any]:
    return build(ENDPOINTS, "1.2.3")


def op(method: str, path: str) -> dict[str, Any]:
    return spec()["paths"][path][method.lower()]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    return spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema


def test_the_document_is_valid_openapi_3_1() -> None:
    assert spec()["openapi"] == "3.1.0"
    validate(spec())  # raises on any fault, dangling $refs and undeclared path parameters included


def test_every_route_of_the_table_is_described_and_nothing_else() -> None:
    described = {(method.upper(), path) for path, methods in spec()["paths"].items() for method in methods}
    routed = {(e.method, plain(e.path)) for e in ENDPOINTS}
    assert len(routed) == len(ENDPOINTS)  # no two routes written alike
    assert described == routed
    for e in ENDPOINTS:
        assert op(e.method, plain(e.path))["x-auth"] == e.auth


def test_the_table_of_operations_names_only_routed_handlers() -> None:
    """A renamed handler would otherwise lose its body schema silently."""
    assert set(OPERATIONS) <= {e.handler_ref for e in ENDPOINTS}


def _wire_models() -> set[str]:
    import chalicelib.api as wire

    names = set()
    for module in pkgutil.iter_modules(wire.__path__):
        loaded = importlib.import_module(f"chalicelib.api.{module.name}")
        names |= {name for name, value in vars(loaded).items() if isinstance(value, type)
                  and issubclass(value, BaseModel) and value.__module__ == loaded.__name__}
    return names


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_every_wire_model_a_handler_validates_with_is_described(endpoint: Endpoint) -> None:
    """A handler that names a wire model (validates a body or a query with it) has it in the
    table of operations, so a new route's model cannot be forgotten."""
    named = set(re.findall(r"\b[A-Z]\w+", inspect.getsource(endpoint.handler()))) & _wire_models()
    op = described(endpoint.handler_ref)
    assert named <= {ref.partition(":")[2] for ref in (*op.models, *op.checks)}


@pytest.mark.parametrize("method, template, name", [
    ("GET", "/v1/models/{id+}", "id"),
    ("POST", "/v1beta/models/{id+}", "id"),
    ("POST", "/admin/models/{provider}/{model+}/probe", "model"),
])
def test_greedy_parameters_are_written_as_one_segment_with_a_note(method: str, template: str, name: str) -> None:
    (param,) = [p for p in op(method, plain(template))["parameters"] if p["name"] == name]
    assert "{" + name + "}" in plain(template) and "+" not in plain(template)
    assert param["x-greedy"] is True and "/" in param["description"] and param["required"] is True


def test_one_segment_parameters_carry_no_greedy_note() -> None:
    (param,) = op("DELETE", "/admin/keys/{id}")["parameters"]
    assert param == {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


@pytest.mark.parametrize("method, path, model, fields", [
    ("POST", "/v1/chat/completions", "ChatCompletionRequest", {"model", "messages"}),
    ("POST", "/v1/messages", "MessagesRequest", {"model", "messages", "max_tokens"}),
    ("POST", "/admin/keys", "KeyCreate", {"name"}),
    ("PATCH", "/admin/model-rates/{id}", "RateFields", {"input_rate"}),
])
def test_request_bodies_come_from_the_wire_models(method: str, path: str, model: str, fields: set[str]) -> None:
    schema = op(method, path)["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": f"#/components/schemas/{model}"}
    assert set(resolve(schema)["properties"]) >= fields


def test_a_handler_taking_several_shapes_offers_each() -> None:
    schema = op("POST", "/v1beta/models/{id}")["requestBody"]["content"]["application/json"]["schema"]
    names = {resolve(s)["title"] for s in schema["oneOf"]}
    assert names == {"GenerateContentRequest", "CountTokensRequest", "EmbedContentRequest", "BatchEmbedContentsRequest"}


def test_uploads_are_forms_with_a_file_part() -> None:
    content = op("POST", "/v1/audio/transcriptions")["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    model, file_part = content["multipart/form-data"]["schema"]["allOf"]
    assert resolve(model)["title"] == "TranscriptionForm" and file_part["required"] == ["file"]
    assert "allOf" not in op("POST", "/v1/videos")["requestBody"]["content"]["multipart/form-data"]["schema"]


def test_query_models_become_query_parameters() -> None:
    params = {p["name"]: p for p in op("GET", "/v1/responses/{id}/input_items")["parameters"]}
    assert {name: p["in"] for name, p in params.items()} == {"id": "path", "limit": "query", "order": "query",
                                                             "after": "query"}
    assert params["limit"]["schema"]["maximum"] == 100 and params["limit"]["required"] is False


def test_routes_without_a_body_take_none() -> None:
    assert "requestBody" not in op("GET", "/v1/credits")
    assert "requestBody" not in op("DELETE", "/admin/providers/{name}")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_each_route_states_who_may_call_it_and_errors_in_its_dialect(endpoint: Endpoint) -> None:
    described = op(endpoint.method, plain(endpoint.path))
    if endpoint.auth == "none":
        assert described["security"] == [] and "401" not in described["responses"]
    else:
        assert {name for alternative in described["security"] for name in alternative} == set(SECURITY_SCHEMES)
        assert "401" in described["responses"]
    assert ("403" in described["responses"]) == (endpoint.auth == "admin")
    error = described["responses"]["default"]["$ref"].rsplit("/", 1)[1]
    assert error == ERRORS[endpoint.dialect].name
    assert len(parameters(endpoint.path)) == len([p for p in described.get("parameters", ()) if p["in"] == "path"])


def test_the_security_schemes_are_the_ways_a_key_is_presented() -> None:
    schemes = spec()["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert {(s.get("in"), s.get("name")) for s in schemes.values()} >= {
        ("header", "x-api-key"), ("header", "x-goog-api-key"), ("query", "key")}


def test_neither_importing_the_app_nor_health_builds_the_document_or_loads_pydantic() -> None:
    """Cold start: /health answers with no wire model imported and the document unbuilt."""
    probe = textwrap.dedent("""
        import sys, app
        from chalicelib.gateway.dispatch import dispatch
        from chalicelib.gateway.http import ApiRequest
        from chalicelib.gateway.loops import event_loop
        (health,) = [e for e in app.route.endpoints if e.path == "/health"]
        request = ApiRequest(method="GET", path="/health", headers={}, body=b"", query={})
        assert event_loop().run_until_complete(dispatch(health, request)).status == 200
        print(sorted(m for m in sys.modules if m == "pydantic" or m.startswith(("chalicelib.api", "chalicelib.openapi"))))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
