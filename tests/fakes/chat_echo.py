"""Canned OpenAI chat answers for benchmarks: built once, served as raw bytes.

Shapes follow what OpenAI really returns (see tests/fixtures/openai-cassettes)
and validate against the OpenAPI schemas, so a gateway parsing them does the
same work it would on real traffic.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.wire import dumps, sse_frame

ID = "chatcmpl-fakeupstream0001"
MODEL = "fake-model"
CREATED = 1755000000
TEXT_PIECES: tuple[str, ...] = ("Hello", " from the", " fake", " upstream.")

USAGE: dict[str, Any] = {
    "prompt_tokens": 8,
    "completion_tokens": 5,
    "total_tokens": 13,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

COMPLETION: dict[str, Any] = {
    "id": ID,
    "object": "chat.completion",
    "created": CREATED,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "".join(TEXT_PIECES),
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": USAGE,
    "service_tier": "default",
    "system_fingerprint": "fp_fake",
}


def completion_with(message: dict[str, Any], finish: str, usage: dict[str, Any]) -> dict[str, Any]:
    """COMPLETION with another assistant message (tool calls, say), finish reason and usage."""
    return {**COMPLETION, "choices": [{"index": 0, "message": {"role": "assistant", "refusal": None, **message},
                                       "logprobs": None, "finish_reason": finish}], "usage": usage}


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


# Five content chunks (role + first piece, three more pieces, finish), then a
# usage chunk with empty choices as include_usage produces, then [DONE].
STREAM_CHUNKS: list[dict[str, Any]] = [
    _chunk({"role": "assistant", "content": TEXT_PIECES[0], "refusal": None}),
    *(_chunk({"content": piece}) for piece in TEXT_PIECES[1:]),
    _chunk({}, "stop"),
]
USAGE_CHUNK: dict[str, Any] = {**_chunk({}), "choices": [], "usage": USAGE}

COMPLETION_BODY: bytes = dumps(COMPLETION)
STREAM_FRAMES: tuple[bytes, ...] = tuple(
    sse_frame(c) for c in (*STREAM_CHUNKS, USAGE_CHUNK)
) + (sse_frame("[DONE]"),)


# -- longer streams for benchmarks (`--chunks N`) -------------------------------------------
# The same answer in N content chunks, in both dialects: OpenAI chat chunks here, Anthropic
# Messages events below, so a translation benchmark compares like with like.

_WORDS: tuple[str, ...] = ("Hello", " from", " the", " fake", " upstream", ",", " one", " token", " at", " a", " time",
                           ".")


def text_pieces(count: int) -> tuple[str, ...]:
    """`count` token-sized pieces of text (the content chunks of a stream)."""
    if count < 1:
        raise ValueError("a stream needs at least one content chunk")
    return tuple(_WORDS[i % len(_WORDS)] for i in range(count))


def usage_for(pieces: tuple[str, ...]) -> dict[str, Any]:
    return {**USAGE, "completion_tokens": len(pieces), "total_tokens": USAGE["prompt_tokens"] + len(pieces)}


def completion_body(pieces: tuple[str, ...]) -> bytes:
    """The non-streamed answer holding the same text as the stream of `pieces`."""
    choice = COMPLETION["choices"][0]
    message = {**choice["message"], "content": "".join(pieces)}
    return dumps({**COMPLETION, "choices": [{**choice, "message": message}], "usage": usage_for(pieces)})


def stream_frames(pieces: tuple[str, ...]) -> tuple[bytes, ...]:
    """An OpenAI stream of len(pieces) content chunks (the role rides on the first), then the
    finish chunk, the include_usage chunk and [DONE]: len(pieces) + 3 frames."""
    chunks = [
        _chunk({"role": "assistant", "content": pieces[0], "refusal": None}),
        *(_chunk({"content": piece}) for piece in pieces[1:]),
        _chunk({}, "stop"),
        {**_chunk({}), "choices": [], "usage": usage_for(pieces)},
    ]
    return (*(sse_frame(c) for c in chunks), sse_frame("[DONE]"))


def anthropic_message(pieces: tuple[str, ...]) -> dict[str, Any]:
    """Anthropic's Messages answer with the text of `pieces`."""
    from tests.fakes import (
        anthropic,  # here, not at the top: tests.fakes.rules imports this module
    )

    return anthropic.message(anthropic.text("".join(pieces)), tokens=anthropic.usage(USAGE["prompt_tokens"], len(pieces)))


def anthropic_events(pieces: tuple[str, ...]) -> list[dict[str, Any]]:
    """Anthropic's event sequence for that message with one text_delta per piece: message_start
    (with usage), content_block_start, ping, len(pieces) content_block_delta, content_block_stop,
    message_delta (stop_reason, output_tokens), message_stop."""
    from tests.fakes import anthropic

    text = "".join(pieces)
    events = anthropic.events(anthropic_message(pieces), piece=max(1, len(text)))  # the text in one delta
    (at,) = [i for i, e in enumerate(events) if e["type"] == "content_block_delta"]
    deltas = [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces]
    return [*events[:at], *deltas, *events[at + 1 :]]
