"""The Anthropic adapter: one Messages call, plain or streamed, over the shared HTTP layer;
only the body and the error names differ from the OpenAI dialect's."""
from __future__ import annotations

from typing import Any

import httpx

from chalicelib.providers import errors, http
from chalicelib.providers.anthropic import api, translate
from chalicelib.providers.base import Credential, Result, Target, UpstreamError
from chalicelib.providers.streaming import TranslatedStream, prompt_chars


def _error(provider: str, status: int, body: bytes, credential: Credential, headers: dict[str, str]) -> UpstreamError:
    return translate.refine_error(errors.from_status(provider, status, body, credential, headers))


async def _send(target: Target, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    return await http.send(target, api.PATH, body, error_mapper=_error)


class AnthropicAdapter:
    async def check(self, target: Target) -> None:
        await http.probe(target, api.MODELS_PATH, error_mapper=_error)

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        prepared = translate.request_body(body, target.model)
        response, ttfb_ms = await _send(target, prepared.body)
        content = await http.read(target, response)
        out, usage = translate.response_body(content, target.provider.name, prepared.json_tool)
        return Result(out, usage, ttfb_ms)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        prepared = translate.request_body(body, target.model, stream=True)
        translator = translate.StreamTranslator(target.provider.name, include_usage=prepared.include_usage,
                                                json_tool=prepared.json_tool, credential=target.credential)
        return await http.open_stream(target, api.PATH, prepared.body, translator, prompt_chars=prompt_chars(body),
                                      error_mapper=_error)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        raise translate.unsupported("embeddings")

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        raise translate.unsupported("image generation")


ADAPTER = AnthropicAdapter()
