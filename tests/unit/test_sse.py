from __future__ import annotations

import asyncio

import pytest

from chalicelib.providers import sse


async def _collect(chunks):
    async def gen():
        for c in chunks:
            yield c

    return [batch async for batch in sse.batches(gen())]


A, B = (None, b"a"), (None, b"b")


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"data: a\n\n"], [[A]]),
        ([b"data: a\n", b"\ndata: b\n\n"], [[A, B]]),  # the second read completes both
        # two events in one read: one batch, so the relay writes them at once
        ([b"data: a\n\ndata: b\n\n"], [[A, B]]),
        ([b"data: a\n\ndata: ", b"b\n\n"], [[A], [B]]),
        ([b"data: a", b"\n", b"\n"], [[A]]),  # reads that complete nothing make no batch
        ([b"event: message_start\ndata: {}\n\n"], [[(b"message_start", b"{}")]]),
        ([b"data: a\r\n\r\ndata: b\r", b"\n\r\n"], [[A], [B]]),
        ([b": keep-alive\n\n", b"data: x\n\n"], [[(None, b"x")]]),
        ([b"data: line1\ndata: line2\n\n"], [[(None, b"line1\nline2")]]),
        ([b"data:nospace\n\n"], [[(None, b"nospace")]]),
        ([b"data: {\"a\": 1}\n\n"], [[(None, b'{"a": 1}')]]),
        ([b"data: tail-without-blank-line"], [[(None, b"tail-without-blank-line")]]),
        ([b"data: a\n\n", b"  \n"], [[A]]),
    ],
)
def test_batches(chunks, expected):
    assert asyncio.run(_collect(chunks)) == expected


def test_frame():
    assert sse.frame(b"{}") == b"data: {}\n\n"
    assert sse.frame(b"{}", b"ping") == b"event: ping\ndata: {}\n\n"
