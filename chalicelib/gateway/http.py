"""The framework-agnostic request and response that both fronts (Chalice, ASGI) speak.

Handlers take an `ApiRequest` and return an `ApiResponse`; the body of a response is either
bytes or an async iterator of bytes (an SSE stream). Each front converts from and to its own
framework, so no handler knows which one it runs under.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import AsyncGenerator, Collection
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.config import settings

JSON = "application/json"
SSE = "text/event-stream"


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


@dataclass(slots=True)
class ApiRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    query: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    request_id: str = field(default_factory=new_request_id)
    repeated: frozenset[str] = frozenset()  # header names the client sent more than once
    started: float = field(default_factory=time.perf_counter)  # for the access log's duration


def fold_headers(pairs: Collection[tuple[str, str]]) -> tuple[dict[str, str], frozenset[str]]:
    """Header fields as a dict of lower-cased names, and the names that came more than once.

    A repeated field's values are joined with ", " as HTTP does (RFC 9110, 5.3), so no value
    silently replaces another; the caller decides whether a repetition is acceptable.
    """
    headers = {name.lower(): value for name, value in pairs}
    if len(headers) == len(pairs):  # the usual case: nothing repeated, one pass
        return headers, frozenset()
    headers, repeated = {}, set()
    for name, value in pairs:
        name = name.lower()
        if name in headers:
            repeated.add(name)
            headers[name] += ", " + value
        else:
            headers[name] = value
    return headers, frozenset(repeated)


@dataclass(slots=True)
class ApiResponse:
    status: int
    body: bytes | AsyncGenerator[bytes, None]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def streaming(self) -> bool:
        return not isinstance(self.body, bytes)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, orjson.dumps(data), {"content-type": JSON, **(headers or {})})


def raw_json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, body, {"content-type": JSON, **(headers or {})})


def sse_response(stream: AsyncGenerator[bytes, None], headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(
        200,
        stream,
        {"content-type": SSE, "cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})},
    )


FORM_OVERHEAD = 1024 * 1024


def body_limit(auth: str, uploads: bool = False) -> int:
    """The largest body a route takes, in bytes, by who may call it (AIHUB_MAX_BODY, AIHUB_MAX_ADMIN_BODY)."""
    cfg = settings()
    if auth == "admin":
        return cfg.max_admin_body
    if uploads:  # an audio limit set above the body limit raises it, with room for the other fields
        return max(cfg.max_body, cfg.audio_max_bytes + FORM_OVERHEAD)
    return cfg.max_body

