"""The HTTP layer of the Gemini adapter: pooled calls to the v1beta endpoints, streams relayed."""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.providers import errors, http, video
from chalicelib.providers.base import Result, Target, Usage, VideoResult
from chalicelib.providers.gemini import api, translate, veo
from chalicelib.providers.streaming import TranslatedStream, prompt_chars, wants_usage


async def call_json(target: Target, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    content, ttfb_ms = await http.fetch(target, path, body, error_mapper=translate.upstream_error)
    return translate.parse(content, target.provider.name), ttfb_ms


class GeminiAdapter:
    async def check(self, target: Target) -> None:
        await http.probe(target, f"{api.VERSION}/models", error_mapper=translate.upstream_error)

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        upstream = translate.chat_request(body, target.model)
        data, ttfb_ms = await call_json(target, api.path(target.model, "generateContent"), upstream)
        out, usage = translate.chat_response(data, target.model, target.provider.name)
        return Result(orjson.dumps(out), usage, ttfb_ms)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        upstream = translate.chat_request(body, target.model)
        translator = translate.StreamTranslator(
            target.provider.name, target.model, candidates=body.get("n") or 1, credential=target.credential,
            include_usage=wants_usage(body))
        return await http.open_stream(target, api.stream_path(target.model), upstream, translator,
                                      prompt_chars=prompt_chars(body), error_mapper=translate.upstream_error)

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

    async def video(self, target: Target, body: dict[str, Any]) -> VideoResult:
        """Veo: a long-running operation, polled until done, each video downloaded with the key."""
        asked = video.seconds_asked(body)
        upstream = veo.request(body, asked)
        answer, ttfb_ms = await call_json(target, api.path(target.model, "predictLongRunning"), upstream)
        name = veo.operation_name(answer)
        if name is None:
            raise errors.bad_response(target.provider.name, "the operation has no name")

        async def check() -> tuple[list[str], str | None] | None:
            content, _ = await http.fetch(target, f"{api.VERSION}/{name}", method="GET",
                                          error_mapper=translate.upstream_error)
            return veo.outcome(translate.parse(content, target.provider.name))

        uris, why = await video.until_done(target, check)
        if not uris:
            raise video.failed(target, why or "no video")
        files = [await video.download(target, url=uri) for uri in uris]
        seconds = asked if asked is not None else veo.DEFAULT_SECONDS
        return VideoResult(files, Usage(seconds=seconds * len(files)), seconds,
                           veo.output_size(upstream["parameters"]), ttfb_ms)


ADAPTER = GeminiAdapter()
