"""The Anthropic adapter: one Messages call, plain or streamed, over the shared HTTP layer;
only the body and the error names differ from the OpenAI dialect's.

Besides the OpenAI-shaped `chat`, the native calls of the Anthropic surface (`messages`,
`messages_stream`, `count_tokens`) take the client's own Messages body and headers
(anthropic-version, anthropic-beta) and give back Anthropic's answer as it came.
"""
from __future__ import annotations

from typing import Any

import httpx

from chalicelib.providers import errors, http
from chalicelib.providers.anthropic import api, translate
from chalicelib.providers.base import Credential, Result, Target, UpstreamError
from chalicelib.providers.no_audio import NoAudio
from chalicelib.providers.streaming import TranslatedStream, prompt_chars


def _error(provider: str, status: int, body: bytes, credential: Credential, headers: dict[str, str]) -> UpstreamError:
    return translate.refine_error(errors.from_status(provider, status, body, credential, headers))


async def _send(target: Target, body: dict[str, Any], headers: dict[str, str] | None = None,
                path: str = api.PATH) -> tuple[httpx.Response, float]:
    return await http.send(target, path, body, extra_headers=headers, error_mapper=_error)


class AnthropicAdapter(NoAudio):
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

    async def messages(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> Result:
        """The client's Messages body, answered with Anthropic's own bytes."""
        response, ttfb_ms = await _send(target, translate.native_body(body, target.model), headers)
        content = await http.read(target, response)
        return Result(content, translate.native_usage(content, target.provider.name), ttfb_ms)

    async def messages_stream(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> TranslatedStream:
        """The client's Messages body, streamed: Anthropic's events relayed unchanged."""
        return await http.open_stream(target, api.PATH, translate.native_body(body, target.model),
                                      translate.PassThrough(target.provider.name, target.credential),
                                      prompt_chars=prompt_chars(body), error_mapper=_error, extra_headers=headers)

    async def count_tokens(self, target: Target, body: dict[str, Any], headers: dict[str, str]) -> bytes:
        """Anthropic's own count of a Messages request's input tokens (a free call)."""
        response, _ = await _send(target, translate.native_body(body, target.model), headers, api.COUNT_TOKENS_PATH)
        return await http.read(target, response)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        raise translate.unsupported("embeddings")

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        raise translate.unsupported("image generation")


ADAPTER = AnthropicAdapter()
