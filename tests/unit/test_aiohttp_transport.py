"""The aiohttp transport's error mapping, for the failures the fake upstream cannot stage (a
connect that times out, a socket read that does); the rest run for real in
tests/integration/test_upstream_transport.py."""
from __future__ import annotations

import asyncio

import aiohttp
import httpx
import pytest

from chalicelib.providers.aiohttp_transport import GatewayTransport, mapped


@pytest.mark.parametrize(("cause", "as_shipped", "expected"), [
    (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError(), httpx.ConnectTimeout, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.ConnectTimeout, httpx.ReadError),
    (aiohttp.ClientPayloadError("cut"), httpx.ReadError, httpx.ReadError),
    (aiohttp.ServerConnectionError("gone"), httpx.ConnectTimeout, httpx.NetworkError),
])
def test_each_aiohttp_failure_becomes_the_httpx_error_it_is(cause, as_shipped, expected):
    shipped = as_shipped("as httpx-aiohttp maps it")
    shipped.__cause__ = cause
    got = mapped(shipped)
    assert type(got) is expected and got.__cause__ is cause
    # Only a timeout may read as one: the gateway reports those as 504 upstream_timeout.
    assert isinstance(got, httpx.TimeoutException) == isinstance(cause, aiohttp.ServerTimeoutError)


def test_an_error_without_an_aiohttp_cause_is_left_alone():
    error = httpx.PoolTimeout("full")
    assert mapped(error) is error


@pytest.mark.parametrize(("env", "trusted"), [
    ({}, False),  # the usual case: no thread-pool look-ups of proxy and ~/.netrc on every request
    ({"HTTPS_PROXY": "http://proxy.internal:3128"}, True),
    ({"http_proxy": "http://proxy.internal:3128"}, True),
])
def test_proxy_variables_are_honoured_only_when_set(env, trusted, monkeypatch):
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    async def session_trusts_env() -> bool:
        session = GatewayTransport(httpx.Limits(max_connections=4)).get_client()
        try:
            return session.trust_env
        finally:
            await session.close()

    assert asyncio.run(session_trusts_env()) is trusted
