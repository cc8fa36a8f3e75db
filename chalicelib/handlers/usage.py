"""Usage analytics: /v1/usage/* for the key's own account, /admin/usage/* for any or every account.

Aggregates (summary, timeseries, top-models, quota) read the roll-up; the call log (calls, one
call, calls.csv) reads model_calls by index. Queries run in a worker thread: the largest take
tens of milliseconds of SQLite, which must not stall the streams this process is relaying.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from chalicelib.analytics import calllog, params, reports
from chalicelib.errors import bad_request, not_found
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.handlers.admin import call_view
from chalicelib.store.shared import store

DEFAULT_PAGE = 100
MAX_PAGE = 5000
DEFAULT_EXPORT = 10_000
MAX_EXPORT = 1_000_000
EXPORT_CHUNK = 2000  # rows per query while streaming a CSV: no read transaction spans the stream
TOP_MODELS = 10
OWNER_ONLY = ("credential_id", "attempts")  # the operator's business, not the account holder's


def _now() -> int:
    return int(time.time() * 1000)


def _own_account(who: Principal) -> str:
    if who.account_id is None:
        raise bad_request("This key belongs to no account, so it has no usage; use /admin/usage.", code="no_account")
    return who.account_id


def _account_param(req: ApiRequest) -> str | None:
    return req.query.get("account_id") or None


# Aggregates ---------------------------------------------------------------------------------

async def summary(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _summary(req, _own_account(who))


async def admin_summary(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _summary(req, _account_param(req))


async def _summary(req: ApiRequest, account_id: str | None) -> ApiResponse:
    window = params.window(req.query, _now())
    scope = params.scope(req.query, account_id)
    groups = params.group_by(req.query)
    return json_response(await asyncio.to_thread(reports.summary, store(), scope, window, groups))


async def timeseries(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _timeseries(req, _own_account(who))


async def admin_timeseries(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _timeseries(req, _account_param(req))


async def _timeseries(req: ApiRequest, account_id: str | None) -> ApiResponse:
    window = params.window(req.query, _now())
    grain = params.granularity(req.query, window)
    scope = params.scope(req.query, account_id)
    groups = params.group_by(req.query)
    return json_response(await asyncio.to_thread(reports.timeseries, store(), scope, window, grain, groups))


async def top_models(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _top_models(req, _own_account(who))


async def admin_top_models(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _top_models(req, _account_param(req))


async def _top_models(req: ApiRequest, account_id: str | None) -> ApiResponse:
    window = params.window(req.query, _now())
    scope = params.scope(req.query, account_id)
    limit = params.integer(req.query, "limit", TOP_MODELS, 1, 1000)
    by = params.choice(req.query, "by", tuple(reports.RANKINGS), "calls") or "calls"
    return json_response(await asyncio.to_thread(reports.top_models, store(), scope, window, limit, by))


async def quota(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _quota(_own_account(who))


async def admin_quota(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _quota(_account_param(req))


async def _quota(account_id: str | None) -> ApiResponse:
    found = await asyncio.to_thread(reports.quota, store(), account_id, _now())
    if found is None:
        raise not_found(f"No account with id {account_id}.", code="account_not_found")
    return json_response(found)


# The call log -------------------------------------------------------------------------------

async def calls(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _calls(req, _own_account(who), admin=False)


async def admin_calls(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _calls(req, _account_param(req), admin=True)


async def _calls(req: ApiRequest, account_id: str | None, *, admin: bool) -> ApiResponse:
    query = _call_query(req, account_id)
    limit = params.integer(req.query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    rows, more = await asyncio.to_thread(calllog.page, store(), query, limit, params.cursor(req.query))
    return json_response({
        "object": "list",
        "data": [_call(row, admin) for row in rows],
        "has_more": more is not None,
        "next_cursor": None if more is None else calllog.encode_cursor(more),
    })


async def call(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _one_call(req, _own_account(who), admin=False)


async def admin_call(req: ApiRequest, who: Principal) -> ApiResponse:
    return await _one_call(req, None, admin=True)


async def _one_call(req: ApiRequest, account_id: str | None, *, admin: bool) -> ApiResponse:
    request_id = req.params["request_id"]
    row = await asyncio.to_thread(calllog.find, store(), request_id, account_id)
    if row is None:  # another account's call reads as missing too: nothing to probe
        raise not_found(f"No call with request id {request_id}.", code="call_not_found")
    view = _call(row, admin)
    if view.get("attempts"):
        view["attempts"] = orjson.loads(view["attempts"])
    return json_response(view)


async def calls_csv(req: ApiRequest, who: Principal) -> ApiResponse:
    return _csv(req, _own_account(who))


async def admin_calls_csv(req: ApiRequest, who: Principal) -> ApiResponse:
    return _csv(req, _account_param(req))


def _csv(req: ApiRequest, account_id: str | None) -> ApiResponse:
    # Every parameter is checked before the first byte: a stream cannot turn into a 400 later.
    query = _call_query(req, account_id)
    limit = params.integer(req.query, "limit", DEFAULT_EXPORT, 1, MAX_EXPORT)
    after = params.cursor(req.query)

    async def body() -> AsyncGenerator[bytes, None]:
        yield calllog.csv_header()
        left, cursor = limit, after
        while left > 0:
            text, count, cursor = await asyncio.to_thread(calllog.export, store(), query,
                                                          min(EXPORT_CHUNK, left), cursor)
            yield text
            left -= count
            if cursor is None:
                return

    return ApiResponse(200, body(), {"content-type": "text/csv; charset=utf-8",
                                     "content-disposition": 'attachment; filename="aihub-calls.csv"'})


def _call_query(req: ApiRequest, account_id: str | None) -> calllog.CallQuery:
    start, end = params.time_range(req.query)
    return calllog.CallQuery(params.scope(req.query, account_id), start, end, params.status(req.query))


def _call(row: dict[str, Any], admin: bool) -> dict[str, Any]:
    view = call_view(row)
    if not admin:
        for name in OWNER_ONLY:
            view.pop(name, None)
    return view
