"""The Anthropic Messages routes: messages (plain and streamed) and count_tokens.

A model served by Anthropic, or a Claude model on Bedrock, gets the client's own body (native:
only the model id and the credential change, and the client's anthropic-version /
anthropic-beta headers go along); any other provider gets the internal OpenAI form, and its
answer comes back in Anthropic's shape.
"""
from __future__ import annotations

from typing import Any, Protocol, cast

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
from chalicelib.providers.base import (
    Adapter,
    ChatStream,
    ProviderSpec,
    Result,
    Target,
    UpstreamError,
)
from chalicelib.providers.bedrock.translate import is_claude
from chalicelib.surfaces import anthropic_messages
from chalicelib.surfaces.anthropic_messages import translate
from chalicelib.surfaces.base import Native

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
Routes = tuple[tuple[ProviderSpec, str], ...]


class MessagesAdapter(Protocol):
    """The adapters that take a client's Messages body as it is (Anthropic's, Bedrock's)."""

    async def messages(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> Result: ...

    async def messages_stream(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> ChatStream: ...


def _forwarded(req: ApiRequest) -> dict[str, str]:
    """The client's own API version and beta flags, which Anthropic reads (and others ignore)."""
    return {name: req.headers[name] for name in FORWARDED_HEADERS if req.headers.get(name)}


def _routes(model: str) -> Routes:
    try:
        return plan(model).routes
    except ApiError:
        return ()  # the pipeline answers that (unknown model, no credential) itself


def _native_kinds(routes: Routes) -> frozenset[str]:
    """Anthropic always; Bedrock when what it would serve is a Claude model (the pipeline picks
    the native path by adapter kind, and Bedrock's other models do not speak Messages)."""
    on_bedrock = [model for spec, model in routes if spec.kind == "bedrock"]
    if on_bedrock and all(is_claude(model) for model in on_bedrock):
        return frozenset({"anthropic", "bedrock"})
    return frozenset({"anthropic"})


def _internal(body: dict[str, Any], routes: Routes, native: frozenset[str]) -> dict[str, Any]:
    """The internal body (which sizes the credit hold and serves translated providers). What only
    Anthropic understands (server tools, its other block types) is refused for other providers;
    a model that a native provider may serve is then pinned to it, so failover never hands this
    lenient form to a provider that would read it."""
    try:
        return translate.to_openai(body)
    except ApiError:
        pinned = next((f"{spec.name}/{model}" for spec, model in routes if spec.kind in native), None)
        if pinned is None:
            raise
        return {**translate.to_openai(body, lenient=True), "model": pinned}


async def messages(req: ApiRequest, who: Principal) -> ApiResponse:
    body = json_body(req.body)
    validate(MessagesRequest, body)
    headers = _forwarded(req)
    routes = _routes(body["model"])
    kinds = _native_kinds(routes)
    native = Native(
        kinds=kinds,
        call=lambda adapter, target: cast(MessagesAdapter, adapter).messages(target, body, headers),
        call_stream=lambda adapter, target: cast(MessagesAdapter, adapter).messages_stream(target, body, headers),
        renderer=translate.Relay,
    )
    surface = anthropic_messages.surface(thinking=translate.wants_thinking(body))
    return await pipeline.chat(req, who, _internal(body, routes, kinds), surface=surface, native=native)


def _no_record(target: Target, error: UpstreamError | None, began: float) -> None:
    """Token counts are free and make no call record."""


def _counter(adapter: Adapter) -> AnthropicAdapter:
    assert isinstance(adapter, AnthropicAdapter), "only Anthropic's own API counts tokens here"
    return adapter


async def count_tokens(req: ApiRequest, who: Principal) -> ApiResponse:
    """Anthropic's own count for a model it serves; elsewhere an estimate, marked as such by the
    `x-aihub-token-count: estimated` header (Anthropic's answer carries `provider`)."""
    body = json_body(req.body)
    validate(CountTokensRequest, body)
    found = plan(body["model"])
    routes = tuple(route for route in found.routes if route[0].kind == "anthropic")
    if routes:
        headers = _forwarded(req)
        counted = await failover.run(Plan(found.model, routes, found.pinned),
                                     lambda adapter, target: _counter(adapter).count_tokens(target, body, headers),
                                     _no_record)
        return raw_json_response(counted, headers={"x-aihub-token-count": "provider"})
    return json_response({"input_tokens": translate.estimate_input_tokens(body)},
                         headers={"x-aihub-token-count": "estimated"})
