"""Wire models of OpenAI's audio routes: the transcription form and the speech body."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.multipart import Part
from chalicelib.api.validation import validate
from chalicelib.errors import ApiError


class TranscriptionForm(BaseModel):
    """The text fields of /v1/audio/transcriptions and /translations. Fields it does not name
    (chunking_strategy, include[], ...) are allowed: OpenAI-compatible providers get them."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    prompt: str | None = None
    # diarized_json (speaker labels) only where the provider itself answers in it (OpenAI)
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt", "diarized_json"] = "json"
    temperature: float | None = Field(default=None, ge=0, le=1)
    language: str | None = None
    timestamp_granularities: list[Literal["word", "segment"]] | None = None
    stream: bool = False


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str = Field(min_length=1, max_length=4096)
    voice: str | dict[str, Any]
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    instructions: str | None = None


def form_fields(parts: list[Part]) -> dict[str, Any]:
    """The text parts as a dict: `name[]` parts (how the openai SDKs send lists) as lists."""
    out: dict[str, Any] = {}
    for part in parts:
        if part.filename is not None:
            continue
        if part.name.endswith("[]"):
            out.setdefault(part.name[:-2], []).append(part.text)
        else:
            out[part.name] = part.text
    return out


def upload_form(parts: list[Part], max_bytes: int) -> tuple[TranscriptionForm, Part]:
    """The validated fields and the file part. A missing or empty file is a 400 naming it, and
    a file over `max_bytes` a 413 saying the limit, whatever else the form holds."""
    file = next((p for p in parts if p.name == "file"), None)
    if file is None:
        raise ApiError(400, "Invalid 'file': an audio file is required (a form part named 'file').", param="file",
                       code="missing_required_parameter")
    if not file.data:
        raise ApiError(400, "Invalid 'file': the audio file is empty.", param="file", code="invalid_value")
    if len(file.data) > max_bytes:
        raise ApiError(413, f"The audio file is {len(file.data)} bytes; the limit is {max_bytes} bytes "
                            f"({max_bytes / 2**20:g} MB).", param="file", code="file_too_large")
    return validate(TranscriptionForm, form_fields(parts)), file
