"""Validate JSON bodies against OpenAI's published OpenAPI description.

    from tests.support import openapi
    openapi.validate("CreateChatCompletionResponse", body)   # AssertionError if invalid

The spec (tests/fixtures/openai-openapi/openapi.yaml, OpenAPI 3.1, ~3 MB) is
parsed once per process and the prepared schemas are cached as JSON in the
temp dir, keyed by the spec's size+mtime and this file's content, because YAML
parsing costs ~0.7 s and every test process would pay it.

Preparation: keep ``components`` only (all refs are ``#/components/schemas/...``),
turn the OpenAPI 3.0-style ``nullable: true`` that this 3.1 document still uses
into JSON Schema, and apply a few narrow relaxations (see ``_RELAXATIONS``)
where the description is stricter than what the real service sends, as shown
by the recorded cassettes.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH: Path = Path(__file__).resolve().parents[1] / "fixtures" / "openai-openapi" / "openapi.yaml"
SPEC_URI = "urn:aihub:openai-openapi"  # base URI so "#/components/..." refs resolve inside the spec
CACHE_DIR: Path = Path(tempfile.gettempdir()) / "aihub-test-cache"
MAX_REPORTED_ERRORS = 15

Schema = dict[str, Any]


# -- preparation ----------------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """Deep-convert YAML data to plain JSON Schema.

    - ``nullable: true`` (OpenAPI 3.0) -> also accept null.
    - dates (YAML parses an unquoted 2024-10-01 in an example) -> ISO strings,
      so the result is JSON-serialisable for the cache.
    """
    if isinstance(node, dict):
        out = {str(k): _to_json_schema(v) for k, v in node.items()}
        if out.get("nullable") is True:
            out = _nullable(out)
        elif out.get("nullable") is False:
            del out["nullable"]
        return out
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if isinstance(node, (datetime.date, datetime.datetime)):
        return node.isoformat()
    return node


def _nullable(schema: Schema) -> Schema:
    schema = {k: v for k, v in schema.items() if k != "nullable"}
    kind = schema.get("type")
    if isinstance(kind, str) or isinstance(kind, list):
        kinds = [kind] if isinstance(kind, str) else kind
        if "null" not in kinds:
            schema["type"] = [*kinds, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    # $ref / anyOf / oneOf / untyped: wrap, so null passes without touching the
    # referenced schema (which other, non-nullable uses share).
    return {"anyOf": [schema, {"type": "null"}]}


def _allow_null(schema: Schema) -> Schema:
    return _nullable({**schema, "nullable": True})


def _relax_system_fingerprint(schemas: dict[str, Schema]) -> None:
    # Real chat responses from gpt-5-nano carry "system_fingerprint": null
    # (cassettes chat-basic, chat-streaming, chat-reasoning, azure-chat-basic...);
    # the spec types it as a plain string.
    names = ("CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "CreateCompletionResponse")
    for name in names:
        props = schemas[name]["properties"]
        props["system_fingerprint"] = _allow_null(props["system_fingerprint"])


def _relax_chat_choice_logprobs(schemas: dict[str, Schema]) -> None:
    # The spec requires choices[].logprobs, but OpenAI omits the key entirely
    # when logprobs were not requested (chat-basic, chat-tools, chat-multiturn...).
    # The key stays validated when present.
    item = schemas["CreateChatCompletionResponse"]["properties"]["choices"]["items"]
    item["required"] = [r for r in item["required"] if r != "logprobs"]


def _relax_embedding_base64(schemas: dict[str, Schema]) -> None:
    # With encoding_format="base64" the vector arrives as a base64 string of
    # little-endian float32s (cassettes embeddings-base64, -dimensions, -tokens...);
    # the spec only describes the float-array form.
    props = schemas["Embedding"]["properties"]
    props["embedding"] = {
        "anyOf": [props["embedding"], {"type": "string", "contentEncoding": "base64"}],
        "description": props["embedding"].get("description", ""),
    }


def _add_completion_stream_chunk(schemas: dict[str, Schema]) -> None:
    # Legacy /v1/completions streams chunks shaped like CreateCompletionResponse,
    # but every chunk before the last has "finish_reason": null (completion-streaming)
    # and, with include_usage, "usage": null (completion-streaming-usage), as the
    # chat stream schema already allows. Rather than loosen the non-stream schema,
    # add an aihub-local name for chunks.
    chunk = copy.deepcopy(schemas["CreateCompletionResponse"])
    props = chunk["properties"]
    choice = props["choices"]["items"]["properties"]
    choice["finish_reason"] = _allow_null(choice["finish_reason"])
    props["usage"] = _allow_null(props["usage"])
    chunk["description"] = "aihub addition (not in OpenAI's spec): one streamed /v1/completions chunk."
    schemas["CreateCompletionStreamResponse"] = chunk


_RELAXATIONS: tuple[Callable[[dict[str, Schema]], None], ...] = (
    _relax_system_fingerprint,
    _relax_chat_choice_logprobs,
    _relax_embedding_base64,
    _add_completion_stream_chunk,
)


def _prepare() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as f:
        spec = yaml.load(f, Loader=loader)
    doc = {"components": _to_json_schema(spec["components"])}
    for relax in _RELAXATIONS:
        try:
            relax(doc["components"]["schemas"])
        except (KeyError, TypeError) as exc:  # the spec changed shape: revisit the relaxation
            raise RuntimeError(f"openapi relaxation {relax.__name__} no longer applies: {exc!r}") from exc
    return doc


# -- cache ------------------------------------------------------------------------


def _cache_path() -> Path:
    st = SPEC_PATH.stat()
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]  # relaxations changed -> rebuild
    return CACHE_DIR / f"openai-openapi-{st.st_size}-{st.st_mtime_ns}-{code}.json"


def _load_json(data: bytes) -> Any:
    try:
        import orjson

        return orjson.loads(data)
    except ImportError:  # pragma: no cover
        return json.loads(data)


@cache
def spec() -> dict[str, Any]:
    """The prepared document ``{"components": {...}}`` (JSON cache, not pickle: loading
    a file from a shared temp dir must not be able to run code)."""
    path = _cache_path()
    try:
        return _load_json(path.read_bytes())
    except (OSError, ValueError):
        pass
    doc = _prepare()
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, separators=(",", ":")))
        os.replace(tmp, path)  # atomic: parallel test workers never read half a file
        for stale in CACHE_DIR.glob("openai-openapi-*.json"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only temp dir only costs speed
    return doc


@cache
def _registry() -> Registry:
    return Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec()))


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    schemas = spec()["components"]["schemas"]
    if schema_name not in schemas:
        near = difflib.get_close_matches(schema_name, list(schemas), n=5)
        raise KeyError(f"no schema {schema_name!r} in the OpenAI spec; close: {near}")
    ref = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(ref, registry=_registry())


# -- public API ---------------------------------------------------------------------


def schema_names() -> list[str]:
    return sorted(spec()["components"]["schemas"])


def schema(schema_name: str) -> Schema:
    """The prepared schema (after nullable conversion and relaxations)."""
    return spec()["components"]["schemas"][schema_name]


def _where(error: ValidationError) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def _describe(error: ValidationError) -> str:
    line = f"{_where(error)}: {_short(error.message)}"
    if error.context:  # anyOf/oneOf: say which branch came closest and why it failed
        best = best_match(error.context)
        line += f"\n      closest branch: {_where(best)}: {_short(best.message)}"
    return line


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def errors(schema_name: str, instance: Any) -> list[str]:
    """Readable validation errors (empty when valid)."""
    raw = _validator(schema_name).iter_errors(instance)
    found = sorted(raw, key=lambda e: list(map(str, e.absolute_path)))
    return [_describe(e) for e in found]


def validate(schema_name: str, instance: Any) -> None:
    """Raise AssertionError listing every way ``instance`` breaks ``schema_name``."""
    problems = errors(schema_name, instance)
    if problems:
        shown = problems[:MAX_REPORTED_ERRORS]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise AssertionError(
            f"body does not match OpenAI schema {schema_name} ({len(problems)} error(s)):\n  - "
            + "\n  - ".join(shown)
            + more
        )
