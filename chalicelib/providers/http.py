"""The HTTP layer every HTTP provider adapter shares: headers, timeouts, one pooled send.

Failures before the response head become gateway errors (pool full 503, timeout 504,
unreachable 502); an error status is read and handed to the adapter's own error mapper (by
default the shared OpenAI-style one), so each provider's error bodies are understood in its own
room. Every response opened here is closed here, or handed on to something that closes it: a
`TranslatedStream` (`open_stream`) or the caller of `send`, which must `read` or close it.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Any

import httpx
import orjson

from chalicelib.config import settings
from chalicelib.credentials import sealed_headers
from chalicelib.observability.trace_context import upstream as upstream_traceparent
from chalicelib.providers import errors, http_client, registry, sse
from chalicelib.providers.base import Credential, ProviderSpec, Target, UpstreamError
from chalicelib.providers.http_client import client, timeout as client_timeout
from chalicelib.providers.streaming import StreamTranslator, TranslatedStream, closed_on_failure

ErrorMapper = Callable[[str, int, bytes, Credential, dict[str, str]], UpstreamError]


def headers(target: Target) -> dict[str, str]:
    spec = target.provider
    out = {"content-type": "application/json", **dict(spec.extra_headers)}
    if spec.sealed_headers:
        out.update(sealed_headers.open_sealed(spec.name, spec.sealed_headers))
    secret = target.credential.secret
    if isinstance(secret, str) and secret:
        out[spec.auth_header] = spec.auth_scheme + secret
    trace = upstream_traceparent.get()
    if trace is not None:
        out["traceparent"] = trace
    return out


def timeout(spec: ProviderSpec) -> httpx.Timeout | None:
    """The provider's own timeouts, when its record sets any (else the client's defaults)."""
    if spec.connect_timeout is None and spec.read_timeout is None:
        return None
    cfg = settings()
    return client_timeout(spec.read_timeout or cfg.read_timeout_s, spec.connect_timeout or cfg.connect_timeout_s)


@lru_cache(maxsize=1024)
def _parsed(url: str) -> httpx.URL:
    """A URL parsed once: httpx would parse the same few endpoints again on every call (twice)."""
    return httpx.URL(url)


async def send(
    target: Target,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    extra_headers: dict[str, str] | None = None,
    files: dict[str, Any] | None = None,
    content: bytes | None = None,
    error_mapper: ErrorMapper = errors.from_status,
    url: str | None = None,
    direct: bool = False,
) -> tuple[httpx.Response, float]:
    """Send and wait for the response head; returns it (body unread) and the ms to get it.
    The body is `body` as JSON, or `files` as a form httpx encodes, or `content` as it is (its
    content-type in `extra_headers`). `url` replaces the provider's base URL + `path` (a link the
    provider handed back). `direct`: straight to the pool's transport, for a caller that needs
    no redirect (`response.next_request`) worked out."""
    spec = target.provider
    head = {**headers(target), **(extra_headers or {})}
    if files is not None:
        del head["content-type"]  # httpx writes multipart/form-data with its boundary
    started = time.perf_counter()
    request = client().build_request(
        method, _parsed(url or registry.base_url(spec, settings()) + path), headers=head, files=files,
        content=content if content is not None else None if body is None else orjson.dumps(body), timeout=timeout(spec) or httpx.USE_CLIENT_DEFAULT)
    try:
        response = await (http_client.transport(request) if direct else client().send(request, stream=True))
    except httpx.PoolTimeout:
        raise errors.gateway_busy(spec.name) from None
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
        raise error_mapper(spec.name, response.status_code, content, target.credential, dict(response.headers))
    return response, ttfb_ms


async def open_stream(
    target: Target,
    path: str,
    body: dict[str, Any] | None,
    translator: StreamTranslator,
    *,
    prompt_chars: int,
    error_mapper: ErrorMapper = errors.from_status,
    extra_headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> TranslatedStream:
    """`send` a streamed request and hand its SSE body to a `TranslatedStream`, which then owns
    the response. Everything that could fail on the client's body is done before the call."""
    response, ttfb_ms = await send(target, path, body, extra_headers=extra_headers, error_mapper=error_mapper,
                                   content=content, direct=True)
    async with closed_on_failure(response.aclose):
        return TranslatedStream(sse.batches(body_chunks(response)), translator, ttfb_ms=ttfb_ms,
                                prompt_chars=prompt_chars, on_close=response.aclose, batched=True)


def body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it is read: straight from the connection's reader where the transport offers
    it (aiohttp's, `aihub serve`) and there is no content coding to undo, else through httpx's
    layers (several generators per read, which a stream of thousands of reads feels)."""
    # aiohttp_transport.RAW_CHUNKS, by value: importing that module would import aiohttp.
    raw = response.extensions.get("aihub.raw_chunks")
    if raw is None or response.headers.get("content-encoding", "identity") != "identity":
        return response.aiter_bytes()
    return raw()


async def read(target: Target, response: httpx.Response) -> bytes:
    """The whole body of a response from `send`, which is closed afterwards."""
    try:
        return b"".join([chunk async for chunk in body_chunks(response)])
    except httpx.TimeoutException:
        raise errors.timeout(target.provider.name) from None
    except httpx.HTTPError as exc:
        raise errors.unreachable(target.provider.name, exc) from None
    finally:
        await response.aclose()


async def fetch(target: Target, path: str, body: dict[str, Any] | None = None, **options: Any) -> tuple[bytes, float]:
    """`send` and `read`: the body of a successful answer, and the ms to its head."""
    response, ttfb_ms = await send(target, path, body, direct=True, **options)
    return await read(target, response), ttfb_ms


async def probe(target: Target, path: str, **options: Any) -> None:
    """A GET that proves the credential is accepted (the check of most providers)."""
    response, _ = await send(target, path, method="GET", **options)
    await response.aclose()
