"""Authenticated encryption of provider secrets with a key derived from AIHUB_SECRET.

AES-256-GCM, key = HKDF-SHA256(AIHUB_SECRET). The credential's id is the associated data, so a
ciphertext copied onto another row does not decrypt. Stored as "v1:" + base64(nonce || ct).
"""
from __future__ import annotations

import base64
import os
from functools import lru_cache

import orjson

from chalicelib.errors import ApiError

VERSION = "v1"
MIN_SECRET = 32


class SecretMissing(ApiError):
    def __init__(self) -> None:
        from chalicelib.config import secret_file, settings

        kept = secret_file(settings().db_path)
        super().__init__(503, "AIHUB_SECRET (32+ characters) is not set, so provider credentials cannot be "
                              f"stored or read. Set it, or let `aihub serve` generate one: it keeps it in {kept} "
                              "(beside the database) and reads it from there.", code="secret_not_configured",
                         type="api_error")


@lru_cache(maxsize=4)
def _aead(secret: str):  # -> AESGCM, imported lazily (cold start)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"aihub", info=b"aihub credentials v1").derive(secret.encode())
    return AESGCM(key)


def check_secret(secret: str | None) -> str:
    if not secret or len(secret) < MIN_SECRET:
        raise SecretMissing()
    return secret


def encrypt(secret: str | None, value: str | dict[str, str], credential_id: str) -> str:
    plain = orjson.dumps(value)
    nonce = os.urandom(12)
    sealed = _aead(check_secret(secret)).encrypt(nonce, plain, credential_id.encode())
    return f"{VERSION}:" + base64.b64encode(nonce + sealed).decode()


def decrypt_with(secret: str, token: str, credential_id: str) -> str | dict[str, str] | None:
    """The plaintext, or None when `secret` is not the one `token` was sealed with."""
    from cryptography.exceptions import InvalidTag

    version, _, payload = token.partition(":")
    if version != VERSION:
        raise ValueError(f"unknown credential encryption version {version!r}")
    raw = base64.b64decode(payload)
    try:
        return orjson.loads(_aead(check_secret(secret)).decrypt(raw[:12], raw[12:], credential_id.encode()))
    except InvalidTag:
        return None


def decrypt(secret: str | None, token: str, credential_id: str) -> str | dict[str, str]:
    """With the current secret, else the one before the last rotation (until `rekey` has run)."""
    from chalicelib.config import previous_secret

    plain = decrypt_with(check_secret(secret), token, credential_id)
    if plain is None:
        old = previous_secret()
        plain = decrypt_with(old, token, credential_id) if old and old != secret else None
    if plain is None:
        raise ApiError(500, "A stored credential cannot be decrypted with the current AIHUB_SECRET.",
                       code="credential_undecryptable", type="api_error")
    return plain


def rekey(secret: str | None, previous: str | None, token: str, credential_id: str) -> str | None:
    """`token` sealed again with `secret` if it was sealed with `previous`; None if nothing to do
    (already current, or sealed with a secret this process does not know: left alone)."""
    if not previous or previous == secret or decrypt_with(check_secret(secret), token, credential_id) is not None:
        return None
    plain = decrypt_with(previous, token, credential_id)
    return None if plain is None else encrypt(secret, plain, credential_id)
