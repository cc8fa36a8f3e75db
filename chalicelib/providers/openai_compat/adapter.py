"""The OpenAI-dialect adapter: its endpoints over the shared HTTP layer, and its streams."""
from __future__ import annotations

from typing import Any

from urllib.parse import quote

from chalicelib.providers import errors, http, video
from chalicelib.providers.base import Result, Target, Usage, VideoResult
from chalicelib.providers.openai_compat import translate, videos
from chalicelib.providers.streaming import TranslatedStream, prompt_chars


async def call_json(target: Target, path: str, body: dict[str, Any]) -> Result:
    content, ttfb_ms = await http.fetch(target, path, body)
    _, usage = translate.response_usage(content, target.provider.name)
    return Result(content, usage, ttfb_ms)


class OpenAICompatAdapter:
    async def check(self, target: Target) -> None:
        await http.probe(target, "/models")

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        upstream, _ = translate.request_body(body, target.model)
        return await call_json(target, "/chat/completions", upstream)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        upstream, wants_usage = translate.request_body(body, target.model, stream=True)
        return await http.open_stream(target, "/chat/completions", upstream,
                                      translate.StreamState(target.provider.name, wants_usage, target.credential),
                                      prompt_chars=prompt_chars(body))

    async def responses(self, target: Target, body: dict[str, Any]) -> Result:
        """OpenAI's Responses API, natively: the client's own body but for the model id."""
        return await call_json(target, "/responses", {**body, "model": target.model})

    async def responses_stream(self, target: Target, body: dict[str, Any], *, prompt_chars: int) -> TranslatedStream:
        """The same, streamed: the provider's events pass through unchanged (`prompt_chars`
        only serves the usage estimate of a stream that ends without its final event)."""
        return await http.open_stream(target, "/responses", {**body, "model": target.model},
                                      translate.ResponsesRelay(target.provider.name, target.credential),
                                      prompt_chars=prompt_chars)

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        return await call_json(target, "/embeddings", {**body, "model": target.model})

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        result = await call_json(target, "/images/generations", {**body, "model": target.model})
        content, usage = translate.image_response(result.body, target.provider.name)
        return Result(content, usage, result.ttfb_ms)

    async def video(self, target: Target, body: dict[str, Any]) -> VideoResult:
        """OpenAI's Videos API: create, poll the job, download its MP4."""
        name = target.provider.name
        asked = video.seconds_asked(body)
        created, ttfb_ms = await http.fetch(target, "/videos", files=videos.create_form(body, target.model))
        job_id = videos.job_id(errors.json_object(created, name))
        if job_id is None:
            raise errors.bad_response(name, "the created video has no id")
        path = "/videos/" + quote(job_id, safe="")

        async def check() -> dict[str, Any] | None:
            raw, _ = await http.fetch(target, path, method="GET")
            job = errors.json_object(raw, name)
            if videos.state(job) == "failed":
                raise video.failed(target, *videos.error_of(job))
            return job if videos.state(job) == "completed" else None

        job = await video.until_done(target, check)
        blob = await video.download(target, path + "/content")
        seconds = videos.seconds_of(job, asked)
        return VideoResult([blob], Usage(seconds=seconds), seconds, job.get("size") or body.get("size"), ttfb_ms)


ADAPTER = OpenAICompatAdapter()
