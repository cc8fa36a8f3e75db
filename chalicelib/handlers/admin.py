"""Admin routes: keys and the call log."""
from __future__ import annotations

from typing import Any

from chalicelib import hotstate
from chalicelib.api.admin import KeyCreate
from chalicelib.api.validation import json_body, validate
from chalicelib.billing.units import from_minor, to_minor
from chalicelib.errors import ApiError, bad_request, not_found
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.store import calls, keys, ledger
from chalicelib.store.shared import store

DEFAULT_PAGE = 100
MAX_PAGE = 5000


def credit_limit(exc: ledger.CreditLimit, param: str) -> ApiError:
    return bad_request(str(exc), param=param, code="credit_limit_exceeded")


def key_view(record: keys.KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "api_key",
        "name": record.name,
        "account_id": record.account_id,
        "role": record.role,
        "masked": record.masked,
        "rpm": record.rpm,
        "tpm": record.tpm,
        "daily_cap": None if record.daily_cap is None else from_minor(record.daily_cap),
        "monthly_cap": None if record.monthly_cap is None else from_minor(record.monthly_cap),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "revoked": record.revoked_at is not None,
    }


async def create_key(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = validate(KeyCreate, json_body(req.body))
    try:
        record, raw = keys.create_key(
            store(),
            name=spec.name,
            role=spec.role,
            account_id=spec.account_id,
            credits_minor=to_minor(spec.credits) if spec.credits else None,
            rpm=spec.rpm,
            tpm=spec.tpm,
        )
    except LookupError as exc:
        raise not_found(str(exc), code="account_not_found") from None
    except ledger.CreditLimit as exc:
        raise credit_limit(exc, "credits") from None
    if spec.credits:
        hotstate.mirror_ledger("key_id = ?", (record.id,))
    # The only time the raw key leaves the gateway.
    return json_response({**key_view(record), "key": raw, "credits": spec.credits}, status=201)


async def list_keys(req: ApiRequest, who: Principal) -> ApiResponse:
    records = keys.list_keys(store(), req.query.get("account_id"))
    return json_response({"object": "list", "data": [key_view(r) for r in records]})


async def revoke_key(req: ApiRequest, who: Principal) -> ApiResponse:
    record = keys.revoke_key(store(), req.params["id"])
    if record is None:
        raise not_found(f"No key with id {req.params['id']}.", code="key_not_found")
    return json_response(key_view(record))


def int_param(source: dict[str, str], name: str, low: int, high: int) -> int | None:
    """An integer query (or path) parameter within bounds, or None when absent."""
    raw = source.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Parameter '{name}' must be an integer.", param=name) from None
    if not low <= value <= high:
        raise bad_request(f"Parameter '{name}' must be between {low} and {high}.", param=name)
    return value


def call_view(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["credits"] = from_minor(row["credits"] or 0)
    row["stream"] = bool(row["stream"])
    row["usage_estimated"] = bool(row["usage_estimated"])
    row["total_tokens"] = (row["prompt_tokens"] + row["completion_tokens"] + row["cache_read_tokens"]
                           + row["cache_write_tokens"])
    return row


async def list_calls(req: ApiRequest, who: Principal) -> ApiResponse:
    limit = int_param(req.query, "limit", 1, MAX_PAGE) or DEFAULT_PAGE
    before = int_param(req.query, "before", 1, 2**62)
    rows = calls.list_calls(store(), account_id=req.query.get("account_id"), limit=limit + 1, before=before)
    page = rows[:limit]
    has_more = len(rows) > limit
    return json_response({
        "object": "list",
        "data": [call_view(r) for r in page],
        "has_more": has_more,
        "next_cursor": page[-1]["id"] if has_more and page else None,
    })
