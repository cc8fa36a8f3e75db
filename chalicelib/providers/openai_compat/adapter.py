"""The HTTP layer of the OpenAI-dialect adapter: endpoint, headers, pooled calls, streams."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from chalicelib.config import settings
from chalicelib.providers import errors, registry, sse
from chalicelib.providers.base import Result, Target, Usage
from chalicelib.providers.http_client import client
from chalicelib.providers.openai_compat import translate


def headers(target: Target) -> dict[str, str]:
    spec = target.provider
    out = {"content-type": "application/json", **dict(spec.extra_headers)}
    secret = target.credential.secret
    if isinstance(secret, str) and secret:
        out[spec.auth_header] = spec.auth_scheme + secret
    return out


async def send(target: Target, path: str, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    """POST and wait for the response head; returns it (body unread) and the ms to get it."""
    spec = target.provider
    url = registry.base_url(spec, settings()) + path
    started = time.perf_counter()
    request = client().build_request("POST", url, content=orjson.dumps(body), headers=headers(target))
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


class Stream:
    """A relayed OpenAI-dialect SSE stream (also fed by the demo provider's local events)."""

    def __init__(self, source: AsyncIterator[tuple[bytes | None, bytes]], state: translate.StreamState,
                 ttfb_ms: float | None, prompt_chars: int, on_close=None) -> None:
        self._source = source
        self._state = state
        self._on_close = on_close
        self._prompt_chars = prompt_chars
        self.ttfb_ms = ttfb_ms

    @property
    def error(self):
        return self._state.error

    @property
    def usage(self) -> Usage | None:
        if self._state.usage is not None:
            return self._state.usage
        if self._state.output_chars or self._state.done:
            return Usage(input_tokens=translate.estimate_tokens(self._prompt_chars),
                         output_tokens=translate.estimate_tokens(self._state.output_chars), estimated=True)
        return None

    async def frames(self) -> AsyncIterator[bytes]:
        state = self._state
        name = state.provider
        try:
            async for _event, data in self._source:
                out = translate.translate_event(state, data)
                if state.error is not None:
                    return
                if out is not None:
                    yield out
                if state.done:
                    return
            state.error = errors.bad_response(name, "the stream ended before it was complete")
        except httpx.TimeoutException:
            state.error = errors.timeout(name)
        except httpx.HTTPError:
            state.error = errors.bad_response(name, "the connection was lost mid-stream")

    async def aclose(self) -> None:
        if self._on_close is not None:
            await self._on_close()


class OpenAICompatAdapter:
    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        upstream, _ = translate.request_body(body, target.model)
        return await call_json(target, "/chat/completions", upstream)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> Stream:
        upstream, wants_usage = translate.request_body(body, target.model, stream=True)
        response, ttfb_ms = await send(target, "/chat/completions", upstream)
        state = translate.StreamState(target.provider.name, wants_usage)
        return Stream(sse.events(response.aiter_bytes()), state, ttfb_ms, translate.prompt_chars(body), response.aclose)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        return await call_json(target, "/embeddings", {**body, "model": target.model})

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        return await call_json(target, "/images/generations", {**body, "model": target.model})


ADAPTER = OpenAICompatAdapter()
