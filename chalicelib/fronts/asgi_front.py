"""The streaming front: an ASGI app over app.py's route table.

It matches the same Endpoints (`Routes.table`, filled by app.py) and calls them through the
same dispatch, but sends SSE frames as they arrive. A client that disconnects mid-stream stops the
sending; the pipeline then drains the provider so the call is still recorded in full.
"""
from __future__ import annotations

import asyncio
import gzip
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.gateway.dispatch import Endpoint, body_too_large, dispatch, error_response, finish, routed, without_body
from chalicelib.gateway.http import ApiRequest, ApiResponse, body_limit, fold_headers
from chalicelib.gateway.routing import RouteTable

# The web UI's files are compressed; API bodies are not (they are small, and it would cost CPU
# on every call). On AWS, API Gateway compresses (minimum_compression_size in .chalice/config.json).
COMPRESSIBLE = ("text/html", "text/javascript", "text/css", "image/svg+xml")
MIN_COMPRESS = 1024


@lru_cache(maxsize=64)
def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, 6)


def _headers(response: ApiResponse) -> list[tuple[bytes, bytes]]:
    # A value can carry client text (the model id in x-aihub-model): it must not fail the response.
    return [(k.encode("latin-1"), v.encode("latin-1", errors="replace")) for k, v in response.headers.items()]


class _TooLarge(Exception):
    pass


class AsgiApp:
    def __init__(self, routes: RouteTable[Endpoint]) -> None:
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        headers, repeated = fold_headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        req = ApiRequest(
            method=method,
            path=path,
            headers=headers,
            query=dict(parse_qsl(scope["query_string"].decode("latin-1"))),
            repeated=repeated,
        )
        found = self.routes.match(method, path)
        endpoint, allowed = (found.target, found.allowed) if found else (None, ())
        response = None
        if endpoint is not None:
            limit = body_limit(endpoint.auth, endpoint.uploads)
            try:
                req.body = await self._read_body(receive, limit)
            except _TooLarge:
                response = finish(req, error_response(body_too_large(limit), endpoint.dialect))
        response = response or routed(endpoint, req, allowed)
        if response is None:
            assert endpoint is not None and found is not None
            req.params = found.params
            response = await self._respond(endpoint, req)
        if method == "HEAD":
            response = await without_body(response)
        await self._send(send, receive, response)

    async def _respond(self, endpoint: Endpoint, req: ApiRequest) -> ApiResponse:
        response = await dispatch(endpoint, req)
        if (isinstance(response.body, bytes) and len(response.body) >= MIN_COMPRESS
                and response.headers.get("content-type", "").startswith(COMPRESSIBLE)
                and "gzip" in req.headers.get("accept-encoding", "")):
            response.body = _gzip(response.body)
            vary = response.headers.get("vary")
            response.headers.update({"content-encoding": "gzip",
                                     "vary": f"{vary}, accept-encoding" if vary else "accept-encoding"})
        return response

    @staticmethod
    async def _read_body(receive: Any, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            part = message.get("body", b"")
            size += len(part)
            if size > limit:  # refused while it arrives: an oversized body is never held whole
                raise _TooLarge
            parts.append(part)
            if not message.get("more_body"):
                break
        return b"".join(parts)

    async def _send(self, send: Any, receive: Any, response: ApiResponse) -> None:
        if isinstance(response.body, bytes):
            # A HEAD answer keeps the length of the body it leaves out.
            response.headers.setdefault("content-length", str(len(response.body)))
            await send({"type": "http.response.start", "status": response.status, "headers": _headers(response)})
            await send({"type": "http.response.body", "body": response.body})
            return
        stream = response.body
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": response.status, "headers": _headers(response)})
            async for frame in stream:
                if gone.is_set():
                    break
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        finally:
            watcher.cancel()
            await stream.aclose()

    @staticmethod
    async def _lifespan(receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                from chalicelib.gateway import background as jobs
                from chalicelib.handlers.maintenance import run_forever
                from chalicelib.providers import http_client

                http_client.for_server()

                background = asyncio.create_task(run_forever())
                jobs.enable()  # this loop lives on: work may outlast its request (video jobs)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                from chalicelib.providers.http_client import aclose_all

                background.cancel()
                jobs.cancel_all()
                await aclose_all()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app() -> AsgiApp:
    """The ASGI application of `aihub serve` (uvicorn factory)."""
    import app as chalice_module

    return AsgiApp(chalice_module.route.table)
