"""OpenAI's audio routes: transcriptions and translations (multipart uploads), and speech."""
from __future__ import annotations

from chalicelib.api import multipart
from chalicelib.api.audio import SpeechRequest, upload_form
from chalicelib.api.validation import json_body, validate
from chalicelib.config import settings
from chalicelib.errors import bad_request
from chalicelib.gateway import pipeline
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse
from chalicelib.media import audio
from chalicelib.providers.base import AudioUpload


async def transcriptions(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _upload(req, who, "transcriptions")


async def translations(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _upload(req, who, "translations")


async def _upload(req: ApiRequest, who: Principal, task: str) -> ApiResponse:
    parts = multipart.parse(req.body, req.headers.get("content-type", ""))
    form, file = upload_form(parts, settings().audio_max_bytes)
    if form.stream and task == "translations":
        raise bad_request("Translations are not streamed (OpenAI's translation endpoint has no 'stream').",
                          param="stream", code="unsupported_parameter")
    seconds, estimated = audio.seconds(file.data)
    upload = AudioUpload(task, tuple(parts), file, form.response_format, form.prompt, form.language, seconds, estimated)
    body = {"model": form.model, "stream": form.stream, "prompt": form.prompt, "file": file.data}
    return await pipeline.transcription(req, who, upload, body)


async def speech(req: ApiRequest, who: Principal) -> ApiResponse:
    body = json_body(req.body)
    validate(SpeechRequest, body)
    return await pipeline.speech(req, who, body)
