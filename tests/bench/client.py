"""A lean HTTP/1.1 keep-alive client over asyncio streams, and percentile math.

Why not httpx: its per-request overhead is of the same order as the gateway's added latency
we want to see, so it would blur the figures. This client only writes prebuilt request bytes
and reads the response head, then a content-length or chunked body; nothing else.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Sample:
    total_ms: float  # request written -> whole body read
    first_data_ms: float | None  # request written -> first body chunk holding an SSE "data:" line


class HttpError(RuntimeError):
    """A non-2xx answer (or a closed keep-alive connection). Measurements of successful calls
    stop on it; the failover one counts it as a client-visible error instead."""

    def __init__(self, message: str, status: int, closed: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.closed = closed  # the server closed the connection: open a new one


def build_request(host: str, port: int, path: str, body: dict[str, Any], token: str | None = None,
                  headers: dict[str, str] | None = None) -> bytes:
    """Exact request bytes, built once and written as is for every sample."""
    payload = orjson.dumps(body)
    lines = [
        f"POST {path} HTTP/1.1",
        f"host: {host}:{port}",
        "content-type: application/json",
        "accept: */*",
        f"content-length: {len(payload)}",
    ]
    if token:
        lines.append(f"authorization: Bearer {token}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def _parse_head(head: bytes) -> tuple[int, dict[bytes, bytes]]:
    status_line, *header_lines = head[:-4].split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


class Connection:
    """One keep-alive connection; requests on it are strictly sequential."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.perf_counter()

    def idle_s(self) -> float:
        return time.perf_counter() - self.last_used

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)  # asyncio sets TCP_NODELAY
        return cls(reader, writer)

    async def roundtrip(self, request: bytes) -> Sample:
        clock = time.perf_counter
        started = clock()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, headers = _parse_head(head)
        first_data: float | None = None
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
            if b"data:" in body:
                first_data = clock()
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body, first_data = await self._read_chunked(clock)
        else:
            raise HttpError(f"unsupported response framing: {headers!r}", status)
        ended = self.last_used = clock()
        closed = headers.get(b"connection", b"").lower() == b"close"
        if status >= 300:
            raise HttpError(f"HTTP {status}: {body[:300]!r}", status, closed)
        if closed:
            raise HttpError("server closed the keep-alive connection", status, closed)
        first_ms = None if first_data is None else (first_data - started) * 1000
        return Sample((ended - started) * 1000, first_ms)

    async def _read_chunked(self, clock: Any) -> tuple[bytes, float | None]:
        parts: list[bytes] = []
        first_data: float | None = None
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # end of (empty) trailers
                return b"".join(parts), first_data
            chunk = (await self.reader.readexactly(size + 2))[:-2]
            parts.append(chunk)
            # Stamp the first SSE event as soon as its chunk is in; later chunks don't matter.
            if first_data is None and b"data:" in chunk:
                first_data = clock()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (0..100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

