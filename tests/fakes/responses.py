"""OpenAI's Responses API, faked: Response objects, their SSE event sequences, and a rule that
answers POST /v1/responses as the real endpoint does (the requests it got are recorded by the
FakeUpstream like any other).

Shapes follow OpenAI's API reference (the `Response` schema and the streaming events of
tests/fixtures/openai-openapi): a stream is `response.created`, `response.in_progress`, per
output item `response.output_item.added`, its deltas and `.done` events and
`response.output_item.done`, then `response.completed`; every event is sent as
`event: <type>` plus `data: <json>` and carries its `sequence_number`, counted from 0.
"""
from __future__ import annotations

from typing import Any

from tests.fakes.rules import JSON_CT, SSE_CT, Rule, Server
from tests.fakes.wire import Receive, RecordedRequest, Reply, Send, dumps, encode_headers

PATH = "/v1/responses"
ID = "resp_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b"
MODEL = "gpt-5-nano-2025-08-07"
CREATED = 1756315696


def message(text: str, id: str = "msg_68af40337e5c8193a8d8c7ed2ba9e2df05438e46b5f69a3b") -> dict[str, Any]:
    return {"id": id, "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]}


def function_call(name: str, arguments: str, call_id: str = "call_nd4Smn8fVaT6bKnLPyXWkjWn",
                  id: str = "fc_68af4031b1c8819386d19a4a2a34b6b805438e46b5f69a3b") -> dict[str, Any]:
    return {"id": id, "type": "function_call", "status": "completed", "arguments": arguments, "call_id": call_id,
            "name": name}


def reasoning(id: str = "rs_68af403131f08193b5c55dbbd0c0a2bb05438e46b5f69a3b") -> dict[str, Any]:
    return {"id": id, "type": "reasoning", "summary": []}


def usage(input_tokens: int = 19, output_tokens: int = 87, cached: int = 0,
          reasoning_tokens: int = 64) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": input_tokens + output_tokens}


def response(*output: dict[str, Any], request: dict[str, Any] | None = None, status: str = "completed",
             tokens: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Response as OpenAI returns it, echoing the request's own settings."""
    req = request or {}
    return {
        "id": ID, "object": "response", "created_at": CREATED, "status": status, "background": False,
        "error": None, "incomplete_details": None, "instructions": req.get("instructions"),
        "max_output_tokens": req.get("max_output_tokens"), "max_tool_calls": None, "model": MODEL,
        "output": list(output), "parallel_tool_calls": True, "previous_response_id": req.get("previous_response_id"),
        "prompt_cache_key": None, "reasoning": {"effort": "medium", "summary": None}, "safety_identifier": None,
        "service_tier": "default", "store": req.get("store", True), "temperature": 1.0,
        "text": req.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": req.get("tool_choice", "auto"), "tools": req.get("tools", []), "top_logprobs": 0,
        "top_p": 1.0, "truncation": "disabled", "usage": tokens or usage(), "user": None,
        "metadata": req.get("metadata") or {},
    }


def _pieces(value: str, size: int) -> list[str]:
    return [value[i:i + size] for i in range(0, len(value), size)] or [""]


def events(final: dict[str, Any], *, piece: int = 6, error_after: int | None = None) -> list[dict[str, Any]]:
    """The events OpenAI streams for `final`: text and arguments in `piece`-character deltas.
    With `error_after`, an `error` event replaces everything after that many events."""
    head = {**final, "status": "in_progress", "output": [], "usage": None}
    out: list[dict[str, Any]] = [{"type": "response.created", "response": head},
                                 {"type": "response.in_progress", "response": head}]
    for index, item in enumerate(final["output"]):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            out.append({"type": "response.output_item.added", "output_index": index,
                        "item": {**item, "status": "in_progress", "content": []}})
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            out.append({"type": "response.content_part.added", **where, "content_index": 0, "part": part})
            out += [{"type": "response.output_text.delta", **where, "content_index": 0, "delta": p, "logprobs": []}
                    for p in _pieces(text, piece)]
            out.append({"type": "response.output_text.done", **where, "content_index": 0, "text": text,
                        "logprobs": []})
            out.append({"type": "response.content_part.done", **where, "content_index": 0,
                        "part": {**part, "text": text}})
        elif item["type"] == "function_call":
            out.append({"type": "response.output_item.added", "output_index": index,
                        "item": {**item, "status": "in_progress", "arguments": ""}})
            out += [{"type": "response.function_call_arguments.delta", **where, "delta": p}
                    for p in _pieces(item["arguments"], piece)]
            out.append({"type": "response.function_call_arguments.done", **where, "name": item["name"],
                        "arguments": item["arguments"]})
        else:
            out.append({"type": "response.output_item.added", "output_index": index, "item": item})
        out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    out.append({"type": "response.completed", "response": final})
    if error_after is not None:
        out = [*out[:error_after], {"type": "error", "code": "server_error", "param": None,
                                    "message": "The server had an error while processing your request."}]
    return [{**event, "sequence_number": n} for n, event in enumerate(out)]


def sse(evts: list[dict[str, Any]]) -> tuple[bytes, ...]:
    return tuple(b"event: " + e["type"].encode() + b"\ndata: " + dumps(e) + b"\n\n" for e in evts)


def _error(status: int, message: str, param: str | None, code: str | None) -> Reply:
    data = dumps({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})
    return Reply(status, encode_headers(None, defaults=JSON_CT, body=data), data)


class ResponsesRule(Rule):
    """Answers POST /v1/responses with `output` (a Response echoing the request), streamed as
    its event sequence when the request asks to stream. It keeps no responses itself, so a
    `previous_response_id` is answered as OpenAI answers an unknown one."""

    def __init__(self, *output: dict[str, Any], tokens: dict[str, Any] | None = None,
                 error_after: int | None = None, times: int | None = None, path: str = PATH) -> None:
        super().__init__("POST", path, times)
        self.output, self.tokens, self.error_after = output, tokens, error_after

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        body = req.json
        if not req.headers.get("authorization", "").startswith("Bearer "):
            reply = _error(401, "You didn't provide an API key.", None, None)
        elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
            reply = _error(400, "Missing required parameter: 'model'.", "model", "missing_required_parameter")
        elif body.get("previous_response_id"):
            reply = _error(404, f"Previous response with id '{body['previous_response_id']}' not found.",
                           "previous_response_id", "previous_response_not_found")
        else:
            final = response(*self.output, request=body, tokens=self.tokens)
            if body.get("stream") is True:
                reply = Reply(200, encode_headers(SSE_CT), frames=sse(events(final, error_after=self.error_after)))
            else:
                data = dumps(final)
                reply = Reply(200, encode_headers(None, defaults=JSON_CT, body=data), data)
        await server.send_reply(reply, receive, send)
