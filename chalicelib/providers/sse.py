"""A minimal server-sent-events decoder and encoder, shared by every streaming adapter."""
from __future__ import annotations

from collections.abc import AsyncIterator

import orjson


def frame(data: bytes, event: bytes | None = None) -> bytes:
    if event:
        return b"event: " + event + b"\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


DONE = frame(b"[DONE]")


def json_object(data: bytes) -> dict | None:
    """An event's data as a JSON object, or None when it is anything else (the caller decides
    what a garbled event means for its stream)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def parse_event(raw: bytes) -> tuple[bytes | None, bytes | None]:
    """(event name, data) of one event block; data lines are joined by newlines."""
    if raw.startswith(b"data: ") and b"\n" not in raw:  # what OpenAI-family providers send: one line
        return None, raw[6:]
    event = None
    data: list[bytes] = []
    for line in raw.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            event = line[6:].strip()
    return event, (b"\n".join(data) if data else None)


Event = tuple[bytes | None, bytes]


class Splitter:
    """Complete events out of a byte stream, read by read: each read's events at once, so a
    relay can write what one read brought in one go."""

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, chunk: bytes) -> list[Event]:
        """The events `chunk` completes (with what earlier reads left unfinished)."""
        buffer = self._rest + chunk if self._rest else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        found: list[Event] = []
        start = 0
        while (end := buffer.find(b"\n\n", start)) >= 0:
            event, data = parse_event(buffer[start:end])
            if data is not None:
                found.append((event, data))
            start = end + 2
        self._rest = buffer[start:] if start else buffer
        return found

    def end(self) -> list[Event]:
        """The last event, when the stream ended without its blank line."""
        if not self._rest.strip():
            return []
        event, data = parse_event(self._rest)
        self._rest = b""
        return [] if data is None else [(event, data)]


async def batches(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[Event]]:
    """The events of each read that completes any, as soon as it is in."""
    splitter = Splitter()
    async for chunk in chunks:
        if found := splitter.feed(chunk):
            yield found
    if last := splitter.end():
        yield last
