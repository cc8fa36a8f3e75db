"""A loopback fake of the bedrock-runtime REST API, on a FakeUpstream.

Built from the Bedrock Runtime API reference: POST /model/{modelId}/converse (JSON),
/model/{modelId}/converse-stream (application/vnd.amazon.eventstream),
/model/{modelId}/invoke (the model's own JSON) and /model/{modelId}/invoke-with-response-stream
(the model's own stream events, each base64 in a `chunk` event). Errors are restJson1: the HTTP status, an
`x-amzn-errortype` header naming the exception, and a {"message"} body.

The event stream framing (AWS event stream encoding), one message per event:

    total length u32 | headers length u32 | prelude CRC32 u32 | headers | payload | message CRC32 u32

all big-endian; the prelude CRC covers the first 8 bytes, the message CRC everything before it.
A header is name length u8, name, value type u8 (7 = string), value length u16, value. Events
carry `:event-type`, `:content-type` and `:message-type: event`; exceptions carry
`:exception-type` and `:message-type: exception`. Bedrock pads each event's JSON with a "p"
field, so the fake does too.

    from tests.fakes import bedrock
    bedrock.route(fake, "converse", json=bedrock.converse_body("Hi"))
    bedrock.route(fake, "converse-stream", events=bedrock.text_stream(["Hel", "lo"]))
    bedrock.route(fake, "converse", error=(429, "ThrottlingException", "Too many requests"))
"""
from __future__ import annotations

import base64
import re
import struct
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from tests.fakes.rules import Rule, Server
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import (
    Receive,
    RecordedRequest,
    Reply,
    Send,
    dumps,
    encode_headers,
    loads,
)

EVENTSTREAM_CT = "application/vnd.amazon.eventstream"
_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke|invoke-with-response-stream)$")
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def model_and_operation(path: str) -> tuple[str, str] | None:
    """(model id, operation) of a request path; the id may come percent-encoded (":" as %3A)."""
    found = _PATH.match(path)
    return (unquote(found["model"]), found["op"]) if found else None


# -- event stream encoding ---------------------------------------------------------------------

def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack(">B", len(n)) + n + struct.pack(">BH", 7, len(v)) + v


def encode_message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    raw_headers = b"".join(_header(n, v) for n, v in headers)
    prelude = struct.pack(">II", 12 + len(raw_headers) + len(payload) + 4, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + raw_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(name: str, body: dict[str, Any]) -> bytes:
    padded = {**body, "p": _PADDING[: 1 + len(name) % len(_PADDING)]}
    return encode_message(
        ((":event-type", name), (":content-type", "application/json"), (":message-type", "event")), dumps(padded))


def exception(name: str, message: str) -> bytes:
    """A modelled exception in the stream, named as in ConverseStreamOutput (camelCase)."""
    return encode_message(
        ((":exception-type", name), (":content-type", "application/json"), (":message-type", "exception")),
        dumps({"message": message}))


# -- canned Converse answers -------------------------------------------------------------------

def usage(input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0) -> dict[str, int]:
    out = {"inputTokens": input_tokens, "outputTokens": output_tokens,
           "totalTokens": input_tokens + output_tokens + cache_read + cache_write}
    if cache_read:
        out["cacheReadInputTokens"] = cache_read
    if cache_write:
        out["cacheWriteInputTokens"] = cache_write
    return out


def converse_body(text: str | None = None, *, tool_uses: Iterable[dict[str, Any]] = (), stop_reason: str = "end_turn",
                  token_usage: dict[str, int] | None = None) -> dict[str, Any]:
    """A ConverseResponse; tool_uses are ToolUseBlocks {toolUseId, name, input}."""
    content: list[dict[str, Any]] = [{"text": text}] if text is not None else []
    content += [{"toolUse": use} for use in tool_uses]
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop_reason,
            "usage": token_usage or usage(10, 5), "metrics": {"latencyMs": 120}}


def text_stream(texts: Iterable[str], *, stop_reason: str = "end_turn", token_usage: dict[str, int] | None = None,
                metadata: bool = True) -> list[bytes]:
    """A ConverseStream answer of one text block."""
    out = [event("messageStart", {"role": "assistant"})]
    out += [event("contentBlockDelta", {"delta": {"text": t}, "contentBlockIndex": 0}) for t in texts]
    out += [event("contentBlockStop", {"contentBlockIndex": 0}), event("messageStop", {"stopReason": stop_reason})]
    if metadata:
        out.append(event("metadata", {"usage": token_usage or usage(10, 5), "metrics": {"latencyMs": 90}}))
    return out


