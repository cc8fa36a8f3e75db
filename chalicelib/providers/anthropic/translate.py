"""Pure translation between the client's OpenAI chat request and Anthropic's Messages API.

Request: OpenAI messages -> Anthropic's (system lifted out, tool calls and results as blocks,
roles alternating), sampling and tool options renamed. Response and stream: Anthropic's
message and SSE events -> OpenAI `chat.completion` and `chat.completion.chunk`. Usage: Anthropic
reports plain input, cache writes and cache reads apart, which is `Usage`'s own split; the
client gets OpenAI's sums.

`response_format` has no native counterpart, so it is served the way Anthropic's tool-use guide
suggests for JSON output: one forced tool whose `input_schema` is the client's schema; its input
comes back as the message content (tool input is always a JSON object, so the content parses).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import errors, openai_shape
from chalicelib.providers.base import Credential, UpstreamError, Usage
from chalicelib.providers.sse import frame
from chalicelib.providers.streaming import estimate_tokens

# -- request ----------------------------------------------------------------------------------

# The most output tokens each model family accepts, used when the client sets no limit
# (Anthropic requires one). First matching prefix wins, so the longer prefixes come first.
_MAX_OUTPUT: tuple[tuple[str, int], ...] = (
    ("claude-opus-4-5", 64000),
    ("claude-opus-4", 32000),  # opus-4 and opus-4-1
    ("claude-sonnet-4", 64000),  # sonnet-4 and sonnet-4-5
    ("claude-haiku-4-5", 64000),
    ("claude-3-7-sonnet", 64000),
    ("claude-3-5-", 8192),
)
DEFAULT_MAX_TOKENS = 4096
JSON_TOOL = "json_response"  # the forced tool's name when the client's schema has none

# OpenAI tool_choice -> Anthropic's (the Anthropic surface reads it the other way round)
TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready for Anthropic, and what reading its answer needs to know."""

    body: dict[str, Any]
    json_tool: str | None = None  # the forced tool standing in for response_format
    include_usage: bool = False  # the client asked for the stream's usage chunk


def default_max_tokens(model: str) -> int:
    for prefix, limit in _MAX_OUTPUT:
        if model.startswith(prefix):
            return limit
    return DEFAULT_MAX_TOKENS


def _data_url(url: str, param: str) -> tuple[str, str]:
    """(media type, base64 data) of a `data:<type>;base64,<data>` URL."""
    head, _, data = url.partition(",")
    media_type, _, encoding = head[5:].partition(";")
    if encoding != "base64" or not media_type or not data:
        raise bad_request("Anthropic takes data URLs only as 'data:<media type>;base64,<data>'.", param=param,
                          code="invalid_image_url")
    return media_type, data


def _image(image_url: Any, param: str) -> dict[str, Any]:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str):
        raise bad_request("image_url needs a url.", param=param)
    if url.startswith("data:"):
        media_type, data = _data_url(url, param)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise bad_request("Anthropic takes images as https URLs or base64 data URLs.", param=param,
                      code="invalid_image_url")


def _document(file: dict[str, Any], param: str) -> dict[str, Any]:
    data = file.get("file_data")
    if not isinstance(data, str):  # a file_id names an OpenAI upload, which Anthropic cannot read
        raise bad_request("Anthropic takes files only inline, as file_data.", param=param,
                          code="unsupported_content")
    media_type, encoded = _data_url(data, param)
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": encoded}}


