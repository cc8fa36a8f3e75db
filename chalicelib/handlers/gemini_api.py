"""Google's generateContent API: `POST /v1beta/models/{model}:{method}` (and /v1) for the google-genai SDK.

One greedy route serves every method, since the model id may hold `/` (`openai/gpt-4o-mini`)
and the method is the suffix of the last path segment. A model served by Gemini gets the
client's own body (native: only the model in the path and the credential change); any other
provider gets the internal OpenAI form, and its answer comes back in Gemini's shape.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chalicelib.api import gemini as wire
from chalicelib.api.validation import json_body, validate
from chalicelib.errors import ApiError, bad_request, not_found
from chalicelib.gateway import failover, pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import (
    ApiRequest,
    ApiResponse,
    json_response,
    raw_json_response,
)
from chalicelib.gateway.resolve import Plan, plan
from chalicelib.providers.base import Adapter, Target, UpstreamError, Usage
from chalicelib.providers.gemini.adapter import GeminiAdapter
from chalicelib.providers.streaming import estimate_tokens
from chalicelib.surfaces.base import Native
from chalicelib.surfaces.gemini_generate import SURFACE, translate

NATIVE = frozenset({"gemini"})
Method = Callable[[ApiRequest, Principal, str, str], Awaitable[ApiResponse]]


def _gemini(adapter: Adapter) -> GeminiAdapter:
    assert isinstance(adapter, GeminiAdapter), "only providers of kind gemini take the native path"
    return adapter


def _native_routes(model: str) -> Plan | None:
    """The plan narrowed to Gemini providers, or None when none may serve the model (an
    unknown model, or one without a credential, is the pipeline's to answer)."""
    try:
        found = plan(model)
    except ApiError:
        return None
    routes = tuple(route for route in found.routes if route[0].kind in NATIVE)
    return Plan(found.model, routes, found.pinned) if routes else None


def _internal(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    """The internal body (which sizes the credit hold and serves translated providers). What
    only Gemini understands (its built-in tools, other part kinds) is refused for other
    providers; a model that Gemini may serve is then pinned to it, so failover never hands
    this lenient form to a provider that would read it."""
    try:
        return translate.to_openai(body, model, stream=stream)
    except ApiError:
        native = _native_routes(model)
        if native is None:
            raise
        spec, upstream = native.routes[0]
        return translate.to_openai(body, f"{spec.name}/{upstream}", stream=stream, lenient=True)


async def generate(req: ApiRequest, who: Principal, model: str, method: str) -> ApiResponse:
    stream = method == "streamGenerateContent"
    if stream and req.query.get("alt") != "sse":
        raise bad_request("streamGenerateContent is served as server-sent events only: add ?alt=sse.", param="alt")
    body = json_body(req.body)
    validate(wire.GenerateContentRequest, body)
    native = Native(
        kinds=NATIVE,
        call=lambda adapter, target: _gemini(adapter).generate(target, body),
        call_stream=lambda adapter, target: _gemini(adapter).generate_stream(target, body),
        renderer=translate.Relay,
    )
    return await pipeline.chat(req, who, _internal(body, model, stream), surface=SURFACE, native=native)


def _no_record(target: Target, error: UpstreamError | None, began: float) -> None:
    """Token counts are free and make no call record."""


async def count_tokens(req: ApiRequest, who: Principal, model: str, method: str) -> ApiResponse:
    """Gemini's own count for a model it serves; elsewhere an estimate, marked as such by the
    `x-aihub-token-count: estimated` header."""
    body = json_body(req.body)
    validate(wire.CountTokensRequest, body)
    native = _native_routes(model)
    if native is not None:
        counted = await failover.run(native, lambda adapter, target: _gemini(adapter).count_tokens(target, body),
                                     _no_record)
        return raw_json_response(counted, headers={"x-aihub-token-count": "provider"})
    plan(model)  # an unknown model is a 404 here too
    return json_response({"totalTokens": translate.estimate_tokens_of(body)},
                         headers={"x-aihub-token-count": "estimated"})


async def embed(req: ApiRequest, who: Principal, model: str, method: str) -> ApiResponse:
    body = json_body(req.body)
    validate(wire.BatchEmbedContentsRequest if method == "batchEmbedContents" else wire.EmbedContentRequest, body)
    internal = translate.embed_to_openai(body, method, model)
    # Gemini reports no usage for embeddings: the same estimate its OpenAI-shaped path records.
    usage = Usage(input_tokens=estimate_tokens(sum(len(t) for t in internal["input"])), estimated=True)
    native = Native(kinds=NATIVE, call=lambda adapter, target: _gemini(adapter).embed(target, method, body, usage))
    return await pipeline.embeddings(req, who, internal, surface=SURFACE.name, native=native,
                                     render=lambda answer, _record: translate.embed_from_openai(answer, method))


METHODS: dict[str, Method] = {
    "generateContent": generate,
    "streamGenerateContent": generate,
    "countTokens": count_tokens,
    "embedContent": embed,
    "batchEmbedContents": embed,
}


async def call(req: ApiRequest, who: Principal) -> ApiResponse:
    """`{model}:{method}` from the path: the method after the last colon, the model before it."""
    model, _, method = req.params["id"].rpartition(":")
    handler = METHODS.get(method)
    if not model or handler is None:
        raise not_found(f"No method {method or '(none)'!r} on models: use one of {', '.join(METHODS)}.",
                        code="route_not_found")
    return await handler(req, who, model.removeprefix("models/"), method)
