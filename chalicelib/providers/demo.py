"""The offline demo provider: `demo/echo`, `demo/embed`, `demo/image`, `demo/moderation`, `demo/whisper`,
`demo/tts`, `demo/video`.

Deterministic answers computed locally, in OpenAI's wire format, with usage, so a fresh
`make serve` answers with no provider key. Its stream is produced as OpenAI-dialect SSE events
and relayed by the same code as a real provider's.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from chalicelib import blobs
from chalicelib.config import settings
from chalicelib.media import mp4
from chalicelib.errors import bad_request
from chalicelib.media import wav
from chalicelib.providers import errors, transcript
from chalicelib.providers import video as video_common
from chalicelib.providers.base import AudioStream, AudioUpload, Result, Target, Usage, VideoResult
from chalicelib.providers.openai_compat import translate
from chalicelib.providers.streaming import TranslatedStream, prompt_chars

CHAT_MODELS = {"echo"}
# demo/moderation flags an input (as harassment) when, and only when, it contains this word.
FLAG_WORD = "aihub-flag"
MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def tokens(text: str) -> int:
    return len(text.split())


def reply(messages: list[dict[str, Any]]) -> str:
    last = next((_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    return f"This is aihub's offline demo model. You said: {last.strip() or '(nothing)'}"


def _completion_id(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(orjson.dumps(body.get("messages"), option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "chatcmpl-demo-" + digest[:24]


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@errors.request_translation
def chat_completion(body: dict[str, Any], model: str) -> dict[str, Any]:
    messages = body.get("messages") or []
    text = reply(messages)
    prompt = sum(tokens(_text_of(m.get("content"))) for m in messages)
    n = body.get("n") or 1
    return {
        "id": _completion_id(body),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text, "refusal": None},
             "logprobs": None, "finish_reason": "stop"}
            for i in range(n)
        ],
        "usage": _usage(prompt, tokens(text) * n),
    }


def chat_events(body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    """The chunks OpenAI would stream for `chat_completion`, usage chunk last."""
    done = chat_completion(body, model)
    head = {"id": done["id"], "object": "chat.completion.chunk", "created": done["created"], "model": model}
    text = done["choices"][0]["message"]["content"]
    words = text.split(" ")
    chunks = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    chunks += [
        {**head, "choices": [{"index": 0, "delta": {"content": w if i == 0 else " " + w}, "finish_reason": None}]}
        for i, w in enumerate(words)
    ]
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**head, "choices": [], "usage": done["usage"]})
    return chunks


def embedding(text: str, dimensions: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    raw = [((seed[i % 32] ^ (i * 37)) % 255) / 127.0 - 1.0 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


def png(prompt: str, size: int = 8) -> bytes:
    """A tiny solid-colour PNG whose colour depends on the prompt."""
    r, g, b = hashlib.sha256(prompt.encode()).digest()[:3]
    rows = b"".join(b"\x00" + bytes((r, g, b)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def moderation_result(text: str) -> dict[str, Any]:
    flagged = FLAG_WORD in text.lower()
    return {
        "flagged": flagged,
        "categories": {c: flagged and c == "harassment" for c in MODERATION_CATEGORIES},
        "category_scores": {c: (0.99 if flagged and c == "harassment" else 0.0001) for c in MODERATION_CATEGORIES},
        "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES},
    }


def _moderation_texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    # a list of texts, or of OpenAI's multi-modal parts (only the text parts are read)
    return [v if isinstance(v, str) else str(v.get("text") or "") for v in value if isinstance(v, (str, dict))]


def _require(target: Target, kind: str) -> None:
    expected = {"chat": "echo", "embedding": "embed", "image": "image", "moderation": "moderation",
                "transcription": "whisper", "speech": "tts", "video": "video"}[kind]
    if target.model != expected:
        raise bad_request(f"demo/{target.model} is not a {kind} model; use demo/{expected}.", param="model",
                          code="model_not_supported")


class DemoAdapter:
    async def check(self, target: Target) -> None:
        return None  # nothing remote to reach

    async def chat(self, target: Target, body: dict[str, Any]) -> Result:
        _require(target, "chat")
        data = chat_completion(body, "demo/echo")
        return Result(orjson.dumps(data), translate.usage_from(data["usage"]), 0.0)

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> TranslatedStream:
        _require(target, "chat")
        _, wants_usage = translate.request_body(body, target.model, stream=True)
        chunks = chat_events(body, "demo/echo")  # now: a malformed body is a 400, not a failed stream
        delay = int(settings().env.get("AIHUB_DEMO_DELAY_MS") or 0) / 1000

        async def source() -> AsyncIterator[tuple[bytes | None, bytes]]:
            for chunk in chunks:
                if delay:
                    await asyncio.sleep(delay)
                yield None, orjson.dumps(chunk)
            yield None, b"[DONE]"

        return TranslatedStream(source(), translate.StreamState("demo", wants_usage), ttfb_ms=0.0,
                                prompt_chars=prompt_chars(body))

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result:
        _require(target, "embedding")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if inputs and not isinstance(inputs[0], str):
            raise bad_request("demo/embed takes text input, not token arrays.", param="input")
        dims = body.get("dimensions") or 8
        vectors: list[Any] = [embedding(text, dims) for text in inputs]
        if body.get("encoding_format") == "base64":
            vectors = [base64.b64encode(struct.pack(f"<{dims}f", *v)).decode() for v in vectors]
        prompt = sum(tokens(t) for t in inputs)
        data = {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": "demo/embed",
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        }
        return Result(orjson.dumps(data), Usage(input_tokens=prompt), 0.0)

    async def moderations(self, target: Target, body: dict[str, Any]) -> Result:
        _require(target, "moderation")
        texts = _moderation_texts(body["input"])
        digest = hashlib.sha256(orjson.dumps(texts)).hexdigest()[:24]
        data = {"id": "modr-demo-" + digest, "model": "demo/moderation",
                "results": [moderation_result(text) for text in texts]}
        return Result(orjson.dumps(data), Usage(input_tokens=sum(tokens(t) for t in texts)), 0.0)

    async def images(self, target: Target, body: dict[str, Any]) -> Result:
        _require(target, "image")
        n = body.get("n") or 1
        b64 = base64.b64encode(png(body["prompt"])).decode()
        key = "url" if body.get("response_format") == "url" else "b64_json"
        value = f"data:image/png;base64,{b64}" if key == "url" else b64
        data = {"created": int(time.time()), "data": [{key: value, "revised_prompt": body["prompt"]} for _ in range(n)]}
        return Result(orjson.dumps(data), Usage(images=n), 0.0)

    async def transcription(self, target: Target, upload: AudioUpload) -> Result:
        _require(target, "transcription")
        transcript.check_format("demo", upload.response_format)
        body, content_type = transcript.render(_heard(upload), response_format=upload.response_format,
                                               task=upload.task, language=upload.language, seconds=upload.seconds)
        return Result(body, Usage(seconds=upload.seconds, estimated=upload.seconds_estimated), 0.0, content_type)

    async def transcription_stream(self, target: Target, upload: AudioUpload) -> TranslatedStream:
        _require(target, "transcription")
        transcript.check_format("demo", upload.response_format)
        usage = Usage(seconds=upload.seconds, estimated=upload.seconds_estimated)
        return transcript.stream("demo", _heard(upload), upload.seconds, usage)

    async def speech(self, target: Target, body: dict[str, Any]) -> AudioStream:
        _require(target, "speech")
        text: str = body["input"]
        fmt = body.get("response_format") or "wav"  # OpenAI's default is mp3, which cannot be made offline
        seconds = len(text) * SPEECH_SECONDS_PER_CHAR / (body.get("speed") or 1.0)
        if fmt == "wav":
            audio, content_type = wav.silence(seconds), "audio/wav"
        elif fmt == "pcm":  # OpenAI's raw PCM: 24 kHz, 16-bit signed little-endian, mono
            audio, content_type = b"\x00\x00" * round(seconds * 24_000), "audio/pcm"
        else:
            raise bad_request(f"demo/tts speaks wav and pcm only, not {fmt}.", param="response_format")

        async def chunks() -> AsyncIterator[bytes]:
            for at in range(0, len(audio), SPEECH_CHUNK):
                yield audio[at:at + SPEECH_CHUNK]

        return AudioStream(content_type, chunks(), Usage(input_tokens=len(text)), 0.0)


    async def video(self, target: Target, body: dict[str, Any]) -> VideoResult:
        """A flat-colour MP4 (the colour from the prompt) of the length asked, 4 s by default."""
        _require(target, "video")
        seconds = video_common.seconds_asked(body) or 4.0
        luma, cb, cr = hashlib.sha256(body["prompt"].encode()).digest()[:3]
        # Studio-range samples (16..235), as a decoder expects them.
        colour = (16 + luma * 219 // 255, 16 + cb * 224 // 255, 16 + cr * 224 // 255)
        blob = await blobs.save_bytes(mp4.build(seconds, colour), "video/mp4")
        return VideoResult([blob], Usage(seconds=seconds), seconds, f"{mp4.SIZE}x{mp4.SIZE}", 0.0)


def _heard(upload: AudioUpload) -> str:
    what = "translation" if upload.task == "translations" else "transcript"
    return f"demo {what} of {upload.seconds:.2f} seconds"


SPEECH_SECONDS_PER_CHAR = 0.05  # about how long a character takes to say
SPEECH_CHUNK = 4096


ADAPTER = DemoAdapter()
