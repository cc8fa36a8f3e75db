"""OpenAI's Responses API as a client surface, translated to and from the internal chat form.

Pure functions and one stream renderer: a Responses request -> the internal OpenAI chat body,
a chat completion -> a Response object, OpenAI chat chunks -> the Responses event sequence
(`response.created` ... `response.completed`, each event with its `sequence_number`), and the
pass-through renderer for a provider that speaks this API itself. Item ids are made by an
`ids(prefix)` function, so tests can make them predictable.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import sse
from chalicelib.providers.base import Usage
from chalicelib.providers.openai_compat.translate import usage_from
from chalicelib.surfaces.base import chat_chunk

JSON = dict[str, Any]
Ids = Callable[[str], str]
Keep = Callable[[JSON], None]  # called with each finished Response (completed or incomplete)

NATIVE_ONLY = "needs a provider that serves OpenAI's Responses API itself (openai)"
# Request fields a Response object repeats back, with OpenAI's defaults.
ECHOED: dict[str, Any] = {
    "instructions": None, "max_output_tokens": None, "parallel_tool_calls": True, "previous_response_id": None,
    "temperature": 1.0, "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
}
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


@dataclass(frozen=True, slots=True)
class Context:
    """One response's identity and what its Response object echoes of the request."""

    id: str = field(default_factory=lambda: new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))
    model: str = ""
    store: bool = True  # whether aihub keeps it (GET, previous_response_id)
    request: JSON = field(default_factory=dict)

    @classmethod
    def of(cls, body: JSON, *, store: bool) -> Context:
        return cls(model=body["model"], store=store, request=body)


def response_object(ctx: Context, *, model: str, status: str, output: list[JSON], usage: JSON | None = None,
                    error: JSON | None = None, incomplete: str | None = None) -> JSON:
    req = ctx.request
    reasoning = req.get("reasoning") or {}
    out: JSON = {
        "id": ctx.id, "object": "response", "created_at": ctx.created_at, "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error, "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": model, "output": output,
        **{name: default if req.get(name) is None else req[name] for name, default in ECHOED.items()},
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": ctx.store, "text": req.get("text") or {"format": {"type": "text"}},
        "metadata": req.get("metadata") or {},
    }
    # Present only when known: OpenAI's schema has no null for either.
    if usage is not None:
        out["usage"] = usage
    if req.get("user") is not None:
        out["user"] = req["user"]
    return out


def usage_object(u: Usage) -> JSON:
    """Usage in the Responses shape: input_tokens count cache reads and writes too."""
    prompt = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
    return {"input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": u.cache_read_tokens, "cache_write_tokens": u.cache_write_tokens},
            "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": prompt + u.output_tokens}


# -- the request -> the internal chat body ---------------------------------------------------


