"""Every adapter releases the upstream connection it opened, on every path (issue 10).

In process, against the loopback fake upstream: each test makes something fail at the worst
moment (the hand-over right after the response opened, the translation of the first event, a
malformed part of the client's body) and then looks into the shared httpx pool: no connection
may still be in use. A response left open there is held for good, and enough of them stall every
call of every user.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from chalicelib.credentials import pool
from chalicelib.errors import ApiError
from chalicelib.gateway.resolve import plan
from chalicelib.providers import http, http_client, registry
from chalicelib.providers.aiohttp_transport import GatewayTransport
from chalicelib.providers.anthropic import translate as anthropic_translate
from chalicelib.providers.base import Target, UpstreamError
from chalicelib.providers.bedrock import adapter as bedrock_adapter
from chalicelib.providers.gemini import translate as gemini_translate
from chalicelib.providers.openai_compat import translate as openai_translate
from tests.fakes import anthropic as fa
from tests.fakes import bedrock as fb
from tests.fakes import gemini as fg
from tests.fakes.upstream import FakeUpstream, anthropic_echo_rule
from tests.support.gateway import ADMIN_KEY, upstream_env

GEMINI_STREAM = fg.path("gemini-2.5-flash", "streamGenerateContent")


def _openai(fake: FakeUpstream) -> None:
    fake.add_chat_echo()


def _anthropic(fake: FakeUpstream) -> None:
    fake.add_rule(anthropic_echo_rule(("Hello", " there")))


def _gemini(fake: FakeUpstream) -> None:
    fake.route("POST", GEMINI_STREAM, sse=fg.stream([[fg.text("Hello")], [fg.text(" there")]], fg.usage(3, 2)))


# (model, how the fake answers it, the adapter's stream translator class)
FAMILIES = {
    "openai": ("openai/gpt-4o-mini", _openai, openai_translate.StreamState),
    "anthropic": (f"anthropic/{fa.MODEL}", _anthropic, anthropic_translate.StreamTranslator),
    "gemini": ("google/gemini-2.5-flash", _gemini, gemini_translate.StreamTranslator),
}


def body(model: str, content: Any = "Hi") -> dict[str, Any]:
    return {"model": model, "stream": True, "messages": [{"role": "user", "content": content}]}


def target_of(model: str) -> Target:
    spec, upstream_model = plan(model).routes[0]
    credential = pool.pick(spec)
    assert credential is not None
    return Target(spec, upstream_model, credential)


def busy_connections() -> int:
    """Connections of this loop's upstream pool that are neither idle nor closed: in use."""
    transport = http_client.client()._transport  # type: ignore[attr-defined]
    if isinstance(transport, GatewayTransport):
        return transport.in_use
    return sum(1 for c in transport._pool.connections if not (c.is_idle() or c.is_closed()))


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def wrapped() -> None:
        try:
            await main()
        finally:
            await http_client.aclose_all()

    asyncio.run(wrapped())


@pytest.fixture
def env(fake: FakeUpstream, local_env) -> Callable[[dict[str, str]], None]:
    """The in-process gateway state pointed at the fake, with extra settings."""

    def apply(extra: dict[str, str]) -> None:
        local_env({**upstream_env(fake.base_url), **extra})

    apply({})
    return apply


@pytest.fixture(params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest, fake: FakeUpstream, env) -> tuple[str, type]:
    model, program, translator = FAMILIES[request.param]
    program(fake)
    return model, translator


def test_a_failed_hand_over_releases_the_response(family, fake, monkeypatch):
    """Whatever fails between the response opening and a stream taking it over closes it."""
    model, _ = family

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("hand-over failed")

    monkeypatch.setattr(http, "TranslatedStream", broken)

    async def main() -> None:
        target = target_of(model)
        with pytest.raises(RuntimeError, match="hand-over failed"):
            await registry.adapter(target.provider.kind).chat_stream(target, body(model))
        assert len(fake.requests) == 1  # the response was open when it failed
        assert busy_connections() == 0

    run(main)


def test_a_translator_failing_on_the_first_event_releases_the_response(family, fake, monkeypatch):
    """A translator bug on the provider's first event ends the stream with a 502, and the
    connection is back in the pool as soon as batches() ends, before anyone calls aclose()."""
    model, translator = family

    def broken(self: Any, event: bytes | None, data: Any) -> list[bytes]:
        raise KeyError("choices")

    monkeypatch.setattr(translator, "feed", broken)

    async def main() -> None:
        target = target_of(model)
        stream = await registry.adapter(target.provider.kind).chat_stream(target, body(model))
        assert busy_connections() == 1
        assert [f async for batch in stream.batches() for f in batch] == []
        assert isinstance(stream.error, UpstreamError) and stream.error.status == 502
        assert busy_connections() == 0

    run(main)


