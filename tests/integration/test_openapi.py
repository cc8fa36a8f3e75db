"""GET /openapi.json on the real server: public, cached, and true to the wire: the errors each
dialect's routes really send validate against the schema the description gives them."""
from __future__ import annotations

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.support.gateway import Gateway


@pytest.fixture(scope="module")
def spec(gateway: Gateway) -> dict[str, Any]:
    response = httpx.get(gateway.url + "/openapi.json")  # no key
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_it_is_public_valid_and_the_same_on_every_read(gateway: Gateway, spec: dict[str, Any]) -> None:
    validate(spec)
    again = httpx.get(gateway.url + "/openapi.json")
    assert again.json() == spec
    assert "x-request-id" in again.headers


@pytest.mark.parametrize("method, path, described, body", [
    ("POST", "/v1/chat/completions", "/v1/chat/completions", {"model": "demo/echo"}),
    ("POST", "/v1/messages", "/v1/messages", {"model": "demo/echo"}),
    ("POST", "/v1/responses", "/v1/responses", {"input": 5}),
    ("POST", "/v1beta/models/demo/echo:generateContent", "/v1beta/models/{id}", {"contents": 5}),
    ("POST", "/api/v2/chat", "/api/v2/chat", {"input": 5}),
])
def test_bad_input_answers_in_the_described_error_shape(
        spec: dict[str, Any], user: dict, gateway: Gateway, method: str, path: str, described: str,
        body: dict[str, Any]) -> None:
    response = httpx.request(method, gateway.url + path, json=body, headers={"authorization": f"Bearer {user['key']}"})
    assert response.status_code == 400, response.text
    ref = spec["paths"][described][method.lower()]["responses"]["400"]["$ref"]
    error = spec["components"]["responses"][ref.rsplit("/", 1)[1]]["content"]["application/json"]["schema"]
    schema = strict(spec["components"]["schemas"][error["$ref"].rsplit("/", 1)[1]])
    Draft202012Validator(schema).validate(response.json())


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema refusing any field it does not list, at every level: the description must
    name all the error carries."""
    if "properties" not in schema:
        return schema
    return {**schema, "additionalProperties": False,
            "properties": {name: strict(field) for name, field in schema["properties"].items()}}


def test_a_route_described_as_keyed_refuses_a_request_without_a_key(spec: dict[str, Any], gateway: Gateway) -> None:
    assert spec["paths"]["/v1/credits"]["get"]["security"]
    assert httpx.get(gateway.url + "/v1/credits").status_code == 401
