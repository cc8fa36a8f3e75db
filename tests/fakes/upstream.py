"""FakeUpstream: a real HTTP/1.1 OpenAI-style server on loopback for gateway tests.

In-process use (tests)::

    with FakeUpstream() as up:
        up.add_cassette("chat-basic")
        up.route("POST", "/v1/embeddings", fault="reset")
        ... point the gateway at up.base_url ...
        assert up.requests[0].json["model"] == "gpt-5-nano"

As its own process (benchmarks)::

    python -m tests.fakes.upstream --port 0 --chat-echo   # prints "READY <port>"
    python -m tests.fakes.upstream --port 0 --chat-echo --anthropic-echo --chunks 20 \
        --path-prefix /or --fail-key sk-flaky --fail-rate 0.5

Rules are checked newest-first; an unmatched request gets 599 so a test that
forgot to program the fake fails loudly instead of hanging or passing by luck.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

import uvicorn

from tests.fakes import anthropic, chat_echo
from tests.fakes.rules import (
    JSON_CT,
    SSE_CT,
    CassetteRule,
    ChatEchoRule,
    Fault,
    Handler,
    HeadersIn,
    RouteRule,
    Rule,
    Server,
    error_reply,
)
from tests.fakes.wire import (
    Receive,
    RecordedRequest,
    Reply,
    Scope,
    Send,
    dumps,
    encode_headers,
    read_body,
    request_from_scope,
    reset_connection,
    wait_disconnect,
)
from tests.support import cassettes

__all__ = ["FakeUpstream", "RecordedRequest", "Rule", "main"]


class _App:
    """The raw ASGI app. Lives on the server thread's loop; the test thread only
    swaps ``rules`` (an immutable tuple, so readers never see a half-update)."""

    def __init__(self, *, record: bool) -> None:
        self.rules: tuple[Rule, ...] = ()
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.stopping = asyncio.Event()  # binds to the server loop on first wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        req = request_from_scope(scope, await read_body(receive))
        if self.record:
            self.requests.append(req)
        for rule in self.rules:
            if rule.matches(req):
                rule.served += 1
                await rule.respond(req, self, receive, send)
                return
        unmatched = error_reply(599, f"fake upstream: no rule for {req.method} {req.path}")
        await self.send_reply(unmatched, receive, send)

    async def pause(self, seconds: float) -> bool:
        if self.stopping.is_set():
            return False
        try:
            async with asyncio.timeout(seconds):
                await self.stopping.wait()
        except TimeoutError:
            return True
        return False

    async def hold(self, receive: Receive) -> None:
        waits = {
            asyncio.ensure_future(self.stopping.wait()),
            asyncio.ensure_future(wait_disconnect(receive, timeout=None)),
        }
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    async def send_reply(self, reply: Reply, receive: Receive, send: Send, *, cut: bool = False) -> None:
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
        frames = reply.frames
        if frames is None:
            await send({"type": "http.response.body", "body": reply.body})
            return
        last = len(frames) - 1
        for i, frame in enumerate(frames):
            if i and reply.chunk_delay and not await self.pause(reply.chunk_delay):
                await reset_connection(receive)  # server stopping mid-stream
                return
            # One body message per event, so each reaches the wire on its own. The
            # last one also ends the body (same write as the chunked terminator),
            # unless the stream is to be cut.
            await send({"type": "http.response.body", "body": frame, "more_body": cut or i < last})
        if not frames and not cut:
            await send({"type": "http.response.body", "body": b""})


class FakeUpstream:
    """A programmable OpenAI-style upstream on 127.0.0.1, served from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record: bool = True) -> None:
        self._host, self._port = host, port
        self._app = _App(record=record)
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._error: BaseException | None = None
        self.log_config: Any = None  # None: uvicorn leaves global logging alone (pytest captures)

    # -- lifecycle ---------------------------------------------------------

    def start(self, timeout: float = 10.0) -> FakeUpstream:
        """Bind, start serving in a thread, and return once connections are accepted."""
        if self._thread is not None:
            return self
        # proto must be IPPROTO_TCP, not the default 0: asyncio only sets TCP_NODELAY on
        # accepted sockets whose proto says TCP, and without it Nagle + delayed ACK
        # stall every response written in two pieces (headers, body) by ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))  # bind here so port 0 is resolved before serving
        self._sock, self._port = sock, sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            loop="asyncio",  # plain asyncio; it sets TCP_NODELAY on accepted sockets
            http="auto",
            ws="none",
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            log_config=self.log_config,
            access_log=False,
            proxy_headers=False,  # skip a middleware layer on the hot path
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"fake-upstream:{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"fake upstream failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"fake upstream did not start within {timeout}s")
            time.sleep(0.002)
        return self

    def _run(self) -> None:
        assert self._server is not None
        try:
            with asyncio.Runner(loop_factory=self._server.config.get_loop_factory()) as runner:
                runner.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc

    async def _serve(self) -> None:
        assert self._server is not None and self._sock is not None
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._sock])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: wakes hanging requests, then shuts uvicorn down."""
        if self._thread is None or self._server is None:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._app.stopping.set)
            except RuntimeError:  # loop closed in between
                pass
        self._server.should_exit = True
        self._thread.join(timeout)
        self._thread = self._server = self._loop = None
        self._app.stopping = asyncio.Event()  # allow start() again

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and recordings ---------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first (the live list)."""
        return self._app.requests

    def clear(self) -> None:
        """Forget recorded requests (rules stay)."""
        self._app.requests.clear()

    def reset(self) -> None:
        """Forget rules and recorded requests."""
        with self._lock:
            self._app.rules = ()
        self.clear()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Rules in match order (newest first)."""
        return self._app.rules

    # -- programming ------------------------------------------------------------

    def add_rule(self, rule: Rule) -> Rule:
        with self._lock:
            self._app.rules = (rule, *self._app.rules)
        return rule

    def route(
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
    ) -> RouteRule:
        """Script an answer for ``method path``.

        ``json`` / ``body`` / ``sse`` (list of event payloads: dict -> JSON, str/bytes
        as is, each sent as ``data: ...\\n\\n``; include ``"[DONE]"`` yourself) or
        ``handler(request) -> (status, headers, body)``. ``delay`` sleeps before the
        status line, ``chunk_delay`` between SSE events, ``times`` caps how many
        requests this rule serves. ``fault``: "reset" (TCP RST, no answer), "hang"
        (never answers), "cut_stream" (sends ``sse`` then closes without the
        terminating chunk), "bad_json" (200 application/json, unparseable body).
        """
        rule = RouteRule(
            method, path, status=status, json=json, body=body, headers=headers, sse=sse,
            delay=delay, chunk_delay=chunk_delay, times=times, handler=handler, fault=fault,
        )
        self.add_rule(rule)
        return rule

    def add_cassette(self, name: str, *, chunk_delay: float = 0.0) -> list[cassettes.Interaction]:
        """Replay a recorded cassette (by file stem); returns its interactions."""
        interactions = cassettes.load(name)
        # Added last-first so the cassette's own order wins among its interactions.
        for interaction in reversed(interactions):
            self.add_rule(CassetteRule(interaction, chunk_delay=chunk_delay))
        return interactions

    def add_chat_echo(self, *, chunk_delay: float = 0.0) -> ChatEchoRule:
        """Answer every POST /v1/chat/completions with a canned completion or stream."""
        rule = ChatEchoRule(chunk_delay=chunk_delay)
        self.add_rule(rule)
        return rule


# -- benchmark modes (the CLI) ----------------------------------------------------------------


class EchoRule(ChatEchoRule):
    """ChatEchoRule with the answer in `pieces` content chunks (None: the canned 4-piece one)."""

    def __init__(self, *, pieces: tuple[str, ...] | None = None, chunk_delay: float = 0.0,
                 path: str = "/v1/chat/completions") -> None:
        super().__init__(chunk_delay=chunk_delay, path=path)
        if pieces is not None:
            body = chat_echo.completion_body(pieces)
            self.plain = Reply(200, encode_headers(None, defaults=JSON_CT, body=body), body)
            self.stream = Reply(200, encode_headers(SSE_CT), frames=chat_echo.stream_frames(pieces),
                                chunk_delay=chunk_delay)


def anthropic_echo_rule(pieces: tuple[str, ...], *, chunk_delay: float = 0.0,
                        path: str = anthropic.PATH) -> anthropic.MessagesRule:
    """POST /v1/messages answered as Anthropic would, with the same text as the chat echo:
    checks the request like the real endpoint, then a message or its SSE event sequence."""
    rule = anthropic.MessagesRule(chat_echo.anthropic_message(pieces), evts=chat_echo.anthropic_events(pieces),
                                  chunk_delay=chunk_delay)
    rule.path = path
    return rule


class FlakyKeyRule(Rule):
    """Answers HTTP 500 to a share `rate` of the echo requests made with one credential (its
    `Authorization: Bearer KEY` or `x-api-key: KEY`); the others fall through to the echo rules.

    Deterministic (error diffusion: with rate 0.5 every second such request fails), so runs
    compare like with like.
    """

    def __init__(self, key: str, rate: float, paths: Iterable[str]) -> None:
        super().__init__("POST", "*")
        self.paths = frozenset(paths)
        self.values = (f"Bearer {key}", key)
        self.rate = rate
        self._debt = 0.0
        self._chat = Reply(500, *self._error(dumps(
            {"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                       "param": None, "code": None}})))
        self._anthropic = Reply(500, *self._error(dumps(anthropic.error_body("api_error", "Internal server error"))))

    @staticmethod
    def _error(body: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
        return encode_headers(None, defaults=JSON_CT, body=body), body

    def matches(self, req: RecordedRequest) -> bool:
        if req.method != "POST" or req.path not in self.paths:
            return False
        headers = req.headers
        if headers.get("authorization") != self.values[0] and headers.get("x-api-key") != self.values[1]:
            return False
        self._debt += self.rate
        if self._debt < 1:
            return False
        self._debt -= 1
        return True

    async def respond(self, req: RecordedRequest, server: Server, receive: Receive, send: Send) -> None:
        reply = self._anthropic if req.path.endswith(anthropic.PATH) else self._chat
        await server.send_reply(reply, receive, send)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.upstream", description="Fake OpenAI (and Anthropic) upstream for benchmarks."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on READY)")
    parser.add_argument(
        "--cassette", action="append", default=[], metavar="NAME", help="replay a cassette (repeatable)"
    )
    parser.add_argument(
        "--chat-echo", action="store_true", help="canned answers for POST /v1/chat/completions"
    )
    parser.add_argument(
        "--anthropic-echo", action="store_true",
        help="canned Anthropic answers for POST /v1/messages (message, or its SSE event sequence)",
    )
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between SSE events")
    parser.add_argument(
        "--chunks", type=int, default=None, metavar="N",
        help="echo answers carry N content chunks (default: the canned 4-piece chat answer; 20 for Anthropic)",
    )
    parser.add_argument(
        "--path-prefix", action="append", default=[], metavar="PREFIX",
        help="serve the echo routes under PREFIX too, e.g. /or -> /or/v1/chat/completions (repeatable)",
    )
    parser.add_argument("--fail-key", metavar="KEY", help="requests made with this credential may fail (HTTP 500)")
    parser.add_argument("--fail-rate", type=float, default=0.5, help="share of --fail-key requests that fail")
    args = parser.parse_args(argv)
    if not 0 <= args.fail_rate <= 1:
        parser.error("--fail-rate must be between 0 and 1")

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    fake = FakeUpstream(args.host, args.port, record=False)  # no request log: memory stays flat under load
    prefixes = ["", *args.path_prefix]
    echo_paths: list[str] = []
    if args.chat_echo:
        pieces = chat_echo.text_pieces(args.chunks) if args.chunks else None
        for prefix in prefixes:
            echo_paths.append(prefix + "/v1/chat/completions")
            fake.add_rule(EchoRule(pieces=pieces, chunk_delay=args.chunk_delay, path=echo_paths[-1]))
    if args.anthropic_echo:
        pieces = chat_echo.text_pieces(args.chunks or 20)
        for prefix in prefixes:
            echo_paths.append(prefix + anthropic.PATH)
            fake.add_rule(anthropic_echo_rule(pieces, chunk_delay=args.chunk_delay, path=echo_paths[-1]))
    for name in args.cassette:  # added after chat-echo, so cassettes take precedence
        fake.add_cassette(name, chunk_delay=args.chunk_delay)
    if args.fail_key:  # added last: checked first
        fake.add_rule(FlakyKeyRule(args.fail_key, args.fail_rate, echo_paths))

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    fake.start()
    print(f"READY {fake.port}", flush=True)
    try:
        done.wait()
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
