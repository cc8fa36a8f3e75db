"""The relay every streaming adapter shares: provider events in, client SSE frames out.

An adapter supplies the source (an async iterator of (event name, payload) pairs read from
the provider) and a translator for its dialect; this class runs them, turns transport failures
into a recorded error, and works out usage, estimating it when the provider reported none.

Ownership of the upstream response: from the moment it is open until a `TranslatedStream` holds
it, the adapter must release it on any failure (`closed_on_failure`); from then on the stream's
`aclose()` does, and `batches()` releases it as soon as it ends. A response left open holds a
pooled connection for good, and enough of them stall every call of every user.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx

from chalicelib.errors import ApiError
from chalicelib.providers import errors
from chalicelib.providers.base import Usage

log = logging.getLogger("aihub.streaming")
Close = Callable[[], Awaitable[None]]


class StreamTranslator(Protocol):
    provider: str
    output_chars: int  # streamed text so far, for an estimate when usage never comes
    done: bool  # the provider said the stream is complete
    error: ApiError | None

    @property
    def usage(self) -> Usage | None:
        """As the provider reported it (None: not reported)."""
        ...

    def feed(self, event: bytes | None, data: Any) -> Iterable[bytes]:
        """Client frames for one provider event (none, one or several)."""
        ...


def estimate_tokens(chars: int) -> int:
    """About four characters a token: used only when a provider reports no usage."""
    return (chars + 3) // 4


def prompt_chars(body: dict[str, Any]) -> int:
    """Characters of prompt text, for the estimate. Anything that is not text counts nothing:
    this runs on the client's body as it came, whatever its parts hold."""
    total = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return total


def wants_usage(body: dict[str, Any]) -> bool:
    """The client asked for the stream's usage chunk (`stream_options.include_usage`)."""
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


@asynccontextmanager
async def closed_on_failure(close: Close) -> AsyncIterator[None]:
    """Guards an open upstream response until the block hands it on: whatever fails inside
    (translation, status or usage parsing, cancellation) releases it before propagating."""
    try:
        yield
    except BaseException:
        await close()
        raise


Pair = tuple[bytes | None, Any]  # (event name, payload) as a source yields it


async def _singly(source: AsyncIterator[Pair]) -> AsyncGenerator[list[Pair], None]:
    """A source of single events as batches of one; closing it closes the source."""
    try:
        async for event in source:
            yield [event]
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


class TranslatedStream:
    """`source` yields (event name, payload) pairs, or with `batched` lists of them (the events
    one network read brought): the client gets what one read brings in one write."""

    def __init__(
        self,
        source: AsyncIterator[Any],
        translator: StreamTranslator,
        *,
        ttfb_ms: float | None,
        prompt_chars: int,
        on_close: Close | None = None,
        batched: bool = False,
    ) -> None:
        self._source = source if batched else _singly(source)
        self._translator = translator
        self._on_close = on_close
        self._closed = False
        self._prompt_chars = prompt_chars
        self.ttfb_ms = ttfb_ms

    @property
    def error(self) -> ApiError | None:
        return self._translator.error

    @property
    def usage(self) -> Usage | None:
        t = self._translator
        if t.usage is not None:
            return t.usage
        if t.output_chars or t.done:
            return Usage(input_tokens=estimate_tokens(self._prompt_chars),
                         output_tokens=estimate_tokens(t.output_chars), estimated=True)
        return None

    async def batches(self) -> AsyncGenerator[list[bytes], None]:
        """The client frames of each provider read that makes any, as a list."""
        t = self._translator
        try:
            async for events in self._source:
                if t.done:
                    continue  # read to the end so the pooled connection can be reused
                out: list[bytes] = []
                for event, data in events:
                    out += t.feed(event, data)
                    if t.error is not None or t.done:
                        break
                if out:
                    yield out
                if t.error is not None:
                    return
            if not t.done:
                t.error = errors.bad_response(t.provider, "the stream ended before it was complete")
        except ApiError as error:  # a source that maps its own failures (e.g. an SDK's)
            t.error = error
        except httpx.TimeoutException:
            t.error = errors.timeout(t.provider)
        except httpx.HTTPError:
            t.error = errors.bad_response(t.provider, "the connection was lost mid-stream")
        except Exception:  # a translator bug on an event it did not expect: the client gets a 502
            log.exception("translating a %s stream failed", t.provider)
            t.error = errors.bad_response(t.provider, "an event the gateway could not translate")
        finally:
            # Ended, failed or abandoned: the connection goes back now, not when someone
            # remembers to close the stream.
            await self.aclose()

    async def aclose(self) -> None:
        """Release the source and the upstream response; safe to call any number of times."""
        if self._closed:
            return
        self._closed = True
        close_source = getattr(self._source, "aclose", None)
        try:
            if close_source is not None:
                await close_source()
        finally:
            if self._on_close is not None:
                await self._on_close()
