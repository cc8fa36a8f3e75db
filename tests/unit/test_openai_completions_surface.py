"""The legacy completions surface: request -> chat, chat answer and chunks -> text_completion,
table-driven; rendered bodies checked against OpenAI's published schemas."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from chalicelib.errors import ApiError
from chalicelib.providers.base import Usage
from chalicelib.providers.sse import DONE, frame
from chalicelib.surfaces import openai_completions as c
from tests.support import cassettes, openapi

# A chunk as OpenAI streams it (its schema describes whole answers only: a chunk's
# finish_reason may be null)
RECORDED_CHUNK = orjson.loads(cassettes.load("completion-streaming")[0].sse_events()[0])

TO_CHAT = [
    ("text prompt", {"prompt": "Say hi"}, {"messages": [{"role": "user", "content": "Say hi"}]}),
    ("a batch of one text", {"prompt": ["Say hi"]}, {"messages": [{"role": "user", "content": "Say hi"}]}),
    ("shared parameters kept", {"prompt": "x", "max_tokens": 5, "temperature": 0.2, "stop": ["\n"], "n": 2,
                                "stream": True, "stream_options": {"include_usage": True}, "seed": 1},
     {"messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "temperature": 0.2, "stop": ["\n"], "n": 2,
      "stream": True, "stream_options": {"include_usage": True}, "seed": 1}),
    ("neutral values of native-only fields pass", {"prompt": "x", "echo": False, "logprobs": None},
     {"messages": [{"role": "user", "content": "x"}]}),
]


@pytest.mark.parametrize(("case", "body", "expected"), TO_CHAT, ids=[t[0] for t in TO_CHAT])
def test_to_chat(case: str, body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert c.to_chat({"model": "m", **body}) == {"model": "m", **expected}


REFUSED = [
    ("tokens", {"prompt": [1, 2, 3]}, "prompt"),
    ("a batch", {"prompt": ["a", "b"]}, "prompt"),
    ("suffix", {"prompt": "x", "suffix": "y"}, "suffix"),
    ("echo", {"prompt": "x", "echo": True}, "echo"),
    ("logprobs", {"prompt": "x", "logprobs": 2}, "logprobs"),
    ("best_of", {"prompt": "x", "best_of": 3}, "best_of"),
]


@pytest.mark.parametrize(("case", "body", "param"), REFUSED, ids=[t[0] for t in REFUSED])
def test_what_chat_cannot_say_is_a_400_naming_the_field(case: str, body: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as raised:
        c.to_chat({"model": "m", **body})
    assert (raised.value.status, raised.value.param) == (400, param)
    # where every provider has /completions, it goes there as is: nothing is refused
    assert c.to_chat({"model": "m", **body}, lenient=True)["model"] == "m"


CHAT = {
    "id": "chatcmpl-abc", "object": "chat.completion", "created": 7, "model": "demo/echo",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "length"},
                {"index": 1, "message": {"role": "assistant", "content": None}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def test_completion_of_a_chat_answer() -> None:
    out = c.completion_of(CHAT)
    assert out == {
        "id": "cmpl-abc", "object": "text_completion", "created": 7, "model": "demo/echo",
        "choices": [{"text": "Hello", "index": 0, "logprobs": None, "finish_reason": "length"},
                    {"text": "", "index": 1, "logprobs": None, "finish_reason": "stop"}],
        "usage": CHAT["usage"],
    }
    openapi.validate("CreateCompletionResponse", out)


HEAD = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 9, "model": "m"}
CHUNKS = [
    ("opening role delta: nothing to say", {**HEAD, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                                      "content": ""}}]}, None),
    ("text", {**HEAD, "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]},
     [{"text": "Hi", "index": 0, "logprobs": None, "finish_reason": None}]),
    ("finish", {**HEAD, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
     [{"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}]),
    ("usage chunk", {**HEAD, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2,
                                                      "total_tokens": 3}}, []),
]


@pytest.mark.parametrize(("case", "chunk", "choices"), CHUNKS, ids=[t[0] for t in CHUNKS])
def test_stream_chunks(case: str, chunk: dict[str, Any], choices: list[dict[str, Any]] | None) -> None:
    out = c.Chunks().feed(frame(orjson.dumps(chunk)))
    if choices is None:
        assert out == b""
        return
    assert out.startswith(b"data: ") and out.endswith(b"\n\n")
    rendered = orjson.loads(out[6:])
    assert rendered["object"] == "text_completion" and rendered["id"] == "cmpl-s"
    assert rendered["choices"] == choices
    assert rendered.get("usage") == chunk.get("usage")
    if all(choice["finish_reason"] for choice in choices):
        openapi.validate("CreateCompletionResponse", rendered)
    else:
        assert rendered.keys() == RECORDED_CHUNK.keys()
        assert rendered["choices"][0].keys() == RECORDED_CHUNK["choices"][0].keys()


def test_stream_close() -> None:
    assert c.Chunks().close(Usage(), None) == DONE
    failed = c.Chunks().close(None, ApiError(502, "gone", code="upstream_error"))
    assert orjson.loads(failed[6:])["error"]["code"] == "upstream_error"