def input_items(value: str | list[JSON]) -> list[JSON]:
    """`input` as items: a string is one user message; an untyped item is a message."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": value}]}]
    return [item if item.get("type") else {"type": "message", **item} for item in value]


def history(input: list[JSON], output: list[JSON], *, native: bool) -> list[JSON]:
    """The conversation a stored response continues into: what it was given, then its output.
    Output aihub made itself goes back without aihub's item ids and reasoning summaries, which
    OpenAI would look up and not find should the next turn be served by it natively."""
    if native:
        return [*input, *output]
    return [*input, *({k: v for k, v in item.items() if k not in ("id", "status")}
                      for item in output if item.get("type") != "reasoning")]


def _unsupported(what: str, param: str) -> ApiError:
    return bad_request(f"{what} {NATIVE_ONLY}; this model is served through translation.", param=param,
                       code="unsupported_on_provider")


def _text_of(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    return "".join(p.get("text") or p.get("refusal") or "" for p in parts or () if isinstance(p, dict))


def _part(part: JSON, param: str, lenient: bool) -> JSON | None:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text") or ""}
    if kind == "refusal":
        return {"type": "text", "text": part.get("refusal") or ""}
    if kind == "input_image" and part.get("image_url"):
        image = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file" and part.get("file_data"):
        return {"type": "file", "file": {k: part[k] for k in ("file_data", "filename") if part.get(k)}}
    if lenient:
        return None
    raise _unsupported(f"Content of type '{kind}' (or given by file id)", param)


def _message(item: JSON, param: str, lenient: bool) -> JSON:
    role = "system" if item["role"] == "developer" else item["role"]
    content = item["content"]
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts = [p for j, part in enumerate(content) if (p := _part(part, f"{param}.content[{j}]", lenient))]
    if role == "user" and any(p["type"] != "text" for p in parts):
        return {"role": role, "content": parts}
    # Text alone as a plain string: what every chat provider takes (DeepSeek takes no parts).
    return {"role": role, "content": _text_of(parts)}


def _add_items(messages: list[JSON], items: Iterable[JSON], where: str, lenient: bool) -> None:
    for i, item in enumerate(items):
        kind, param = item.get("type") or "message", f"{where}[{i}]"
        if kind == "message":
            messages.append(_message(item, param, lenient))
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":  # the calls of one turn share its message
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": _text_of(item["output"])})
        elif kind != "reasoning" and not lenient:  # reasoning is the provider's own: never sent across
            raise _unsupported(f"Input items of type '{kind}'", f"{param}.type")


def _tools(body: JSON, lenient: bool) -> list[JSON]:
    out = []
    for i, tool in enumerate(body.get("tools") or ()):
        if tool["type"] == "function":
            function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if tool.get(k) is not None}
            out.append({"type": "function", "function": function})
        elif not lenient:
            raise _unsupported(f"The built-in tool '{tool['type']}'", f"tools[{i}].type")
    return out


def _tool_choice(choice: Any, lenient: bool) -> Any:
    if choice is None or isinstance(choice, str):
        return choice
    if choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if lenient:
        return None
    raise _unsupported(f"tool_choice of type '{choice.get('type')}'", "tool_choice")


def _response_format(text: JSON | None) -> JSON | None:
    fmt = (text or {}).get("format") or {}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "description", "schema", "strict") if fmt.get(k) is not None}
        return {"type": "json_schema", "json_schema": schema}
    return None


def to_chat(body: JSON, previous: list[JSON], *, lenient: bool) -> JSON:
    """The internal chat body of a Responses request. `previous` are the items of the
    conversation so far (previous_response_id), turned into messages as far as chat can express
    them. With `lenient` (a provider that speaks this API natively may serve the call), what chat
    cannot express is left out rather than refused: the body then only sizes the credit hold."""
    for name in ("conversation", "prompt"):
        if body.get(name) is not None and not lenient:
            raise _unsupported(f"'{name}'", name)
    messages: list[JSON] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):
        _add_items(messages, input_items(instructions), "instructions", lenient)
    _add_items(messages, previous, "previous_response_id", True)  # accepted when it was made
    _add_items(messages, input_items(body["input"]), "input", lenient)
    out: JSON = {"model": body["model"], "messages": messages}
    if body.get("stream"):
        out["stream"] = True
    tools = _tools(body, lenient)
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), lenient)
        if choice is not None:
            out["tool_choice"] = choice
        if body.get("parallel_tool_calls") is not None:
            out["parallel_tool_calls"] = body["parallel_tool_calls"]
    response_format = _response_format(body.get("text"))
    if response_format:
        out["response_format"] = response_format
    effort = (body.get("reasoning") or {}).get("effort")
    if effort:
        out["reasoning_effort"] = effort
    if body.get("max_output_tokens") is not None:
        out["max_completion_tokens"] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "user"):
        if body.get(name) is not None:
            out[name] = body[name]
    return out


# -- the chat answer -> a Response -----------------------------------------------------------


def _reasoning_item(item_id: str, text: str) -> JSON:
    return {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}


def _output_text(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(item_id: str, status: str, content: list[JSON]) -> JSON:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, status: str, call_id: str, name: str, arguments: str) -> JSON:
    return {"id": item_id, "type": "function_call", "status": status, "call_id": call_id, "name": name,
            "arguments": arguments}


def chat_to_response(chat: JSON, ctx: Context, ids: Ids = new_id) -> JSON:
    """A chat.completion -> the Response object: reasoning, message and function-call items."""
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    incomplete = _INCOMPLETE.get(choice.get("finish_reason") or "")
    status = "incomplete" if incomplete else "completed"
    output: list[JSON] = []
    if message.get("reasoning_content"):
        output.append(_reasoning_item(ids("rs"), message["reasoning_content"]))
    content = [_output_text(_text_of(message["content"]))] if message.get("content") else []
    if message.get("refusal"):
        content.append({"type": "refusal", "refusal": message["refusal"]})
    if content:
        output.append(_message_item(ids("msg"), status, content))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(_call_item(ids("fc"), "completed", call.get("id") or ids("call"), function.get("name") or "",
                                 function.get("arguments") or ""))
    usage = usage_object(usage_from(chat["usage"])) if chat.get("usage") else None
    return response_object(ctx, model=chat.get("model") or ctx.model, status=status, output=output,
                           usage=usage, incomplete=incomplete)


# -- chat chunks -> Responses events ---------------------------------------------------------


def _failure_code(error: ApiError) -> str:
    """response.error.code takes a few values only: a rate limit, else a server error."""
    return "rate_limit_exceeded" if error.status == 429 else "server_error"


@dataclass(slots=True)
class _Open:
    """An output item being streamed: its place in `output` and what it has gathered."""

    index: int
    kind: str  # reasoning | message | function_call
    id: str
    text: list[str] = field(default_factory=list)  # summary, text or arguments, as they came
    call_id: str = ""
    name: str = ""


class ResponseEvents:
    """OpenAI chat chunk frames -> the Responses event sequence of one response.

    `response.created` and `response.in_progress` open it at the first chunk; each output
    item is announced (`output_item.added`), streamed (text, reasoning summary or function
    arguments deltas) and finished (`.done` events, `output_item.done`); the stream ends with
    `response.completed` (`response.incomplete` when cut at the token limit), or with an `error`
    event and `response.failed`.
    """

    def __init__(self, ctx: Context, keep: Keep | None = None, ids: Ids = new_id) -> None:
        self.ctx = ctx
        self._keep = keep
        self._ids = ids
        self._seq = 0
        self._started = False
        self._model = ctx.model
        self._output: list[JSON] = []  # items as they stand (finished or in progress)
        self._text: _Open | None = None  # the open reasoning or message item
        self._calls: dict[int, _Open] = {}  # open function calls by their chat tool-call index
        self._finish: str | None = None

    def _event(self, out: list[bytes], kind: str, **fields: Any) -> None:
        out.append(sse.frame(orjson.dumps({"type": kind, **fields, "sequence_number": self._seq}), kind.encode()))
        self._seq += 1

    def _response(self, status: str, **extra: Any) -> JSON:
        return response_object(self.ctx, model=self._model, status=status, output=list(self._output), **extra)

    def _start(self, out: list[bytes]) -> None:
        if not self._started:
            self._started = True
            snapshot = self._response("in_progress")
            self._event(out, "response.created", response=snapshot)
            self._event(out, "response.in_progress", response=snapshot)

    def _add(self, out: list[bytes], kind: str, prefix: str, item: JSON) -> _Open:
        opened = _Open(len(self._output), kind, self._ids(prefix))
        item = {"id": opened.id, **item}
        self._output.append(item)
        self._event(out, "response.output_item.added", output_index=opened.index, item=item)
        return opened

    def _text_item(self, out: list[bytes], kind: str) -> _Open:
        if self._text is not None and self._text.kind == kind:
            return self._text
        self._close_text(out)
        if kind == "reasoning":
            opened = self._add(out, kind, "rs", {"type": "reasoning", "summary": []})
            self._event(out, "response.reasoning_summary_part.added", item_id=opened.id, output_index=opened.index,
                        summary_index=0, part={"type": "summary_text", "text": ""})
        else:
            opened = self._add(out, kind, "msg", {"type": "message", "status": "in_progress", "role": "assistant",
                                                  "content": []})
            self._event(out, "response.content_part.added", item_id=opened.id, output_index=opened.index,
                        content_index=0, part=_output_text(""))
        self._text = opened
        return opened

    def _close_text(self, out: list[bytes]) -> None:
        opened, self._text = self._text, None
        if opened is None:
            return
        text, where = "".join(opened.text), {"item_id": opened.id, "output_index": opened.index}
        if opened.kind == "reasoning":
            part = {"type": "summary_text", "text": text}
            self._event(out, "response.reasoning_summary_text.done", **where, summary_index=0, text=text)
            self._event(out, "response.reasoning_summary_part.done", **where, summary_index=0, part=part)
            item = _reasoning_item(opened.id, text)
        else:
            self._event(out, "response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            self._event(out, "response.content_part.done", **where, content_index=0, part=_output_text(text))
            status = "incomplete" if _INCOMPLETE.get(self._finish or "") else "completed"
            item = _message_item(opened.id, status, [_output_text(text)])
        self._output[opened.index] = item
        self._event(out, "response.output_item.done", output_index=opened.index, item=item)

    def _close_call(self, out: list[bytes], opened: _Open) -> None:
        arguments, where = "".join(opened.text), {"item_id": opened.id, "output_index": opened.index}
        self._event(out, "response.function_call_arguments.done", **where, name=opened.name, arguments=arguments)
        item = _call_item(opened.id, "completed", opened.call_id, opened.name, arguments)
        self._output[opened.index] = item
        self._event(out, "response.output_item.done", output_index=opened.index, item=item)

    def _tool_call(self, out: list[bytes], call: JSON) -> None:
        function = call.get("function") or {}
        opened = self._calls.get(call.get("index", 0))
        if opened is None:
            self._close_text(out)
            call_id, name = call.get("id") or self._ids("call"), function.get("name") or ""
            opened = self._add(out, "function_call", "fc", {"type": "function_call", "status": "in_progress",
                                                            "call_id": call_id, "name": name, "arguments": ""})
            opened.call_id, opened.name = call_id, name
            self._calls[call.get("index", 0)] = opened
        if function.get("arguments"):
            opened.text.append(function["arguments"])
            self._event(out, "response.function_call_arguments.delta", item_id=opened.id,
                        output_index=opened.index, delta=function["arguments"])

    def feed(self, frame: bytes) -> bytes:
        chunk = chat_chunk(frame)
        if chunk is None:
            return b""
        out: list[bytes] = []
        if not self._started and chunk.get("model"):
            self._model = chunk["model"]
        self._start(out)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0):
                continue  # Responses has one answer
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                opened = self._text_item(out, "reasoning")
                opened.text.append(delta["reasoning_content"])
                self._event(out, "response.reasoning_summary_text.delta", item_id=opened.id,
                            output_index=opened.index, summary_index=0, delta=delta["reasoning_content"])
            if delta.get("content"):
                opened = self._text_item(out, "message")
                opened.text.append(delta["content"])
                self._event(out, "response.output_text.delta", item_id=opened.id, output_index=opened.index,
                            content_index=0, delta=delta["content"], logprobs=[])
            for call in delta.get("tool_calls") or ():
                self._tool_call(out, call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return b"".join(out)

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        out: list[bytes] = []
        self._start(out)
        usage_json = usage_object(usage) if usage is not None else None
        if error is not None:
            self._event(out, "error", code=error.code, message=error.message, param=error.param)
            failed = self._response("failed", usage=usage_json,
                                    error={"code": _failure_code(error), "message": error.message})
            self._event(out, "response.failed", response=failed)
            return b"".join(out)
        self._close_text(out)
        for opened in self._calls.values():
            self._close_call(out, opened)
        incomplete = _INCOMPLETE.get(self._finish or "")
        final = self._response("incomplete" if incomplete else "completed", usage=usage_json, incomplete=incomplete)
        self._event(out, "response.incomplete" if incomplete else "response.completed", response=final)
        if self._keep is not None:
            self._keep(final)
        return b"".join(out)


class Passthrough:
    """A native Responses stream, relayed as it is. The final response goes to `keep`; a
    stream that broke off without the provider saying so ends with an `error` event."""

    def __init__(self, keep: Keep | None = None) -> None:
        self._keep = keep
        self._seen = 0  # events relayed: the next sequence number, as OpenAI counts from 0
        self._told = False  # the provider sent its own error or failure

    def feed(self, frame: bytes) -> bytes:
        self._seen += 1
        event, data = sse.parse_event(frame.strip())
        if event is None and data:  # no `event:` line: the type is in the payload
            kind = orjson.loads(data).get("type", "")
            event = kind.encode() if isinstance(kind, str) else None
        if event in (b"error", b"response.failed"):
            self._told = True
        elif event in (b"response.completed", b"response.incomplete") and self._keep is not None and data:
            response = orjson.loads(data).get("response")  # valid JSON: the relay let it through
            if isinstance(response, dict):
                self._keep(response)
        return frame

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        if error is None or self._told:
            return b""
        payload = {"type": "error", "code": error.code, "message": error.message, "param": error.param,
                   "sequence_number": self._seen}
        return sse.frame(orjson.dumps(payload), b"error")


# -- stored responses, listed ------------------------------------------------------------------

_ITEM_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def listed_items(items: list[JSON], response_id: str) -> list[JSON]:
    """Input items as GET .../input_items shows them: each with an id (one derived from the
    response's where the client gave none) and a message's content as a list of parts."""
    out = []
    for i, item in enumerate(items):
        item = dict(item)
        kind = item.setdefault("type", "message")
        if kind == "message":
            if isinstance(item.get("content"), str):
                part = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": part, "text": item["content"]}]
            item.setdefault("status", "completed")
        item.setdefault("id", f"{_ITEM_PREFIX.get(kind, 'item')}_{response_id.partition('_')[2]}{i:04d}")
        out.append(item)
    return out
