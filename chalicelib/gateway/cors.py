"""CORS: which browser origins may call the API (AIHUB_CORS_ORIGINS), preflights included.

No origin is allowed unless configured: the web UI is served by the gateway itself, and a
same-origin page needs no CORS. `*` is honoured only when configured as such; aihub keys
travel in headers, never cookies, so no credentials mode is ever allowed.
"""
from __future__ import annotations

from chalicelib.config import settings
from chalicelib.gateway.http import ApiRequest, ApiResponse

# What the SDKs that speak to aihub send (OpenAI's, Anthropic's, google-genai's, Stainless's
# telemetry headers); any `x-stainless-*` is allowed as well.
ALLOWED_HEADERS = ("authorization", "content-type", "x-api-key", "x-goog-api-key", "anthropic-version",
                   "anthropic-beta", "openai-beta", "openai-organization", "openai-project",
                   "x-aigne-hub-client-did")
ALLOWED_PREFIX = "x-stainless-"
EXPOSED_HEADERS = ("x-request-id", "x-aihub-provider", "x-aihub-model", "x-ratelimit-limit-requests",
                   "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests", "x-ratelimit-limit-tokens",
                   "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens", "retry-after")
MAX_AGE_S = "600"


def allowed_origin(req: ApiRequest) -> str | None:
    """The Access-Control-Allow-Origin value for this request, or None to refuse."""
    origin = req.headers.get("origin")
    if not origin:
        return None
    configured = settings().cors_origins
    if "*" in configured:
        return "*"
    return origin if origin.rstrip("/") in configured else None


def _requested_headers(req: ApiRequest) -> str:
    asked = [h.strip().lower() for h in req.headers.get("access-control-request-headers", "").split(",") if h.strip()]
    extra = [h for h in asked if h.startswith(ALLOWED_PREFIX) and h not in ALLOWED_HEADERS]
    return ", ".join((*ALLOWED_HEADERS, *extra))


def _vary(response: ApiResponse) -> None:
    current = response.headers.get("vary")
    if not current or "origin" not in current.lower():
        response.headers["vary"] = f"{current}, origin" if current else "origin"


def decorate(req: ApiRequest, response: ApiResponse) -> None:
    """An actual (not preflight) response: readable by the page when its origin is allowed."""
    if "origin" not in req.headers:
        return
    _vary(response)  # the answer depends on who asks: caches must know
    origin = allowed_origin(req)
    if origin:
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-expose-headers"] = ", ".join(EXPOSED_HEADERS)


def preflight(req: ApiRequest, methods: tuple[str, ...]) -> ApiResponse:
    """The answer to OPTIONS on a route that serves `methods`: 204, with the permissions when
    the origin is allowed (a browser then sends the real request), without them when not."""
    allow = ", ".join(sorted({*methods, "OPTIONS"}))
    response = ApiResponse(204, b"", {"allow": allow, "vary": "origin"})
    origin = allowed_origin(req)
    if origin:
        response.headers.update({
            "access-control-allow-origin": origin,
            "access-control-allow-methods": allow,
            "access-control-allow-headers": _requested_headers(req),
            "access-control-max-age": MAX_AGE_S,
        })
    return response
