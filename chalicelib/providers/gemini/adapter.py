"""The HTTP layer of the Gemini adapter: pooled calls to the v1beta endpoints, streams relayed."""
from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from chalicelib.config import settings
from chalicelib.providers import errors, registry, sse
from chalicelib.providers.base import Result, Target
from chalicelib.providers.gemini import api, translate
from chalicelib.providers.http_client import client
from chalicelib.providers.openai_compat.adapter import headers
from chalicelib.providers.streaming import TranslatedStream, prompt_chars


async def send(target: Target, path: str, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    """POST and wait for the response head; returns it (body unread) and the ms to get it.
    Like the OpenAI adapter's, but failures are read as Gemini error bodies."""
    spec = target.provider
    started = time.perf_counter()
    request = client().build_request("POST", registry.base_url(spec, settings()) + path, content=orjson.dumps(body),
                                     headers=headers(target))
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
        raise translate.upstream_error(spec.name, response.status_code, content, target.credential,
                                       dict(response.headers))
    return response, ttfb_ms


async def call_json(target: Target, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    response, ttfb_ms = await send(target, path, body)
    try:
        content = await response.aread()
    except httpx.TimeoutException:
        raise errors.timeout(target.provider.name) from None
    except httpx.HTTPError as exc:
        raise errors.unreachable(target.provider.name, exc) from None
    finally:
        await response.aclose()
    return translate.parse(content, target.provider.name), ttfb_ms


class GeminiAdapter:
    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        upstream = translate.chat_request(body, target.model)
        data, ttfb_ms = await call_json(target, api.path(target.model, "generateContent"), upstream)
        out, usage = translate.chat_response(data, target.model, target.provider.name)
        return Result(orjson.dumps(out), usage, ttfb_ms)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        upstream = translate.chat_request(body, target.model)
        response, ttfb_ms = await send(target, api.stream_path(target.model), upstream)
        translator = translate.StreamTranslator(
            target.provider.name, target.model, candidates=body.get("n") or 1, credential=target.credential,
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")))
        return TranslatedStream(sse.events(response.aiter_bytes()), translator, ttfb_ms=ttfb_ms,
                                prompt_chars=prompt_chars(body), on_close=response.aclose)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        method, upstream = translate.embed_request(body, target.model)
        data, ttfb_ms = await call_json(target, api.path(target.model, method), upstream)
        out, usage = translate.embed_response(data, body, target.model, target.provider.name)
        return Result(orjson.dumps(out), usage, ttfb_ms)

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        method, upstream = translate.image_request(body, target.model)
        data, ttfb_ms = await call_json(target, api.path(target.model, method), upstream)
        out, usage = translate.image_response(data, body, target.model, target.provider.name)
        return Result(orjson.dumps(out), usage, ttfb_ms)


ADAPTER = GeminiAdapter()
