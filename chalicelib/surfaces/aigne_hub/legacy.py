"""The hub's older OpenAI-like routes, which the blocklet-side SDK (`@blocklet/aigne-hub`) calls:
`/api/v2/chat/completions` and `/api/v2/image/generations` (shared/aigne-hub-v2.md 5.9). Their
bodies are OpenAI's in camelCase; answers are the hub's own small shapes (pure functions)."""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.errors import ApiError
from chalicelib.providers import sse
from chalicelib.providers.base import Usage
from chalicelib.surfaces.aigne_hub import translate
from chalicelib.surfaces.base import chat_chunk

# camelCase -> OpenAI's name, for what passes as it is
PARAMS = {"temperature": "temperature", "topP": "top_p", "presencePenalty": "presence_penalty",
          "frequencyPenalty": "frequency_penalty", "maxTokens": "max_tokens"}


def _message(message: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": translate.ROLES.get(message["role"], message["role"]),
                           "content": message.get("content")}
    if message.get("toolCalls"):
        out["tool_calls"] = translate.openai_tool_calls(message["toolCalls"])
    if message.get("toolCallId"):
        out["tool_call_id"] = message["toolCallId"]
    return out


def _response_format(value: dict[str, Any]) -> dict[str, Any] | None:
    if value.get("type") == "json_schema" and value.get("jsonSchema"):
        return translate.to_openai({"messages": [], "responseFormat": value}, False)["response_format"]
    if value.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """A validated request (`messages`, or a bare `prompt`) -> the internal OpenAI chat body."""
    messages = body.get("messages") or [{"role": "user", "content": body["prompt"]}]
    out: dict[str, Any] = {"model": body.get("model") or translate.DEFAULT_CHAT_MODEL,
                           "messages": [_message(m) for m in messages]}
    out.update({wire: body[key] for key, wire in PARAMS.items() if body.get(key) is not None})
    if body.get("tools"):
        out["tools"] = [translate.tool(t) for t in body["tools"]]
        if body.get("toolChoice") is not None:
            out["tool_choice"] = translate.tool_choice(body["toolChoice"])
    if isinstance(body.get("responseFormat"), dict) and (fmt := _response_format(body["responseFormat"])):
        out["response_format"] = fmt
    if body.get("stream"):
        out["stream"] = True
    return out


def _calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls as this API gives them: arguments stay a JSON string."""
    return [{"id": c.get("id") or "", "type": "function",
             "function": {"name": (c.get("function") or {}).get("name") or "",
                          "arguments": (c.get("function") or {}).get("arguments") or ""}} for c in calls]


def usage_of(tokens: Usage) -> dict[str, int]:
    prompt = tokens.input_tokens + tokens.cache_read_tokens + tokens.cache_write_tokens
    return {"promptTokens": prompt, "completionTokens": tokens.output_tokens,
            "totalTokens": prompt + tokens.output_tokens}


def message_from(answer: dict[str, Any], tokens: Usage) -> dict[str, Any]:
    message = ((answer.get("choices") or [{}])[0]).get("message") or {}
    text = message.get("content") or ""
    out: dict[str, Any] = {"role": "assistant", "text": text, "content": text, "usage": usage_of(tokens)}
    if message.get("tool_calls"):
        out["toolCalls"] = _calls(message["tool_calls"])
    return out


class DeltaStream:
    """OpenAI chunk frames -> `data: {"delta": {...}}` frames, then `data: {"usage": {...}}`;
    an error is a `data: {"error": ...}` frame, as the hub sends it (inside a 200)."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls = translate.ToolCalls()

    def feed(self, frame: bytes) -> bytes:
        chunk = chat_chunk(frame)
        if chunk is None:
            return b""
        out: list[bytes] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            for part in delta.get("tool_calls") or ():
                self._calls.add(part)
            if isinstance(delta.get("content"), str) and delta["content"]:
                out.append(sse.frame(orjson.dumps({"delta": {"role": "assistant", "content": delta["content"]}})))
        return b"".join(out)

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        if error is not None:
            return sse.frame(orjson.dumps({"error": {"message": error.message, "type": error.type}}))
        out = []
        if self._calls.calls:
            calls = _calls(self._calls.complete())
            out.append(sse.frame(orjson.dumps({"delta": {"role": "assistant", "toolCalls": calls}})))
        out.append(sse.frame(orjson.dumps({"usage": usage_of(usage or Usage())})))
        return b"".join(out)


class TextStream:
    """`stream: true` without an SSE Accept: the answer's text alone, as it comes."""

    def feed(self, frame: bytes) -> bytes:
        chunk = chat_chunk(frame)
        if chunk is None:
            return b""
        return b"".join((c.get("delta") or {}).get("content", "").encode() for c in chunk.get("choices") or ()
                        if c.get("index", 0) == 0 and isinstance((c.get("delta") or {}).get("content"), str))

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        return b""  # plain text has no way to say more; the call record keeps the error


def images(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's `data` items in the spellings this API's clients read."""
    out = []
    for item in answer.get("data") or ():
        if item.get("b64_json"):
            out.append({"b64_json": item["b64_json"], "b64Json": item["b64_json"]})
        elif item.get("url"):
            out.append({"url": item["url"]})
    return out
