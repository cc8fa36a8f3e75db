"""Anthropic Messages as a client surface, for providers that do not speak it.

Request: a Messages body -> the internal OpenAI chat body (system lifted into a message,
tool_result blocks into tool messages, tool_use blocks into tool_calls, tools and tool_choice
renamed, output_config.format as response_format; metadata, top_k and effort ignored, thinking
blocks dropped: their signatures mean nothing elsewhere).
Answer: an OpenAI chat.completion -> a Messages `message`; OpenAI chunks -> Anthropic's event
sequence (message_start, content blocks, message_delta with usage, message_stop). Errors:
Anthropic's shape and type names. The provider room chalicelib/providers/anthropic/translate.py
goes the other way; the tables both directions need live there and are read backwards here.
"""
from __future__ import annotations

from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import sse
from chalicelib.providers.anthropic import translate as anthropic
from chalicelib.providers.base import Usage
from chalicelib.providers.openai_compat.translate import usage_from
from chalicelib.providers.streaming import estimate_tokens
from chalicelib.surfaces.base import chat_chunk

# -- errors -----------------------------------------------------------------------------------

# HTTP status -> Anthropic's error type: the provider table read backwards (Anthropic gives
# each type one status), plus the gateway's own 502/503 which Anthropic has no type for.
_ERROR_TYPES: dict[int, str] = {status: kind for kind, status in anthropic.ERROR_STATUS.items()}
_ERROR_TYPES.update({502: "api_error", 503: "api_error"})


def error_type(error: ApiError) -> str:
    if error.code in anthropic.ERROR_STATUS:  # Anthropic's own type, passed through from upstream
        return error.code  # type: ignore[return-value]
    if error.code == "upstream_overloaded":
        return "overloaded_error"
    return _ERROR_TYPES.get(error.status) or ("api_error" if error.status >= 500 else "invalid_request_error")


def error_body(error: ApiError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(error), "message": error.message}}


# -- request ----------------------------------------------------------------------------------

# Anthropic's tool_choice type -> OpenAI's, from the provider's table read backwards.
_TOOL_CHOICE = {choice["type"]: name for name, choice in anthropic.TOOL_CHOICES.items()}
_DROPPED_BLOCKS = {"thinking", "redacted_thinking"}  # signed for Anthropic alone


def _unsupported(what: str, param: str) -> ApiError:
    # Anthropic's error shape has no `param`, so the message names the field, as Anthropic's do
    return bad_request(f"{param}: {what} cannot be translated for this model's provider; use an Anthropic model.",
                       param=param, code="unsupported_content")


def _data_url(source: dict[str, Any]) -> str:
    return f"data:{source.get('media_type')};base64,{source.get('data')}"


def _part(block: dict[str, Any], param: str, lenient: bool) -> dict[str, Any] | None:
    """One user content block -> an OpenAI content part (None: nothing to send)."""
    kind = block["type"]
    source = block.get("source") or {}
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    if kind == "image" and source.get("type") == "base64":
        return {"type": "image_url", "image_url": {"url": _data_url(source)}}
    if kind == "image" and source.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": source.get("url")}}
    if kind == "document" and source.get("type") == "base64":
        file = {"filename": block.get("title") or "document.pdf", "file_data": _data_url(source)}
        return {"type": "file", "file": file}
    if kind == "document" and source.get("type") == "text":
        return {"type": "text", "text": source.get("data") or ""}
    if kind in _DROPPED_BLOCKS:
        return None
    if lenient:  # only sized for the credit hold: its text stands in for it
        return {"type": "text", "text": orjson.dumps(block).decode()}
    detail = f" with a {source.get('type')} source" if source else ""
    raise _unsupported(f"A {kind} block{detail}", param)


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """One text part as a plain string (which every OpenAI-dialect provider takes), else parts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _tool_result(block: dict[str, Any], param: str, lenient: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tool_result -> (OpenAI tool message, parts that only a user message can carry)."""
    content = block.get("content")
    if content is None or isinstance(content, str):
        return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": content or ""}, []
    parts = [p for i, b in enumerate(content) if (p := _part(b, f"{param}.content[{i}]", lenient))]
    texts = [p for p in parts if p["type"] == "text"]
    rest = [p for p in parts if p["type"] != "text"]  # images: tool messages take text only
    message = {"role": "tool", "tool_call_id": block["tool_use_id"], "content": _content(texts) if texts else ""}
    return message, rest


def _user(blocks: list[dict[str, Any]], param: str, lenient: bool) -> list[dict[str, Any]]:
    """A user turn: its tool results as tool messages (they answer the turn before), then the rest."""
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for i, block in enumerate(blocks):
        if block["type"] == "tool_result":
            message, rest = _tool_result(block, f"{param}[{i}]", lenient)
            tools.append(message)
            parts += rest
        elif (part := _part(block, f"{param}[{i}]", lenient)) is not None:
            parts.append(part)
    return tools + ([{"role": "user", "content": _content(parts)}] if parts else [])


