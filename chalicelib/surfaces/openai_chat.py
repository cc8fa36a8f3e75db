"""OpenAI chat completions: the internal dialect itself, so rendering is the identity."""
from __future__ import annotations

import orjson

from chalicelib.errors import ApiError
from chalicelib.providers import sse
from chalicelib.providers.base import Usage
from chalicelib.store.calls import CallRecord
from chalicelib.surfaces.base import Surface


class Relay:
    """Frames pass as they are; the stream ends with `[DONE]`, or an error event."""

    passes_through = True

    def feed(self, frame: bytes) -> bytes:
        return frame

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        return sse.frame(orjson.dumps(error.body())) if error else sse.DONE


def _identity(body: bytes, record: CallRecord) -> bytes:
    return body


def _relay(record: CallRecord) -> Relay:
    return Relay()


def _error_body(error: ApiError) -> dict:
    return error.body()


SURFACE = Surface(name="openai", render_json=_identity, renderer=_relay, error_body=_error_body)
