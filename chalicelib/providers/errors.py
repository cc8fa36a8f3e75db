"""Mapping a provider's failure to what the client sees, shared by every adapter.

Client-fault statuses (400, 404, 409, 413, 422) and 429 pass through with the provider's own
message. A 401/403/402 from a provider is about the gateway's credential, not the client's
key, so the client gets a 502 that says so. Provider 5xx become 502 (503 when overloaded),
timeouts 504. Every message is scrubbed of the credential's secret, in every form of it.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import orjson

from chalicelib.errors import bad_request
from chalicelib.credentials.redact import redact
from chalicelib.providers.base import Credential, UpstreamError

P = ParamSpec("P")
R = TypeVar("R")

GATEWAY_BUSY = "gateway_busy"  # the gateway's own connection pool is full: no provider's fault
PASS_THROUGH = {400, 404, 409, 413, 415, 422, 429}
OVERLOADED = {503, 529}


def scrub(text: str, credential: Credential | None) -> str:
    """`text` without the credential's secret in any form (chalicelib.credentials.redact)."""
    secret = credential.secret if credential else None
    values = secret.values() if isinstance(secret, dict) else [secret]
    return redact(text, [v for v in values if isinstance(v, str)])


def error_fields(body: bytes) -> dict[str, Any]:
    """The `error` object of an error body in any of the common shapes, else {}."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"message": body[:300].decode(errors="replace").strip()} if body.strip() else {}
    if isinstance(data, list) and data and isinstance(data[0], dict):  # Gemini wraps in a list
        data = data[0]
    if not isinstance(data, dict):
        return {}
    err = data.get("error", data)
    if isinstance(err, str):
        return {"message": err}
    return err if isinstance(err, dict) else {}


def from_status(
    provider: str,
    status: int,
    body: bytes,
    credential: Credential | None,
    headers: dict[str, str] | None = None,
) -> UpstreamError:
    fields = error_fields(body)
    message = scrub(str(fields.get("message") or f"HTTP {status}"), credential)
    code = fields.get("code")
    code = str(code) if code is not None else None
    etype = fields.get("type") if isinstance(fields.get("type"), str) else None
    param = fields.get("param") if isinstance(fields.get("param"), str) else None
    retry = {"retry-after": headers["retry-after"]} if headers and "retry-after" in headers else None
    if status in PASS_THROUGH:
        return UpstreamError(status, message, code=code, type=etype, param=param, upstream_status=status, headers=retry)
    if status in (401, 403):
        return UpstreamError(502, f"Provider {provider} rejected the gateway's credential: {message}",
                             code="upstream_auth_failed", type="api_error", upstream_status=status)
    if status == 402:
        return UpstreamError(502, f"Provider {provider} refused the call for lack of credit: {message}",
                             code="upstream_quota_exceeded", type="api_error", upstream_status=status)
    if status in OVERLOADED:
        return UpstreamError(503, f"Provider {provider} is overloaded: {message}", code="upstream_overloaded",
                             type="api_error", upstream_status=status, headers=retry)
    return UpstreamError(502, f"Provider {provider} failed (HTTP {status}): {message}", code="upstream_error",
                         type="api_error", upstream_status=status)


def json_object(body: bytes, provider: str) -> dict[str, Any]:
    """A provider's JSON object answer; anything else is the provider's fault (502)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise bad_response(provider, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise bad_response(provider, "the body is not a JSON object")
    return data


def timeout(provider: str) -> UpstreamError:
    return UpstreamError(504, f"Provider {provider} did not answer in time.", code="upstream_timeout", type="api_error")


def unreachable(provider: str, exc: BaseException) -> UpstreamError:
    return UpstreamError(502, f"Provider {provider} could not be reached ({type(exc).__name__}).",
                         code="upstream_unreachable", type="api_error")


def bad_response(provider: str, what: str) -> UpstreamError:
    return UpstreamError(502, f"Provider {provider} sent an invalid response: {what}.",
                         code="upstream_bad_response", type="api_error")


def unsupported(provider: str, what: str) -> UpstreamError:
    """The provider has no such endpoint at all: the client's 400, never retried elsewhere."""
    return UpstreamError(400, f"Provider {provider} does not offer {what}; pick a model of a provider that does.",
                         code="unsupported_by_provider", param="model")


def gateway_busy(provider: str) -> UpstreamError:
    """Every pooled upstream connection stayed busy for the pool timeout. Not the provider's or
    the credential's fault, and another credential would wait on the same pool: not retried."""
    return UpstreamError(503, f"The gateway has no free connection to provider {provider} right now; retry shortly.",
                         code=GATEWAY_BUSY, type="api_error", headers={"retry-after": "1"})


# What a translator raises when a part of the client's body has a shape it did not expect
# (a missing key, a number where text belongs, a string where a list belongs).
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def request_translation(translate: Callable[P, R]) -> Callable[P, R]:
    """Marks a function that turns the client's body into a provider's: a malformed part is the
    client's 400, raised before anything is sent upstream, not the gateway's 500."""

    @functools.wraps(translate)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return translate(*args, **kwargs)
        except MALFORMED as exc:
            detail = f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else str(exc)
            raise bad_request(f"The request has a malformed part: {detail[:200]}.") from None

    return checked
