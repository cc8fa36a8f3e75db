"""Pure translation between the client's OpenAI request and an OpenAI-dialect provider.

Bodies pass through untouched but for the model id and, on streams, the usage request; usage
is read into the normalised `Usage`; stream events become client frames.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.errors import ApiError
from chalicelib.providers import errors
from chalicelib.providers.base import Credential, Usage, UpstreamError
from chalicelib.providers.sse import frame


@errors.request_translation
def request_body(body: dict[str, Any], model: str, *, stream: bool = False) -> tuple[dict[str, Any], bool]:
    """The body to send upstream, and whether the client asked for the usage chunk itself."""
    out = {**body, "model": model}
    if not stream:
        return out, False
    options = body.get("stream_options") or {}
    wants_usage = bool(options.get("include_usage"))
    if not wants_usage:
        out["stream_options"] = {**options, "include_usage": True}
    return out, wants_usage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def usage_from(raw: dict[str, Any] | None, images: int = 0) -> Usage:
    """OpenAI-shaped usage (chat, embeddings, images) -> Usage with cache reads apart."""
    if not raw:
        return Usage(images=images)
    prompt = _int(raw.get("prompt_tokens", raw.get("input_tokens")))
    details = raw.get("prompt_tokens_details") or raw.get("input_tokens_details") or {}
    # DeepSeek reports cache hits in its own field instead of prompt_tokens_details.
    cached = _int(details.get("cached_tokens")) or _int(raw.get("prompt_cache_hit_tokens"))
    out_details = raw.get("completion_tokens_details") or raw.get("output_tokens_details") or {}
    return Usage(
        input_tokens=max(prompt - cached, 0),
        output_tokens=_int(raw.get("completion_tokens", raw.get("output_tokens"))),
        cache_read_tokens=cached,
        reasoning_tokens=_int(out_details.get("reasoning_tokens")),
        images=images,
    )


def response_usage(body: bytes, provider: str) -> tuple[dict[str, Any], Usage]:
    data = errors.json_object(body, provider)
    images = len(data["data"]) if data.get("object") != "list" and isinstance(data.get("data"), list) else 0
    return data, usage_from(data.get("usage"), images)


IMAGE_USAGE_KEYS = {"input_tokens", "output_tokens", "total_tokens", "input_tokens_details"}


def image_response(content: bytes, provider: str) -> tuple[bytes, Usage]:
    """An images answer as OpenAI shapes it: failed images (Seedream's `data[].error`) are not
    counted, and a usage block of another shape (Ark's) is rewritten in OpenAI's form."""
    data, usage = response_usage(content, provider)
    usage.images = sum(1 for item in data.get("data") or () if isinstance(item, dict) and not item.get("error"))
    raw = data.get("usage")
    if not isinstance(raw, dict) or IMAGE_USAGE_KEYS <= raw.keys():
        return content, usage
    data["usage"] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "input_tokens_details": {"text_tokens": usage.input_tokens, "image_tokens": 0},
    }
    return orjson.dumps(data), usage


def mid_stream_error(provider: str, err: dict[str, Any], credential: Credential | None) -> UpstreamError:
    message = errors.scrub(str(err.get("message")), credential)  # providers echo keys back
    return UpstreamError(502, f"Provider {provider} failed mid-stream: {message}",
                         code=str(err.get("code") or "upstream_error"), type="api_error")


def invalid_event(provider: str) -> UpstreamError:
    return UpstreamError(502, f"Provider {provider} sent an invalid stream event.",
                         code="upstream_bad_response", type="api_error")


@dataclass(slots=True)
class StreamState:
    """What a relayed chat stream has told us so far."""

    provider: str
    client_wants_usage: bool
    credential: Credential | None = None  # scrubbed out of the provider's error events
    usage: Usage | None = None
    output_chars: int = 0
    done: bool = False
    error: ApiError | None = None
    finish_reasons: list[str] = field(default_factory=list)

    def feed(self, event: bytes | None, data: bytes) -> tuple[bytes, ...]:
        out = translate_event(self, data)
        return (out,) if out is not None else ()


def translate_event(state: StreamState, data: bytes) -> bytes | None:
    """One upstream `data:` payload -> the frame for the client, or None to drop it."""
    if data == b"[DONE]":
        state.done = True
        return None
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        state.error = invalid_event(state.provider)
        return None
    if not isinstance(chunk, dict):
        return None
    if "error" in chunk:
        err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
        state.error = mid_stream_error(state.provider, err, state.credential)
        return None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if content:
            state.output_chars += len(content)
        text = choice.get("text")  # a legacy text completion's chunk
        if isinstance(text, str):
            state.output_chars += len(text)
        for call in delta.get("tool_calls") or ():
            state.output_chars += len((call.get("function") or {}).get("arguments") or "")
        if choice.get("finish_reason"):
            state.finish_reasons.append(choice["finish_reason"])
    usage = chunk.get("usage")
    if usage:
        state.usage = usage_from(usage)
        if not state.client_wants_usage:
            if not chunk.get("choices"):
                return None
            del chunk["usage"]
            return frame(orjson.dumps(chunk))
    return frame(data)


# -- OpenAI's Responses API, relayed natively ------------------------------------------------

_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


@dataclass(slots=True)
class ResponsesRelay:
    """OpenAI's own Responses stream, passed on event by event as it came: usage is read from
    the final response event, and a failure (`error`, `response.failed`) is noted so the call
    is recorded as failed once the client has been sent the provider's own account of it."""

    provider: str
    credential: Credential | None = None
    usage: Usage | None = None
    output_chars: int = 0
    done: bool = False
    error: ApiError | None = None

    def feed(self, event: bytes | None, data: bytes) -> tuple[bytes, ...]:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.error = invalid_event(self.provider)
            return ()
        kind = payload.get("type") if isinstance(payload, dict) else None
        if not isinstance(kind, str):
            return (frame(data, event),)
        if kind.endswith(".delta") and isinstance(payload.get("delta"), str):
            self.output_chars += len(payload["delta"])
        elif kind in _FINAL:
            response = payload.get("response") or {}
            if response.get("usage"):
                self.usage = usage_from(response["usage"])
            self.done = True
            if kind == "response.failed":
                self.error = mid_stream_error(self.provider, response.get("error") or {"message": "response failed"},
                                              self.credential)
        elif kind == "error":
            self.error = mid_stream_error(self.provider, payload, self.credential)
        return (frame(data, event),)


# -- audio ----------------------------------------------------------------------------------


def transcription_usage(content: bytes, content_type: str, measured: float, estimated: bool) -> Usage:
    """A transcription's usage: the provider's own where it gives one (whisper's
    `usage.seconds`, `duration` in verbose_json, the gpt-4o models' tokens), else the upload's
    `measured` duration. Text, SRT and VTT answers carry none."""
    data: Any = None
    if content_type.startswith("application/json"):
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            data = None
    return _transcription_usage(data if isinstance(data, dict) else {}, measured, estimated)


def _transcription_usage(data: dict[str, Any], measured: float, estimated: bool) -> Usage:
    """From a transcription object, or a stream's `transcript.text.done` event."""
    raw = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    if raw.get("type") == "tokens":
        usage = usage_from(raw)
        usage.seconds = measured
        usage.estimated = estimated  # the tokens are exact; the duration beside them may not be
        return usage
    for value in (raw.get("seconds"), data.get("duration")):
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return Usage(seconds=float(value))
    return Usage(seconds=measured, estimated=estimated)


@dataclass(slots=True)
class TranscriptRelay:
    """A streamed transcription (`transcript.text.delta` events, then `transcript.text.done`
    with the usage), passed on as it came. `usage` may be known before the stream starts (a
    transcript the gateway streams itself); else it is read from the done event."""

    provider: str
    measured: float  # the upload's duration, for a done event without usage
    estimated: bool
    credential: Credential | None = None
    usage: Usage | None = None
    output_chars: int = 0
    done: bool = False
    error: ApiError | None = None

    def feed(self, event: bytes | None, data: bytes) -> tuple[bytes, ...]:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.error = invalid_event(self.provider)
            return ()
        if not isinstance(payload, dict):
            return (frame(data, event),)
        kind = payload.get("type")
        if kind == "transcript.text.delta" and isinstance(payload.get("delta"), str):
            self.output_chars += len(payload["delta"])
        elif kind == "transcript.text.done":
            self.done = True
            if self.usage is None:
                self.usage = _transcription_usage(payload, self.measured, self.estimated)
        elif kind == "error" or "error" in payload:
            err = payload.get("error") if isinstance(payload.get("error"), dict) else payload
            self.error = mid_stream_error(self.provider, err, self.credential)
            return ()
        return (frame(data, event),)
