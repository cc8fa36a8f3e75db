"""A transcript in each of OpenAI's `response_format`s, for providers that give plain text.

OpenAI itself answers in the format asked; Gemini and the demo model give a text, which is
laid out here the way OpenAI lays out whisper's answers: one segment spanning the audio
(no provider here gives timings), and the duration usage whisper reports. A stream of such a
text is OpenAI's stream events over the whole text at once, and its renderer (`Frames`).
"""
from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import orjson

from chalicelib.errors import ApiError
from chalicelib.providers import errors, sse
from chalicelib.providers.base import Usage
from chalicelib.providers.openai_compat.translate import TranscriptRelay
from chalicelib.providers.streaming import TranslatedStream

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


def _clock(seconds: float, decimal: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{decimal}{ms % 1000:03d}"


def check_format(provider: str, response_format: str) -> None:
    """Before the call: a plain text has no speaker labels to lay out as diarized_json."""
    if response_format == "diarized_json":
        raise errors.unsupported(provider, "speaker labels (response_format 'diarized_json')")


def render(text: str, *, response_format: str, task: str, language: str | None, seconds: float) -> tuple[bytes, str]:
    """(body, content type) of the transcript `text` of `seconds` of audio."""
    usage = {"type": "duration", "seconds": math.ceil(seconds)}
    if response_format == "text":
        return (text + "\n").encode(), TEXT
    if response_format == "srt":
        return f"1\n{_clock(0, ',')} --> {_clock(seconds, ',')}\n{text}\n\n".encode(), TEXT
    if response_format == "vtt":
        return f"WEBVTT\n\n{_clock(0, '.')} --> {_clock(seconds, '.')}\n{text}\n\n".encode(), TEXT
    if response_format == "verbose_json":
        segment = {"id": 0, "seek": 0, "start": 0.0, "end": round(seconds, 3), "text": text, "tokens": [],
                   "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.0}
        body: dict[str, Any] = {"task": "translate" if task == "translations" else "transcribe",
                                "language": "english" if task == "translations" else (language or "unknown"),
                                "duration": round(seconds, 3), "text": text, "segments": [segment], "usage": usage}
        return orjson.dumps(body), JSON
    return orjson.dumps({"text": text, "usage": usage}), JSON


def events(text: str, seconds: float) -> list[dict[str, Any]]:
    """OpenAI's transcription stream of `text`: a delta a word, then the done event."""
    words = text.split(" ")
    deltas = [{"type": "transcript.text.delta", "delta": w if i == 0 else " " + w} for i, w in enumerate(words)]
    return [*deltas, {"type": "transcript.text.done", "text": text,
                      "usage": {"type": "duration", "seconds": math.ceil(seconds)}}]


def stream(provider: str, text: str, seconds: float, usage: Usage) -> TranslatedStream:
    """A transcript the gateway already has, streamed as OpenAI streams one (for providers
    that answer in one piece); `usage` is what the call is recorded with."""

    async def source() -> AsyncIterator[tuple[bytes | None, bytes]]:
        for event in events(text, seconds):
            yield None, orjson.dumps(event)

    relay = TranscriptRelay(provider, seconds, usage.estimated, usage=usage)
    return TranslatedStream(source(), relay, ttfb_ms=0.0, prompt_chars=0)


class Frames:
    """Renders a transcription stream: its events pass as they are, and the stream ends
    without `[DONE]`, as OpenAI's does; a failure ends it with an error event."""

    def feed(self, frame: bytes) -> bytes:
        return frame

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        return sse.frame(orjson.dumps(error.body())) if error else b""
