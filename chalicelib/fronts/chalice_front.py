"""The Chalice front: registers each Endpoint as a Chalice view that runs the shared pipeline.

Chalice views are synchronous and API Gateway buffers every response, so each view runs the
async handler on this thread's event loop (kept for the life of a warm container, with its
pooled HTTP client) and a stream is collected into one valid SSE body.
"""
from __future__ import annotations

import importlib
from typing import Any

from chalicelib.gateway.dispatch import Endpoint, dispatch
from chalicelib.gateway.loops import event_loop
from chalicelib.gateway.http import ApiRequest, ApiResponse

async def _buffered(endpoint: Endpoint, req: ApiRequest) -> ApiResponse:
    response = await dispatch(endpoint, req)
    if response.streaming:
        response.body = b"".join([chunk async for chunk in response.body])  # type: ignore[union-attr]
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
        req = ApiRequest(
            method=current.method,
            path=current.context.get("path") or self.endpoint.path,
            headers={k.lower(): v for k, v in current.headers.items()},
            body=current.raw_body or b"",
            query=dict(current.query_params or {}),
            params=params,
        )
        response = event_loop().run_until_complete(_buffered(self.endpoint, req))
        assert isinstance(response.body, bytes)
        headers: dict[str, str | list[str]] = {**response.headers}
        return Response(body=response.body.decode(), status_code=response.status, headers=headers)


class Routes:
    """`route(method, path, handler_ref, auth=...)` declares one route of the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, method: str, path: str, handler_ref: str, *, auth: str = "key",
                 dialect: str = "openai_chat") -> None:
        endpoint = Endpoint(method, path, handler_ref, auth, dialect)
        self.app.route(path, methods=[method], name=endpoint.name)(ChaliceView(self.app, endpoint))

    def every(self, *, minutes: int, handler_ref: str) -> None:
        """A scheduled Lambda (EventBridge rate) running an async `handler()` from chalicelib.handlers."""
        from chalice import Rate

        module, _, function = handler_ref.partition(":")

        def scheduled(event: Any) -> None:
            handler = getattr(importlib.import_module(f"chalicelib.handlers.{module}"), function)
            event_loop().run_until_complete(handler())

        scheduled.__name__ = f"{module}_{function}"
        self.app.schedule(Rate(minutes, unit=Rate.MINUTES), name=scheduled.__name__)(scheduled)
