"""One pooled httpx.AsyncClient per event loop, reused across requests and warm invocations.

httpx pools are bound to the loop that made them; the ASGI server has one loop for its life,
the Chalice front one per thread, so a client per loop keeps connections warm in both.
Under the httpx API the connections are aiohttp's (chalicelib/providers/aiohttp_transport.py)
in the long-lived server, where its lower CPU per call and per chunk pays; a Lambda serves one
call at a time and would pay aiohttp's import (about 100 ms) on every cold start, so it keeps
httpx's own. AIHUB_HTTP_TRANSPORT=aiohttp|httpx overrides both.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from chalicelib.config import settings
from chalicelib.providers.tls import client_context

_clients: dict[int, httpx.AsyncClient] = {}
_server = False  # set by the ASGI front's start-up: `for_server`


def for_server() -> None:
    """This process is the long-lived server: aiohttp by default, imported now rather than on
    the first call."""
    global _server
    _server = True
    if _transport() == "aiohttp":
        import chalicelib.providers.aiohttp_transport  # noqa: F401


def _transport() -> str:
    return settings().http_transport or ("aiohttp" if _server else "httpx")


def timeout(read_s: float, connect_s: float) -> httpx.Timeout:
    """Read and connect as given; the wait for a free pooled connection is always the short pool
    timeout, so a full pool fails a call quickly instead of stalling it for a read timeout."""
    return httpx.Timeout(read_s, connect=connect_s, pool=settings().pool_timeout_s)


def client() -> httpx.AsyncClient:
    loop_id = id(asyncio.get_running_loop())
    found = _clients.get(loop_id)
    if found is None or found.is_closed:
        cfg = settings()
        limits = httpx.Limits(max_connections=cfg.pool_max_connections,
                              max_keepalive_connections=min(100, cfg.pool_max_connections), keepalive_expiry=60)
        found = _clients[loop_id] = httpx.AsyncClient(
            timeout=timeout(cfg.read_timeout_s, cfg.connect_timeout_s),
            limits=limits,
            verify=client_context(),  # CAs loaded at the first TLS handshake, not now (cold start)
            transport=_aiohttp(limits) if _transport() == "aiohttp" else None,
            # One client serves every tenant: a provider's Set-Cookie must never be replayed. The
            # jar itself, not httpx.Cookies(jar): the client copies a Cookies into a new jar,
            # dropping the policy (which let cookies through until issue 14's test caught it).
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )
    return found


def transport(request: httpx.Request) -> Awaitable[httpx.Response]:
    """`request` (from `client().build_request`, which sets its timeouts) sent by the transport
    `client().send` would use, proxies included, but without the layers of send itself: cookie
    extraction (a jar that must keep nothing anyway), auth and redirect flows and event hooks,
    none of which the gateway uses, at tens of µs a call. The response's stream is the
    transport's own (`.elapsed` and `.next_request` are not set)."""
    # httpx keeps the choice of transport (its proxy mounts) behind a private method.
    return client()._transport_for_url(request.url).handle_async_request(request)


def _aiohttp(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    from chalicelib.providers.aiohttp_transport import GatewayTransport

    return GatewayTransport(limits)


async def aclose_all() -> None:
    for c in list(_clients.values()):
        await c.aclose()
    _clients.clear()
