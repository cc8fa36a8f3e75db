"""What a provider's answer means for its credential and its model, and whether to retry.

- 401, 403 and 402 (no credit) disable a database credential with the reason and schedule a
  re-check with exponential backoff; the call moves on to another credential.
- 429 puts the credential on a cool-down with a lowered weight; the call moves on.
- 5xx, timeouts, connection errors, overloads and garbled answers are retried elsewhere.
- The gateway's own connection pool being full is nobody's credential's fault: not retried.
- Any other 4xx is the client's own and is never retried.
A success clears a cool-down. Model status follows traffic, written only when it changes.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from chalicelib.config import settings
from chalicelib.credentials import pool
from chalicelib.providers import errors
from chalicelib.providers.base import Target, UpstreamError
from chalicelib.store import providers as rows
from chalicelib.store.shared import store, writer

log = logging.getLogger("aihub.credentials")

DISABLING = {401, 402, 403}
MAX_BACKOFF_S = 6 * 3600
COOLDOWN_S = 30

_model_state: dict[tuple[str, str], bool] = {}  # last status this process wrote


def backoff_s(fail_count: int) -> float:
    """Seconds until the n-th re-check: base, 2x base, 4x base... capped at six hours."""
    base = float(settings().env.get("AIHUB_RECHECK_BASE_S") or 5)
    return min(MAX_BACKOFF_S, base * 2 ** max(0, fail_count - 1))


def retry_after_s(error: UpstreamError) -> float | None:
    raw = error.headers.get("retry-after")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def retryable(error: UpstreamError) -> bool:
    if error.code == errors.GATEWAY_BUSY:  # every credential waits on the same full pool
        return False
    status = error.upstream_status
    if status is None:  # timeout, connection error, garbled answer: the provider's fault
        return error.status >= 500
    return status in DISABLING or status == 429 or status >= 500


def _is_db(credential_id: str) -> bool:
    return credential_id.startswith("cred_")


def _write(job: Callable[[sqlite3.Connection], Any]) -> Future:
    """Queue a credential or model-status change on the writer (the server's loop never waits
    on SQLite); this process's snapshots follow once it has committed (store.versions). Callers
    off the loop may wait on it."""
    return writer().submit(job)


def disable(credential_id: str, reason: str, *, fail_count: int | None = None) -> Future | None:
    """Take a credential out of rotation until a re-check finds it working."""
    row = rows.get_credential(store(), credential_id)
    if row is None:
        return None
    count = (fail_count if fail_count is not None else row["fail_count"]) + 1
    done = _write(rows.credential_update(credential_id, {
        "active": 0, "error": reason[:500], "fail_count": count,
        "disabled_until": rows.now_ms() + int(backoff_s(count) * 1000),
    }))
    log.warning("credential %s disabled (%s); re-check in %.0f s", credential_id, reason[:200], backoff_s(count))
    return done


def restore(credential_id: str, *, keep_failures: bool = False) -> Future:
    fields = {"active": 1, "error": None, "disabled_until": None, "cooldown_until": None,
              "last_checked_at": rows.now_ms()}
    return _write(rows.credential_update(credential_id, fields if keep_failures else {**fields, "fail_count": 0}))


def after_failure(target: Target, error: UpstreamError) -> bool:
    """Update the credential after a failed attempt; True when the call may try elsewhere."""
    cred = target.credential.id
    status = error.upstream_status
    if _is_db(cred) and status in DISABLING:
        disable(cred, f"HTTP {status}: {error.message}")
    elif _is_db(cred) and status == 429:
        wait = max(COOLDOWN_S, retry_after_s(error) or 0)
        _write(rows.credential_update(cred, {"cooldown_until": rows.now_ms() + int(wait * 1000)}))
    if status == 404:
        _model(target, False, error.message)
    return retryable(error)


def after_success(target: Target) -> None:
    if _is_db(target.credential.id) and pool.cooling(target.credential.id):
        _write(rows.credential_update(target.credential.id, {"cooldown_until": None}))
    _model(target, True, None)


def _model(target: Target, available: bool, reason: str | None) -> None:
    key = (target.provider.name, target.model)
    if _model_state.get(key) is available:
        return
    _model_state[key] = available
    _write(rows.model_status_update(*key, available=available, reason=reason, source="traffic"))


def forget_model(provider: str, model: str) -> None:
    _model_state.pop((provider, model), None)
