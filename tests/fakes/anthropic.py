"""Anthropic's Messages API, faked: messages, their SSE event sequences, error bodies, and a rule
that checks requests the way the real endpoint does before answering.

Shapes follow Anthropic's published API reference (Messages, Streaming messages, Errors):
a stream is `message_start` (usage with the input counts), per content block
`content_block_start` / `content_block_delta`s / `content_block_stop`, `ping`s anywhere, then
`message_delta` (stop_reason, cumulative output_tokens) and `message_stop`; each event is sent
as `event: <type>` plus `data: <json>`.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.fakes.rules import JSON_CT, SSE_CT, Rule, Server
from tests.fakes.wire import (
    Receive,
    RecordedRequest,
    Reply,
    Send,
    dumps,
    encode_headers,
)

PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
VERSION = "2023-06-01"
MODEL = "claude-sonnet-4-5-20250929"


def usage(input_tokens: int = 12, output_tokens: int = 6, *, cache_write: int = 0,
          cache_read: int = 0) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read, "output_tokens": output_tokens}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(id: str, name: str, input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": input}


def thinking(value: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pk"}


def message(*content: dict[str, Any], id: str = "msg_01XFDUDYJgAACzvnptvVoYEL", model: str = MODEL,
            stop_reason: str = "end_turn", stop_sequence: str | None = None,
            tokens: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": id, "type": "message", "role": "assistant", "model": model, "content": list(content),
            "stop_reason": stop_reason, "stop_sequence": stop_sequence, "usage": tokens or usage()}


def error_body(type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type, "message": message}}


def _pieces(value: str, size: int) -> list[str]:
    return [value[i:i + size] for i in range(0, len(value), size)] or [""]


def events(msg: dict[str, Any], *, piece: int = 5, error: dict[str, Any] | None = None,
           error_after: int | None = None) -> list[dict[str, Any]]:
    """The events Anthropic streams for `msg`: text in `piece`-character deltas, tool input as
    JSON fragments. With `error`, an `error` event replaces everything after `error_after` events."""
    start_usage = {**msg["usage"], "output_tokens": 1}  # the output count is a placeholder until message_delta
    head = {k: v for k, v in msg.items() if k != "content"}
    out: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**head, "content": [], "stop_reason": None, "stop_sequence": None,
                                              "usage": start_usage}},
    ]
    for index, block in enumerate(msg["content"]):
        kind = block["type"]
        if kind == "text":
            out.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"], piece)]
        elif kind == "tool_use":
            out.append({"type": "content_block_start", "index": index,
                        "content_block": {**block, "input": {}}})
            json = dumps(block["input"]).decode() if block["input"] else ""
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_pieces(json, piece)]]
        elif kind == "thinking":
            out.append({"type": "content_block_start", "index": index,
                        "content_block": {"type": "thinking", "thinking": ""}})
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"], piece)]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:
            raise ValueError(f"no stream form for {kind} blocks")
        if index == 0:
            out.append({"type": "ping"})
        out += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        out.append({"type": "content_block_stop", "index": index})
    out.append({"type": "message_delta", "delta": {"stop_reason": msg["stop_reason"],
                                                   "stop_sequence": msg["stop_sequence"]},
                "usage": {"output_tokens": msg["usage"]["output_tokens"]}})
    out.append({"type": "message_stop"})
    if error is not None:
        out = [*out[:error_after], error]
    return out


def sse(evts: Iterable[dict[str, Any]]) -> tuple[bytes, ...]:
    return tuple(b"event: " + e["type"].encode() + b"\ndata: " + dumps(e) + b"\n\n" for e in evts)


def check(req: RecordedRequest, *, needs_max_tokens: bool = True) -> tuple[int, dict[str, Any]] | None:
    """The error Anthropic would answer a malformed request with, or None (a token count takes
    no max_tokens)."""
    if not req.headers.get("x-api-key"):
        return 401, error_body("authentication_error", "x-api-key header is required")
    if not req.headers.get("anthropic-version"):
        return 400, error_body("invalid_request_error", "anthropic-version: header is required")
    body = req.json
    if not isinstance(body, dict):
        return 400, error_body("invalid_request_error", "The request body is not valid JSON.")
    for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
        if name == "max_tokens" and not needs_max_tokens:
            continue
        if not isinstance(body.get(name), kind):
            return 400, error_body("invalid_request_error", f"{name}: Field required")
    for i, msg in enumerate(body["messages"]):
        if msg.get("role") not in ("user", "assistant"):
            return 400, error_body("invalid_request_error", f"messages.{i}.role: Input should be 'user' or 'assistant'")
    if "system" in body and not isinstance(body["system"], (str, list)):
        return 400, error_body("invalid_request_error", "system: Input should be a valid string or list")
    return None


def _error_reply(problem: tuple[int, dict[str, Any]]) -> Reply:
    status, error = problem
    data = dumps(error)
    return Reply(status, encode_headers(None, defaults=JSON_CT, body=data), data)


class MessagesRule(Rule):
    """Answers POST /v1/messages with `msg`, streamed as `events` when the request asks to stream."""

    def __init__(self, msg: dict[str, Any], *, evts: list[dict[str, Any]] | None = None,
                 chunk_delay: float = 0.0, times: int | None = None) -> None:
        super().__init__("POST", PATH, times)
        body = dumps(msg)
        self.plain = Reply(200, encode_headers({"request-id": "req_fake"}, defaults=JSON_CT, body=body), body)
        self.stream = Reply(200, encode_headers(SSE_CT), frames=sse(evts if evts is not None else events(msg)),
                            chunk_delay=chunk_delay)

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        problem = check(req)
        if problem is not None:
            reply = _error_reply(problem)
        else:
            reply = self.stream if req.json.get("stream") is True else self.plain
        await server.send_reply(reply, receive, send)


class CountTokensRule(Rule):
    """Answers POST /v1/messages/count_tokens with `input_tokens`, after the same checks."""

    def __init__(self, input_tokens: int, *, times: int | None = None) -> None:
        super().__init__("POST", COUNT_TOKENS_PATH, times)
        body = dumps({"input_tokens": input_tokens})
        self.reply = Reply(200, encode_headers(None, defaults=JSON_CT, body=body), body)

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        problem = check(req, needs_max_tokens=False)
        await server.send_reply(self.reply if problem is None else _error_reply(problem), receive, send)
