"""The Anthropic Messages routes: messages (plain and streamed) and count_tokens.

A model served by Anthropic gets the client's own body (native: only the model id and the
credential change, and the client's anthropic-version / anthropic-beta headers go along); any
other provider gets the internal OpenAI form, and its answer comes back in Anthropic's shape.
"""
from __future__ import annotations

from typing import Any

from chalicelib.api.anthropic import CountTokensRequest, MessagesRequest
from chalicelib.api.validation import json_body, validate
from chalicelib.errors import ApiError
from chalicelib.gateway import failover, pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import (
    ApiRequest,
    ApiResponse,
    json_response,
    raw_json_response,
)
from chalicelib.gateway.resolve import Plan, plan
from chalicelib.providers.anthropic.adapter import AnthropicAdapter
from chalicelib.providers.base import Adapter, Target, UpstreamError
from chalicelib.surfaces import anthropic_messages
from chalicelib.surfaces.anthropic_messages import translate
from chalicelib.surfaces.base import Native

NATIVE_KINDS = frozenset({"anthropic"})
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


def _forwarded(req: ApiRequest) -> dict[str, str]:
    """The client's own API version and beta flags, which Anthropic reads (and others ignore)."""
    return {name: req.headers[name] for name in FORWARDED_HEADERS if req.headers.get(name)}


def _native(adapter: Adapter) -> AnthropicAdapter:
    assert isinstance(adapter, AnthropicAdapter), "native calls reach only the Anthropic adapter"
    return adapter


def _native_route(model: str) -> str | None:
    """The model pinned to the first provider that speaks Messages natively, if one may serve it."""
    try:
        routes = plan(model).routes
    except ApiError:
        return None  # the pipeline answers that (unknown model, no credential) itself
    return next((f"{spec.name}/{upstream}" for spec, upstream in routes if spec.kind in NATIVE_KINDS), None)


def _internal(body: dict[str, Any]) -> dict[str, Any]:
    """The internal body (which sizes the credit hold and serves translated providers). What only
    Anthropic understands (server tools, its other block types) is refused for other providers;
    a model that Anthropic may serve is then pinned to it, so failover never hands this lenient
    form to a provider that would read it."""
    try:
        return translate.to_openai(body)
    except ApiError:
        pinned = _native_route(body["model"])
        if pinned is None:
            raise
        return {**translate.to_openai(body, lenient=True), "model": pinned}


async def messages(req: ApiRequest, who: Principal) -> ApiResponse:
    body = json_body(req.body)
    validate(MessagesRequest, body)
    headers = _forwarded(req)
    native = Native(
        kinds=NATIVE_KINDS,
        call=lambda adapter, target: _native(adapter).messages(target, body, headers),
        call_stream=lambda adapter, target: _native(adapter).messages_stream(target, body, headers),
        renderer=translate.Relay,
    )
    surface = anthropic_messages.surface(thinking=translate.wants_thinking(body))
    return await pipeline.chat(req, who, _internal(body), surface=surface, native=native)


def _no_record(target: Target, error: UpstreamError | None, began: float) -> None:
    """Token counts are free and make no call record."""


async def count_tokens(req: ApiRequest, who: Principal) -> ApiResponse:
    """Anthropic's own count for a model it serves; elsewhere an estimate, marked as such by the
    `x-aihub-token-count: estimated` header (Anthropic's answer carries `provider`)."""
    body = json_body(req.body)
    validate(CountTokensRequest, body)
    found = plan(body["model"])
    routes = tuple(route for route in found.routes if route[0].kind in NATIVE_KINDS)
    if routes:
        headers = _forwarded(req)
        counted = await failover.run(Plan(found.model, routes, found.pinned),
                                     lambda adapter, target: _native(adapter).count_tokens(target, body, headers),
                                     _no_record)
        return raw_json_response(counted, headers={"x-aihub-token-count": "provider"})
    return json_response({"input_tokens": translate.estimate_input_tokens(body)},
                         headers={"x-aihub-token-count": "estimated"})