def _assistant(blocks: list[dict[str, Any]], param: str, lenient: bool) -> list[dict[str, Any]]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for i, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            text.append(block["text"])
        elif kind == "tool_use":
            calls.append({"id": block["id"], "type": "function",
                          "function": {"name": block["name"], "arguments": orjson.dumps(block["input"]).decode()}})
        elif kind in _DROPPED_BLOCKS:
            continue
        elif lenient:
            text.append(orjson.dumps(block).decode())
        else:
            raise _unsupported(f"A {kind} block", f"{param}[{i}]")
    if not text and not calls:  # only thinking: nothing another model can read
        return []
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _system(system: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not system:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    return [{"role": "system", "content": _content([{"type": "text", "text": b.get("text") or ""} for b in system])}]


def _tool(tool: dict[str, Any], param: str) -> dict[str, Any]:
    if tool.get("type") not in (None, "custom"):
        raise _unsupported(f"The server tool '{tool.get('type')}'", param)
    function: dict[str, Any] = {"name": tool["name"],
                                "parameters": tool.get("input_schema") or {"type": "object", "properties": {}}}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: dict[str, Any]) -> Any:
    if choice["type"] == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}
    return _TOOL_CHOICE[choice["type"]]


def to_openai(body: dict[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """The internal (OpenAI chat) body of a validated Messages request. Raises a 400 naming the
    field for what other providers cannot take; `lenient` instead keeps such blocks as text,
    for a body that only sizes the credit hold of a call Anthropic itself will serve."""
    messages = _system(body.get("system"))
    for i, message in enumerate(body["messages"]):
        content, param = message["content"], f"messages[{i}].content"
        if isinstance(content, str):
            messages.append({"role": message["role"], "content": content})
        elif message["role"] == "assistant":
            messages += _assistant(content, param, lenient)
        else:
            messages += _user(content, param, lenient)
    # max_completion_tokens, not the older max_tokens: OpenAI's reasoning models take only it
    out: dict[str, Any] = {"model": body["model"], "messages": messages, "max_completion_tokens": body["max_tokens"]}
    for name in ("temperature", "top_p"):  # top_k has no OpenAI counterpart
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    tools = [t for t in body.get("tools") or () if not lenient or t.get("type") in (None, "custom")]
    if tools:
        out["tools"] = [_tool(t, f"tools[{i}]") for i, t in enumerate(tools)]
        choice = body.get("tool_choice")
        if choice:
            out["tool_choice"] = _tool_choice(choice)
            if choice.get("disable_parallel_tool_use") and choice["type"] != "none":
                out["parallel_tool_calls"] = False
    output_format = (body.get("output_config") or {}).get("format")
    if output_format and output_format.get("type") == "json_schema":  # structured outputs
        out["response_format"] = {"type": "json_schema",
                                  "json_schema": {"name": "output", "schema": output_format.get("schema") or {}}}
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}  # message_delta carries the usage
    return out


def wants_thinking(body: dict[str, Any]) -> bool:
    """Whether the client asked for thinking blocks (so a provider's reasoning is shown as one)."""
    return (body.get("thinking") or {}).get("type") not in (None, "disabled")


_OPAQUE = {"type", "role", "id", "tool_use_id", "data", "signature", "media_type", "cache_control"}


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """About how many input tokens a Messages request has, for providers with no count of their
    own: every string in it but ids, types, base64 data and signatures, at four characters a token
    (images and PDFs are not counted: their cost depends on pixels and pages unknown here)."""
    def chars(value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, dict):
            return sum(chars(v) + (len(k) if k in ("name", "description") else 0)
                       for k, v in value.items() if k not in _OPAQUE)
        if isinstance(value, list):
            return sum(chars(v) for v in value)
        return 0

    total = chars({k: body.get(k) for k in ("system", "messages", "tools")})
    return estimate_tokens(total) + 4 * len(body.get("messages") or ())


# -- answer -----------------------------------------------------------------------------------

# OpenAI finish_reason -> Anthropic stop_reason: the provider table read backwards, where the
# first Anthropic reason listed for a finish reason wins (end_turn for stop, max_tokens for length).
STOP_REASONS: dict[str, str] = {
    **{finish: reason for reason, finish in reversed(anthropic.FINISH_REASONS.items())},
    "function_call": "tool_use",  # OpenAI's legacy name for a tool call
}


def stop_reason(finish_reason: str | None) -> str:
    return STOP_REASONS.get(finish_reason or "", "end_turn")


def _input(arguments: str | None) -> dict[str, Any]:
    """A tool call's arguments as tool_use input (an object; what does not parse as one is {})."""
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def message_from(raw: bytes, *, thinking: bool = False) -> bytes:
    """An OpenAI chat.completion -> an Anthropic message (its reasoning as a thinking block
    when the client asked for thinking; it carries no signature, having none)."""
    data = orjson.loads(raw)
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if thinking and isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content") or message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id"), "name": function.get("name"),
                        "input": _input(function.get("arguments"))})
    return orjson.dumps({
        "id": data.get("id"), "type": "message", "role": "assistant", "model": data.get("model"),
        "content": content, "stop_reason": stop_reason(choice.get("finish_reason")), "stop_sequence": None,
        "usage": anthropic.raw_usage(usage_from(data.get("usage"))),
    })


