"""OpenAI's legacy text completions (POST /v1/completions) as a client surface.

Over chat, a prompt becomes one user message and the chat answer a `text_completion`; what
only the completions API can express (token prompts, batches, `suffix`, `echo`, `logprobs`,
`best_of`) needs a provider that serves /completions itself (the native path), and is a 400
naming the field where none can.
"""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import sse
from chalicelib.providers.base import Usage
from chalicelib.store.calls import CallRecord
from chalicelib.surfaces.base import Surface

# Chat parameters that mean the same in a text completion.
SHARED = ("model", "stream", "stream_options", "n", "max_tokens", "temperature", "top_p", "presence_penalty",
          "frequency_penalty", "stop", "seed", "user", "logit_bias", "metadata")
NATIVE_ONLY = ("suffix", "echo", "logprobs", "best_of")


def prompt_text(prompt: Any) -> str | None:
    """The prompt as one text, or None when it is not one (tokens, a batch)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    return None


def to_chat(body: dict[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """The internal chat body of a completion request. `lenient`: a provider that serves
    /completions may still take the call, so what chat cannot say is left out, not refused."""
    text = prompt_text(body.get("prompt"))
    if text is None and not lenient:
        raise bad_request("Over chat, 'prompt' must be one text (not tokens, nor a batch): this model's provider "
                          "has no native /completions.", param="prompt")
    for name in NATIVE_ONLY:
        if body.get(name) not in (None, False, 0) and not lenient:
            raise bad_request(f"'{name}' needs a provider with a native /completions; this model has none.",
                              param=name)
    out = {name: body[name] for name in SHARED if name in body}
    out["messages"] = [{"role": "user", "content": text or ""}]
    return out


def _choice(choice: dict[str, Any], text: str) -> dict[str, Any]:
    return {"text": text, "index": choice.get("index", 0), "logprobs": None,
            "finish_reason": choice.get("finish_reason")}


def _head(chat: dict[str, Any]) -> dict[str, Any]:
    chat_id = str(chat.get("id") or "")
    return {"id": "cmpl-" + chat_id.removeprefix("chatcmpl-"), "object": "text_completion",
            "created": chat.get("created", 0), "model": chat.get("model", "")}


def completion_of(chat: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion -> the text_completion it answers."""
    choices = [_choice(c, (c.get("message") or {}).get("content") or "") for c in chat.get("choices") or ()]
    out = {**_head(chat), "choices": choices}
    if chat.get("system_fingerprint"):
        out["system_fingerprint"] = chat["system_fingerprint"]
    if chat.get("usage") is not None:
        out["usage"] = chat["usage"]
    return out


def chunk_of(chat: dict[str, Any]) -> dict[str, Any] | None:
    """A chat.completion.chunk -> its text_completion chunk, or None when it says nothing
    (the opening role-only delta)."""
    choices = [_choice(c, (c.get("delta") or {}).get("content") or "") for c in chat.get("choices") or ()]
    if not chat.get("usage") and all(not c["text"] and not c["finish_reason"] for c in choices):
        return None
    out = {**_head(chat), "choices": choices}
    if chat.get("usage"):
        out["usage"] = chat["usage"]
    return out


class Chunks:
    """Chat chunk frames in, text_completion chunk frames out; `[DONE]` or an error event last."""

    def feed(self, frame: bytes) -> bytes:
        _, data = sse.parse_event(frame.strip())
        if data is None:
            return b""
        chunk = chunk_of(orjson.loads(data))
        return sse.frame(orjson.dumps(chunk)) if chunk is not None else b""

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        return sse.frame(orjson.dumps(error.body())) if error else sse.DONE


def _render_json(body: bytes, _record: CallRecord) -> bytes:
    return orjson.dumps(completion_of(orjson.loads(body)))


def _error_body(error: ApiError) -> dict[str, Any]:
    return error.body()


SURFACE = Surface(name="completions", render_json=_render_json, renderer=lambda _record: Chunks(),
                  error_body=_error_body)
