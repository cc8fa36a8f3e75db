"""Table-driven tests of the OpenAI-dialect translation (pure functions, no I/O)."""
from __future__ import annotations

import orjson
import pytest

from chalicelib.providers.base import Usage
from chalicelib.providers.openai_compat import translate
from chalicelib.providers.openai_compat.translate import TranscriptRelay


@pytest.mark.parametrize(
    ("body", "stream", "expected_options", "wants"),
    [
        ({"model": "openai/gpt-4o", "messages": []}, False, None, False),
        ({"model": "x", "messages": []}, True, {"include_usage": True}, False),
        ({"model": "x", "stream_options": {"include_usage": True}}, True, {"include_usage": True}, True),
        ({"model": "x", "stream_options": {"include_usage": False}}, True, {"include_usage": True}, False),
        ({"model": "x", "stream_options": {"include_obfuscation": False}}, True,
         {"include_obfuscation": False, "include_usage": True}, False),
    ],
)
def test_request_body(body, stream, expected_options, wants):
    out, client_wants = translate.request_body(body, "gpt-4o", stream=stream)
    assert out["model"] == "gpt-4o"
    assert out.get("stream_options") == expected_options
    assert client_wants is wants
    assert body["model"] != "gpt-4o" or body is not out  # the client's dict is not mutated


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, Usage()),
        ({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, Usage(10, 5)),
        (
            {"prompt_tokens": 100, "completion_tokens": 50, "prompt_tokens_details": {"cached_tokens": 60},
             "completion_tokens_details": {"reasoning_tokens": 20}},
            Usage(input_tokens=40, output_tokens=50, cache_read_tokens=60, reasoning_tokens=20),
        ),
        # DeepSeek's own cache field
        ({"prompt_tokens": 30, "completion_tokens": 2, "prompt_cache_hit_tokens": 10, "prompt_cache_miss_tokens": 20},
         Usage(input_tokens=20, output_tokens=2, cache_read_tokens=10)),
        # embeddings
        ({"prompt_tokens": 8, "total_tokens": 8}, Usage(input_tokens=8)),
        # gpt-image-1 style
        ({"input_tokens": 12, "output_tokens": 4160, "input_tokens_details": {"text_tokens": 12}},
         Usage(input_tokens=12, output_tokens=4160)),
        ({"prompt_tokens": None, "completion_tokens": -1}, Usage()),
    ],
)
def test_usage_from(raw, expected):
    assert translate.usage_from(raw) == expected


def chunk(**fields) -> bytes:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return orjson.dumps({**base, **fields})


USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


@pytest.mark.parametrize(
    ("wants_usage", "data", "forwarded", "usage"),
    [
        (False, chunk(choices=[{"index": 0, "delta": {"content": "Hi"}}]), True, None),
        # the injected usage chunk is dropped when the client did not ask for it
        (False, chunk(choices=[], usage=USAGE), False, Usage(3, 2)),
        (True, chunk(choices=[], usage=USAGE), True, Usage(3, 2)),
        # usage riding on a content chunk: content kept, usage removed
        (False, chunk(choices=[{"index": 0, "delta": {"content": "!"}}], usage=USAGE), True, Usage(3, 2)),
        (False, b"[DONE]", False, None),
    ],
)
def test_translate_event(wants_usage, data, forwarded, usage):
    state = translate.StreamState("openai", wants_usage)
    out = translate.translate_event(state, data)
    assert (out is not None) is forwarded
    assert state.usage == usage
    if out is not None:
        assert out.startswith(b"data: ") and out.endswith(b"\n\n")
        sent = orjson.loads(out[6:-2])
        assert bool(sent.get("usage")) == (wants_usage and usage is not None)


