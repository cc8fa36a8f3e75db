"""The ASGI app (what `aihub serve` runs) driven in-process, with no network beyond loopback.

Requests go through httpx.ASGITransport straight into `AsgiApp`, so a test sees every route of
app.py exactly as a client would, without a server process. Providers are pointed at a closed
loopback port and every socket to anywhere else is refused: nothing a fuzzed request does
(adding a provider, checking a credential, probing a model) can reach the outside.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support.gateway import ADMIN_KEY, TEST_SECRET, upstream_env

CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, so a connect fails fast


def _loopback(host: Any) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


@contextmanager
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse name look-ups and connections to anything but loopback, in this process."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise ConnectionRefusedError(f"tests may not connect to {address[0]}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield


class InProcessGateway:
    """Sync requests to the ASGI app on one event loop of its own."""

    def __init__(self) -> None:
        from chalicelib.fronts.asgi_front import create_app

        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()),
                                        base_url="http://aihub.test", timeout=30)
        self.admin_key = ADMIN_KEY

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        return self.loop.run_until_complete(self.client.request(method, path, headers=headers, **kwargs))

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(method, path, key=self.admin_key, **kwargs)

    def new_user(self, **fields: Any) -> dict[str, Any]:
        created = self.admin("POST", "/admin/keys", json={"name": "user", **fields})
        assert created.status_code == 201, created.text
        return created.json()

    def close(self) -> None:
        from chalicelib.providers.http_client import aclose_all

        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(aclose_all())
        self.loop.close()


def gateway_env(billing: bool = True) -> dict[str, str]:
    return {**upstream_env(CLOSED_PORT_URL), "AIHUB_ADMIN_KEY": ADMIN_KEY, "AIHUB_SECRET": TEST_SECRET,
            "AIHUB_BILLING": "on" if billing else "off", "AIHUB_CONNECT_TIMEOUT": "1", "AIHUB_READ_TIMEOUT": "2"}
