from __future__ import annotations

import asyncio

import httpx
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers import streaming
from chalicelib.providers.openai_compat.translate import StreamState


@pytest.mark.parametrize(("chars", "tokens"), [(0, 0), (1, 1), (4, 1), (5, 2), (400, 100)])
def test_estimate_tokens(chars, tokens):
    assert streaming.estimate_tokens(chars) == tokens


@pytest.mark.parametrize(
    ("body", "chars"),
    [({"messages": [{"role": "user", "content": "abcd"}]}, 4),
     ({"messages": [{"role": "user", "content": [{"type": "text", "text": "ab"}, {"type": "image_url"}]}]}, 2),
     ({}, 0)],
)
def test_prompt_chars(body, chars):
    assert streaming.prompt_chars(body) == chars


def _run(items, fail: BaseException | None = None):
    async def source():
        for item in items:
            yield None, item
        if fail:
            raise fail

    async def go():
        stream = streaming.TranslatedStream(source(), StreamState("p", False), ttfb_ms=1.0, prompt_chars=8)
        frames = [f async for f in stream.frames()]
        return frames, stream

    return asyncio.run(go())


CHUNK = b'{"choices":[{"index":0,"delta":{"content":"abcdefgh"}}]}'


@pytest.mark.parametrize(
    ("items", "fail", "code", "frames"),
    [
        ([CHUNK, b"[DONE]"], None, None, 1),
        ([CHUNK], None, "upstream_bad_response", 1),  # ended without [DONE]
        ([CHUNK], httpx.ReadTimeout("slow"), "upstream_timeout", 1),
        ([CHUNK], httpx.RemoteProtocolError("cut"), "upstream_bad_response", 1),
        ([CHUNK], ApiError(429, "throttled", code="throttled"), "throttled", 1),
    ],
)
def test_translated_stream_outcomes(items, fail, code, frames):
    out, stream = _run(items, fail)
    assert len(out) == frames
    assert (stream.error.code if stream.error else None) == code
    # No usage was reported, so it is estimated from what was streamed.
    assert stream.usage.estimated and stream.usage.output_tokens == 2 and stream.usage.input_tokens == 2
