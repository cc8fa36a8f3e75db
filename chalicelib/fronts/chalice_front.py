"""The Chalice front: registers each Endpoint as a Chalice view that runs the shared pipeline.

Chalice views are synchronous and API Gateway buffers every response, so each view runs the
async handler on this thread's event loop (kept for the life of a warm container, with its
pooled HTTP client) and a stream is collected into one valid SSE body. Every GET route answers
HEAD too (the ASGI front finds both in the same table).
"""
from __future__ import annotations

import importlib
from typing import Any

from chalicelib.gateway.dispatch import Endpoint, dispatch, secure, without_body
from chalicelib.gateway.http import ApiRequest, ApiResponse, fold_headers
from chalicelib.gateway.loops import event_loop
from chalicelib.observability import logs

async def _buffered(endpoint: Endpoint, req: ApiRequest) -> ApiResponse:
    response = await dispatch(endpoint, req)
    if req.method == "HEAD":
        return await without_body(response)
    if response.streaming:
        response.body = b"".join([chunk async for chunk in response.body])  # type: ignore[union-attr]
    return response


def _header_pairs(current: Any) -> list[tuple[str, str]]:
    """Every header field as sent: API Gateway keeps repeats only in multiValueHeaders
    (its `headers` holds the last value of each)."""
    multi = current.to_original_event().get("multiValueHeaders")
    if multi:
        return [(name, value) for name, values in multi.items() for value in values or ()]
    return list(current.headers.items())


def _secured(event: Any, get_response: Any) -> Any:
    response = get_response(event)
    secure(response.headers)
    return response


class ChaliceView:
    """A Chalice view function that carries its Endpoint, so other fronts can find it."""

    def __init__(self, app: Any, endpoint: Endpoint) -> None:
        self.app = app
        self.endpoint = endpoint
        self.__name__ = endpoint.name

    def __call__(self, **params: str) -> Any:
        from chalice import Response

        current = self.app.current_request
        headers, repeated = fold_headers(_header_pairs(current))
        req = ApiRequest(
            method=current.method,
            path=current.context.get("path") or self.endpoint.path,
            headers=headers,
            body=current.raw_body or b"",
            query=dict(current.query_params or {}),
            params=params,
            repeated=repeated,
        )
        response = event_loop().run_until_complete(_buffered(self.endpoint, req))
        assert isinstance(response.body, bytes)
        headers: dict[str, str | list[str]] = {**response.headers}
        return Response(body=response.body.decode(), status_code=response.status, headers=headers)


class Routes:
    """`route(method, path, handler_ref, auth=...)` declares one route of the app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        logs.configure()
        # Chalice answers some requests itself (405, 415) without reaching a view.
        app.register_middleware(_secured, "http")

    def __call__(self, method: str, path: str, handler_ref: str, *, auth: str = "key",
                 dialect: str = "openai_chat") -> None:
        endpoint = Endpoint(method, path, handler_ref, auth, dialect)
        methods = [method, "HEAD"] if method == "GET" else [method]
        self.app.route(path, methods=methods, name=endpoint.name)(ChaliceView(self.app, endpoint))

    def every(self, *, minutes: int, handler_ref: str) -> None:
        """A scheduled Lambda (EventBridge rate) running an async `handler()` from chalicelib.handlers."""
        from chalice import Rate

        module, _, function = handler_ref.partition(":")

        def scheduled(event: Any) -> None:
            handler = getattr(importlib.import_module(f"chalicelib.handlers.{module}"), function)
            event_loop().run_until_complete(handler())

        scheduled.__name__ = f"{module}_{function}"
        self.app.schedule(Rate(minutes, unit=Rate.MINUTES), name=scheduled.__name__)(scheduled)