def test_translate_event_error_and_garbage():
    state = translate.StreamState("openai", False)
    assert translate.translate_event(state, b'{"error": {"message": "boom", "code": "server_error"}}') is None
    assert state.error is not None and state.error.status == 502 and "boom" in state.error.message
    state = translate.StreamState("openai", False)
    assert translate.translate_event(state, b"{not json") is None
    assert state.error is not None and state.error.code == "upstream_bad_response"


def test_stream_state_counts_output_and_finish():
    state = translate.StreamState("openai", False)
    translate.translate_event(state, chunk(choices=[{"index": 0, "delta": {"content": "abcd"}}]))
    translate.translate_event(state, chunk(choices=[{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": "{\"a\":1}"}}]}, "finish_reason": "tool_calls"}]))
    assert state.output_chars == 4 + 7
    assert state.finish_reasons == ["tool_calls"]


def test_response_usage_rejects_non_json():
    with pytest.raises(Exception) as info:
        translate.response_usage(b"<html>", "openai")
    assert info.value.status == 502
    data, usage = translate.response_usage(b'{"data":[{"b64_json":"x"},{"b64_json":"y"}],"created":1}', "openai")
    assert usage.images == 2


@pytest.mark.parametrize(
    ("body", "images", "usage_rewritten"),
    [
        ({"created": 1, "data": [{"url": "u"}]}, 1, False),
        ({"created": 1, "data": [{"b64_json": "x"}, {"b64_json": "y"}],
          "usage": {"input_tokens": 5, "output_tokens": 9, "total_tokens": 14,
                    "input_tokens_details": {"text_tokens": 5, "image_tokens": 0}}}, 2, False),
        # Ark (Doubao Seedream): its own usage shape, and a failed image in the list
        ({"created": 1, "data": [{"url": "u"}, {"error": {"code": "OutputImageSensitiveContentDetected"}}],
          "usage": {"generated_images": 1, "output_tokens": 4096, "total_tokens": 4096}}, 1, True),
    ],
)
def test_image_response(body, images, usage_rewritten):
    raw = orjson.dumps(body)
    content, usage = translate.image_response(raw, "p")
    assert usage.images == images
    assert (content != raw) is usage_rewritten
    if usage_rewritten:
        assert orjson.loads(content)["usage"] == {"input_tokens": 0, "output_tokens": 4096, "total_tokens": 4096,
                                                   "input_tokens_details": {"text_tokens": 0, "image_tokens": 0}}


# -- streamed transcriptions ----------------------------------------------------------------


def _relay_feed(events: list[bytes]) -> tuple[TranscriptRelay, list[bytes]]:
    relay = TranscriptRelay("openai", 2.0, True)
    out = [frame for data in events for frame in relay.feed(None, data)]
    return relay, out


@pytest.mark.parametrize("events, frames, usage, done, error", [
    ([b'{"type":"transcript.text.delta","delta":"Hi"}', (b'{"type":"transcript.text.done","text":"Hi",'
      b'"usage":{"type":"tokens","input_tokens":9,"output_tokens":1,"total_tokens":10}}')],
     2, Usage(input_tokens=9, output_tokens=1, seconds=2.0, estimated=True), True, None),
    ([b'{"type":"transcript.text.done","text":"Hi","usage":{"type":"duration","seconds":3}}'],
     1, Usage(seconds=3.0), True, None),
    ([b'{"type":"transcript.text.done","text":"Hi"}'], 1, Usage(seconds=2.0, estimated=True), True, None),
    ([b'{"type":"transcript.text.delta","delta":"Hi"}'], 1, None, False, None),
    ([b'{"type":"error","error":{"message":"boom"}}'], 0, None, False, "boom"),
    ([b"not json"], 0, None, False, "invalid stream event"),
])
def test_transcript_relay(events, frames, usage, done, error):
    relay, out = _relay_feed(events)
    assert len(out) == frames and out == [b"data: " + e + b"\n\n" for e in events[:frames]]
    assert (relay.usage, relay.done) == (usage, done)
    assert (error in relay.error.message) if error else relay.error is None