def test_an_abandoned_stream_is_released_and_aclose_is_idempotent(family):
    model, _ = family

    async def main() -> None:
        target = target_of(model)
        stream = await registry.adapter(target.provider.kind).chat_stream(target, body(model))
        batches = stream.batches()
        await anext(batches)
        assert busy_connections() == 1
        await stream.aclose()
        assert busy_connections() == 0
        await stream.aclose()
        await batches.aclose()

    run(main)


def test_a_non_string_text_part_opens_and_releases_normally(family, fake):
    """The reported trigger: a number as a text part's text. Once the cause of the 500 after
    the response opened, it now streams like any body (the provider judges it)."""
    model, _ = family

    async def main() -> None:
        target = target_of(model)
        stream = await registry.adapter(target.provider.kind).chat_stream(
            target, body(model, [{"type": "text", "text": 123}]))
        async for _ in stream.batches():
            pass
        await stream.aclose()
        assert stream.error is None
        assert busy_connections() == 0

    run(main)


MALFORMED = {
    # Parts of the wrong shape, as the API edge lets them through (parts are free-form dicts).
    "anthropic": [{"type": "text"}],
    "gemini": [{"type": "input_audio", "input_audio": "wav"}],
    # OpenAI-dialect bodies go up as they are; what the adapter itself reads is stream_options.
    "openai": "Hi",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_part_is_a_400_before_any_upstream_call(name, fake, env):
    model, program, _ = FAMILIES[name]
    program(fake)
    request = body(model, MALFORMED[name])
    if name == "openai":
        request["stream_options"] = ["include_usage"]

    async def main() -> None:
        target = target_of(model)
        with pytest.raises(ApiError) as raised:
            await registry.adapter(target.provider.kind).chat_stream(target, request)
        assert raised.value.status == 400 and not isinstance(raised.value, UpstreamError)
        assert fake.requests == []

    run(main)


def test_a_full_pool_is_a_quick_503_not_a_hang(fake, env):
    """One connection, held by a hanging call: the next call waits the pool timeout, then gets
    a 503 that says the gateway is busy (and is not the provider's or the credential's fault)."""
    env({"AIHUB_POOL_MAX_CONNECTIONS": "1", "AIHUB_POOL_TIMEOUT": "0.3"})
    fake.route("POST", "/v1/chat/completions", fault="hang")
    model = "openai/gpt-4o-mini"

    async def main() -> None:
        target = target_of(model)
        adapter = registry.adapter(target.provider.kind)
        hanging = asyncio.create_task(adapter.chat_stream(target, body(model)))
        while not fake.requests:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(UpstreamError) as raised:
            await adapter.chat_stream(target, body(model))
        assert time.monotonic() - started < 1.5
        assert raised.value.status == 503 and raised.value.code == "gateway_busy"
        assert raised.value.upstream_status is None and raised.value.headers == {"retry-after": "1"}
        hanging.cancel()
        with pytest.raises(asyncio.CancelledError):
            await hanging
        assert busy_connections() == 0

    run(main)


def test_the_pool_settings_reach_the_client_and_every_provider_timeout(env):
    env({"AIHUB_POOL_TIMEOUT": "2", "AIHUB_POOL_MAX_CONNECTIONS": "7"})
    spec = target_of("openai/gpt-4o-mini").provider
    custom = http.timeout(type(spec)(**{**{f: getattr(spec, f) for f in spec.__slots__}, "read_timeout": 60.0}))
    assert custom == httpx.Timeout(60.0, connect=10.0, pool=2.0)

    async def main() -> None:
        client = http_client.client()
        assert client.timeout.pool == 2.0
        transport = client._transport  # type: ignore[attr-defined]
        if isinstance(transport, GatewayTransport):
            session = transport.get_client()
            assert transport.size == 7 and session.connector.limit == 7
            await session.close()
        else:
            assert transport._pool._max_connections == 7

    run(main)


# -- Bedrock: boto3's event stream, not the httpx pool ------------------------------------------

NOVA = "amazon.nova-lite-v1:0"


def test_bedrock_closes_its_event_stream_when_the_hand_over_fails(fake, env, monkeypatch):
    fb.route(fake, "converse-stream", events=fb.text_stream(["tick"] * 3), chunk_delay=2)
    pumps: list[bedrock_adapter.EventPump] = []

    class Recorded(bedrock_adapter.EventPump):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            pumps.append(self)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("hand-over failed")

    monkeypatch.setattr(bedrock_adapter, "EventPump", Recorded)
    monkeypatch.setattr(bedrock_adapter, "TranslatedStream", broken)

    async def main() -> None:
        target = target_of(f"bedrock/{NOVA}")
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="hand-over failed"):
            await bedrock_adapter.ADAPTER.chat_stream(target, body(f"bedrock/{NOVA}"))
        (pump,) = pumps
        assert pump.finished.done() and time.monotonic() - started < 1.5  # not the 2 s to the next event
        assert pump._stream._raw_stream.closed

    run(main)


