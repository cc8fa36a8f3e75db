"""The HTTP layer of the OpenAI-dialect adapter: endpoint, headers, pooled calls, streams."""
from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from chalicelib.config import settings
from chalicelib.providers import errors, registry, sse
from chalicelib.providers.base import ProviderSpec, Result, Target
from chalicelib.providers.http_client import client
from chalicelib.providers.openai_compat import translate
from chalicelib.providers.streaming import TranslatedStream, prompt_chars


def headers(target: Target) -> dict[str, str]:
    spec = target.provider
    out = {"content-type": "application/json", **dict(spec.extra_headers)}
    secret = target.credential.secret
    if isinstance(secret, str) and secret:
        out[spec.auth_header] = spec.auth_scheme + secret
    return out


def timeout(spec: ProviderSpec) -> httpx.Timeout | None:
    """The provider's own timeouts, when its record sets any (else the client's defaults)."""
    if spec.connect_timeout is None and spec.read_timeout is None:
        return None
    cfg = settings()
    return httpx.Timeout(spec.read_timeout or cfg.read_timeout_s, connect=spec.connect_timeout or cfg.connect_timeout_s)


async def send(target: Target, path: str, body: dict[str, Any] | None, *, method: str = "POST") -> tuple[httpx.Response, float]:
    """Send and wait for the response head; returns it (body unread) and the ms to get it."""
    spec = target.provider
    url = registry.base_url(spec, settings()) + path
    started = time.perf_counter()
    request = client().build_request(method, url, content=None if body is None else orjson.dumps(body),
                                     headers=headers(target), timeout=timeout(spec) or httpx.USE_CLIENT_DEFAULT)
    try:
        response = await client().send(request, stream=True)
    except httpx.TimeoutException:
        raise errors.timeout(spec.name) from None
    except httpx.HTTPError as exc:
        raise errors.unreachable(spec.name, exc) from None
    ttfb_ms = (time.perf_counter() - started) * 1000
    if response.status_code >= 400:
        try:
            content = await response.aread()
        except httpx.HTTPError:
            content = b""
        finally:
            await response.aclose()
        raise errors.from_status(spec.name, response.status_code, content, target.credential, dict(response.headers))
    return response, ttfb_ms


async def call_json(target: Target, path: str, body: dict[str, Any]) -> Result:
    response, ttfb_ms = await send(target, path, body)
    try:
        content = await response.aread()
    except httpx.TimeoutException:
        raise errors.timeout(target.provider.name) from None
    except httpx.HTTPError as exc:
        raise errors.unreachable(target.provider.name, exc) from None
    finally:
        await response.aclose()
    _, usage = translate.response_usage(content, target.provider.name)
    return Result(content, usage, ttfb_ms)


class OpenAICompatAdapter:
    async def check(self, target: Target) -> None:
        response, _ = await send(target, "/models", None, method="GET")
        await response.aclose()

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        upstream, _ = translate.request_body(body, target.model)
        return await call_json(target, "/chat/completions", upstream)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        upstream, wants_usage = translate.request_body(body, target.model, stream=True)
        response, ttfb_ms = await send(target, "/chat/completions", upstream)
        return TranslatedStream(sse.events(response.aiter_bytes()), translate.StreamState(target.provider.name, wants_usage),
                                ttfb_ms=ttfb_ms, prompt_chars=prompt_chars(body), on_close=response.aclose)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        return await call_json(target, "/embeddings", {**body, "model": target.model})

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        result = await call_json(target, "/images/generations", {**body, "model": target.model})
        content, usage = translate.image_response(result.body, target.provider.name)
        return Result(content, usage, result.ttfb_ms)


ADAPTER = OpenAICompatAdapter()
