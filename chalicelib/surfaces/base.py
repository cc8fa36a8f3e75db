"""What a client dialect (a "surface") hands the pipeline, and how it renders what comes back.

The internal representation is OpenAI's chat-completions body: a surface translates its
request into one, and renders the OpenAI-shaped answer, stream frames and errors in its own
wire format. Where the provider already speaks the surface's dialect (`Native.kinds`), the
client's own body goes up unchanged but for the model id and credential, and what the
provider sends back passes through as it is: nothing the internal form lacks is lost.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from chalicelib.errors import ApiError
from chalicelib.providers import sse
from chalicelib.providers.base import (
    Adapter,
    ChatStream,
    ProviderSpec,
    Result,
    Target,
    Usage,
)
from chalicelib.store.calls import CallRecord


class StreamRenderer(Protocol):
    """Turns one stream's frames into the surface's SSE frames, one renderer per call. One
    whose `feed` returns every frame as it is says so with a true `passes_through` attribute,
    and is not called per frame."""

    def feed(self, frame: bytes) -> bytes:
        """One client-ready SSE frame of the adapter's stream -> the surface's frames (maybe b"")."""
        ...

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        """The surface's closing frames (OpenAI's `[DONE]`, Anthropic's nothing, an error event)."""
        ...


@dataclass(frozen=True, slots=True)
class Native:
    """The path for providers that speak the surface's own dialect."""

    kinds: frozenset[str]  # adapter kinds (ProviderSpec.kind) that take the client's body as is
    call: Callable[[Adapter, Target], Awaitable[Result]]
    # Both None for a call that never streams (embeddings).
    call_stream: Callable[[Adapter, Target], Awaitable[ChatStream]] | None = None
    renderer: Callable[[], StreamRenderer] | None = None  # for native frames: usually passes them through
    # Narrows `kinds` to the providers that really speak the dialect (OpenAI-compatible
    # endpoints don't all serve OpenAI's /responses); None: every provider of those kinds.
    accepts: Callable[[ProviderSpec], bool] | None = None

    def serves(self, provider: ProviderSpec) -> bool:
        return provider.kind in self.kinds and (self.accepts is None or self.accepts(provider))


@dataclass(frozen=True, slots=True)
class Surface:
    name: str  # recorded on the call ("openai", "anthropic", "responses", "gemini", "aigne")
    # Both get the call's record, settled by the time they render the end of the answer (its
    # credits and request id), for the dialects that report the charge in the answer (AIGNE Hub).
    render_json: Callable[[bytes, CallRecord], bytes]  # OpenAI chat-completion JSON -> the surface's JSON
    renderer: Callable[[CallRecord], StreamRenderer]  # OpenAI chunk frames -> the surface's frames
    error_body: Callable[[ApiError], dict[str, Any]]  # the surface's error shape


def chat_chunk(frame: bytes) -> dict[str, Any] | None:
    """The OpenAI chat chunk in one client-ready SSE frame of the internal stream; None for the
    closing `[DONE]` or a frame without data."""
    _, data = sse.parse_event(frame.strip())
    if not data or data == b"[DONE]":
        return None
    return orjson.loads(data)
