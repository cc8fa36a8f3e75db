"""`aigne hub connect <aihub url>` (shared/aigne-hub-v2.md §5.8): the CLI makes a session, opens
the approval page in the browser and polls; a signed-in user approves in the web UI, which issues
a new key of that user's account, sealed for the CLI (chalicelib/connect/cryptojs.py); the CLI
reads it and deletes the session. The session id is the only credential of the CLI's polls, so
it is long and random, and every session expires (AIHUB_CONNECT_SESSION_TTL)."""
from __future__ import annotations

import base64
import binascii
import secrets
import sqlite3
import time
from urllib.parse import urlencode

from chalicelib.api.connect import Approval
from chalicelib.api.validation import json_body, validate
from chalicelib.config import settings
from chalicelib.connect import cryptojs
from chalicelib.credentials import crypto
from chalicelib.errors import ApiError, bad_request, not_found
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.store import access_sessions, keys
from chalicelib.store.shared import store

# The web UI's own page for it (web/src/pages/Connect.tsx), a hash route of the UI at "/"
UI_PAGE = "#/connect"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _gone() -> ApiError:
    return not_found("No such connect session: it is unknown, was used, or expired.", code="session_not_found")


def _bound_to(sid: str) -> str:
    """The associated data of a session's sealed key: it opens for that session only."""
    return f"connect-session:{sid}"


def _sid(req: ApiRequest) -> str:
    sid = req.query.get("sid", "")
    if not sid:
        raise bad_request("The session id is missing: add ?sid=.", param="sid")
    return sid


async def create_session(req: ApiRequest, who: Principal | None) -> ApiResponse:
    sid = secrets.token_urlsafe(32)
    ttl_ms = settings().connect_session_ttl_s * 1000
    store().write(lambda conn: access_sessions.create(conn, sid, _now_ms(), ttl_ms))
    return json_response({"id": sid})


async def poll_session(req: ApiRequest, who: Principal | None) -> ApiResponse:
    """Pending: `{id}`; approved: the sealed key, which the CLI decrypts with the other two."""
    sid = _sid(req)
    session = access_sessions.live(store().conn, sid, _now_ms())
    if session is None:
        raise _gone()
    if not session.approved:
        return json_response({"id": sid})
    assert session.secret_cipher is not None
    cipher = crypto.decrypt(settings().secret, session.secret_cipher, _bound_to(sid))
    return json_response({"id": sid, "accessKeyId": session.key_id, "accessKeySecret": cipher,
                          "challenge": session.challenge})


async def delete_session(req: ApiRequest, who: Principal | None) -> ApiResponse:
    sid = _sid(req)
    if not store().write(lambda conn: access_sessions.delete(conn, sid, _now_ms())):
        raise _gone()
    return json_response({})


async def approval_page(req: ApiRequest, who: Principal | None) -> ApiResponse:
    """The URL the CLI opens: the web UI's page, its query carried along. Relative, so it holds
    under an API Gateway stage too (`/prod/.well-known/service/...` -> `/prod/`)."""
    return ApiResponse(302, b"", {"location": "../../" + UI_PAGE + ("?" + urlencode(req.query) if req.query else "")})


def session_id(token: str) -> str:
    """The page's `__token__` (base64url without padding, as the CLI encodes it) -> the session id."""
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise bad_request("token is not a connect session token.", param="token") from None


async def approve(req: ApiRequest, who: Principal) -> ApiResponse:
    """The signed-in user's approval: a new key of their account, limits as their own key's,
    shown to no one but the CLI (sealed in the session), stored as a hash."""
    spec = validate(Approval, json_body(req.body))
    sid = session_id(spec.token)
    account, limits = who.account_id, who.key
    if account is None or limits is None:
        raise ApiError(403, "Sign in with a key of an account to connect an app; the admin key has none.",
                       code="account_key_required")
    name = f"{(spec.appName or '').strip() or 'AIGNE CLI'} (aigne hub connect)"
    raw, challenge = keys.new_raw_key(), secrets.token_urlsafe(32)

    def tx(conn: sqlite3.Connection) -> keys.KeyRecord:
        now = _now_ms()
        if access_sessions.live(conn, sid, now) is None:
            raise _gone()
        record = keys.insert_key(conn, raw, name=name, role="user", account_id=account, rpm=limits.rpm,
                                 tpm=limits.tpm, daily_cap=limits.daily_cap, monthly_cap=limits.monthly_cap)
        # The CLI's cipher opens with what the poll answers beside it, so at rest it is sealed
        # again with the master secret, like provider credentials.
        sealed = crypto.encrypt(settings().secret, cryptojs.seal_access_key(raw, record.id, challenge),
                                _bound_to(sid))
        if not access_sessions.approve(conn, sid, now, record.id, sealed, challenge):
            # approved already (single use): the transaction, this key included, is undone
            raise ApiError(409, "This connect session was approved already.", code="session_used")
        return record

    record = store().write(tx)
    return json_response({"approved": True, "key_id": record.id, "name": record.name, "masked": record.masked})
