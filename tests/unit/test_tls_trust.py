"""The upstream TLS context (chalicelib/providers/tls.py): httpx's default trust and checks, with
the CA bundle loaded at the first handshake instead of when the client is made.

Handshakes go to a loopback TLS server whose certificate a test CA (trustme) signed: trusted
only where that CA is, and only for the host name it was issued for.
"""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import certifi
import httpx
import pytest
import trustme

from chalicelib.providers import tls

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


@pytest.fixture
def ca(tmp_path, monkeypatch) -> Iterator[trustme.CA]:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"):
        monkeypatch.delenv(name, raising=False)
    yield trustme.CA()


def test_the_context_checks_what_the_default_one_checks(ca):
    ours, default = tls.client_context(), ssl.create_default_context()
    assert ours.verify_mode == ssl.CERT_REQUIRED and ours.check_hostname
    assert (ours.protocol, ours.options, ours.minimum_version, ours.maximum_version) == \
           (default.protocol, default.options, default.minimum_version, default.maximum_version)


def test_no_ca_is_loaded_until_the_first_handshake_then_certifis(ca):
    context = tls.client_context()
    assert context.cert_store_stats()["x509_ca"] == 0
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.com")
    assert context.cert_store_stats() == ssl.create_default_context(cafile=certifi.where()).cert_store_stats()


def test_ssl_cert_file_replaces_certifi(ca, tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    context = tls.client_context()
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.com")
    assert context.cert_store_stats()["x509_ca"] == 1


async def _get(ca: trustme.CA, issued_for: str) -> httpx.Response:
    """GET https://127.0.0.1 from an httpx client on our context; the server's certificate is
    signed by `ca` for `issued_for`."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(issued_for).configure_cert(server_context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(verify=tls.client_context()) as client:
            return await client.get(f"https://127.0.0.1:{port}/", timeout=5)
    finally:
        server.close()


@pytest.mark.parametrize(("trusted", "issued_for", "refused_because"), [
    (True, "127.0.0.1", None),
    (False, "127.0.0.1", "unable to get local issuer certificate"),  # no CA of certifi's signed it
    (True, "other.example", "certificate is not valid for .127.0.0.1."),  # signed, for another name
])
def test_a_handshake_verifies_the_provider(ca, tmp_path, monkeypatch, trusted, issued_for, refused_because):
    if trusted:
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    if refused_because is None:
        assert asyncio.run(_get(ca, issued_for)).text == "ok"
    else:
        with pytest.raises(httpx.ConnectError, match=refused_because):
            asyncio.run(_get(ca, issued_for))
