"""AIGNE Hub v2 <-> the internal OpenAI chat form (wire protocol: shared/aigne-hub-v2.md).

Pure functions: the AIGNE invoke envelope's `input` -> an OpenAI chat body; an OpenAI
chat.completion -> a `ChatModelOutput`; OpenAI chunk frames -> AIGNE's SSE frames (`delta.text`
appended, `delta.json` shallow-merged by the client, no `[DONE]`); errors in the hub's shape.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from chalicelib.errors import ApiError, bad_request
from chalicelib.providers import sse
from chalicelib.providers.base import Usage
from chalicelib.surfaces.base import chat_chunk

DEFAULT_CHAT_MODEL = "openai/gpt-5-mini"  # what the hub serves when the envelope names none
ROLES = {"system": "system", "user": "user", "agent": "assistant", "assistant": "assistant", "tool": "tool"}
# modelOptions (camelCase) -> OpenAI's parameter; the rest (cacheConfig, modalities...) is not forwarded
OPTIONS = {"temperature": "temperature", "topP": "top_p", "frequencyPenalty": "frequency_penalty",
           "presencePenalty": "presence_penalty", "maxTokens": "max_tokens"}
EFFORTS = ("minimal", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Billed:
    """What the hub adds to `usage` for a settled call when credit billing is on."""

    credits: int | float  # the ledger's charge for the call, in credits
    call_id: str
    prefix: str | None  # "$", "€", "¥" or None: the client rejects anything else, "" included


# -- request ----------------------------------------------------------------------------------


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"type": "text", "text": part.get("text") or ""}
    mime = part.get("mimeType") or ""
    if kind == "url":
        if mime and not mime.startswith("image/"):
            return {"type": "file", "file": {"file_data": part["url"], "filename": part.get("filename") or "file"}}
        return {"type": "image_url", "image_url": {"url": part["url"]}}
    if kind == "file":
        data = part.get("data") or ""
        url = data if data.startswith("data:") else f"data:{mime or 'application/octet-stream'};base64,{data}"
        if mime.startswith("image/") or url.startswith("data:image/"):
            return {"type": "image_url", "image_url": {"url": url}}
        return {"type": "file", "file": {"file_data": url, "filename": part.get("filename") or "file"}}
    raise bad_request(f"{where}: a content part is text, url or file, not {kind!r}.", param=where)


def _content(content: Any, where: str) -> Any:
    if content is None or isinstance(content, str):
        return content
    return [_part(part, f"{where}[{i}]") for i, part in enumerate(content)]


def arguments_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value if value is not None else {}).decode()


def openai_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AIGNE's tool calls (arguments an object) -> OpenAI's (arguments a JSON string)."""
    return [{"id": call["id"], "type": "function",
             "function": {"name": call["function"]["name"], "arguments": arguments_text(call["function"].get("arguments"))}}
            for call in calls]


def _message(message: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"role": ROLES[message["role"]], "content": _content(message.get("content"), f"{where}.content")}
    if message.get("toolCalls"):
        out["tool_calls"] = openai_tool_calls(message["toolCalls"])
    if message.get("toolCallId"):
        out["tool_call_id"] = message["toolCallId"]
    if message.get("name") and out["role"] != "tool":
        out["name"] = message["name"]
    if out["role"] == "tool" and not isinstance(out["content"], str):
        # A tool result may be structured; OpenAI takes its text
        out["content"] = arguments_text(message.get("content"))
    return out


def tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    return {"type": "function", "function": {key: function[key] for key in ("name", "description", "parameters")
                                             if function.get(key) is not None}}


def tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        return {"type": "function", "function": {"name": choice["function"]["name"]}}
    return choice


def wants_json(chat_input: dict[str, Any]) -> bool:
    """Whether the caller asked for structured output, which comes back as `json`."""
    return (chat_input.get("responseFormat") or {}).get("type") == "json_schema"


def to_openai(chat_input: dict[str, Any], streaming: bool) -> dict[str, Any]:
    """A validated `ChatModelInput` -> the internal OpenAI chat-completions body."""
    options = chat_input.get("modelOptions") or {}
    body: dict[str, Any] = {
        "model": options.get("model") or chat_input.get("model") or DEFAULT_CHAT_MODEL,
        "messages": [_message(m, f"input.messages[{i}]") for i, m in enumerate(chat_input["messages"])],
    }
    body.update({wire: options[key] for key, wire in OPTIONS.items() if options.get(key) is not None})
    if options.get("reasoningEffort") in EFFORTS:
        body["reasoning_effort"] = options["reasoningEffort"]
    if chat_input.get("tools"):
        body["tools"] = [tool(t) for t in chat_input["tools"]]
        if chat_input.get("toolChoice") is not None:
            body["tool_choice"] = tool_choice(chat_input["toolChoice"])
        if options.get("parallelToolCalls") is not None:
            body["parallel_tool_calls"] = options["parallelToolCalls"]
    if wants_json(chat_input):
        spec = chat_input["responseFormat"]["jsonSchema"]
        body["response_format"] = {"type": "json_schema", "json_schema": {
            key: spec[key] for key in ("name", "description", "schema", "strict") if spec.get(key) is not None}}
    if streaming:
        body["stream"] = True
    return body


# -- answer -----------------------------------------------------------------------------------


