"""Admin routes for providers, their credentials and model health; /v1/status for everyone."""
from __future__ import annotations

import time
from typing import Any

from chalicelib.api.admin import CredentialCreate, CredentialUpdate, ProviderCreate, ProviderUpdate
from chalicelib.api.validation import json_body, validate
from chalicelib.config import settings
from chalicelib.credentials import crypto, health, pool, recheck, sealed_headers
from chalicelib.errors import ApiError, bad_request, not_found
from chalicelib.gateway import catalog
from chalicelib.gateway.auth import Principal
from chalicelib.gateway.http import ApiRequest, ApiResponse, json_response
from chalicelib.providers import registry
from chalicelib.providers.base import Credential, ProviderSpec, Target
from chalicelib.store import providers as rows
from chalicelib.store.keys import mask, new_id
from chalicelib.store.shared import store


def provider_view(spec: ProviderSpec) -> dict[str, Any]:
    creds = [c for c in rows.list_credentials(store(), spec.name)]
    return {
        "name": spec.name,
        "object": "provider",
        "display_name": spec.display_name or spec.name,
        "kind": spec.kind,
        "base_url": registry.base_url(spec, settings()) or None,
        "region": spec.region,
        "enabled": spec.enabled,
        "builtin": spec.builtin,
        "connect_timeout": spec.connect_timeout,
        "read_timeout": spec.read_timeout,
        "models": list(spec.models),
        "headers": spec.config.get("headers") or {},  # masked: the values are sealed
        "credentials": {"total": len(creds), "active": pool.active_count(spec),
                        "source": "database" if creds else ("environment" if pool.active_count(spec) else None)},
    }


def _spec(name: str) -> ProviderSpec:
    spec = catalog.providers(include_disabled=True).get(name)
    if spec is None:
        raise not_found(f"No provider named {name}.", code="provider_not_found")
    return spec


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in registry.kinds():
        raise bad_request(f"Unknown provider kind '{kind}'; one of {', '.join(registry.kinds())}.", param="kind")