def _block(part: dict[str, Any], param: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "text":
        block: dict[str, Any] = {"type": "text", "text": part["text"]}
    elif kind == "refusal":  # an earlier assistant refusal, replayed as what was said
        block = {"type": "text", "text": part["refusal"]}
    elif kind == "image_url":
        block = _image(part["image_url"], param)
    elif kind == "file":
        block = _document(part["file"], param)
    else:
        raise bad_request(f"Anthropic does not accept content parts of type '{kind}'.", param=param,
                          code="unsupported_content")
    if "cache_control" in part:  # prompt caching breakpoints, as Anthropic-aware clients send them
        block["cache_control"] = part["cache_control"]
    return block


def _blocks(content: str | list[dict[str, Any]] | None, param: str) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [_block(part, f"{param}[{i}]") for i, part in enumerate(content)]


def _tool_use(call: dict[str, Any], param: str) -> dict[str, Any]:
    function = call["function"]
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        raise bad_request("Tool call arguments must be a JSON object for Anthropic.", param=param) from None
    if not isinstance(parsed, dict):
        raise bad_request("Tool call arguments must be a JSON object for Anthropic.", param=param)
    return {"type": "tool_use", "id": call["id"], "name": function["name"], "input": parsed}


def _tool_result(message: dict[str, Any], param: str) -> dict[str, Any]:
    content = message["content"]
    return {"type": "tool_result", "tool_use_id": message["tool_call_id"],
            "content": content if isinstance(content, str) else _blocks(content, f"{param}.content")}


def _as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic content (already translated) as a list of blocks."""
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _append(out: list[dict[str, Any]], role: str, content: str | list[dict[str, Any]]) -> None:
    """Add a turn; a turn of the same role as the last one joins it (Anthropic alternates roles)."""
    if not out or out[-1]["role"] != role:
        out.append({"role": role, "content": content})
        return
    last = out[-1]
    joined = _as_blocks(last["content"]) + _as_blocks(content)
    if role == "user":  # Anthropic wants a turn's tool results ahead of its other blocks
        joined.sort(key=lambda block: block["type"] != "tool_result")
    last["content"] = joined


def messages(source: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, Anthropic messages) of OpenAI messages."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(source):
        role, param = message["role"], f"messages[{i}]"
        content: Any = message.get("content")
        if role in ("system", "developer"):
            system.extend(_blocks(content, f"{param}.content"))
        elif role == "user":
            _append(out, "user", content if isinstance(content, str) else _blocks(content, f"{param}.content"))
        elif role == "assistant":
            blocks = [b for b in _blocks(content, f"{param}.content") if b.get("text") != ""]
            calls = message.get("tool_calls") or ()
            blocks += [_tool_use(call, f"{param}.tool_calls[{j}]") for j, call in enumerate(calls)]
            if blocks:  # an empty assistant turn would be rejected, and says nothing
                plain = isinstance(content, str) and len(blocks) == 1
                _append(out, "assistant", content if plain else blocks)
        elif role == "tool":
            _append(out, "user", [_tool_result(message, param)])
        else:
            raise bad_request(f"Anthropic has no counterpart for messages of role '{role}'; use tool messages.",
                              param=f"{param}.role")
    return system, out


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, tool in enumerate(tools):
        if tool.get("type") != "function":
            raise bad_request(f"Anthropic takes only function tools, not '{tool.get('type')}'.", param=f"tools[{i}]")
        function = tool["function"]
        spec: dict[str, Any] = {"name": function["name"],
                                "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}
        if function.get("description"):
            spec["description"] = function["description"]
        if "cache_control" in tool:
            spec["cache_control"] = tool["cache_control"]
        out.append(spec)
    return out


def _tool_choice(choice: Any) -> dict[str, Any]:
    if isinstance(choice, str) and choice in TOOL_CHOICES:
        return dict(TOOL_CHOICES[choice])
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    raise bad_request("tool_choice must be 'auto', 'required', 'none' or a function.", param="tool_choice")


def _json_tool(response_format: dict[str, Any]) -> dict[str, Any] | None:
    """The forced tool standing in for a response_format, or None for plain text."""
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = response_format.get("json_schema") or {}
        return {"name": schema.get("name") or JSON_TOOL,
                "description": schema.get("description") or "Give the final answer as this tool's input.",
                "input_schema": schema.get("schema") or {"type": "object"}}
    if kind == "json_object":
        return {"name": JSON_TOOL, "description": "Give the final answer as this tool's input, a JSON object.",
                "input_schema": {"type": "object"}}
    if kind in (None, "text"):
        return None
    raise bad_request(f"Unknown response_format type '{kind}'.", param="response_format")


@errors.request_translation
def request_body(body: dict[str, Any], model: str, *, stream: bool = False) -> Prepared:
    """The Messages request for an OpenAI chat request; raises a 400 for what Anthropic cannot do."""
    if (body.get("n") or 1) > 1:
        raise bad_request("Anthropic returns one choice per request, so n must be 1; send several requests instead.",
                          param="n", code="unsupported_parameter")
    return _request_body(body, model, stream)


def _request_body(body: dict[str, Any], model: str, stream: bool) -> Prepared:
    system, turns = messages(body["messages"])
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens(model)
    out: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": turns}
    if system:
        plain = len(system) == 1 and "cache_control" not in system[0]
        out["system"] = system[0]["text"] if plain else system
    for name in ("temperature", "top_p", "top_k", "thinking"):  # top_k and thinking: Anthropic's own
        if body.get(name) is not None:
            out[name] = body[name]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}

    json_tool = _json_tool(body.get("response_format") or {})
    if json_tool is not None:
        if body.get("tools"):
            raise bad_request("On Anthropic, response_format is served by a forced tool call, so it cannot be "
                              "combined with tools.", param="response_format", code="unsupported_parameter")
        out["tools"] = [json_tool]
        out["tool_choice"] = {"type": "tool", "name": json_tool["name"]}
    elif body.get("tools"):
        out["tools"] = _tools(body["tools"])
        choice = _tool_choice(body["tool_choice"]) if body.get("tool_choice") is not None else None
        if body.get("parallel_tool_calls") is False and (choice or {}).get("type") != "none":
            choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
        if choice is not None:
            out["tool_choice"] = choice
    if stream:
        out["stream"] = True
    include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
    return Prepared(out, json_tool["name"] if json_tool else None, include_usage)


# -- usage ------------------------------------------------------------------------------------

_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def usage_from(raw: dict[str, Any] | None) -> Usage:
    """Anthropic's usage -> Usage: its input_tokens are already the plain (uncached) input."""
    raw = raw or {}
    return Usage(input_tokens=raw.get("input_tokens") or 0, output_tokens=raw.get("output_tokens") or 0,
                 cache_read_tokens=raw.get("cache_read_input_tokens") or 0,
                 cache_write_tokens=raw.get("cache_creation_input_tokens") or 0)


def raw_usage(u: Usage) -> dict[str, int]:
    """Usage -> Anthropic's usage object (the inverse of `usage_from`)."""
    return {"input_tokens": u.input_tokens, "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cache_read_tokens, "output_tokens": u.output_tokens}


class StreamUsage:
    """Usage over a Messages stream: message_start brings the input counts and a placeholder
    output count; message_delta's counts are cumulative, so they replace message_start's."""

    __slots__ = ("_raw", "final")

    def __init__(self) -> None:
        self._raw: dict[str, int] = {}
        self.final = False  # message_delta came: its counts are Anthropic's last word

    def start(self, usage: dict[str, Any] | None) -> None:
        usage = usage or {}
        self._raw = {key: usage[key] for key in _USAGE_KEYS if usage.get(key) is not None}

    def delta(self, usage: dict[str, Any] | None) -> None:
        usage = usage or {}
        for key in _USAGE_KEYS:
            if usage.get(key) is not None:
                self._raw[key] = usage[key]
        self.final = True

    def usage(self, output_chars: int) -> Usage | None:
        if not self._raw:
            return None
        usage = usage_from(self._raw)
        if not self.final:  # cut short: message_start's output count is a placeholder
            usage.output_tokens = max(usage.output_tokens, estimate_tokens(output_chars))
            usage.estimated = True
        return usage


openai_usage = openai_shape.usage


# -- response ---------------------------------------------------------------------------------

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",  # a server tool paused the turn; the client may send it back to continue
}


def finish_reason(stop_reason: str | None, json_tool: str | None = None) -> str:
    reason = FINISH_REASONS.get(stop_reason or "", "stop")
    return "stop" if json_tool and reason == "tool_calls" else reason  # the forced tool is the answer


def _arguments(value: Any) -> str:
    return orjson.dumps(value if value is not None else {}).decode()


def response_body(raw: bytes, provider: str, json_tool: str | None = None) -> tuple[bytes, Usage]:
    """Anthropic's message -> (OpenAI chat.completion JSON, usage)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.bad_response(provider, "the body is not JSON") from None
    if not isinstance(data, dict) or data.get("type") != "message":
        raise errors.bad_response(provider, "the body is not a message")
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    answer: str | None = None
    for block in data.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "tool_use":
            if block.get("name") == json_tool:
                answer = _arguments(block.get("input"))
            else:
                calls.append({"id": block.get("id"), "type": "function",
                              "function": {"name": block.get("name"), "arguments": _arguments(block.get("input"))}})
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
        # redacted thinking and server tool blocks have no OpenAI counterpart
    message: dict[str, Any] = {"role": "assistant", "content": answer if answer is not None else
                               ("".join(text) if text else None), "refusal": None}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    usage = usage_from(data.get("usage"))
    completion = {
        "id": data.get("id"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data.get("model"),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(data.get("stop_reason"), json_tool)}],
        "usage": openai_usage(usage),
    }
    return orjson.dumps(completion), usage


# -- errors -----------------------------------------------------------------------------------

# The HTTP status Anthropic gives each error type, for errors that arrive inside a stream.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def refine_error(error: UpstreamError) -> UpstreamError:
    """Anthropic names an error by its type only. When the client sees Anthropic's own error (a
    pass-through status), keep that name as the `code` and give OpenAI's `type` for the status."""
    if error.upstream_status not in errors.PASS_THROUGH:
        return error
    return UpstreamError(error.status, error.message, code=error.code or error.type, param=error.param,
                         upstream_status=error.upstream_status, headers=error.headers)