def usage_of(tokens: Usage, billed: Billed | None) -> dict[str, Any]:
    """AIGNE's usage: cached input counts as input, as the hub reports it."""
    out: dict[str, Any] = {
        "inputTokens": tokens.input_tokens + tokens.cache_read_tokens + tokens.cache_write_tokens,
        "outputTokens": tokens.output_tokens,
    }
    if billed is not None:
        out["aigneHubCredits"] = billed.credits
        out["modelCallId"] = billed.call_id
        if billed.prefix:
            out["creditPrefix"] = billed.prefix
    return out


def tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI's tool calls (arguments a JSON string) -> AIGNE's (arguments an object)."""
    out = []
    for call in calls:
        function = call.get("function") or {}
        raw = function.get("arguments") or "{}"
        try:
            arguments = orjson.loads(raw)
        except orjson.JSONDecodeError:
            arguments = {"_raw": raw}  # a provider's broken JSON is shown, not dropped
        out.append({"id": call.get("id") or "", "type": "function",
                    "function": {"name": function.get("name") or "", "arguments": arguments}})
    return out


def _structured(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def output_from(answer: dict[str, Any], tokens: Usage, billed: Billed | None, *, json_out: bool,
                model_with_provider: str) -> dict[str, Any]:
    """An OpenAI chat.completion -> a `ChatModelOutput` (nulls left out: the client drops them)."""
    choices = answer.get("choices") or [{}]
    message = choices[0].get("message") or {}
    out: dict[str, Any] = {"model": answer.get("model")}
    text = message.get("content")
    calls = tool_calls(message.get("tool_calls") or [])
    if calls:
        out["toolCalls"] = calls
    parsed = _structured(text) if json_out and not calls and isinstance(text, str) else None
    if parsed is not None:
        out["json"] = parsed
    elif isinstance(text, str) and text:
        out["text"] = text
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        out["thoughts"] = reasoning
    out["usage"] = usage_of(tokens, billed)
    out["modelWithProvider"] = model_with_provider
    return {key: value for key, value in out.items() if value is not None}


# -- stream -----------------------------------------------------------------------------------


def delta_json(data: dict[str, Any]) -> bytes:
    return sse.frame(orjson.dumps({"delta": {"json": data}}))


def delta_text(key: str, text: str) -> bytes:
    return sse.frame(orjson.dumps({"delta": {"text": {key: text}}}))


def error_event(error: ApiError) -> bytes:
    """A mid-stream error: the client throws `Error(message)` on `event: error`."""
    return sse.frame(orjson.dumps({"message": error.message}), b"error")


class ToolCalls:
    """Tool-call fragments of a stream, gathered by index until they are complete."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def add(self, part: dict[str, Any]) -> None:
        call = self.calls.setdefault(part.get("index", 0), {"id": "", "function": {"name": "", "arguments": ""}})
        call["id"] = part.get("id") or call["id"]
        function = part.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""

    def complete(self) -> list[dict[str, Any]]:
        """OpenAI-shaped (arguments a JSON string), in index order."""
        return [self.calls[i] for i in sorted(self.calls)]


class OutputStream:
    """OpenAI chunk frames -> AIGNE frames, one instance per call.

    Text and reasoning pass as they come; tool calls are gathered and sent once complete, as
    the client takes them; structured output is gathered and sent parsed, as `json`. The usage
    frame waits for the end, when the call is settled and its charge known.
    """

    __slots__ = ("_billing", "_calls", "_json", "_model", "_text")

    def __init__(self, json_out: bool, billing: Callable[[], tuple[Billed | None, str]]) -> None:
        self._json = json_out
        self._billing = billing  # (the charge, "provider/model"), asked at the end: after settlement
        self._model: str | None = None
        self._text: list[str] = []  # structured output's text, parsed at the end
        self._calls = ToolCalls()

    def feed(self, frame: bytes) -> bytes:
        chunk = chat_chunk(frame)
        if chunk is None:
            return b""
        out: list[bytes] = []
        if self._model is None and chunk.get("model"):
            self._model = chunk["model"]
            out.append(delta_json({"model": self._model}))
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                out.append(delta_text("thoughts", reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                if self._json:
                    self._text.append(content)
                else:
                    out.append(delta_text("text", content))
            for part in delta.get("tool_calls") or ():
                self._calls.add(part)
        return b"".join(out)

    def close(self, usage: Usage | None, error: ApiError | None) -> bytes:
        if error is not None:
            return error_event(error)
        out: list[bytes] = []
        if self._calls.calls:
            out.append(delta_json({"toolCalls": tool_calls(self._calls.complete())}))
        elif self._json:
            text = "".join(self._text)
            parsed = _structured(text)
            out.append(delta_json({"json": parsed} if parsed is not None else {"text": text}))
        billed, model_with_provider = self._billing()
        out.append(delta_json({"usage": usage_of(usage or Usage(), billed), "modelWithProvider": model_with_provider}))
        return b"".join(out)


# -- errors -----------------------------------------------------------------------------------


def error_body(error: ApiError, link: str | None = None) -> dict[str, Any]:
    """The hub's error object (the client throws `Error(error.message)` with `e.type = error.type`);
    out of credits it is its CreditError: type NOT_ENOUGH, with the top-up link."""
    if error.status == 402:
        body: dict[str, Any] = {"message": error.message, "type": "NOT_ENOUGH", "code": error.code,
                                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        if link:
            body["link"] = link
        return {"error": body}
    return {"error": {"message": error.message, "type": error.type, "code": error.code}}
