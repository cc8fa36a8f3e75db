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
    event = None
    data: list[bytes] = []
    for line in raw.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            event = line[6:].strip()
    return event, (b"\n".join(data) if data else None)


async def events(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[bytes | None, bytes]]:
    """Yield (event, data) for each complete event with data, as soon as it is complete."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        while True:
            end = buffer.find(b"\n\n")
            if end < 0:
                break
            block, buffer = buffer[:end], buffer[end + 2 :]
            event, data = parse_event(block)
            if data is not None:
                yield event, data
    if buffer.strip():
        event, data = parse_event(buffer)
        if data is not None:
            yield event, data