def error_from_status(provider: str, status: int, body: bytes, credential: Credential | None,
                      headers: dict[str, str] | None = None) -> UpstreamError:
    return refine_error(errors.from_status(provider, status, body, credential, headers))


def stream_error(provider: str, data: bytes, credential: Credential | None) -> UpstreamError:
    """An `error` event mid-stream, mapped as the same error would be as an HTTP response."""
    kind = errors.error_fields(data).get("type")
    return error_from_status(provider, ERROR_STATUS.get(kind, 500) if isinstance(kind, str) else 500, data, credential)


def unsupported(operation: str) -> ApiError:
    return bad_request(f"Anthropic has no {operation} API; choose a model of another provider.",
                       param="model", code="unsupported_operation")


# -- stream -----------------------------------------------------------------------------------


class StreamTranslator:
    """Anthropic's SSE events -> OpenAI chunks, tracking usage and the end of the stream."""

    __slots__ = ("_calls", "_credential", "_head", "_include_usage", "_json_block", "_json_tool",
                 "_tools", "_usage", "done", "error", "output_chars", "provider")

    def __init__(self, provider: str, *, include_usage: bool = False, json_tool: str | None = None,
                 credential: Credential | None = None) -> None:
        self.provider = provider
        self.output_chars = 0
        self.done = False
        self.error: ApiError | None = None
        self._credential = credential
        self._include_usage = include_usage
        self._json_tool = json_tool
        self._head: dict[str, Any] | None = None  # id, object, created, model of every chunk
        self._usage = StreamUsage()
        # Anthropic block index -> [OpenAI tool call index, whether any arguments were sent]
        self._tools: dict[int, list[Any]] = {}
        self._calls = 0  # tool calls so far: OpenAI numbers them apart from other blocks
        self._json_block: int | None = None  # the forced response_format tool's block

    @property
    def usage(self) -> Usage | None:
        return self._usage.usage(self.output_chars)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return frame(orjson.dumps({**self._head, "choices": [  # type: ignore[dict-item]
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}))

    def feed(self, event: bytes | None, data: bytes) -> tuple[bytes, ...]:
        try:
            ev = orjson.loads(data)
            kind = ev["type"]
            if self._head is None and kind not in ("message_start", "ping", "error"):
                self.error = errors.bad_response(self.provider, "the stream did not begin with message_start")
                return ()
            if kind == "content_block_delta":
                return self._delta(ev["index"], ev["delta"])
            if kind == "content_block_start":
                return self._block_start(ev["index"], ev["content_block"])
            if kind == "content_block_stop":
                return self._block_stop(ev["index"])
            if kind == "message_start":
                return self._message_start(ev["message"])
            if kind == "message_delta":
                return self._message_delta(ev)
            if kind == "message_stop":
                self.done = True
                if self._include_usage:
                    usage = openai_usage(self.usage or Usage())
                    return (frame(orjson.dumps({**self._head, "choices": [], "usage": usage})),)  # type: ignore[dict-item]
                return ()
            if kind == "error":
                self.error = stream_error(self.provider, data, self._credential)
            return ()  # ping, and event types newer than this code
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            self.error = errors.bad_response(self.provider, "a stream event was malformed")
            return ()

    def _message_start(self, message: dict[str, Any]) -> tuple[bytes, ...]:
        self._head = {"id": message.get("id"), "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": message.get("model")}
        self._usage.start(message.get("usage"))
        return (self._chunk({"role": "assistant", "content": ""}),)

    def _block_start(self, index: int, block: dict[str, Any]) -> tuple[bytes, ...]:
        kind = block["type"]
        if kind == "tool_use":
            if self._json_tool is not None and block["name"] == self._json_tool:
                self._json_block = index
                self._tools[index] = [None, False]
                return ()
            call = self._calls
            self._calls += 1
            self._tools[index] = [call, False]
            return (self._chunk({"tool_calls": [{"index": call, "id": block["id"], "type": "function",
                                                 "function": {"name": block["name"], "arguments": ""}}]}),)
        if kind == "text" and block.get("text"):
            return self._text(block["text"])
        return ()

    def _text(self, text: str) -> tuple[bytes, ...]:
        self.output_chars += len(text)
        return (self._chunk({"content": text}),)

    def _arguments(self, index: int, part: str) -> tuple[bytes, ...]:
        entry = self._tools.get(index)
        if entry is None:  # input of a server-side tool: not the client's to run
            return ()
        entry[1] = True
        if index == self._json_block:
            return self._text(part)
        self.output_chars += len(part)
        return (self._chunk({"tool_calls": [{"index": entry[0], "function": {"arguments": part}}]}),)

    def _delta(self, index: int, delta: dict[str, Any]) -> tuple[bytes, ...]:
        kind = delta["type"]
        if kind == "text_delta":
            return self._text(delta["text"])
        if kind == "input_json_delta":
            part = delta["partial_json"]
            return self._arguments(index, part) if part else ()
        if kind == "thinking_delta":
            self.output_chars += len(delta["thinking"])
            return (self._chunk({"reasoning_content": delta["thinking"]}),)
        return ()  # signature and citation deltas have no OpenAI counterpart

    def _block_stop(self, index: int) -> tuple[bytes, ...]:
        entry = self._tools.get(index)
        if entry is not None and not entry[1]:  # a tool without arguments: "{}" keeps them valid JSON
            return self._arguments(index, "{}")
        return ()

    def _message_delta(self, ev: dict[str, Any]) -> tuple[bytes, ...]:
        self._usage.delta(ev.get("usage"))
        stop_reason = (ev.get("delta") or {}).get("stop_reason")
        return (self._chunk({}, finish_reason(stop_reason, self._json_tool)),)


# -- native: the client already speaks Messages ------------------------------------------------


def native_body(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The client's own Messages body with the provider's model id; nothing else changes (key
    order included), so thinking signatures and cache_control reach Anthropic as sent."""
    return {**body, "model": model}


def native_usage(raw: bytes, provider: str) -> Usage:
    """The usage of a Messages answer that goes back to the client as it came."""
    data = errors.json_object(raw, provider)
    if data.get("type") != "message":
        raise errors.bad_response(provider, "the body is not a message")
    return usage_from(data.get("usage"))


class PassThrough:
    """Anthropic's SSE events relayed as they came (same event name, same data), reading only
    what billing needs: usage, the end of the stream, and errors (rendered by the surface)."""

    __slots__ = ("_credential", "_usage", "done", "error", "output_chars", "provider")

    def __init__(self, provider: str, credential: Credential | None = None) -> None:
        self.provider = provider
        self.output_chars = 0
        self.done = False
        self.error: ApiError | None = None
        self._credential = credential
        self._usage = StreamUsage()

    @property
    def usage(self) -> Usage | None:
        return self._usage.usage(self.output_chars)

    def feed(self, event: bytes | None, data: bytes) -> tuple[bytes, ...]:
        try:
            ev = orjson.loads(data)
            kind = ev["type"]
            if kind == "content_block_delta":
                delta = ev["delta"]
                self.output_chars += len(delta.get("text") or delta.get("thinking") or delta.get("partial_json") or "")
            elif kind == "message_start":
                self._usage.start(ev["message"].get("usage"))
            elif kind == "message_delta":
                self._usage.delta(ev.get("usage"))
            elif kind == "message_stop":
                self.done = True
            elif kind == "error":
                self.error = stream_error(self.provider, data, self._credential)
                return ()
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            self.error = errors.bad_response(self.provider, "a stream event was malformed")
            return ()
        return (frame(data, event or kind.encode()),)
