"""The TLS context of upstream calls: httpx's default trust, loaded on the first TLS connection.

httpx builds its context when the client is made, and loading the CA bundle is about 20 ms of
a Lambda's cold start; a client whose upstreams are plain HTTP (Ollama, a sidecar, the tests'
fakes) never needs it, and one that calls an HTTPS provider pays it at that provider's first
handshake instead. What is trusted is what httpx trusts: SSL_CERT_FILE, else SSL_CERT_DIR, else
certifi's bundle.
"""
from __future__ import annotations

import os
import ssl
import sys
import threading
from typing import Any

_lock = threading.Lock()


class _TrustOnFirstUse(ssl.SSLContext):
    """ssl.create_default_context()'s settings; its CAs are loaded before the first handshake
    (asyncio and anyio wrap a BIO, blocking code a socket), once."""

    _trusted = False

    def _trust(self) -> None:
        if self._trusted:
            return
        with _lock:
            if self._trusted:
                return
            if os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                import certifi

                self.load_verify_locations(cafile=certifi.where())
            self._trusted = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._trust()
        return super().wrap_socket(*args, **kwargs)


def client_context() -> ssl.SSLContext:
    """A context that verifies the provider's certificate and host name, as httpx's default does."""
    context = _TrustOnFirstUse(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    keylog = os.environ.get("SSLKEYLOGFILE")  # as ssl.create_default_context honours it
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context
