"""OpenAI's legacy text completions (POST /v1/completions).

OpenAI-compatible providers serve /completions themselves and get the client's body as it is
but for the model id; every other provider (the demo one included) answers over chat, and the
chat answer is rendered as a text_completion (chalicelib/surfaces/openai_completions).
"""
from __future__ import annotations

from typing import Any, cast

from chalicelib.api.openai import CompletionRequest
from chalicelib.api.validation import json_body, validate
from chalicelib.errors import ApiError
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse
from chalicelib.gateway.resolve import plan
from chalicelib.providers.base import Adapter, Result, Target
from chalicelib.providers.openai_compat.adapter import OpenAICompatAdapter, json_chars
from chalicelib.providers.streaming import TranslatedStream
from chalicelib.surfaces import openai_chat, openai_completions
from chalicelib.surfaces.base import Native

NATIVE_KINDS = frozenset({"openai"})


def _all_native(model: str) -> bool:
    """Whether every provider that may serve `model` has /completions: only then may the
    request hold what chat cannot express (it would otherwise be lost on the chat path)."""
    try:
        return all(spec.kind in NATIVE_KINDS for spec, _ in plan(model).routes)
    except ApiError:
        return False  # the pipeline answers (and records) the model's own problem


def _native(body: dict[str, Any]) -> Native:
    chars = json_chars(body.get("prompt"))

    async def call(adapter: Adapter, target: Target) -> Result:
        return await cast(OpenAICompatAdapter, adapter).completions(target, body)

    async def call_stream(adapter: Adapter, target: Target) -> TranslatedStream:
        return await cast(OpenAICompatAdapter, adapter).completions_stream(target, body, prompt_chars=chars)

    return Native(kinds=NATIVE_KINDS, call=call, call_stream=call_stream, renderer=openai_chat.Relay)


async def create(req: ApiRequest, who: Principal) -> ApiResponse:
    body = json_body(req.body)
    validate(CompletionRequest, body)
    internal = openai_completions.to_chat(body, lenient=_all_native(body["model"]))
    return await pipeline.chat(req, who, internal, surface=openai_completions.SURFACE, native=_native(body))
