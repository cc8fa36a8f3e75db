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
