"""Admin routes of billing: model rates (one by one and in margin mode), accounts and their
credits, key limits; and the user's own ledger."""
from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from chalicelib import hotstate
from chalicelib.api.admin import BulkRates, CreditChange, KeyUpdate, RateCreate, RateFields
from chalicelib.api.limits import MAX_RATE
from chalicelib.api.validation import json_body, validate
from chalicelib.billing import catalogue
from chalicelib.billing.units import MINOR_PER_CREDIT, from_minor, to_minor
from chalicelib.errors import bad_request, not_found
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.handlers.admin import credit_limit, int_param, key_view
from chalicelib.store import keys, ledger
from chalicelib.store import rates as rate_rows
from chalicelib.store.shared import store

RATE_FIELDS = ("input_rate", "output_rate", "cache_read_rate", "cache_write_rate", "image_rate", "second_rate")
COST_FIELDS = {"input": "input_cost_usd", "output": "output_cost_usd", "cache_read": "cache_read_cost_usd",
               "cache_write": "cache_write_cost_usd", "image": "image_cost_usd"}


def rate_view(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["object"] = "model_rate"
    for name in RATE_FIELDS:
        out[name] = None if row[name] is None else from_minor(row[name])
    return out


def _to_minor_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (to_minor(v) if k in RATE_FIELDS and v is not None else v) for k, v in fields.items()}


def _from_catalogue(provider: str, model: str) -> dict[str, Any]:
    """Unit costs and metadata the shipped catalogue knows for a model."""
    entry = catalogue.entry(provider, model)
    if entry is None:
        return {}
    out: dict[str, Any] = {COST_FIELDS[k]: v for k, v in entry.get("costs_usd", {}).items() if k in COST_FIELDS}
    out["metadata"] = {k: entry[k] for k in ("max_input_tokens", "max_output_tokens", "features", "deprecation_date")
                       if k in entry}
    return out


async def list_rates(req: ApiRequest, who: Principal) -> ApiResponse:
    found = rate_rows.list_rates(store(), provider=req.query.get("provider"), search=req.query.get("search"),
                                 include_deprecated=req.query.get("include_deprecated", "true") != "false")
    return json_response({"object": "list", "data": [rate_view(r) for r in found]})


async def set_rate(req: ApiRequest, who: Principal) -> ApiResponse:
    body = validate(RateCreate, json_body(req.body))
    fields = {**_from_catalogue(body.provider, body.model), **body.model_dump(exclude_none=True)}
    store().write(lambda conn: rate_rows.upsert_many(conn, [_to_minor_fields(fields)]))
    row = rate_rows.find(store(), body.provider, body.model)
    assert row is not None
    return json_response(rate_view(row), status=201)


def _rate(req: ApiRequest) -> dict[str, Any]:
    rate_id = int_param(req.params, "id", 1, 2**62)
    row = rate_rows.get(store(), rate_id) if rate_id else None
    if row is None:
        raise not_found(f"No model rate with id {req.params['id']}.", code="rate_not_found")
    return row


async def update_rate(req: ApiRequest, who: Principal) -> ApiResponse:
    row = _rate(req)
    fields = validate(RateFields, json_body(req.body)).model_dump(exclude_unset=True)
    rate_rows.update(store(), row["id"], _to_minor_fields(fields))
    return json_response(rate_view(_rate(req)))


def margin_rate(unit_cost_usd: float, margin: float, credit_price: float) -> int:
    """rate = unit cost x (1 + margin) / credit price, in minor units, rounded up (never under cost)."""
    credits = Decimal(str(unit_cost_usd)) * (1 + Decimal(str(margin))) / Decimal(str(credit_price))
    minor = int((credits * MINOR_PER_CREDIT).to_integral_value(rounding=ROUND_CEILING))
    if minor > MAX_RATE * MINOR_PER_CREDIT:
        raise bad_request(f"A unit cost of {unit_cost_usd} USD at a credit price of {credit_price} USD makes a rate"
                          f" above {MAX_RATE} credits; raise 'credit_price'.", param="credit_price")
    return minor