def test_bedrock_stream_abandoned_while_opening_is_closed_once_open(fake, env):
    """A caller that gives up while ConverseStream is still being opened leaks nothing: the
    worker closes the stream as soon as boto3 hands it over."""
    fb.route(fake, "converse-stream", events=fb.text_stream(["tick"] * 3), chunk_delay=2)

    async def main() -> None:
        target = target_of(f"bedrock/{NOVA}")
        bedrock = await bedrock_adapter.client(target)

        def slow_open() -> dict[str, Any]:
            time.sleep(0.5)  # the response head comes late
            return bedrock.converse_stream(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "x"}]}])

        pump = bedrock_adapter.EventPump(slow_open, target)
        await asyncio.sleep(0.1)
        await pump.aclose()  # returns at once: nothing to shut down yet
        assert not pump.finished.done()
        started = time.monotonic()
        await asyncio.wait_for(asyncio.shield(pump.finished), 3)
        assert time.monotonic() - started < 1.5  # closed once open, not read to its end
        assert pump._stream._raw_stream.closed

    run(main)


def test_bedrock_malformed_part_is_a_400_before_any_call(fake, env):
    async def main() -> None:
        target = target_of(f"bedrock/{NOVA}")
        with pytest.raises(ApiError) as raised:
            await bedrock_adapter.ADAPTER.chat_stream(target, body(f"bedrock/{NOVA}", [{"type": "text"}]))
        assert raised.value.status == 400
        assert fake.requests == []

    run(main)


# -- the ASGI front: a body that is never read --------------------------------------------------



def test_a_front_failing_before_the_first_frame_releases_the_upstream(fake, env):
    """The streaming front fails while writing the headers (a client gone, a transport error):
    the relay never yields a frame, yet the upstream is released and the call is recorded."""
    env({"AIHUB_ADMIN_KEY": ADMIN_KEY})
    fake.add_chat_echo()
    from chalicelib.fronts.asgi_front import create_app
    from chalicelib.store import calls
    from chalicelib.store.shared import store

    app = create_app()
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "query_string": b"",
             "headers": [(b"authorization", f"Bearer {ADMIN_KEY}".encode()), (b"content-type", b"application/json")]}
    requested = [orjson.dumps(body("openai/gpt-4o-mini"))]

    async def receive() -> dict[str, Any]:
        if requested:
            return {"type": "http.request", "body": requested.pop(), "more_body": False}
        await asyncio.Event().wait()  # the watcher waits here until it is cancelled
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            raise OSError("the client went away before the headers")

    async def main() -> None:
        with pytest.raises(OSError):
            await app(scope, receive, send)
        assert len(fake.requests) == 1 and busy_connections() == 0

    run(main)
    (record,) = calls.list_calls(store())
    assert record["error_code"] == "client_disconnected" and record["completion_tokens"] > 0


def test_a_model_id_that_is_not_latin_1_does_not_break_the_stream(fake, env):
    """The model id is echoed in a response header; one the header cannot carry must not fail
    the response after the upstream stream was opened."""
    env({"AIHUB_ADMIN_KEY": ADMIN_KEY})
    fake.add_chat_echo()
    from chalicelib.fronts.asgi_front import create_app

    app = create_app()
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "query_string": b"",
             "headers": [(b"authorization", f"Bearer {ADMIN_KEY}".encode()), (b"content-type", b"application/json")]}
    requested = [orjson.dumps(body("openai/gpt-4o-\u20ac"))]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if requested:
            return {"type": "http.request", "body": requested.pop(), "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        await app(scope, receive, send)
        assert busy_connections() == 0

    run(main)
    assert sent[0]["status"] == 200 and (b"x-aihub-model", b"gpt-4o-?") in sent[0]["headers"]
    assert sent[-1] == {"type": "http.response.body", "body": b""}


@pytest.mark.parametrize(("server", "setting", "expected"), [
    (False, None, httpx.AsyncHTTPTransport),  # a Lambda: no aiohttp import on the cold start
    (True, None, GatewayTransport),  # `aihub serve`
    (True, "httpx", httpx.AsyncHTTPTransport),
    (False, "aiohttp", GatewayTransport),
])
def test_the_transport_is_aiohttp_in_the_server_unless_set(server, setting, expected, env, monkeypatch):
    env({"AIHUB_HTTP_TRANSPORT": setting} if setting else {})
    monkeypatch.setattr(http_client, "_server", server)

    async def main() -> None:
        assert type(http_client.client()._transport) is expected  # type: ignore[attr-defined]

    run(main)
