"""A transcript in each of OpenAI's `response_format`s, for providers that give plain text.

OpenAI itself answers in the format asked; Gemini and the demo model give a text, which is
laid out here the way OpenAI lays out whisper's answers: one segment spanning the audio
(no provider here gives timings), and the duration usage whisper reports.
"""
from __future__ import annotations

import math
from typing import Any

import orjson

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


def _clock(seconds: float, decimal: str) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{decimal}{ms % 1000:03d}"


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
