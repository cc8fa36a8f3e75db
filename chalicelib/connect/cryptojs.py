"""The access key as the AIGNE CLI decrypts it: `CryptoJS.AES.decrypt(cipher, passphrase)`, the
OpenSSL passphrase format ("Salted__" + 8-byte salt + AES-256-CBC/PKCS7, base64), key and IV
derived by EVP_BytesToKey with MD5; the passphrase is the hex of PBKDF2-SHA512(challenge,
salt=accessKeyId, 256 rounds, 32 bytes). Pure."""
from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"Salted__"
KEY_BYTES, IV_BYTES = 32, 16


def passphrase(challenge: str, access_key_id: str) -> bytes:
    """What the CLI hands CryptoJS (`crypto.pbkdf2Sync(challenge, accessKeyId, 256, 32, "sha512")`)."""
    return hashlib.pbkdf2_hmac("sha512", challenge.encode(), access_key_id.encode(), 256, 32).hex().encode()


def evp_bytes_to_key(secret: bytes, salt: bytes) -> tuple[bytes, bytes]:
    """OpenSSL's EVP_BytesToKey, MD5, one round: CryptoJS's key and IV for a passphrase."""
    derived = block = b""
    while len(derived) < KEY_BYTES + IV_BYTES:
        block = hashlib.md5(block + secret + salt).digest()
        derived += block
    return derived[:KEY_BYTES], derived[KEY_BYTES:KEY_BYTES + IV_BYTES]


def encrypt(plaintext: str, secret: bytes, salt: bytes | None = None) -> str:
    """`CryptoJS.AES.encrypt(plaintext, secret).toString()`; the salt is random unless given."""
    salt = os.urandom(8) if salt is None else salt
    key, iv = evp_bytes_to_key(secret, salt)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(MAGIC + salt + encryptor.update(padded) + encryptor.finalize()).decode()


def seal_access_key(raw_key: str, access_key_id: str, challenge: str) -> str:
    """The `accessKeySecret` the CLI turns back into `raw_key`."""
    return encrypt(raw_key, passphrase(challenge, access_key_id))
