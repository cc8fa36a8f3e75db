"""httpx's API over aiohttp's connection pool (httpx-aiohttp), with three of its defaults fixed.

aiohttp halves the gateway's CPU per call under load (`make bench`, concurrency 16), but as shipped:
- its session keeps cookies, so one tenant's provider Set-Cookie would ride on another's calls
  (a DummyCookieJar keeps none);
- every aiohttp connection error maps to httpx.ConnectTimeout, so a refused or reset connection
  would be reported as a timeout (each failure is mapped here by what it is, see `_HTTPX_ERROR`);
- a full pool waits out the connect timeout and reports it as a connect timeout; here a
  semaphore of the pool's size makes it httpx.PoolTimeout after the pool timeout, as httpx does.
And for speed: the environment (proxies, ~/.netrc) is consulted only when a proxy variable is
set, the read timer is re-armed only when it fires (`_ResponseHandler`), and a body's reads are
offered without httpx's layers (`RAW_CHUNKS`, for the relay).
"""
from __future__ import annotations

import asyncio
import functools
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler
from httpx_aiohttp import AiohttpTransport

RAW_CHUNKS = "aihub.raw_chunks"  # a response extension: the body's reads, without httpx's layers

# Most specific first: the first aiohttp class the failure is an instance of decides.
_HTTPX_ERROR: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS handshake
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed before or mid-answer
    (aiohttp.ClientPayloadError, httpx.ReadError),  # body cut short
    (aiohttp.ClientOSError, httpx.ReadError),  # reset by peer on an open connection
    (aiohttp.ClientConnectionError, httpx.NetworkError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed status line or header
)


def _as_httpx(cause: BaseException) -> httpx.HTTPError | None:
    """The httpx error an aiohttp failure is, or None when the table does not know it."""
    for source, target in _HTTPX_ERROR:
        if isinstance(cause, source):
            error = target(str(cause) or type(cause).__name__)
            error.__cause__ = cause
            return error
    return None


def mapped(error: httpx.HTTPError) -> httpx.HTTPError:
    """The httpx error `error`'s aiohttp cause really is (httpx-aiohttp maps too broadly)."""
    cause = error.__cause__
    if cause is None:
        return error
    for source, target in _HTTPX_ERROR:
        if isinstance(cause, source):
            return error if type(error) is target else _as_httpx(cause) or error
    return error


class _Body(httpx.AsyncByteStream):
    """The response body, its errors re-mapped, giving the pool slot back when closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: _Release) -> None:
        self._inner = inner
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.HTTPError as error:
            raise mapped(error) from error.__cause__

    async def raw_chunks(self) -> AsyncIterator[bytes]:
        """The body as aiohttp reads it, each read as it comes, without httpx's (and
        httpx-aiohttp's) generator per layer in between; failures mapped as above. For a body
        without content coding (httpx would undo it)."""
        content = self._inner._aiohttp_response.content  # httpx-aiohttp keeps the response there
        try:
            while chunk := await content.readany():
                yield chunk
        except aiohttp.ClientError as error:
            raise _as_httpx(error) or httpx.ReadError(str(error)) from error

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except httpx.HTTPError as error:
            raise mapped(error) from error.__cause__
        finally:
            self._release()


class _Release:
    """Releases one pool slot exactly once, however many times the body is closed."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots: asyncio.Semaphore | None = slots

    def __call__(self) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None


class _ResponseHandler(ResponseHandler):
    """aiohttp's connection protocol with a lazier read timer. aiohttp cancels its timer and makes
    a new one on every read from the socket, which on a stream is every event; here the timer is
    made once, and when it fires it is made again for what is left if anything was read since.
    It fires at the same moment as aiohttp's (the last read plus the timeout)."""

    _last_read = 0.0

    def _reschedule_timeout(self) -> None:
        if not self._read_timeout:
            self._drop_timeout()
            return
        self._last_read = self._loop.time()
        if self._read_timeout_handle is None:
            self._read_timeout_handle = self._loop.call_at(self._last_read + self._read_timeout, self._read_timer)

    def _read_timer(self) -> None:
        self._read_timeout_handle = None
        if not self._read_timeout:
            return
        due = self._last_read + self._read_timeout
        if self._loop.time() < due:
            self._read_timeout_handle = self._loop.call_at(due, self._read_timer)
        else:
            self._on_read_timeout()


class GatewayTransport(AiohttpTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self.size = limits.max_connections or 2**31
        self._slots = asyncio.Semaphore(self.size)

    @property
    def in_use(self) -> int:
        """Responses handed out and not closed yet: each holds a pooled connection."""
        return self.size - self._slots._value  # asyncio keeps the count private; read-only here

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.limits.max_connections or 0, limit_per_host=0,
                                         keepalive_timeout=self.limits.keepalive_expiry, ssl=self.ssl_context)
        # aiohttp has no public way to choose its protocol class.
        connector._factory = functools.partial(_ResponseHandler, loop=connector._loop)
        # HTTP(S)_PROXY honoured as httpx does, but only when one is set: aiohttp's trust_env costs
        # two thread-pool hops on every request (the proxy look-up and ~/.netrc), and its netrc
        # credentials would ride on requests that carry no Authorization header of their own.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     trust_env=bool(urllib.request.getproxies_environment()))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        if self._slots.locked():  # wait_for costs a task and a loop turn: only when the pool is full
            try:
                await asyncio.wait_for(self._slots.acquire(), timeouts.get("pool"))
            except TimeoutError:
                raise httpx.PoolTimeout("no free upstream connection in the pool") from None
        else:
            await self._slots.acquire()  # free: returns at once
        release = _Release(self._slots)
        # The pool wait is over; httpx-aiohttp passes "pool" as aiohttp's connect timeout.
        request.extensions = {**request.extensions, "timeout": {**timeouts, "pool": timeouts.get("connect")}}
        try:
            response = await super().handle_async_request(request)
        except httpx.HTTPError as error:
            release()
            raise mapped(error) from error.__cause__
        except BaseException:
            release()
            raise
        body = response.stream = _Body(response.stream, release)
        # httpx wraps the stream in its own layer; the raw reader stays reachable here.
        response.extensions = {**response.extensions, RAW_CHUNKS: body.raw_chunks}
        return response

    async def aclose(self) -> None:
        if isinstance(self.client, aiohttp.ClientSession):
            await self.client.close()
