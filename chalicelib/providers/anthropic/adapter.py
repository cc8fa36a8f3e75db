"""The HTTP layer of the Anthropic adapter: one Messages call, plain or streamed.

Requests go through the OpenAI-dialect adapter's `send` (pooled client, timeouts, status
mapping, secret scrubbing); only the body, the version header and the error names differ.
"""
from __future__ import annotations

from typing import Any

import httpx

from chalicelib.providers import errors, sse
from chalicelib.providers.anthropic import api, translate
from chalicelib.providers.base import Result, Target, UpstreamError
from chalicelib.providers.openai_compat.adapter import send
from chalicelib.providers.streaming import TranslatedStream, prompt_chars


async def _send(target: Target, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    try:
        return await send(api.versioned(target), api.PATH, body)
    except UpstreamError as error:
        raise translate.refine_error(error) from None


class AnthropicAdapter:
    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        prepared = translate.request_body(body, target.model)
        response, ttfb_ms = await _send(target, prepared.body)
        try:
            content = await response.aread()
        except httpx.TimeoutException:
            raise errors.timeout(target.provider.name) from None
        except httpx.HTTPError as exc:
            raise errors.unreachable(target.provider.name, exc) from None
        finally:
            await response.aclose()
        out, usage = translate.response_body(content, target.provider.name, prepared.json_tool)
        return Result(out, usage, ttfb_ms)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        prepared = translate.request_body(body, target.model, stream=True)
        response, ttfb_ms = await _send(target, prepared.body)
        translator = translate.StreamTranslator(target.provider.name, include_usage=prepared.include_usage,
                                                json_tool=prepared.json_tool, credential=target.credential)
        return TranslatedStream(sse.events(response.aiter_bytes()), translator, ttfb_ms=ttfb_ms,
                                prompt_chars=prompt_chars(body), on_close=response.aclose)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        raise translate.unsupported("embeddings")

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        raise translate.unsupported("image generation")


ADAPTER = AnthropicAdapter()
