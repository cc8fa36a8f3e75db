"""A provider's own request headers (config.headers), sealed like its credentials.

Operators put secrets there (a second token, an organisation key, a gateway password), so they
are stored encrypted with the master secret (chalicelib.credentials.crypto), shown masked, and
opened only to build the upstream request. The provider's name is the associated data: a
sealed value copied onto another provider does not open.
"""
from __future__ import annotations

from chalicelib.config import settings
from chalicelib.credentials import crypto
from chalicelib.store.keys import mask


def bound_to(provider: str) -> str:
    """The associated data of a provider's sealed headers."""
    return f"provider:{provider}:headers"


def seal(provider: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The sealed headers, and their masked form for the provider's config."""
    token = crypto.encrypt(settings().secret, headers, bound_to(provider))
    return token, {name: mask(value) for name, value in headers.items()}


def open_sealed(provider: str, token: str) -> dict[str, str]:
    headers = crypto.decrypt(settings().secret, token, bound_to(provider))
    assert isinstance(headers, dict)
    return headers

