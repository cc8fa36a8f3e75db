"""The one way a request reaches a handler, whichever front it came through.

Authenticates as the route demands, turns every error into OpenAI's JSON shape (a bug becomes
a logged 500 with no trace in the body), and stamps `x-request-id` on every response.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chalicelib.errors import ApiError, internal_error
from chalicelib.gateway.http import ApiRequest, ApiResponse, body_limit, check_body_size, json_response

log = logging.getLogger("aihub")

Handler = Callable[[ApiRequest, object], Awaitable[ApiResponse]]
AUTH_MODES = ("none", "key", "admin")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler_ref: str  # "module:function" under chalicelib.handlers, imported on first use
    auth: str = "key"
    _resolved: list[Handler] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"auth must be one of {AUTH_MODES}")

    @property
    def name(self) -> str:
        return self.handler_ref.replace(":", "_")

    def handler(self) -> Handler:
        if not self._resolved:
            module, _, function = self.handler_ref.partition(":")
            self._resolved.append(getattr(importlib.import_module(f"chalicelib.handlers.{module}"), function))
        return self._resolved[0]


def error_response(error: ApiError) -> ApiResponse:
    return json_response(error.body(), error.status, error.headers)


async def dispatch(endpoint: Endpoint, req: ApiRequest) -> ApiResponse:
    try:
        check_body_size(len(req.body), body_limit(endpoint.auth))  # the Chalice front reads bodies whole
        who = None
        if endpoint.auth != "none":
            from chalicelib.gateway.auth import authenticate

            who = authenticate(req, admin=endpoint.auth == "admin")
        response = await endpoint.handler()(req, who)
    except ApiError as error:
        response = error_response(error)
    except Exception:
        log.exception("unhandled error in %s %s (request %s)", req.method, req.path, req.request_id)
        response = error_response(internal_error())
    response.headers["x-request-id"] = req.request_id
    return response


def not_routed(req: ApiRequest, allowed: list[str] | None) -> ApiResponse:
    if allowed:
        error = ApiError(405, f"{req.method} is not allowed on {req.path}; use {', '.join(sorted(allowed))}.",
                         code="method_not_allowed", headers={"allow": ", ".join(sorted(allowed))})
    else:
        error = ApiError(404, f"No route {req.method} {req.path}.", code="route_not_found")
    response = error_response(error)
    response.headers["x-request-id"] = req.request_id
    return response
