"""The HTTP layer of the Gemini adapter: pooled calls to the v1beta endpoints, streams relayed.

Besides the OpenAI-shaped calls, the native calls of the generateContent surface (`generate`,
`generate_stream`, `count_tokens`, `embed`) take the client's own Gemini body and give back
Gemini's answer as it came.
"""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.providers import errors, http, transcript, video
from chalicelib.providers.base import AudioStream, AudioUpload, Result, Target, Usage, VideoResult
from chalicelib.providers.gemini import api, translate, veo
from chalicelib.providers.streaming import TranslatedStream, prompt_chars, wants_usage


async def call_raw(target: Target, path: str, body: dict[str, Any]) -> tuple[bytes, float]:
    return await http.fetch(target, path, body, error_mapper=translate.upstream_error)


async def call_json(target: Target, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    content, ttfb_ms = await call_raw(target, path, body)
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

    async def generate(self, target: Target, body: dict[str, Any]) -> Result:
        content, ttfb_ms = await call_raw(target, api.path(target.model, "generateContent"), body)
        meta = translate.parse(content, target.provider.name).get("usageMetadata")
        return Result(content, translate.usage_of(meta if isinstance(meta, dict) else {}), ttfb_ms)

    async def generate_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        config = body.get("generationConfig")
        count = config.get("candidateCount") if isinstance(config, dict) else None
        relay = translate.PassThrough(target.provider.name, candidates=count if isinstance(count, int) and count > 0 else 1,
                                      credential=target.credential)
        return await http.open_stream(target, api.stream_path(target.model), body, relay,
                                      prompt_chars=translate.text_chars(body), error_mapper=translate.upstream_error)

    async def count_tokens(self, target: Target, body: dict[str, Any]) -> bytes:
        """Gemini's own count of a request's tokens (a free call)."""
        content, _ = await call_raw(target, api.path(target.model, "countTokens"), translate.native_body(body, target.model))
        return content

    async def embed(self, target: Target, method: str, body: dict[str, Any], usage: Usage) -> Result:
        """embedContent or batchEmbedContents with the client's body; Gemini reports no usage
        there, so the caller's estimate is what the call records."""
        content, ttfb_ms = await call_raw(target, api.path(target.model, method), translate.native_body(body, target.model))
        return Result(content, usage, ttfb_ms)

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

    async def transcription(self, target: Target, upload: AudioUpload) -> Result:
        text, usage, ttfb_ms = await self._transcribe(target, upload)
        body, content_type = transcript.render(text, response_format=upload.response_format, task=upload.task,
                                               language=upload.language, seconds=upload.seconds)
        return Result(body, usage, ttfb_ms, content_type)

    async def transcription_stream(self, target: Target, upload: AudioUpload) -> TranslatedStream:
        """Transcribed in one piece, then streamed as OpenAI's events (not incremental)."""
        text, usage, _ = await self._transcribe(target, upload)
        return transcript.stream(target.provider.name, text, upload.seconds, usage)

    async def _transcribe(self, target: Target, upload: AudioUpload) -> tuple[str, Usage, float]:
        transcript.check_format(target.provider.name, upload.response_format)
        upstream = translate.transcription_request(upload)
        data, ttfb_ms = await call_json(target, api.path(target.model, "generateContent"), upstream)
        text, usage = translate.transcription_text(data, target.provider.name)
        usage.seconds, usage.estimated = upload.seconds, upload.seconds_estimated
        return text, usage, ttfb_ms

    async def speech(self, target: Target, body: dict[str, Any]) -> AudioStream:
        raise errors.unsupported(target.provider.name, "OpenAI-style speech (/v1/audio/speech)")

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
