"""The OpenAI-dialect adapter: its endpoints over the shared HTTP layer, and its streams."""
from __future__ import annotations

from typing import Any

from urllib.parse import quote

from chalicelib.providers import errors, http
from chalicelib.providers.base import AudioStream, AudioUpload, Result, Target, Usage, VideoResult
from chalicelib.providers.openai_compat import translate
from chalicelib.providers.streaming import TranslatedStream, estimate_tokens, prompt_chars


def json_chars(value: Any) -> int:
    """Characters of text in a string or a list of strings and text parts."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(json_chars(v) if isinstance(v, str) else len(str(v.get("text") or ""))
                   for v in value if isinstance(v, (str, dict)))
    return 0


async def call_json(target: Target, path: str, body: dict[str, Any]) -> Result:
    content, ttfb_ms = await http.fetch(target, path, body)
    _, usage = translate.response_usage(content, target.provider.name)
    return Result(content, usage, ttfb_ms)


def _form(target: Target, upload: AudioUpload) -> tuple[bytes, str]:
    """The client's form as it came, but for the model id: every field the provider knows
    (and this gateway may not) reaches it, the file byte for byte."""
    # Imported here: uploads only, not on the path of a chat call (cold start).
    from chalicelib.api import multipart

    return multipart.encode([multipart.Part("model", target.model.encode()) if p.name == "model" else p
                             for p in upload.parts])


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

    async def completions(self, target: Target, body: dict[str, Any]) -> Result:
        """OpenAI's legacy /completions, natively: the client's body but for the model id."""
        upstream, _ = translate.request_body(body, target.model)
        return await call_json(target, "/completions", upstream)

    async def completions_stream(self, target: Target, body: dict[str, Any], *, prompt_chars: int) -> TranslatedStream:
        """The same, streamed; usage is asked for upstream and kept from the client unless it asked."""
        upstream, wants_usage = translate.request_body(body, target.model, stream=True)
        return await http.open_stream(target, "/completions", upstream,
                                      translate.StreamState(target.provider.name, wants_usage, target.credential),
                                      prompt_chars=prompt_chars)

    async def moderations(self, target: Target, body: dict[str, Any]) -> Result:
        """OpenAI reports no usage for moderations: the input is estimated, so a rate can bill it."""
        result = await call_json(target, "/moderations", {**body, "model": target.model})
        if not (result.usage.input_tokens or result.usage.output_tokens):
            result.usage = Usage(input_tokens=estimate_tokens(json_chars(body.get("input"))), estimated=True)
        return result

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        return await call_json(target, "/embeddings", {**body, "model": target.model})

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        result = await call_json(target, "/images/generations", {**body, "model": target.model})
        content, usage = translate.image_response(result.body, target.provider.name)
        return Result(content, usage, result.ttfb_ms)

    async def transcription(self, target: Target, upload: AudioUpload) -> Result:
        content, content_type = _form(target, upload)
        response, ttfb_ms = await http.send(target, f"/audio/{upload.task}", content=content,
                                            extra_headers={"content-type": content_type})
        answer_type = response.headers.get("content-type", "application/json")
        body = await http.read(target, response)
        usage = translate.transcription_usage(body, answer_type, upload.seconds, upload.seconds_estimated)
        return Result(body, usage, ttfb_ms, answer_type)

    async def transcription_stream(self, target: Target, upload: AudioUpload) -> TranslatedStream:
        content, content_type = _form(target, upload)
        relay = translate.TranscriptRelay(target.provider.name, upload.seconds, upload.seconds_estimated,
                                          target.credential)
        return await http.open_stream(target, f"/audio/{upload.task}", None, relay, content=content,
                                      prompt_chars=len(upload.prompt or ""),
                                      extra_headers={"content-type": content_type})

    async def speech(self, target: Target, body: dict[str, Any]) -> AudioStream:
        response, ttfb_ms = await http.send(target, "/audio/speech", {**body, "model": target.model})
        return AudioStream(response.headers.get("content-type", "application/octet-stream"), response.aiter_bytes(),
                           Usage(input_tokens=len(body["input"])), ttfb_ms, response.aclose)

    async def video(self, target: Target, body: dict[str, Any]) -> VideoResult:
        """OpenAI's Videos API: create, poll the job, download its MP4."""
        # Imported here: the video machinery loads with the first video call (cold start).
        from chalicelib.providers import video
        from chalicelib.providers.openai_compat import videos

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