def _sealing_headers(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The row's fields with config.headers sealed (they often carry keys) and masked in config.
    A config without headers clears them: a config is replaced whole."""
    if "config" not in fields:
        return fields
    config = dict(fields["config"] or {})
    headers = config.pop("headers", None)
    token = None
    if headers:
        token, config["headers"] = sealed_headers.seal(name, headers)
    return {**fields, "config": config, "sealed_headers": token}


async def list_providers(req: ApiRequest, who: Principal) -> ApiResponse:
    specs = catalog.providers(include_disabled=True).values()
    return json_response({"object": "list", "data": [provider_view(s) for s in specs]})


async def get_provider(req: ApiRequest, who: Principal) -> ApiResponse:
    return json_response(provider_view(_spec(req.params["name"])))


async def create_provider(req: ApiRequest, who: Principal) -> ApiResponse:
    body = validate(ProviderCreate, json_body(req.body))
    _check_kind(body.kind)
    if body.name in catalog.providers(include_disabled=True):
        raise ApiError(409, f"Provider {body.name} exists; change it with PATCH /admin/providers/{body.name}.",
                       code="provider_exists")
    rows.upsert_provider(store(), body.name,
                         _sealing_headers(body.name, body.model_dump(exclude={"name"}, exclude_none=True)))
    return json_response(provider_view(_spec(body.name)), status=201)


async def update_provider(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = _spec(req.params["name"])
    body = validate(ProviderUpdate, json_body(req.body))
    _check_kind(body.kind)
    if body.kind and spec.builtin and body.kind != spec.kind:
        raise bad_request(f"The kind of built-in provider {spec.name} is fixed ({spec.kind}).", param="kind")
    fields = body.model_dump(exclude_unset=True)
    if "config" in fields and fields["config"] is not None:
        fields["config"] = {k: v for k, v in fields["config"].items() if v is not None}
    if spec.builtin:
        fields.setdefault("kind", spec.kind)
    rows.upsert_provider(store(), spec.name, _sealing_headers(spec.name, fields))
    return json_response(provider_view(_spec(spec.name)))


async def delete_provider(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = _spec(req.params["name"])
    if spec.builtin:
        raise bad_request(f"{spec.name} is built in and cannot be deleted; disable it with PATCH instead.",
                          code="provider_builtin")
    removed = rows.delete_provider(store(), spec.name)
    return json_response({"name": spec.name, "object": "provider", "deleted": True, "rows_removed": removed})


# -- credentials ------------------------------------------------------------------------

def credential_view(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "secret"}
    out["object"] = "credential"
    out["active"] = bool(row["active"])
    return out


def _type_of(value: str | dict[str, str], declared: str | None) -> str:
    if declared:
        return declared
    if isinstance(value, str):
        return "api_key"
    return "aws" if "access_key_id" in value else "json"


def _masked(value: str | dict[str, str]) -> str:
    if isinstance(value, str):
        return mask(value)
    if "access_key_id" in value:
        return mask(value["access_key_id"])
    return "{" + ", ".join(sorted(value)) + "}"


def _validate_value(kind: str, value: str | dict[str, str]) -> None:
    if kind == "aws" and (not isinstance(value, dict) or not {"access_key_id", "secret_access_key"} <= value.keys()):
        raise bad_request("An AWS credential needs access_key_id and secret_access_key.", param="value")
    if kind == "api_key" and not isinstance(value, str):
        raise bad_request("An api_key credential's value is a string.", param="value")
    # It goes upstream in a header on every call: only what a header may carry.
    if kind == "api_key" and not (value.isascii() and value.isprintable()):
        raise bad_request("An api_key credential's value is printable ASCII.", param="value")


async def add_credential(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = _spec(req.params["name"])
    body = validate(CredentialCreate, json_body(req.body))
    kind = _type_of(body.value, body.type)
    _validate_value(kind, body.value)
    crypto.check_secret(settings().secret)
    credential_id = new_id("cred")
    if body.check:
        reason = await recheck.check(spec, Credential(credential_id, body.value))
        if reason is not None:
            raise bad_request(f"The credential failed its live check: {reason}", param="value",
                              code="credential_check_failed")
    stamp = rows.now_ms()
    rows.insert_credential(store(), {
        "id": credential_id, "provider": spec.name, "name": body.name, "type": kind,
        "secret": crypto.encrypt(settings().secret, body.value, credential_id), "masked": _masked(body.value),
        "weight": body.weight, "active": 1, "fail_count": 0, "usage_count": 0,
        "last_checked_at": stamp if body.check else None, "created_at": stamp, "updated_at": stamp,
    })
    created = rows.get_credential(store(), credential_id)
    assert created is not None
    return json_response(credential_view(created), status=201)


async def list_credentials(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = _spec(req.params["name"])
    return json_response({"object": "list", "data": [credential_view(r) for r in rows.list_credentials(store(), spec.name)]})


def _credential(credential_id: str, *, with_secret: bool = False) -> dict[str, Any]:
    row = rows.get_credential(store(), credential_id, with_secret=with_secret)
    if row is None:
        raise not_found(f"No credential with id {credential_id}.", code="credential_not_found")
    return row


async def update_credential(req: ApiRequest, who: Principal) -> ApiResponse:
    row = _credential(req.params["id"])
    body = validate(CredentialUpdate, json_body(req.body))
    fields: dict[str, Any] = {}
    if body.name is not None:
        fields["name"] = body.name
    if body.weight is not None:
        fields["weight"] = body.weight
    if body.active is not None:
        # Switched by hand: no automatic re-check either way.
        fields.update(active=int(body.active), disabled_until=None, error=None if body.active else "disabled by an admin")
        if body.active:
            fields["fail_count"] = 0
    if body.value is not None:
        _validate_value(row["type"], body.value)
        fields.update(secret=crypto.encrypt(settings().secret, body.value, row["id"]), masked=_masked(body.value))
    rows.update_credential(store(), row["id"], fields)
    return json_response(credential_view(_credential(row["id"])))


async def delete_credential(req: ApiRequest, who: Principal) -> ApiResponse:
    row = _credential(req.params["id"])
    rows.delete_credential(store(), row["id"])
    return json_response({"id": row["id"], "object": "credential", "deleted": True})


async def check_credential(req: ApiRequest, who: Principal) -> ApiResponse:
    row = _credential(req.params["id"], with_secret=True)
    reason = await recheck.check_row(row)
    # This handler runs on the offload pool: waiting for the writer here blocks no other call.
    if reason is None:
        health.restore(row["id"]).result()
    elif row["active"] and (disabled := health.disable(row["id"], reason)) is not None:
        disabled.result()
    else:
        rows.update_credential(store(), row["id"], {"error": reason[:500], "last_checked_at": rows.now_ms()})
    return json_response({**credential_view(_credential(row["id"])), "ok": reason is None, "reason": reason})


# -- model health -------------------------------------------------------------------------

def _route_status(spec: ProviderSpec, model: str) -> dict[str, Any]:
    active = pool.active_count(spec) if spec.enabled else 0
    status = rows.model_status(store(), spec.name, model)
    reason = None
    if not spec.enabled:
        reason = f"provider {spec.name} is disabled"
    elif not active:
        reason = f"provider {spec.name} has no active credential"
    elif status and not status["available"]:
        reason = f"marked unavailable: {status['reason']}"
    return {"provider": spec.name, "model": model, "available": reason is None, "reason": reason,
            "active_credentials": active, "status": status}


async def model_status(req: ApiRequest, who: Principal) -> ApiResponse:
    model = req.query.get("model")
    if not model:
        raise bad_request("Query parameter 'model' is required.", param="model")
    return json_response(availability(model))


def availability(model: str) -> dict[str, Any]:
    """Whether a model can be served now, and why not, route by route (database reads: call it
    off the server's loop)."""
    known = catalog.providers(include_disabled=True)
    prefix, _, rest = model.partition("/")
    if rest and prefix in known:
        routes = [(known[prefix], known[prefix].upstream_model(rest))]
    else:
        routes = [(known[p], known[p].upstream_model(m)) for p, m in registry.candidates(model) if p in known
                  and (not known[p].bare_names_mapped_only or m in dict(known[p].model_map))]
    details = [_route_status(spec, m) for spec, m in routes]
    available = any(d["available"] for d in details)
    reason = None if available else ("no provider serves this model" if not details
                                     else "; ".join(d["reason"] for d in details))
    return {"object": "model_status", "model": model, "available": available, "reason": reason, "routes": details}


def _probe_body(model: str) -> tuple[str, dict[str, Any]]:
    if "embed" in model:
        return "embedding", {"model": model, "input": "ping"}
    return "chat", {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}


async def probe_model(req: ApiRequest, who: Principal) -> ApiResponse:
    spec = _spec(req.params["provider"])
    model = spec.upstream_model(req.params["model"])
    credential = pool.pick(spec)
    if credential is None:
        raise ApiError(503, f"Provider {spec.name} has no active credential to probe with.",
                       code="no_active_credential", type="api_error")
    kind, body = _probe_body(model)
    adapter = registry.adapter(spec.kind)
    target = Target(spec, model, credential)
    began = time.perf_counter()
    reason = None
    try:
        await (adapter.embeddings(target, body) if kind == "embedding" else adapter.chat(target, body))
    except ApiError as error:
        reason = error.message
    latency = round((time.perf_counter() - began) * 1000, 3)
    rows.set_model_status(store(), spec.name, model, available=reason is None, reason=reason, source="probe",
                          latency_ms=latency)
    health.forget_model(spec.name, model)
    return json_response({"object": "model_probe", "provider": spec.name, "model": model, "type": kind,
                          "available": reason is None, "reason": reason, "latency_ms": latency})
