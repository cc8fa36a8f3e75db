"""The one way a request reaches a handler, whichever front it came through.

Authenticates as the route demands, turns every error into OpenAI's JSON shape (a bug becomes
a logged 500 with no trace in the body), and stamps `x-request-id` and the security headers on
every response, 404 and 405 included.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chalicelib.errors import ApiError, internal_error
from chalicelib.gateway import cors
from chalicelib.gateway.http import ApiRequest, ApiResponse, body_limit, json_response
from chalicelib.gateway.loops import offload
from chalicelib.observability import logs

log = logging.getLogger("aihub")

Handler = Callable[[ApiRequest, object], Awaitable[ApiResponse]]
AUTH_MODES = ("none", "key", "admin")
# Handler modules whose work is SQLite reads and writes at length, or CPU for a good while (the
# OpenAPI document's one build): run off the server's loop.
OFFLOADED = frozenset({"admin", "billing", "connect", "metrics", "openapi_spec", "providers", "usage"})

# API answers are data, never a page: nothing may run, load or frame them, browsers must not
# guess another type, and no URL leaks through Referer. A response that sets its own policy
# (the web UI's page) keeps it.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler_ref: str  # "module:function" under chalicelib.handlers, imported on first use
    auth: str = "key"
    dialect: str = "openai_chat"  # the surface (chalicelib/surfaces/<dialect>) whose error shape answers
    uploads: bool = False  # takes file uploads (multipart): AIHUB_AUDIO_MAX_BYTES may raise its body limit
    _resolved: list[Handler] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {AUTH_MODES}")

    @property
    def offloaded(self) -> bool:
        return self.handler_ref.partition(":")[0] in OFFLOADED

    @property
    def name(self) -> str:
        return self.handler_ref.replace(":", "_")

    def handler(self) -> Handler:
        if not self._resolved:
            module, _, function = self.handler_ref.partition(":")
            self._resolved.append(getattr(importlib.import_module(f"chalicelib.handlers.{module}"), function))
        return self._resolved[0]


def error_response(error: ApiError, dialect: str = "openai_chat") -> ApiResponse:
    if dialect == "openai_chat":
        return json_response(error.body(), error.status, error.headers)
    surface = importlib.import_module(f"chalicelib.surfaces.{dialect}").SURFACE
    return json_response(surface.error_body(error), error.status, error.headers)


def secure(headers: dict[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


def finish(req: ApiRequest, response: ApiResponse) -> ApiResponse:
    """What every response leaving the gateway carries, whichever front and path it took."""
    secure(response.headers)
    cors.decorate(req, response)
    response.headers["x-request-id"] = req.request_id
    # A stream's line is written when its headers go: its status is known, its length is not.
    logs.access_line(req.method, req.path, response.status, req.started, req.request_id)
    return response


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit} bytes ({limit / 2**20:.3g} MiB), the most this "
                         "route takes (AIHUB_MAX_BODY; AIHUB_MAX_ADMIN_BODY for /admin routes).", code="body_too_large")


def routed(endpoint: Endpoint | None, req: ApiRequest, allowed: tuple[str, ...]) -> ApiResponse | None:
    """The answer a front gives without running a handler: a preflight, 404 or 405, or a body
    over the limit (in the route's own dialect); None when the endpoint should run."""
    if req.method == "OPTIONS" and allowed:
        return finish(req, cors.preflight(req, allowed))
    if endpoint is None:
        return not_routed(req, list(allowed))
    if len(req.body) > (limit := body_limit(endpoint.auth, endpoint.uploads)):  # the Chalice front reads bodies whole
        return finish(req, error_response(body_too_large(limit), endpoint.dialect))
    return None


async def dispatch(endpoint: Endpoint, req: ApiRequest) -> ApiResponse:
    logs.request_id.set(req.request_id)  # every log line of this request names it
    try:
        who = None
        if endpoint.auth != "none":
            from chalicelib.gateway.auth import authenticate

            who = authenticate(req, admin=endpoint.auth == "admin")
        handler = endpoint.handler()
        if endpoint.offloaded:
            response = await offload(lambda: handler(req, who))
        else:
            response = await handler(req, who)
    except ApiError as error:
        response = error_response(error, endpoint.dialect)
    except Exception:
        log.exception("unhandled error in %s %s (request %s)", req.method, req.path, req.request_id)
        response = error_response(internal_error(), endpoint.dialect)
    return finish(req, response)


def not_routed(req: ApiRequest, allowed: list[str] | None) -> ApiResponse:
    if allowed:
        error = ApiError(405, f"{req.method} is not allowed on {req.path}; use {', '.join(sorted(allowed))}.",
                         code="method_not_allowed", headers={"allow": ", ".join(sorted(allowed))})
    else:
        error = ApiError(404, f"No route {req.method} {req.path}.", code="route_not_found")
    return finish(req, error_response(error))


async def without_body(response: ApiResponse) -> ApiResponse:
    """The answer to HEAD: the GET's status and headers, no body (a stream is closed unread,
    so a HEAD of the CSV export costs no query)."""
    if isinstance(response.body, bytes):
        response.headers["content-length"] = str(len(response.body))
    else:
        await response.body.aclose()
    response.body = b""
    return response
