from __future__ import annotations

import asyncio

import pytest

from chalicelib.providers import sse


async def _collect(chunks):
    async def gen():
        for c in chunks:
            yield c

    return [e async for e in sse.events(gen())]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"data: a\n\n"], [(None, b"a")]),
        ([b"data: a\n", b"\ndata: b\n\n"], [(None, b"a"), (None, b"b")]),
        ([b"event: message_start\ndata: {}\n\n"], [(b"message_start", b"{}")]),
        ([b"data: a\r\n\r\ndata: b\r", b"\n\r\n"], [(None, b"a"), (None, b"b")]),
        ([b": keep-alive\n\n", b"data: x\n\n"], [(None, b"x")]),
        ([b"data: line1\ndata: line2\n\n"], [(None, b"line1\nline2")]),
        ([b"data:nospace\n\n"], [(None, b"nospace")]),
        ([b"data: tail-without-blank-line"], [(None, b"tail-without-blank-line")]),
    ],
)
def test_events(chunks, expected):
    assert asyncio.run(_collect(chunks)) == expected


def test_frame():
    assert sse.frame(b"{}") == b"data: {}\n\n"
    assert sse.frame(b"{}", b"ping") == b"event: ping\ndata: {}\n\n"
