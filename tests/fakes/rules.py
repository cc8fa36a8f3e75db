"""What the fake upstream answers: rules matched newest-first by FakeUpstream.

Each rule decides ``matches(request)`` and then ``respond(...)``. Rules are
built once (bodies and headers precomputed) so serving is just writes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal, Protocol

from tests.fakes import chat_echo
from tests.fakes.wire import (
    RecordedRequest,
    Receive,
    Reply,
    Send,
    close_connection,
    dumps,
    encode_headers,
    reset_connection,
    sse_frame,
)
from tests.support.cassettes import Interaction

Fault = Literal["reset", "hang", "cut_stream", "bad_json"]
FAULTS: frozenset[str] = frozenset({"reset", "hang", "cut_stream", "bad_json"})

HeadersIn = Mapping[str, str] | Iterable[tuple[str, str]]
HandlerResult = tuple[int, HeadersIn | None, bytes | str | Iterable[bytes]]
Handler = Callable[[RecordedRequest], HandlerResult | Awaitable[HandlerResult]]

JSON_CT = {"content-type": "application/json"}
SSE_CT = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
BAD_JSON = b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess'


class Server(Protocol):
    """What a rule needs from the running server (stop-aware waiting)."""

    async def pause(self, seconds: float) -> bool:
        """Sleep; False if the server began stopping meanwhile."""
        ...

    async def hold(self, receive: Receive) -> None:
        """Wait until the client disconnects or the server stops."""
        ...

    async def send_reply(self, reply: Reply, receive: Receive, send: Send, *, cut: bool = False) -> None:
        ...


class Rule:
    """Base: method+path match and an optional budget of ``times`` requests."""

    def __init__(self, method: str, path: str, times: int | None = None) -> None:
        self.method = method.upper()
        self.path = path
        self.times = times
        self.served = 0  # requests answered by this rule so far

    def matches(self, req: RecordedRequest) -> bool:
        return (
            req.method == self.method
            and req.path == self.path
            and (self.times is None or self.served < self.times)
        )

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.path} served={self.served}>"


def error_reply(status: int, message: str) -> Reply:
    body = dumps({"error": {"message": message, "type": "fake_upstream", "param": None, "code": None}})
    return Reply(status, encode_headers(None, defaults=JSON_CT, body=body), body)


class RouteRule(Rule):
    """A scripted answer, a custom handler, or a fault."""

    def __init__(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        body: bytes | str | None = None,
        headers: HeadersIn | None = None,
        sse: Iterable[Any] | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
        times: int | None = None,
        handler: Handler | None = None,
        fault: Fault | None = None,
    ) -> None:
        super().__init__(method, path, times)
        sources = (("json", json), ("body", body), ("sse", sse), ("handler", handler))
        given = [name for name, value in sources if value is not None]
        if len(given) > 1:
            raise ValueError(f"route(): give at most one of json/body/sse/handler, got {given}")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"route(): unknown fault {fault!r}; expected one of {sorted(FAULTS)}")
        if fault == "cut_stream" and sse is None:
            sse = ()  # drop right after the headers
        self.fault = fault
        self.handler = handler
        self.delay, self.chunk_delay = delay, chunk_delay
        self.reply = self._build(status, json, body, headers, sse)

    def _build(
        self,
        status: int,
        json: Any,
        body: bytes | str | None,
        headers: HeadersIn | None,
        sse: Iterable[Any] | None,
    ) -> Reply:
        if self.fault == "bad_json":
            return Reply(200, encode_headers(headers, defaults=JSON_CT, body=BAD_JSON), BAD_JSON)
        if sse is not None:
            frames = tuple(sse_frame(p) for p in sse)
            sse_headers = encode_headers(headers, defaults=SSE_CT)
            return Reply(status, sse_headers, frames=frames, chunk_delay=self.chunk_delay)
        if json is not None:
            data = dumps(json)
            return Reply(status, encode_headers(headers, defaults=JSON_CT, body=data), data)
        data = body.encode() if isinstance(body, str) else (body or b"")
        defaults = {"content-type": "text/plain; charset=utf-8"} if data else None
        return Reply(status, encode_headers(headers, defaults=defaults, body=data), data)

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        if self.fault == "hang":
            await server.hold(receive)
            await reset_connection(receive)  # never answer; don't leave a half-open socket behind
            return
        if self.delay and not await server.pause(self.delay):
            await reset_connection(receive)  # server stopping
            return
        if self.fault == "reset":
            await reset_connection(receive)
            return
        reply = await self._from_handler(req) if self.handler else self.reply
        await server.send_reply(reply, receive, send, cut=self.fault == "cut_stream")
        if self.fault == "cut_stream":
            await close_connection(receive)

    async def _from_handler(self, req: RecordedRequest) -> Reply:
        assert self.handler is not None
        try:
            result = self.handler(req)
            if inspect.isawaitable(result):
                result = await result
            status, headers, body = result  # type: ignore[misc]
        except Exception as exc:  # surface handler bugs to the test, not as a bare 500
            return error_reply(599, f"fake upstream: handler for {self.method} {self.path} raised {exc!r}")
        if isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
            return Reply(status, encode_headers(headers, body=data), data)
        # An iterable of chunks: stream them like SSE frames.
        return Reply(status, encode_headers(headers), frames=tuple(body), chunk_delay=self.chunk_delay)


def _without_stream_options(body: dict[str, Any]) -> dict[str, Any]:
    # The gateway injects stream_options={"include_usage": true} into streamed
    # requests, so it must not decide whether a recorded request matches.
    return {k: v for k, v in body.items() if k != "stream_options"}


class CassetteRule(Rule):
    """Replays one recorded interaction when method, path and JSON body match."""

    def __init__(self, interaction: Interaction, *, chunk_delay: float = 0.0) -> None:
        super().__init__(interaction.method, interaction.path)
        self.interaction = interaction
        recorded = interaction.request_json
        # Non-JSON recorded bodies (multipart audio) match on method+path only.
        self._want = None if recorded is None else _without_stream_options(recorded)
        headers = {"content-type": interaction.content_type or "application/json"}
        if interaction.is_sse:
            self.reply = Reply(
                interaction.status,
                encode_headers(headers),
                frames=tuple(interaction.sse_frames()),
                chunk_delay=chunk_delay,
            )
        else:
            body = interaction.response_body
            self.reply = Reply(interaction.status, encode_headers(headers, body=body), body)

    def matches(self, req: RecordedRequest) -> bool:
        if not super().matches(req):
            return False
        if self._want is None:
            return True
        got = req.json
        return isinstance(got, dict) and _without_stream_options(got) == self._want

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        await server.send_reply(self.reply, receive, send)


class ChatEchoRule(Rule):
    """Any POST /v1/chat/completions gets a fixed completion or a short stream."""

    def __init__(self, *, chunk_delay: float = 0.0, path: str = "/v1/chat/completions") -> None:
        super().__init__("POST", path)
        body = chat_echo.COMPLETION_BODY
        self.plain = Reply(200, encode_headers(None, defaults=JSON_CT, body=body), body)
        self.stream = Reply(
            200, encode_headers(SSE_CT), frames=chat_echo.STREAM_FRAMES, chunk_delay=chunk_delay
        )

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        body = req.json
        streaming = isinstance(body, dict) and body.get("stream") is True
        await server.send_reply(self.stream if streaming else self.plain, receive, send)
