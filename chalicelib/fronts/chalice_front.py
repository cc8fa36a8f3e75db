"""The Chalice front: registers each Endpoint as a Chalice view that runs the shared pipeline.

Chalice views are synchronous and API Gateway buffers every response, so each view runs the
async handler on this thread's event loop (kept for the life of a warm container, with its
pooled HTTP client) and a stream is collected into one valid SSE body. Every GET route answers
HEAD too, and every path OPTIONS (CORS preflight).

Chalice registers each route under the path API Gateway can route (`routing.gateway_path`:
the template itself, or a prefix with a greedy `{proxy+}` tail); the view rebuilds the request
path from API Gateway's path parameters and matches it in the shared table, as the ASGI front
does, so both fronts pick the same Endpoint with the same parameters. (API Gateway routes a
`{name+}` resource itself; Chalice neither maps it to a view argument nor matches it
locally, aws/chalice#2012, which is why the view reads the event's pathParameters.)
"""
from __future__ import annotations

import importlib
from typing import Any

from chalicelib.gateway.dispatch import Endpoint, dispatch, routed, secure, without_body
from chalicelib.gateway.http import ApiRequest, ApiResponse, fold_headers
from chalicelib.gateway.loops import event_loop
from chalicelib.gateway.routing import RouteTable, concrete_path, gateway_path
from chalicelib.observability import logs


# API Gateway passes these bodies through base64 (binaryMediaTypes, which Chalice derives from
# app.api.binary_types): audio uploads in, generated speech out.
BINARY_TYPES = ("multipart/form-data", "audio/mpeg", "audio/opus", "audio/aac", "audio/flac", "audio/wav",
                "audio/pcm", "audio/ogg", "audio/webm", "audio/mp4", "application/octet-stream")


def _binary(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in BINARY_TYPES


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
    """The Chalice view of one gateway path: finds the Endpoint in the shared table and runs it."""

    def __init__(self, app: Any, table: RouteTable[Endpoint], path: str, name: str) -> None:
        self.app = app
        self.table = table
        self.path = path  # as registered with Chalice (API Gateway's resource path)
        self.__name__ = name

    def __call__(self, **_: str) -> Any:
        from chalice import Response

        current = self.app.current_request
        headers, repeated = fold_headers(_header_pairs(current))
        params = current.to_original_event().get("pathParameters") or {}
        req = ApiRequest(
            method=current.method,
            path=concrete_path(self.path, params),
            headers=headers,
            body=current.raw_body or b"",
            query=dict(current.query_params or {}),
            repeated=repeated,
        )
        response = event_loop().run_until_complete(self._respond(req))
        assert isinstance(response.body, bytes)
        out: dict[str, str | list[str]] = {**response.headers}
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        # Bytes of a binary type are sent base64-encoded by Chalice (API Gateway decodes them).
        body = response.body if media in self.app.api.binary_types else response.body.decode()
        return Response(body=body, status_code=response.status, headers=out)

    async def _respond(self, req: ApiRequest) -> ApiResponse:
        found = self.table.match(req.method, req.path)
        endpoint = found.target if found else None
        early = routed(endpoint, req, found.allowed if found else ())
        if early is not None:
            return early
        assert endpoint is not None and found is not None
        req.params = found.params
        return await _buffered(endpoint, req)


class Routes:
    """`route(method, path, handler_ref, auth=...)` declares one route of the app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.table: RouteTable[Endpoint] = RouteTable()  # what both fronts match requests in
        self.endpoints: list[Endpoint] = []
        # Hosted files (chalicelib/blobs) that Chalice does not already know as binary, and the
        # Accept the openai SDK's download_content sends: API Gateway returns a binary body
        # decoded only to a request that accepts a binary type.
        app.api.binary_types.extend(t for t in ("video/mp4", "image/webp", "application/binary")
                                    if t not in app.api.binary_types)
        logs.configure()
        # Chalice answers some requests itself (405, 415) without reaching a view.
        app.register_middleware(_secured, "http")
        app.api.binary_types = sorted({*app.api.binary_types, *BINARY_TYPES})

    def __call__(self, method: str, path: str, handler_ref: str, *, auth: str = "key",
                 dialect: str = "openai_chat", content_types: list[str] | None = None) -> None:
        """One route; `path` may hold greedy parameters (`{id+}`, see chalicelib.gateway.routing).
        `content_types`: the request bodies Chalice lets through (else JSON only)."""
        endpoint = Endpoint(method, path, handler_ref, auth, dialect, uploads=bool(content_types))
        methods = [method, "HEAD"] if method == "GET" else [method]
        for each in methods:
            self.table.add(each, path, endpoint)
        self.endpoints.append(endpoint)
        # Routes that share a gateway path share its registrations (one per method).
        registered = gateway_path(path)
        taken = self.app.routes.get(registered, {})
        new = [m for m in [*methods, "OPTIONS"] if m not in taken]
        if new:
            view = ChaliceView(self.app, self.table, registered, endpoint.name)
            options = {"content_types": content_types} if content_types else {}
            self.app.route(registered, methods=new, name=endpoint.name, **options)(view)

    def every(self, *, minutes: int, handler_ref: str) -> None:
        """A scheduled Lambda (EventBridge rate) running an async `handler()` from chalicelib.handlers."""
        from chalice import Rate

        module, _, function = handler_ref.partition(":")

        def scheduled(event: Any) -> None:
            handler = getattr(importlib.import_module(f"chalicelib.handlers.{module}"), function)
            event_loop().run_until_complete(handler())

        scheduled.__name__ = f"{module}_{function}"
        self.app.schedule(Rate(minutes, unit=Rate.MINUTES), name=scheduled.__name__)(scheduled)
