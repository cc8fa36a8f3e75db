"""OpenAI's audio endpoints for the fake upstream: the form a transcription request carries,
as a server reads it, and the answers of /audio/transcriptions, /translations and /speech.

The form is parsed with the standard library's MIME parser, independently of the gateway's
own multipart code, so a test compares what the gateway sent with what a server sees.
Shapes follow OpenAI's API reference (createTranscription: json, verbose_json with segments
and `usage: {"type": "duration", "seconds"}`; the gpt-4o models' token usage; createSpeech's
binary body).
"""
from __future__ import annotations

import email.parser
import email.policy
import threading
from dataclasses import dataclass
from typing import Any

from tests.fakes.rules import Rule, Server
from tests.fakes.wire import Receive, RecordedRequest, Send, encode_headers


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None
    content_type: str


def form(req: RecordedRequest) -> list[FormPart]:
    """The parts of a multipart/form-data request, in order, as a server parses them."""
    head = f"Content-Type: {req.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    assert message.is_multipart(), "not a multipart body"
    return [FormPart(part.get_param("name", header="content-disposition"), part.get_payload(decode=True),
                     part.get_filename(), part.get_content_type()) for part in message.iter_parts()]


def fields(req: RecordedRequest) -> dict[str, list[str]]:
    """The text parts: each name's values, in order."""
    out: dict[str, list[str]] = {}
    for part in form(req):
        if part.filename is None:
            out.setdefault(part.name, []).append(part.data.decode())
    return out


def files(req: RecordedRequest) -> list[FormPart]:
    return [part for part in form(req) if part.filename is not None]


def verbose(text: str, duration: float, *, task: str = "transcribe", language: str = "english") -> dict[str, Any]:
    return {"task": task, "language": language, "duration": duration, "text": text,
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": duration, "text": " " + text,
                          "tokens": [50364, 634, 2062, 50514], "temperature": 0.0, "avg_logprob": -0.21,
                          "compression_ratio": 0.9, "no_speech_prob": 0.01}],
            "usage": {"type": "duration", "seconds": round(duration + 0.499)}}


def token_usage(audio: int, text: int, output: int) -> dict[str, Any]:
    """The usage of gpt-4o-transcribe and gpt-4o-mini-transcribe."""
    return {"type": "tokens", "input_tokens": audio + text, "output_tokens": output,
            "total_tokens": audio + text + output, "input_token_details": {"audio_tokens": audio, "text_tokens": text}}


class GatedSpeech(Rule):
    """Speech sent in two pieces, the second only once the test says it has read the first
    (or after `patience` seconds): a gateway that buffered the body would make the test wait
    out the patience, which `gave_up` records."""

    def __init__(self, first: bytes, rest: bytes, *, content_type: str = "audio/mpeg", patience: float = 5.0) -> None:
        super().__init__("POST", "/v1/audio/speech")
        self.first, self.rest, self.content_type, self.patience = first, rest, content_type, patience
        self.first_read = threading.Event()
        self.gave_up = False

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": encode_headers({"content-type": self.content_type})})
        await send({"type": "http.response.body", "body": self.first, "more_body": True})
        waited = 0.0
        while not self.first_read.is_set():
            if waited >= self.patience or not await server.pause(0.01):
                self.gave_up = True
                break
            waited += 0.01
        await send({"type": "http.response.body", "body": self.rest})
