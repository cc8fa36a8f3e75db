"""What every provider adapter speaks: targets, usage, results, streams, upstream errors.

An adapter takes an OpenAI-shaped request body and a `Target` (which provider, which of its
models, which credential) and returns OpenAI-shaped bytes plus normalised `Usage`. Streams are
`ChatStream`s: client-ready SSE frames, with usage filled in as the provider reports it.
"""
from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.errors import ApiError

if TYPE_CHECKING:  # annotations only: a chat call needs neither uploads nor the blob store
    from chalicelib.api.multipart import Part
    from chalicelib.blobs import Blob


@dataclass(slots=True)
class Usage:
    """Normalised usage. Input is split so each token is counted once:
    `input_tokens` are plain input, cache reads and writes are apart from them;
    `reasoning_tokens` are part of `output_tokens`."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    images: int = 0
    seconds: float | None = None
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    secret: str | dict[str, str] | None


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider: the adapter (`kind`) and its per-provider settings."""

    name: str
    kind: str
    base_url: str
    key_env: str | None = None  # environment fallback for the credential
    base_url_env: str | None = None
    key_required: bool = True
    auth_header: str = "authorization"
    auth_scheme: str = "Bearer "
    extra_headers: tuple[tuple[str, str], ...] = ()  # the adapter's own (anthropic-version...)
    sealed_headers: str | None = None  # the operator's, encrypted (chalicelib.credentials.sealed_headers)
    region: str | None = None
    # For credentials of several fields (AWS): (field, env var) pairs; the first is required.
    secret_env: tuple[tuple[str, str], ...] = ()
    models: tuple[str, ...] = ()  # models listed by /v1/models when the provider is usable
    closed_models: bool = False  # serves only `models` (else any id the provider knows passes)
    model_map: tuple[tuple[str, str], ...] = ()  # client-facing id -> provider's own id
    # A bare model name reaches this provider only when model_map knows it (its own ids differ).
    bare_names_mapped_only: bool = False
    enabled: bool = True
    display_name: str | None = None
    connect_timeout: float | None = None  # seconds; None: the gateway default
    read_timeout: float | None = None
    builtin: bool = True
    # Serves OpenAI's Responses API (/responses) itself: Responses calls go to it natively.
    responses_api: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    def upstream_model(self, model: str) -> str:
        return dict(self.model_map).get(model, model)


@dataclass(frozen=True, slots=True)
class Target:
    provider: ProviderSpec
    model: str  # the provider's own model id
    credential: Credential


@dataclass(slots=True)
class Result:
    body: bytes  # OpenAI-shaped JSON for the client (or the text, SRT or VTT of a transcript)
    usage: Usage
    ttfb_ms: float | None = None
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class AudioUpload:
    """A transcription or translation request: the client's form as it came, and what the
    gateway read from it."""

    task: str  # "transcriptions" | "translations": OpenAI's path, and what is asked
    parts: tuple[Part, ...]  # every form part, in the client's order
    file: Part
    response_format: str
    prompt: str | None
    language: str | None
    seconds: float  # the upload's duration: exact from a WAV header, else estimated from its size
    seconds_estimated: bool


@dataclass(slots=True)
class AudioStream:
    """Generated speech: the provider's bytes, relayed as they arrive."""

    content_type: str
    chunks: AsyncIterator[bytes]
    usage: Usage
    ttfb_ms: float | None = None
    on_close: Callable[[], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        if self.on_close is not None:
            close, self.on_close = self.on_close, None
            await close()


@dataclass(slots=True)
class VideoResult:
    """A finished video call: its files, already in the blob store, and what it is billed."""

    blobs: list[Blob]
    usage: Usage  # usage.seconds: seconds of video made, all files together
    seconds: float  # the length of each video
    size: str | None = None  # WIDTHxHEIGHT, when known
    ttfb_ms: float | None = None


class UpstreamError(ApiError):
    """A provider's failure, already mapped to what the client should see."""

    def __init__(self, status: int, message: str, *, code: str | None = None, type: str | None = None,
                 param: str | None = None, upstream_status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, code=code, type=type, param=param, headers=headers)
        self.upstream_status = upstream_status


class Uncheckable(Exception):
    """The provider has no call that tests a key without spending money."""


class ChatStream(Protocol):
    usage: Usage | None
    ttfb_ms: float | None
    error: ApiError | None  # set when the provider failed mid-stream

    def batches(self) -> AsyncGenerator[list[bytes], None]:
        """Client-ready SSE frames, without the final `data: [DONE]`: those of each provider
        read at once, so the relay can write them in one go."""
        ...

    async def aclose(self) -> None: ...


class Adapter(Protocol):
    async def check(self, target: Target) -> None:
        """A cheap live call proving the credential works; raises UpstreamError if not, or
        Uncheckable when the provider has no such call."""
        ...

    async def chat(self, target: Target, body: dict[str, Any]) -> Result: ...

    async def chat_stream(self, target: Target, body: dict[str, Any]) -> ChatStream: ...

    async def embeddings(self, target: Target, body: dict[str, Any]) -> Result: ...

    async def images(self, target: Target, body: dict[str, Any]) -> Result: ...

    async def transcription(self, target: Target, upload: AudioUpload) -> Result:
        """A transcript (or English translation) of the upload in its `response_format`; a
        provider without speech recognition raises a 400 (`errors.unsupported`)."""
        ...

    async def transcription_stream(self, target: Target, upload: AudioUpload) -> ChatStream:
        """The same as OpenAI's stream of `transcript.text.delta` and `transcript.text.done`
        events (usage on the done event)."""
        ...

    async def speech(self, target: Target, body: dict[str, Any]) -> AudioStream:
        """OpenAI's speech body -> the audio, streamed; usage counts the input's characters."""

    async def video(self, target: Target, body: dict[str, Any]) -> VideoResult:
        """Make a video (create, poll until done, download into the blob store); the body is
        OpenAI's (model, prompt, seconds, size). An adapter without video leaves it out: the
        pipeline answers 400."""
        ...
