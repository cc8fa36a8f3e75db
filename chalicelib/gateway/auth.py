"""Who is calling: bearer (or x-api-key) -> Principal, from an in-process snapshot or the DB.

Keys stay cached until any key changes anywhere: every change (creation, revoke, limits,
expiry) bumps the api_keys counter in the same transaction (store.keys), which the process's
snapshot refresh reads at most once per AIHUB_SNAPSHOT_REFRESH_S (store.versions). So a warm key
costs no SQLite read; a key revoked through this process is refused at its next request, through
another process (or the CLI) within the refresh interval. Keys that match nothing are remembered
too, in the same bounded LRU (forgotten at the next key change, so a key made elsewhere is found
within the interval), so a client retrying with a wrong key does not read the database per
request. Expiry is checked per request against the clock.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from chalicelib.config import settings
from chalicelib.errors import ApiError
from chalicelib.gateway.http import ApiRequest
from chalicelib.store import keys, versions
from chalicelib.store.shared import store

# Anthropic's SDK sends x-api-key, Google's x-goog-api-key (or the `key` query parameter).
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key"})

# Key hashes remembered, with their record or None (no such key): a few MB at most.
KEYS_REMEMBERED = 16_384
_keys: versions.Memo[str, keys.KeyRecord | None] = versions.Memo("api_keys", size=KEYS_REMEMBERED)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str | None
    account_id: str | None
    role: str
    key: keys.KeyRecord | None = None  # its limits; None for AIHUB_ADMIN_KEY


ENV_ADMIN = Principal(key_id=None, account_id=None, role="admin")


def presented_key(req: ApiRequest) -> str | None:
    """The one key the request carries. Two keys are refused, not resolved: whichever of them
    a proxy or a front would keep, the caller would be someone the client did not choose."""
    if req.repeated & CREDENTIAL_HEADERS:
        names = ", ".join(sorted(req.repeated & CREDENTIAL_HEADERS))
        raise ApiError(400, f"The request repeats the {names} header; send one API key.", code="ambiguous_api_key")
    auth = req.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    presented = {name: value for name, value in (
        ("Authorization", bearer),
        ("x-api-key", req.headers.get("x-api-key")),
        ("x-goog-api-key", req.headers.get("x-goog-api-key")),
        ("key query parameter", req.query.get("key")),
    ) if value}
    if len(set(presented.values())) > 1:
        raise ApiError(400, f"The {' and '.join(presented)} carry different keys; send one API key.",
                       code="ambiguous_api_key")
    return next(iter(presented.values()), None)


def _lookup(raw: str) -> keys.KeyRecord | None:
    digest = keys.hash_key(raw)
    return _keys.get(digest, lambda: keys.find_by_hash(store(), digest))


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
