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
import re
import secrets
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
from chalicelib.providers import errors, schema_instance, transcript
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


def _unique_id(prefix: str) -> str:
    # Clients key caches and traces on ids, so two identical requests must not share one.
    return f"{prefix}-demo-{secrets.token_hex(12)}"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _functions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for t in body.get("tools") or () if isinstance(f := t.get("function"), dict) and f.get("name")}


def tool_to_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function demo/echo calls, or None to answer in text.

    The rule: with `tool_choice` naming a function, that one; with "required", the first tool
    whose name the last user message mentions, else the first tool; with "auto" or none given,
    a tool only when the last message is the user's and mentions its name (so after a tool
    result, the model answers in text and an agent loop ends); with "none", never.
    """
    functions = _functions(body)
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") != "function":
        choice = None  # a choice of a kind demo/echo has no rule for (custom tools): as "auto"
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if name not in functions:
            raise bad_request(f"tool_choice names {name!r}, which is not among the tools.", param="tool_choice")
        return functions[name]
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    said = _text_of(last.get("content")) if last.get("role") == "user" else ""
    mentioned = next((f for name, f in functions.items() if re.search(rf"\b{re.escape(name)}\b", said)), None)
    if choice == "required":
        return mentioned or next(iter(functions.values()))
    return mentioned


def _structured_text(body: dict[str, Any], text: str) -> str:
    """The answer's text as `response_format` asks: plain, any JSON object, or a schema's instance."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":
        return orjson.dumps({"reply": text}).decode()
    if fmt.get("type") == "json_schema":
        return orjson.dumps(schema_instance.instance((fmt.get("json_schema") or {}).get("schema") or {})).decode()
    return text


def _message(body: dict[str, Any]) -> tuple[dict[str, Any], str, int]:
    """The assistant message, its finish reason and its token count."""
    function = tool_to_call(body)
    if function is not None:
        arguments = orjson.dumps(schema_instance.instance(function.get("parameters") or {"type": "object"})).decode()
        call = {"id": _unique_id("call"), "type": "function",
                "function": {"name": function["name"], "arguments": arguments}}
        return ({"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}, "tool_calls",
                tokens(arguments) + 1)
    text = _structured_text(body, reply(body.get("messages") or []))
    return {"role": "assistant", "content": text, "refusal": None}, "stop", tokens(text)


@errors.request_translation
def chat_completion(body: dict[str, Any], model: str) -> dict[str, Any]:
    messages = body.get("messages") or []
    message, finish, completion = _message(body)
    prompt = sum(tokens(_text_of(m.get("content"))) for m in messages)
    n = body.get("n") or 1
    return {
        "id": _unique_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            for i in range(n)
        ],
        "usage": _usage(prompt, completion * n),
    }


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _slices(text: str, size: int = 8) -> list[str]:
    # compact JSON has no spaces to split at; real models stream arguments a few characters at a time
    return [text[at:at + size] for at in range(0, len(text), size)] or [""]


def chat_events(body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    """The chunks OpenAI would stream for `chat_completion`, usage chunk last: text word by
    word, or a tool call's id and name first and then its arguments in pieces."""
    done = chat_completion(body, model)
    head = {"id": done["id"], "object": "chat.completion.chunk", "created": done["created"], "model": model}
    choice = done["choices"][0]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": "" if message["content"] is not None else None})]
    for i, call in enumerate(message.get("tool_calls") or ()):
        fn = call["function"]
        chunks.append(chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                             "function": {"name": fn["name"], "arguments": ""}}]}))
        chunks += [chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                   for piece in _slices(fn["arguments"])]
    if message["content"] is not None:
        chunks += [chunk({"content": piece}) for piece in _pieces(message["content"])]
    chunks.append(chunk({}, choice["finish_reason"]))
    chunks.append({**head, "choices": [], "usage": done["usage"]})
    return chunks


def embedding(text: str, dimensions: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    raw = [((seed[i % 32] ^ (i * 37)) % 255) / 127.0 - 1.0 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


def embedding_inputs(value: Any) -> list[tuple[str, int]]:
    """Each input as the text its vector is seeded from, with its token count. Token arrays
    (one list of ints, or a list of them: what LangChain's OpenAIEmbeddings sends by default)
    are seeded from their ids, so the same tokens always get the same vector."""
    if isinstance(value, str):
        return [(value, tokens(value))]
    if value and all(isinstance(v, int) for v in value):
        value = [value]
    return [(v, tokens(v)) if isinstance(v, str) else ("tokens:" + ",".join(map(str, v)), len(v)) for v in value]


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
        inputs = embedding_inputs(body["input"])
        dims = body.get("dimensions") or 8
        vectors: list[Any] = [embedding(text, dims) for text, _ in inputs]
        if body.get("encoding_format") == "base64":
            vectors = [base64.b64encode(struct.pack(f"<{dims}f", *v)).decode() for v in vectors]
        prompt = sum(count for _, count in inputs)
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
        data = {"id": _unique_id("modr"), "model": "demo/moderation",
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
