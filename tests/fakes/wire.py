"""ASGI plumbing shared by the fake upstream's rules: requests in, replies out.

Kept free of matching logic so the hot path (read body, send precomputed
bytes) stays easy to see and cheap to run.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

try:  # orjson is a gateway dependency; fall back so the fake never needs it.
    import orjson

    dumps: Callable[[Any], bytes] = orjson.dumps
    loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    import json as _json

    def dumps(value: Any) -> bytes:
        return _json.dumps(value, separators=(",", ":")).encode()

    loads = _json.loads

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]


@dataclass(eq=False)
class RecordedRequest:
    """A request as the fake upstream received it."""

    method: str
    path: str
    query: str
    raw_headers: RawHeaders = field(repr=False)
    body: bytes = b""

    @cached_property
    def headers(self) -> dict[str, str]:
        """Lower-cased names; repeated headers joined with ", " (RFC 9110 5.3)."""
        out: dict[str, str] = {}
        for name, value in self.raw_headers:
            key, val = name.decode("latin-1").lower(), value.decode("latin-1")
            out[key] = f"{out[key]}, {val}" if key in out else val
        return out

    @cached_property
    def json(self) -> Any:
        """Parsed JSON body, or None when the body is empty or not JSON."""
        if not self.body:
            return None
        try:
            return loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Reply:
    """A fully precomputed response; ``frames`` means stream them one by one."""

    status: int
    headers: RawHeaders
    body: bytes = b""
    frames: tuple[bytes, ...] | None = None
    chunk_delay: float = 0.0  # between frames


def encode_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    *,
    defaults: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> RawHeaders:
    """Merge headers over defaults (case-insensitive) and add content-length for fixed bodies."""
    merged: dict[str, str] = {k.lower(): v for k, v in (defaults or {}).items()}
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    for name, value in items:
        merged[str(name).lower()] = str(value)
    if body is not None:
        # Without it uvicorn falls back to chunked encoding for a plain body.
        merged["content-length"] = str(len(body))
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged.items()]


def sse_frame(payload: Any) -> bytes:
    """``data: <payload>\\n\\n``; dicts/lists are JSON-encoded, str/bytes sent as is."""
    if isinstance(payload, bytes):
        data = payload
    elif isinstance(payload, str):
        data = payload.encode()
    else:
        data = dumps(payload)
    return b"data: " + data + b"\n\n"


async def read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body  # common case: one message, no join
    parts = [body]
    while message.get("more_body"):
        message = await receive()
        parts.append(message.get("body", b""))
    return b"".join(parts)


def request_from_scope(scope: Scope, body: bytes) -> RecordedRequest:
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        query=scope["query_string"].decode("latin-1"),
        raw_headers=scope["headers"],
        body=body,
    )


def transport_of(receive: Receive) -> asyncio.Transport:
    """The connection's transport, which plain ASGI does not expose.

    Why: faults must misbehave below HTTP (RST, half-sent stream), so we reach
    into uvicorn's RequestResponseCycle (both h11 and httptools keep
    ``.transport``). Fail loudly if a uvicorn upgrade moves it.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("fake upstream: cannot reach the uvicorn transport for a fault")
    return transport


async def wait_disconnect(receive: Receive, timeout: float | None = 2.0) -> None:
    """Let uvicorn observe connection_lost so it does not log 'incomplete response'."""
    try:
        async with asyncio.timeout(timeout):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        pass


async def reset_connection(receive: Receive) -> None:
    """Abort with a TCP RST: SO_LINGER=0 makes close() send RST instead of FIN."""
    transport = transport_of(receive)
    if not transport.is_closing():  # the client may already have gone
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    await wait_disconnect(receive)


async def close_connection(receive: Receive) -> None:
    """Close after flushing what was written (FIN), so the client sees partial data then EOF."""
    transport_of(receive).close()  # close() flushes the write buffer first; abort() would drop it
    await wait_disconnect(receive)
