from __future__ import annotations

import asyncio

import httpx
import pytest

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import errors, streaming
from chalicelib.providers.openai_compat.translate import StreamState


@pytest.mark.parametrize(("chars", "tokens"), [(0, 0), (1, 1), (4, 1), (5, 2), (400, 100)])
def test_estimate_tokens(chars, tokens):
    assert streaming.estimate_tokens(chars) == tokens


@pytest.mark.parametrize(
    ("body", "chars"),
    [({"messages": [{"role": "user", "content": "abcd"}]}, 4),
     ({"messages": [{"role": "user", "content": [{"type": "text", "text": "ab"}, {"type": "image_url"}]}]}, 2),
     ({}, 0),
     # Whatever the client's parts hold, the estimate never raises (it once did, after the
     # upstream response was open, and leaked it).
     ({"messages": [{"role": "user", "content": [{"type": "text", "text": 123}, {"type": "text", "text": "ab"},
                                                 {"type": "text", "text": None}, {"type": "text", "text": ["x"]}]}]},
      2),
     ({"messages": "not a list"}, 0),
     ({"messages": [None, "x", {"content": 5}]}, 0)],
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
        frames = [f async for batch in stream.batches() for f in batch]
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


class Closing:
    """An upstream response stand-in that counts its closes."""

    def __init__(self) -> None:
        self.closes = 0

    async def aclose(self) -> None:
        self.closes += 1


def _stream(items, upstream: Closing, translator=None) -> streaming.TranslatedStream:
    async def source():
        for item in items:
            yield None, item

    return streaming.TranslatedStream(source(), translator or StreamState("p", False), ttfb_ms=1.0, prompt_chars=0,
                                      on_close=upstream.aclose)


@pytest.mark.parametrize("items", [[CHUNK, b"[DONE]"], [CHUNK], [b"not json"]])
def test_batches_release_the_upstream_when_they_end(items):
    upstream = Closing()

    async def go():
        stream = _stream(items, upstream)
        [f async for batch in stream.batches() for f in batch]
        assert upstream.closes == 1  # before anyone calls aclose()
        await stream.aclose()
        await stream.aclose()
        assert upstream.closes == 1

    asyncio.run(go())


def test_an_abandoned_stream_closes_its_source_and_upstream_once():
    upstream = Closing()
    closed_source = []

    async def source():
        try:
            yield None, CHUNK
            yield None, CHUNK
        finally:
            closed_source.append(True)

    async def go():
        stream = streaming.TranslatedStream(source(), StreamState("p", False), ttfb_ms=1.0, prompt_chars=0,
                                            on_close=upstream.aclose)
        batches = stream.batches()
        await anext(batches)
        await stream.aclose()
        await batches.aclose()  # its own finally closes again: a no-op
        assert closed_source == [True] and upstream.closes == 1

    asyncio.run(go())


def test_a_translator_bug_is_a_502_and_releases_the_upstream():
    class Broken(StreamState):
        def feed(self, event, data):
            raise TypeError("unexpected event shape")

    upstream = Closing()

    async def go():
        stream = _stream([CHUNK, b"[DONE]"], upstream, Broken("p", False))
        assert [f async for batch in stream.batches() for f in batch] == []
        return stream

    stream = asyncio.run(go())
    assert stream.error.status == 502 and stream.error.code == "upstream_bad_response"
    assert upstream.closes == 1


@pytest.mark.parametrize("failure", [RuntimeError("bug"), asyncio.CancelledError()])
def test_closed_on_failure_releases_on_any_failure_and_only_then(failure):
    async def go():
        upstream = Closing()
        with pytest.raises(type(failure)):
            async with streaming.closed_on_failure(upstream.aclose):
                raise failure
        assert upstream.closes == 1
        handed_over = Closing()
        async with streaming.closed_on_failure(handed_over.aclose):
            pass
        assert handed_over.closes == 0

    asyncio.run(go())


def test_request_translation_turns_shape_errors_into_400s():
    @errors.request_translation
    def translate(body):
        if body.get("n") == 0:
            raise bad_request("n must be positive", param="n")
        if body.get("n") == -1:
            raise RuntimeError("a bug stays a bug")
        return body["messages"][0]["content"][0]["text"].upper()

    assert translate({"messages": [{"content": [{"text": "hi"}]}]}) == "HI"
    for malformed, detail in (({"messages": [{"content": [{"type": "text"}]}]}, "missing field 'text'"),
                              ({"messages": [{"content": [{"text": 123}]}]}, "has no attribute 'upper'"),
                              ({"messages": []}, "index out of range"),
                              ({"messages": "x"}, "string indices")):
        with pytest.raises(ApiError) as raised:
            translate(malformed)
        assert raised.value.status == 400 and detail in raised.value.message
    with pytest.raises(ApiError) as raised:
        translate({"n": 0})
    assert raised.value.param == "n"  # the translator's own 400 passes unchanged
    with pytest.raises(RuntimeError):
        translate({"n": -1})


def _pass_through_renderers() -> list[type]:
    """Every renderer class under chalicelib/surfaces that says it passes frames through."""
    import importlib
    import inspect
    import pkgutil

    import chalicelib.surfaces

    found = []
    for info in pkgutil.walk_packages(chalicelib.surfaces.__path__, "chalicelib.surfaces."):
        module = importlib.import_module(info.name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                  if c.__module__ == module.__name__ and getattr(c, "passes_through", False)]
    return found


def test_renderers_that_pass_frames_through_really_do():
    """The relay skips `feed` for these (chalicelib/gateway/pipeline.py): it must be the identity."""
    renderers = _pass_through_renderers()
    assert {c.__module__ for c in renderers} >= {"chalicelib.surfaces.openai_chat",
                                                 "chalicelib.surfaces.anthropic_messages.translate",
                                                 "chalicelib.surfaces.gemini_generate.translate"}
    frames = [b'data: {"choices":[]}\n\n', b'event: ping\ndata: {"type":"ping"}\n\n', b"data: [DONE]\n\n"]
    for renderer in renderers:
        r = renderer()
        assert [r.feed(f) for f in frames] == frames, renderer
