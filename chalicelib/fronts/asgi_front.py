"""The streaming front: an ASGI app over the Chalice app's own route table.

It walks `app.routes` (filled by app.py) and calls the same Endpoints through the same
dispatch, but sends SSE frames as they arrive. A client that disconnects mid-stream stops the
sending; the pipeline then drains the provider so the call is still recorded in full.
"""
from __future__ import annotations

import asyncio
import gzip
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.errors import ApiError
from chalicelib.gateway.dispatch import Endpoint, dispatch, error_response, finish, not_routed, without_body
from chalicelib.gateway.http import ApiRequest, ApiResponse, fold_headers

MAX_BODY = 32 * 1024 * 1024
# The web UI's files are compressed; API bodies are not (they are small, and it would cost CPU
# on every call). On AWS, API Gateway compresses (minimum_compression_size in .chalice/config.json).
COMPRESSIBLE = ("text/html", "text/javascript", "text/css", "image/svg+xml")
MIN_COMPRESS = 1024


@lru_cache(maxsize=64)
def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, 6)


def compile_routes(chalice_app: Any) -> list[tuple[re.Pattern[str], dict[str, Endpoint]]]:
    table = []
    for path, methods in chalice_app.routes.items():
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
        table.append((pattern, {m: entry.view_function.endpoint for m, entry in methods.items()}))
    # Literal paths before parameterised ones, so /admin/keys/x never shadows a fixed route.
    table.sort(key=lambda item: item[0].pattern.count("(?P<"))
    return table


def _headers(response: ApiResponse) -> list[tuple[bytes, bytes]]:
    # A value can carry client text (the model id in x-aihub-model): it must not fail the response.
    return [(k.encode("latin-1"), v.encode("latin-1", errors="replace")) for k, v in response.headers.items()]


class AsgiApp:
    def __init__(self, chalice_app: Any) -> None:
        self.routes = compile_routes(chalice_app)

    def match(self, method: str, path: str) -> tuple[Endpoint | None, dict[str, str], list[str] | None]:
        for pattern, methods in self.routes:
            found = pattern.match(path)
            if found:
                endpoint = methods.get(method)
                return endpoint, found.groupdict(), (None if endpoint else list(methods))
        return None, {}, None

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
        endpoint, params, allowed = self.match(method, path)
        if endpoint is None:
            response = not_routed(req, allowed)
        else:
            response = await self._respond(endpoint, req, params, receive)
        if method == "HEAD":
            response = await without_body(response)
        await self._send(send, receive, response)

    async def _respond(self, endpoint: Endpoint, req: ApiRequest, params: dict[str, str], receive: Any) -> ApiResponse:
        try:
            req.body = await self._read_body(receive)
        except ApiError as error:
            return finish(req, error_response(error))
        req.params = params
        response = await dispatch(endpoint, req)
        if (isinstance(response.body, bytes) and len(response.body) >= MIN_COMPRESS
                and response.headers.get("content-type", "").startswith(COMPRESSIBLE)
                and "gzip" in req.headers.get("accept-encoding", "")):
            response.body = _gzip(response.body)
            response.headers.update({"content-encoding": "gzip", "vary": "accept-encoding"})
        return response

    @staticmethod
    async def _read_body(receive: Any) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            part = message.get("body", b"")
            size += len(part)
            if size > MAX_BODY:
                raise ApiError(413, f"The request body is larger than {MAX_BODY} bytes.", code="body_too_large")
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

    return AsgiApp(chalice_module.app)