async def bulk_rates(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = validate(BulkRates, json_body(req.body))
    if spec.source == "catalogue":
        candidates = [{"provider": p, "model": m, "type": e["type"], **_from_catalogue(p, m)}
                      for p, m, e in catalogue.entries(spec.provider)]
    else:
        candidates = rate_rows.list_rates(store(), provider=spec.provider)
    if spec.models:
        wanted = set(spec.models)
        candidates = [c for c in candidates if c["model"] in wanted or f"{c['provider']}/{c['model']}" in wanted]
    changes = []
    for row in candidates:
        new = {rate: margin_rate(row[cost], spec.margin, spec.credit_price)
               for key, cost in COST_FIELDS.items() if row.get(cost) is not None
               for rate in [f"{key}_rate"]}
        if not new:
            continue  # no unit cost known: nothing to derive a rate from
        existing = rate_rows.find(store(), row["provider"], row["model"])
        changes.append({
            "provider": row["provider"], "model": row["model"], "type": row["type"],
            "before": {k: from_minor(existing[k]) if existing and existing[k] is not None else None for k in new},
            "after": {k: from_minor(v) for k, v in new.items()},
            "row": {**{k: row[k] for k in ("provider", "model", "type")},
                    **{c: row[c] for c in COST_FIELDS.values() if row.get(c) is not None},
                    **({"metadata": row["metadata"]} if row.get("metadata") else {}), **new},
        })
    if not spec.dry_run:
        store().write(lambda conn: rate_rows.upsert_many(conn, [c["row"] for c in changes]))
    return json_response({"object": "list", "dry_run": spec.dry_run, "count": len(changes),
                          "data": [{k: v for k, v in c.items() if k != "row"} for c in changes]})


# -- accounts and credits -------------------------------------------------------------------

def balance_view(account_id: str) -> dict[str, Any]:
    found = ledger.balance(store(), account_id)
    if found is None:
        raise not_found(f"No account with id {account_id}.", code="account_not_found")
    return {"object": "credits", "account_id": account_id, "balance": from_minor(found.balance),
            "granted": from_minor(found.granted), "used": from_minor(found.used),
            "reserved": from_minor(found.reserved)}


def ledger_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "object": "ledger_entry", "amount": from_minor(row["amount"])}


def _ledger_page(req: ApiRequest, account_id: str) -> dict[str, Any]:
    limit = int_param(req.query, "limit", 1, 1000) or 100
    before = int_param(req.query, "before", 1, 2**62)
    rows = ledger.entries(store(), account_id, limit=limit + 1, before=before)
    page = rows[:limit]
    return {"object": "list", "data": [ledger_view(r) for r in page], "has_more": len(rows) > limit,
            "next_cursor": page[-1]["id"] if len(rows) > limit else None}


async def list_accounts(req: ApiRequest, who: Principal) -> ApiResponse:
    rows = store().query("SELECT id, name, balance, reserved, created_at FROM accounts ORDER BY created_at DESC")
    return json_response({"object": "list", "data": [
        {**dict(r), "object": "account", "balance": from_minor(r["balance"]), "reserved": from_minor(r["reserved"])}
        for r in rows]})


async def get_account(req: ApiRequest, who: Principal) -> ApiResponse:
    return json_response({**balance_view(req.params["id"]), "keys": [
        key_view(k) for k in keys.list_keys(store(), req.params["id"])]})


async def account_ledger(req: ApiRequest, who: Principal) -> ApiResponse:
    balance_view(req.params["id"])
    return json_response(_ledger_page(req, req.params["id"]))


async def add_credits(req: ApiRequest, who: Principal) -> ApiResponse:
    account_id = req.params["id"]
    balance_view(account_id)
    change = validate(CreditChange, json_body(req.body))
    if change.expires_at is not None and change.kind != "grant":
        raise bad_request("Only grants expire.", param="expires_at")
    amount = to_minor(change.amount)
    try:
        row = store().write(lambda conn: ledger.grant(conn, account_id, amount, kind=change.kind,
                                                      expires_at=change.expires_at, request_id=change.request_id,
                                                      note=change.note))
    except ledger.CreditLimit as exc:
        raise credit_limit(exc, "amount") from None
    hotstate.mirror_ledger("id = ?", (row,))
    return json_response(balance_view(account_id), status=201)


async def my_ledger(req: ApiRequest, who: Principal) -> ApiResponse:
    if who.account_id is None:
        raise bad_request("This key belongs to no account, so it has no ledger.", code="no_account")
    return json_response(_ledger_page(req, who.account_id))


async def update_key(req: ApiRequest, who: Principal) -> ApiResponse:
    fields = validate(KeyUpdate, json_body(req.body)).model_dump(exclude_unset=True)
    for cap in ("daily_cap", "monthly_cap"):
        if fields.get(cap) is not None:
            fields[cap] = to_minor(fields[cap])
    record = keys.update_key(store(), req.params["id"], fields)
    if record is None:
        raise not_found(f"No key with id {req.params['id']}.", code="key_not_found")
    return json_response(key_view(record))
