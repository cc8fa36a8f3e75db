"""The AIGNE Hub v2 surface (`POST /api/v2/chat` and its image/embeddings siblings), which the
published `@aigne/aigne-hub` SDK and the `aigne` CLI speak: translation in `translate`, the
routes in chalicelib/handlers/aigne_api.py."""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.billing.units import from_minor
from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.providers.base import Usage
from chalicelib.store.calls import CallRecord
from chalicelib.surfaces.aigne_hub import translate
from chalicelib.surfaces.base import Surface

NAME = "aigne"
CREDIT_PREFIXES = ("$", "€", "¥")  # all the client accepts (an empty string fails the call)


def credit_prefix() -> str | None:
    prefix = (settings().env.get("AIHUB_CREDIT_PREFIX") or "").strip()
    return prefix if prefix in CREDIT_PREFIXES else None


def billed(record: CallRecord) -> translate.Billed | None:
    """The charge of a settled call as the hub reports it, only while credit billing is on."""
    if not settings().billing:
        return None
    return translate.Billed(from_minor(record.credits or 0), record.request_id, credit_prefix())


def tokens(record: CallRecord) -> Usage:
    return Usage(input_tokens=record.prompt_tokens or 0, output_tokens=record.completion_tokens or 0,
                 cache_read_tokens=record.cache_read_tokens or 0, cache_write_tokens=record.cache_write_tokens or 0)


def model_with_provider(record: CallRecord) -> str:
    return f"{record.provider}/{record.model}" if record.provider else record.requested_model or ""


def error_body(error: ApiError) -> dict[str, Any]:
    return translate.error_body(error, settings().env.get("AIHUB_TOPUP_URL") or None)


def surface(json_out: bool = False) -> Surface:
    """The surface of one chat call: structured output comes back as `json` when asked for."""

    def render_json(body: bytes, record: CallRecord) -> bytes:
        return orjson.dumps(translate.output_from(orjson.loads(body), tokens(record), billed(record),
                                                  json_out=json_out, model_with_provider=model_with_provider(record)))

    def renderer(record: CallRecord) -> translate.OutputStream:
        return translate.OutputStream(json_out, lambda: (billed(record), model_with_provider(record)))

    return Surface(name=NAME, render_json=render_json, renderer=renderer, error_body=error_body)


SURFACE = surface()
