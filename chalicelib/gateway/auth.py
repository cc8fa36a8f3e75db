"""Who is calling: bearer (or x-api-key) -> Principal, from a short in-process cache or the DB."""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.gateway.http import ApiRequest
from chalicelib.store import keys
from chalicelib.store.shared import store

CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, keys.KeyRecord]] = {}


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str | None
    account_id: str | None
    role: str
    key: keys.KeyRecord | None = None  # its limits; None for AIHUB_ADMIN_KEY


ENV_ADMIN = Principal(key_id=None, account_id=None, role="admin")


def presented_key(req: ApiRequest) -> str | None:
    auth = req.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return req.headers.get("x-api-key") or None


def _lookup(raw: str) -> keys.KeyRecord | None:
    digest = keys.hash_key(raw)
    hit = _cache.get(digest)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    record = keys.find_by_hash(store(), digest)
    if record is not None:
        _cache[digest] = (now + CACHE_SECONDS, record)
    return record


def forget(key_id: str) -> None:
    """Drop a key from the cache (after revoking it) so this process refuses it at once."""
    for digest, (_, record) in list(_cache.items()):
        if record.id == key_id:
            _cache.pop(digest, None)


def authenticate(req: ApiRequest, *, admin: bool = False) -> Principal:
    raw = presented_key(req)
    if raw is None:
        raise ApiError(401, "Missing API key: send it as 'Authorization: Bearer <key>'.", code="missing_api_key")
    admin_key = settings().admin_key
    if admin_key and hmac.compare_digest(raw.encode(), admin_key.encode()):
        return ENV_ADMIN
    record = _lookup(raw)
    if record is None or not record.usable:
        # The same answer for unknown, revoked and expired keys: nothing to probe.
        raise ApiError(401, f"Invalid API key ({keys.mask(raw)}).", code="invalid_api_key")
    if admin and record.role != "admin":
        raise ApiError(403, "This route needs an admin key.", code="admin_required")
    return Principal(record.id, record.account_id, record.role, record)