def tool_stream(text: str, tools: Iterable[tuple[str, str, Iterable[str]]], *,
                token_usage: dict[str, int] | None = None) -> list[bytes]:
    """A ConverseStream answer: a text block, then one toolUse block per (id, name, input fragments)."""
    out = [event("messageStart", {"role": "assistant"}),
           event("contentBlockDelta", {"delta": {"text": text}, "contentBlockIndex": 0}),
           event("contentBlockStop", {"contentBlockIndex": 0})]
    for index, (tool_id, name, fragments) in enumerate(tools, start=1):
        out.append(event("contentBlockStart", {"start": {"toolUse": {"toolUseId": tool_id, "name": name}},
                                               "contentBlockIndex": index}))
        out += [event("contentBlockDelta", {"delta": {"toolUse": {"input": f}}, "contentBlockIndex": index})
                for f in fragments]
        out.append(event("contentBlockStop", {"contentBlockIndex": index}))
    out += [event("messageStop", {"stopReason": "tool_use"}),
            event("metadata", {"usage": token_usage or usage(30, 12), "metrics": {"latencyMs": 90}})]
    return out


def claude_chunks(events: Iterable[dict[str, Any]], *, input_tokens: int = 12, output_tokens: int = 6) -> list[bytes]:
    """InvokeModelWithResponseStream for Claude: Anthropic's stream events, each base64 in a
    `chunk`; Bedrock adds its invocation metrics to message_stop."""
    out = []
    for evt in events:
        if evt["type"] == "message_stop":
            evt = {**evt, "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": input_tokens, "outputTokenCount": output_tokens, "invocationLatency": 410,
                "firstByteLatency": 120}}
        out.append(event("chunk", {"bytes": base64.b64encode(dumps(evt)).decode()}))
    return out


def claude_events(chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    """The Anthropic events inside `claude_chunks` (what a client of the native path gets back)."""
    return [loads(base64.b64decode(loads(_payload(c))["bytes"])) for c in chunks]


def _payload(message: bytes) -> bytes:
    total, headers = struct.unpack(">II", message[:8])
    return message[12 + headers:total - 4]


# -- replies and the rule ----------------------------------------------------------------------

def _ids() -> dict[str, str]:
    return {"x-amzn-requestid": str(uuid.uuid4())}


def json_reply(body: Any, status: int = 200) -> Reply:
    data = dumps(body)
    return Reply(status, encode_headers({**_ids(), "content-type": "application/json"}, body=data), data)


def error_reply(status: int, code: str, message: str) -> Reply:
    data = dumps({"message": message})
    headers = {**_ids(), "content-type": "application/json",
               "x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    return Reply(status, encode_headers(headers, body=data), data)


def stream_reply(messages: Sequence[bytes], *, chunk_delay: float = 0.0, split: int | None = None) -> Reply:
    """One body write per message, or (split=N) the whole stream re-cut into N-byte writes, so
    messages straddle writes as they may on the wire."""
    frames = tuple(messages)
    if split:
        whole = b"".join(frames)
        frames = tuple(whole[i:i + split] for i in range(0, len(whole), split))
    headers = {**_ids(), "content-type": EVENTSTREAM_CT}
    return Reply(200, encode_headers(headers), frames=frames, chunk_delay=chunk_delay)


class BedrockRule(Rule):
    """POST /model/{modelId}/{operation} (any model, or one), answered with a Reply or a handler."""

    def __init__(self, operation: str, reply: Reply | Callable[[RecordedRequest], Reply], *,
                 model: str | None = None, times: int | None = None) -> None:
        super().__init__("POST", f"/model/{model or '*'}/{operation}", times)
        self.operation, self.model, self.reply = operation, model, reply

    def matches(self, req: RecordedRequest) -> bool:
        found = model_and_operation(req.path) if req.method == "POST" else None
        return (found is not None and found[1] == self.operation and self.model in (None, found[0])
                and (self.times is None or self.served < self.times))

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        reply = self.reply if isinstance(self.reply, Reply) else self.reply(req)
        await server.send_reply(reply, receive, send)


def route(fake: FakeUpstream, operation: str, *, model: str | None = None, json: Any = None,
          events: Sequence[bytes] | None = None, error: tuple[int, str, str] | None = None,
          handler: Callable[[RecordedRequest], Reply] | None = None, chunk_delay: float = 0.0,
          split: int | None = None, times: int | None = None) -> BedrockRule:
    """Program one Bedrock operation: a JSON answer, an event stream, an (status, code, message)
    error, or a handler returning a Reply."""
    given = [n for n, v in (("json", json), ("events", events), ("error", error), ("handler", handler))
             if v is not None]
    if len(given) != 1:
        raise ValueError(f"bedrock.route(): give exactly one of json/events/error/handler, got {given}")
    if handler is not None:
        reply: Reply | Callable[[RecordedRequest], Reply] = handler
    elif error is not None:
        reply = error_reply(*error)
    elif events is not None:
        reply = stream_reply(events, chunk_delay=chunk_delay, split=split)
    else:
        reply = json_reply(json)
    rule = BedrockRule(operation, reply, model=model, times=times)
    fake.add_rule(rule)
    return rule