# -- stream -----------------------------------------------------------------------------------


def event(payload: dict[str, Any]) -> bytes:
    return sse.frame(orjson.dumps(payload), payload["type"].encode())


def error_event(error: ApiError) -> bytes:
    return event(error_body(error))


class MessageStream:
    """OpenAI chunk frames -> Anthropic's event sequence, one instance per call.

    Content blocks open as the deltas come (thinking, text, each tool call) and close when
    another kind begins or the choice finishes. message_delta and message_stop wait for the
    end, when the usage the provider reported is known.
    """

    __slots__ = ("_block", "_blocks", "_head", "_kind", "_stop", "_thinking", "_tools")

    def __init__(self, thinking: bool = False) -> None:
        self._thinking = thinking
        self._head: dict[str, Any] | None = None  # message_start's message, once sent
        self._blocks = 0  # content blocks opened so far
        self._block: int | None = None  # the open block's index
        self._kind: str | None = None  # the open block's kind: "thinking", "text", or "tool:<index>"
        self._tools: dict[int, int] = {}  # OpenAI tool call index -> its block's index
        self._stop: str | None = None

    def feed(self, frame: bytes) -> bytes:
        chunk = chat_chunk(frame)
        if chunk is None:
            return b""
        out: list[bytes] = []
        if self._head is None:
            out += self._start(chunk.get("id"), chunk.get("model"))
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0:  # Anthropic has one answer per message
                out += self._choice(choice)
        return b"".join(out)

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        if error is not None:
            return error_event(error)
        out = self._start(None, None) if self._head is None else []
        out += self._close_block()
        out.append(event({"type": "message_delta", "delta": {"stop_reason": self._stop or "end_turn",
                                                             "stop_sequence": None},
                          "usage": anthropic.raw_usage(usage or Usage())}))
        out.append(event({"type": "message_stop"}))
        return b"".join(out)

    def _start(self, id: str | None, model: str | None) -> list[bytes]:
        # Input counts come at the end with OpenAI-dialect providers: message_delta carries them.
        self._head = {"id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                      "stop_reason": None, "stop_sequence": None, "usage": anthropic.raw_usage(Usage())}
        return [event({"type": "message_start", "message": self._head}), event({"type": "ping"})]

    def _choice(self, choice: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if self._thinking and isinstance(reasoning, str) and reasoning:
            out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out.append(self._delta({"type": "thinking_delta", "thinking": reasoning}))
        text = delta.get("content") or delta.get("refusal")
        if text:
            out += self._open("text", {"type": "text", "text": ""})
            out.append(self._delta({"type": "text_delta", "text": text}))
        for call in delta.get("tool_calls") or ():
            out += self._tool_call(call)
        if choice.get("finish_reason"):
            self._stop = stop_reason(choice["finish_reason"])
            out += self._close_block()
        return out

    def _tool_call(self, call: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        number = call.get("index", 0)
        function = call.get("function") or {}
        if number not in self._tools:
            out += self._open(f"tool:{number}", {"type": "tool_use", "id": call.get("id"),
                                                 "name": function.get("name"), "input": {}})
            self._tools[number] = self._block  # type: ignore[assignment]
        arguments = function.get("arguments")
        if arguments:
            out.append(event({"type": "content_block_delta", "index": self._tools[number],
                              "delta": {"type": "input_json_delta", "partial_json": arguments}}))
        return out

    def _open(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        if self._kind == kind:
            return []
        out = self._close_block()
        self._block, self._kind = self._blocks, kind
        self._blocks += 1
        out.append(event({"type": "content_block_start", "index": self._block, "content_block": block}))
        return out

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return event({"type": "content_block_delta", "index": self._block, "delta": delta})

    def _close_block(self) -> list[bytes]:
        if self._block is None:
            return []
        index, self._block, self._kind = self._block, None, None
        return [event({"type": "content_block_stop", "index": index})]


class Relay:
    """The native path's renderer: Anthropic's own frames pass as they are; a failure mid-stream
    ends the stream with an `error` event."""

    passes_through = True

    def feed(self, frame: bytes) -> bytes:
        return frame

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        return error_event(error) if error is not None else b""


# -- models -----------------------------------------------------------------------------------


def model_page(ids: list[str], created_at: str, *, limit: int, after_id: str | None = None,
               before_id: str | None = None) -> dict[str, Any]:
    """GET /v1/models in Anthropic's shape: one page of the list, paged by id as Anthropic's is."""
    start, end = 0, len(ids)
    if after_id is not None:
        start = ids.index(after_id) + 1 if after_id in ids else end
    if before_id is not None:
        end = ids.index(before_id) if before_id in ids else 0
        start = max(start, end - limit)
    page = ids[start:min(end, start + limit)]
    has_more = (start > 0) if before_id is not None else (start + len(page) < end)
    return {
        "data": [{"type": "model", "id": id, "display_name": id, "created_at": created_at} for id in page],
        "has_more": has_more,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }
