"""OpenAI's Responses API (POST /v1/responses) as a client surface.

`surface(ctx, keep)` is the Surface of one call (a Response object echoes its own request);
`SURFACE` is the dialect's default, which gives dispatch its error shape: OpenAI's own.
"""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.errors import ApiError
from chalicelib.store.calls import CallRecord
from chalicelib.surfaces.base import Surface
from chalicelib.surfaces.openai_responses.translate import (
    Context,
    Keep,
    ResponseEvents,
    chat_to_response,
)


def _error_body(error: ApiError) -> dict[str, Any]:
    return error.body()


def surface(ctx: Context, keep: Keep | None = None) -> Surface:
    def render_json(body: bytes, record: CallRecord) -> bytes:
        response = chat_to_response(orjson.loads(body), ctx)
        if keep is not None:
            keep(response)
        return orjson.dumps(response)

    return Surface(name="responses", render_json=render_json, renderer=lambda _record: ResponseEvents(ctx, keep),
                   error_body=_error_body)


SURFACE = surface(Context())
