"""Expiring, unforgeable download tokens for files aihub hosts itself (the local blob store).

A token is `<expiry>.<signature>.<blob id>`: the signature is an HMAC-SHA256 over the blob id
and the expiry, keyed from the master secret (AIHUB_SECRET), so only this gateway can mint one
and no one can stretch its life or point it at another file. Blob ids are random
(secrets.token_urlsafe), so a valid token cannot be guessed either. Pure: time is passed in.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

# A blob id: 32 URL-safe random characters and the file's extension; nothing that can walk a path.
BLOB_ID = re.compile(r"^[A-Za-z0-9_-]{32}\.[a-z0-9]{1,5}$")
_PURPOSE = b"aihub blob url v1"


def _key(secret: str) -> bytes:
    # A key of its own, so a signature here can never double as any other MAC of the secret.
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _signature(secret: str, blob_id: str, expires: int) -> str:
    mac = hmac.new(_key(secret), f"{blob_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sign(secret: str, blob_id: str, expires: int) -> str:
    if not BLOB_ID.match(blob_id):
        raise ValueError("not a blob id")
    return f"{expires}.{_signature(secret, blob_id, expires)}.{blob_id}"


def verify(secret: str, token: str, now: int) -> tuple[str, int] | None:
    """(blob id, expiry) of a token that this secret signed and that has not expired, else None."""
    expires, _, rest = token.partition(".")
    signature, _, blob_id = rest.partition(".")
    if not expires.isdigit() or len(expires) > 12 or not BLOB_ID.match(blob_id):
        return None
    if not hmac.compare_digest(signature, _signature(secret, blob_id, int(expires))):
        return None
    return (blob_id, int(expires)) if int(expires) > now else None
