"""Assemble the OpenAPI 3.1 document from the route table and the wire models.

Built on the first GET /openapi.json, never at import: it imports every wire model (pydantic),
which the cold start of other routes must not pay.
"""
from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

from chalicelib.gateway.dispatch import Endpoint
from chalicelib.gateway.routing import parameters, plain
from chalicelib.openapi.operations import ERRORS, FORM, TAG_NOTES, TAGS, Operation, described

OPENAPI = "3.1.0"
GREEDY_NOTE = "May hold `/` (the route's template names it `{%s+}`)."

# Every way a key may be presented (chalicelib/gateway/auth.py: presented_key); any one will do.
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An aihub key as `Authorization: Bearer`."},
    "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key",
                  "description": "An aihub key as Anthropic's SDK sends it."},
    "x-goog-api-key": {"type": "apiKey", "in": "header", "name": "x-goog-api-key",
                       "description": "An aihub key as Google's SDK sends it."},
    "key": {"type": "apiKey", "in": "query", "name": "key", "description": "An aihub key as `?key=`."},
}
ANY_KEY = [{name: []} for name in SECURITY_SCHEMES]
AUTH_NOTES = {"none": "No key.", "key": "Any valid aihub key.", "admin": "An admin key."}


def openapi_path(template: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a route template (`{id+}` written `{id}`) and its path parameters."""
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
               **({"description": GREEDY_NOTE % name, "x-greedy": True} if plus else {})}
              for name, plus in parameters(template)]
    return plain(template), params


def _model(ref: str) -> type[Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(f"chalicelib.api.{module}"), name)


def _schemas(refs: Iterable[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each model's schema (a $ref for most) and the components they share. Pydantic names the
    components, by module where two modules have a model of one name (Message, Tool)."""
    from pydantic.json_schema import GenerateJsonSchema, models_json_schema

    class Named(GenerateJsonSchema):
        def normalize_name(self, name: str) -> str:
            # "openai.Message" rather than pydantic's "chalicelib__api__openai__Message"
            return re.sub(r"[^a-zA-Z0-9.\-_]", "_", name.removeprefix("chalicelib.api."))

    unique = sorted(set(refs))
    models = [(_model(ref), "validation") for ref in unique]
    each, shared = models_json_schema(models, ref_template="#/components/schemas/{model}", schema_generator=Named)
    return {ref: each[(model, mode)] for ref, (model, mode) in zip(unique, models)}, shared.get("$defs", {})


def _query(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    target = components[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
    required = set(target.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": field}
            for name, field in target.get("properties", {}).items()]


def _body(op: Operation, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    listed = [schemas[ref] for ref in op.body]
    schema = listed[0] if len(listed) == 1 else {"oneOf": listed}
    upload = {"type": "object", "required": [op.file_part], "properties": {
        op.file_part: {"type": "string", "contentMediaType": "application/octet-stream"}}}
    content = {media: {"schema": {"allOf": [schema, upload]} if media == FORM and op.file_part else schema}
               for media in op.body_types}
    return {"required": True, "content": content}


def _answers(op: Operation) -> dict[str, Any]:
    def schema(media: str) -> dict[str, Any]:
        return {"type": "object"} if media == "application/json" else {"type": "string"}

    return {"description": op.note or "Success.", "content": {media: {"schema": schema(media)} for media in op.answers}}


def _errors(endpoint: Endpoint, takes_input: bool) -> dict[str, Any]:
    ref = {"$ref": f"#/components/responses/{ERRORS[endpoint.dialect].name}"}
    out = {"400": ref} if takes_input else {}
    if endpoint.auth != "none":
        out["401"] = ref
    if endpoint.auth == "admin":
        out["403"] = ref
    return {**out, "default": ref}


def operation(endpoint: Endpoint, schemas: dict[str, dict[str, Any]], components: dict[str, Any]) -> dict[str, Any]:
    op = described(endpoint.handler_ref)
    module, _, function = endpoint.handler_ref.partition(":")
    path, params = openapi_path(endpoint.path)
    if op.query:
        params += _query(schemas[op.query], components)
    out: dict[str, Any] = {
        "operationId": f"{endpoint.method.lower()}{path}",
        "summary": op.summary or function.replace("_", " ").capitalize(),
        "tags": [TAGS[module]],
        "security": [] if endpoint.auth == "none" else ANY_KEY,
        "x-auth": endpoint.auth,
        "description": " ".join(filter(None, (AUTH_NOTES[endpoint.auth], op.note))),
    }
    if params:
        out["parameters"] = params
    if op.body:
        out["requestBody"] = _body(op, schemas)
    out["responses"] = {op.status: _answers(op), **_errors(endpoint, bool(op.models))}
    return out


def build(endpoints: Iterable[Endpoint], version: str) -> dict[str, Any]:
    endpoints = list(endpoints)
    schemas, components = _schemas(ref for e in endpoints for ref in described(e.handler_ref).models)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        path, _ = openapi_path(endpoint.path)
        methods = paths.setdefault(path, {})
        if endpoint.method.lower() in methods:  # two templates written alike: one would hide the other
            raise ValueError(f"{endpoint.method} {path} is described twice")
        methods[endpoint.method.lower()] = operation(endpoint, schemas, components)
    used = {e.dialect for e in endpoints}
    errors = {shape.name: shape for dialect, shape in ERRORS.items() if dialect in used}
    return {
        "openapi": OPENAPI,
        "info": {"title": "aihub", "version": version,
                 "description": "An OpenAI-compatible AI gateway. Every GET route answers HEAD too."},
        # Relative to this document's URL, so a stage prefix (https://.../prod/) is kept.
        "servers": [{"url": ".", "description": "The gateway serving this document."}],
        "tags": [{"name": name, "description": note} for name, note in TAG_NOTES.items()
                 if any(TAGS[e.handler_ref.partition(":")[0]] == name for e in endpoints)],
        "paths": paths,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "schemas": {**components, **{name: shape.schema for name, shape in errors.items()}},
            "responses": {name: {"description": "An error, in the route's dialect.",
                                 "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
                          for name in errors},
        },
    }
