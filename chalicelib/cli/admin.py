"""The admin commands: every admin task of the API, run in-process through its handlers."""
from __future__ import annotations

import argparse
from typing import Any

from chalicelib.cli.commands import (
    amount,
    command,
    given,
    group,
    names,
    on_off,
    optional,
    pairs,
    secret_value,
    when,
)
from chalicelib.cli.output import show
from chalicelib.cli.runtime import admin_call

S = argparse.SUPPRESS  # an option not given stays out of the request body
KEY_COLUMNS = ("id", "name", "role", "account_id", "masked", "rpm", "tpm", "daily_cap", "monthly_cap",
               "expires_at", "revoked")
CALL_COLUMNS = ("created_at", "request_id", "provider", "model", "type", "status", "prompt_tokens",
                "completion_tokens", "credits", "duration_ms")


def _out(args: argparse.Namespace, data: Any, columns: tuple[str, ...] | None = None) -> int:
    show(data, as_json=args.json, columns=columns)
    return 0


# keys ---------------------------------------------------------------------------------------
def keys_create(a: argparse.Namespace) -> int:
    body = {"name": a.name, "role": a.role, "account_id": a.account_id, "credits": a.credits, "rpm": a.rpm, "tpm": a.tpm}
    data = admin_call("admin:create_key", body={k: v for k, v in body.items() if v is not None})
    if not a.json:
        print(f"key (shown this once, keep it safe): {data['key']}")
    return _out(a, data)


def keys_list(a: argparse.Namespace) -> int:
    return _out(a, admin_call("admin:list_keys", query={"account_id": a.account_id}), KEY_COLUMNS)


def keys_update(a: argparse.Namespace) -> int:
    body = given(a, "name", "rpm", "tpm", "daily_cap", "monthly_cap", "expires_at")
    return _out(a, admin_call("billing:update_key", params={"id": a.id}, body=body))


def keys_revoke(a: argparse.Namespace) -> int:
    return _out(a, admin_call("admin:revoke_key", params={"id": a.id}))


def add_keys(sub: Any) -> None:
    g = group(sub, "keys", "API keys: create, list, set limits, revoke")
    p = command(g, "create", "create a key (shown once); --role admin makes a new admin key",
                "aihub keys create --name ci --credits 100 --rpm 60", keys_create)
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=["user", "admin"], default="user")
    p.add_argument("--account-id", help="an existing account (default: a new one)")
    p.add_argument("--credits", type=amount, help="credits granted to a new account")
    p.add_argument("--rpm", type=int, help="requests per minute")
    p.add_argument("--tpm", type=int, help="tokens per minute")
    p = command(g, "list", "list keys (masked)", "aihub keys list --account-id acct_123", keys_list)
    p.add_argument("--account-id")
    p = command(g, "update", "set a key's name, limits, caps or expiry; `none` clears a limit",
                "aihub keys update key_123 --rpm 120 --daily-cap 50 --expires-at 2026-12-31", keys_update)
    p.add_argument("id")
    p.add_argument("--name", default=S)
    p.add_argument("--rpm", type=optional(int), default=S, help="requests per minute, or none")
    p.add_argument("--tpm", type=optional(int), default=S, help="tokens per minute, or none")
    p.add_argument("--daily-cap", type=optional(amount), default=S, help="credits per UTC day, or none")
    p.add_argument("--monthly-cap", type=optional(amount), default=S, help="credits per UTC month, or none")
    p.add_argument("--expires-at", type=optional(when), default=S, help="ISO 8601 date or time (UTC), or none")
    p = command(g, "revoke", "revoke a key", "aihub keys revoke key_123", keys_revoke)
    p.add_argument("id")


# providers and credentials -------------------------------------------------------------------
def _provider_row(p: dict[str, Any]) -> dict[str, Any]:
    creds = p.get("credentials") or {}
    return {**p, "models": len(p.get("models") or []),
            "credentials": f"{creds.get('active', 0)}/{creds.get('total', 0)} {creds.get('source') or ''}".strip()}


def providers_list(a: argparse.Namespace) -> int:
    data = admin_call("providers:list_providers")
    if not a.json:
        data = {**data, "data": [_provider_row(p) for p in data["data"]]}
    return _out(a, data, ("name", "kind", "enabled", "builtin", "credentials", "models", "base_url"))


def providers_show(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:get_provider", params={"name": a.name}))


def _provider_body(a: argparse.Namespace) -> dict[str, Any]:
    body = given(a, "kind", "base_url", "region", "display_name", "enabled")
    config = given(a, "connect_timeout", "read_timeout", "models", "model_map", "headers", "responses_api")
    if config:
        body["config"] = config
    return body


def providers_add(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:create_provider", body={"name": a.name, **_provider_body(a)}))


def providers_update(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:update_provider", params={"name": a.name}, body=_provider_body(a)))


def providers_delete(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:delete_provider", params={"name": a.name}))


def creds_list(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:list_credentials", params={"name": a.provider}),
                ("id", "name", "masked", "weight", "active", "error", "usage_count", "last_used_at"))


def creds_add(a: argparse.Namespace) -> int:
    body = {"value": secret_value(a.value), "weight": a.weight, "check": not a.no_check, **given(a, "name")}
    return _out(a, admin_call("providers:add_credential", params={"name": a.provider}, body=body))


def creds_update(a: argparse.Namespace) -> int:
    body = given(a, "weight", "active", "name")
    if hasattr(a, "value"):
        body["value"] = secret_value(a.value)
    return _out(a, admin_call("providers:update_credential", params={"id": a.id}, body=body))


def creds_check(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:check_credential", params={"id": a.id}))


def creds_delete(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:delete_credential", params={"id": a.id}))


def creds_rekey(a: argparse.Namespace) -> int:
    from chalicelib.cli.runtime import existing_database
    from chalicelib.handlers.maintenance import rekey_credentials

    existing_database()
    print(f"re-sealed {rekey_credentials()} secret(s) (credentials, provider headers) with the current AIHUB_SECRET")
    return 0


def _provider_options(p: argparse.ArgumentParser, *, adding: bool) -> None:
    p.add_argument("name")
    p.add_argument("--kind", required=adding, default=None if adding else S,
                   help="the adapter, e.g. openai for any OpenAI-compatible API")
    p.add_argument("--base-url", default=S)
    p.add_argument("--region", default=S)
    p.add_argument("--display-name", default=S)
    p.add_argument("--enable", dest="enabled", action="store_const", const=True, default=S)
    p.add_argument("--disable", dest="enabled", action="store_const", const=False, default=S)
    p.add_argument("--models", type=names, default=S, help="the models it serves, comma-separated")
    p.add_argument("--model-map", type=pairs, default=S, help="aliases: name=upstream,name2=upstream2")
    p.add_argument("--header", dest="headers", type=pairs, default=S,
                   help="extra request headers: Name=value,... (stored sealed)")
    p.add_argument("--connect-timeout", type=float, default=S, help="seconds")
    p.add_argument("--read-timeout", type=float, default=S, help="seconds")
    p.add_argument("--responses-api", type=on_off, default=S, help="on: the endpoint serves /responses itself")


def add_providers(sub: Any) -> None:
    g = group(sub, "providers", "providers: list, show, add, configure (models, timeouts, headers), delete")
    command(g, "list", "built-in and added providers", "aihub providers list", providers_list)
    p = command(g, "show", "one provider in full", "aihub providers show openai", providers_show)
    p.add_argument("name")
    _provider_options(command(g, "add", "add a provider of your own",
                              "aihub providers add mylocal --kind openai --base-url http://localhost:8080/v1 "
                              "--models llama3,qwen2", providers_add), adding=True)
    _provider_options(command(g, "update", "change a provider: models, model map, timeouts, headers, on/off",
                              "aihub providers update openai --models gpt-4o-mini,gpt-4o --read-timeout 120",
                              providers_update), adding=False)
    p = command(g, "delete", "delete a provider you added (and its credentials)", "aihub providers delete mylocal",
                providers_delete)
    p.add_argument("name")

    g = group(sub, "credentials", "provider credentials: list, add, update, check, delete, rekey")
    p = command(g, "list", "a provider's credentials (masked)", "aihub credentials list openai", creds_list)
    p.add_argument("provider")
    p = command(g, "add", "add a credential (checked live unless --no-check)",
                "echo \"$OPENAI_API_KEY\" | aihub credentials add openai --value -", creds_add)
    p.add_argument("provider")
    p.add_argument("--value", required=True, help="the key, or JSON for AWS/custom; '-' reads it from stdin")
    p.add_argument("--name", default=S)
    p.add_argument("--weight", type=int, default=1)
    p.add_argument("--no-check", action="store_true")
    p = command(g, "update", "change a credential", "aihub credentials update cred_123 --weight 3 --disable",
                creds_update)
    p.add_argument("id")
    p.add_argument("--weight", type=int, default=S)
    p.add_argument("--name", default=S)
    p.add_argument("--value", default=S, help="a new secret; '-' reads it from stdin")
    p.add_argument("--enable", dest="active", action="store_const", const=True, default=S)
    p.add_argument("--disable", dest="active", action="store_const", const=False, default=S)
    for action, fn in (("check", creds_check), ("delete", creds_delete)):
        p = command(g, action, f"{action} a credential", f"aihub credentials {action} cred_123", fn)
        p.add_argument("id")
    command(g, "rekey", "after rotating AIHUB_SECRET (old one in AIHUB_SECRET_PREVIOUS): seal every credential "
                        "and provider header with the new secret",
            "AIHUB_SECRET_PREVIOUS=old AIHUB_SECRET=new aihub credentials rekey", creds_rekey, json_flag=False)


# models --------------------------------------------------------------------------------------
def models_probe(a: argparse.Namespace) -> int:
    return _out(a, admin_call("providers:probe_model", params={"provider": a.provider, "model": a.model}))


def models_status(a: argparse.Namespace) -> int:
    data = admin_call("providers:model_status", query={"model": a.model})
    if not a.json:
        print(f"{data['model']}: {'available' if data['available'] else 'unavailable'}"
              f"{'' if data['available'] else ' (' + str(data['reason']) + ')'}")
        return _out(a, data.get("routes") or [], ("provider", "model", "available", "active_credentials", "reason"))
    return _out(a, data)


def add_models(sub: Any) -> None:
    g = group(sub, "models", "models: probe one live, or see whether one can be served and why not")
    p = command(g, "probe", "call a model once with a tiny request and record whether it answers",
                "aihub models probe openai gpt-4o-mini", models_probe)
    p.add_argument("provider")
    p.add_argument("model")
    p = command(g, "status", "whether a model can be served now, route by route", "aihub models status demo/echo",
                models_status)
    p.add_argument("model")


# rates ---------------------------------------------------------------------------------------
RATE_FIELDS = ("input_rate", "output_rate", "cache_read_rate", "cache_write_rate", "image_rate", "second_rate")


def rates_list(a: argparse.Namespace) -> int:
    data = admin_call("billing:list_rates", query={"provider": a.provider, "search": a.search})
    return _out(a, data, ("id", "provider", "model", "type", *RATE_FIELDS, "deprecated"))


def rates_set(a: argparse.Namespace) -> int:
    body = {"provider": a.provider, "model": a.model, "type": a.type, **given(a, *RATE_FIELDS)}
    return _out(a, admin_call("billing:set_rate", body=body))


def rates_deprecate(a: argparse.Namespace) -> int:
    return _out(a, admin_call("billing:update_rate", params={"id": str(a.id)}, body={"deprecated": True}))


def rates_bulk(a: argparse.Namespace) -> int:
    body = {"margin": a.margin, "credit_price": a.credit_price, "source": a.source, "dry_run": not a.apply,
            **given(a, "provider")}
    return _out(a, admin_call("billing:bulk_rates", body=body))


def add_rates(sub: Any) -> None:
    g = group(sub, "rates", "model rates (credits per token / image / second)")
    p = command(g, "list", "list rates", "aihub rates list --provider openai", rates_list)
    p.add_argument("--provider")
    p.add_argument("--search")
    p = command(g, "set", "create or replace a model's rate",
                "aihub rates set openai gpt-4o-mini --input-rate 0.00000015 --output-rate 0.0000006", rates_set)
    p.add_argument("provider")
    p.add_argument("model")
    p.add_argument("--type", default="chat", choices=["chat", "embedding", "image", "video", "moderation", "audio"])
    for field in RATE_FIELDS:
        p.add_argument(f"--{field.replace('_', '-')}", type=float, default=S)
    p = command(g, "deprecate", "stop selling a model at its rate", "aihub rates deprecate 12", rates_deprecate)
    p.add_argument("id", type=int)
    p = command(g, "bulk", "rate = unit cost x (1 + margin) / credit price (a dry run unless --apply)",
                "aihub rates bulk --margin 0.2 --credit-price 0.001 --provider openai --apply", rates_bulk)
    p.add_argument("--margin", type=float, required=True)
    p.add_argument("--credit-price", type=float, required=True, help="USD per credit")
    p.add_argument("--provider", default=S)
    p.add_argument("--source", choices=["existing", "catalogue"], default="existing")
    p.add_argument("--apply", action="store_true")


# accounts and credits ------------------------------------------------------------------------
def credits_accounts(a: argparse.Namespace) -> int:
    return _out(a, admin_call("billing:list_accounts"))


def credits_show(a: argparse.Namespace) -> int:
    return _out(a, admin_call("billing:get_account", params={"id": a.account_id}))


def credits_ledger(a: argparse.Namespace) -> int:
    data = admin_call("billing:account_ledger", params={"id": a.account_id},
                      query={"limit": a.limit, "before": a.before})
    return _out(a, data, ("id", "created_at", "kind", "amount", "expires_at", "key_id", "request_id", "note"))


def credits_add(a: argparse.Namespace) -> int:
    body = {"amount": a.amount, "kind": a.kind, **given(a, "expires_at", "note")}
    return _out(a, admin_call("billing:add_credits", params={"id": a.account_id}, body=body))


def add_credits(sub: Any) -> None:
    g = group(sub, "credits", "accounts, their balances, ledgers and credits")
    command(g, "accounts", "list accounts and balances", "aihub credits accounts", credits_accounts)
    p = command(g, "show", "one account's balance", "aihub credits show acct_123", credits_show)
    p.add_argument("account_id")
    p = command(g, "ledger", "an account's ledger, newest first", "aihub credits ledger acct_123 --limit 20",
                credits_ledger)
    p.add_argument("account_id")
    p.add_argument("--limit", type=int)
    p.add_argument("--before", type=int, help="the next_cursor of the previous page")
    p = command(g, "add", "grant, top up or refund credits",
                "aihub credits add acct_123 100 --kind grant --expires-at 2026-12-31", credits_add)
    p.add_argument("account_id")
    p.add_argument("amount", type=amount)
    p.add_argument("--kind", choices=["grant", "topup", "refund"], default="grant")
    p.add_argument("--expires-at", type=when, default=S, help="ISO 8601 date or time, UTC (grants only)")
    p.add_argument("--note", default=S)


# call log and usage --------------------------------------------------------------------------
FILTERS = ("account_id", "key_id", "provider", "model", "type", "app_id")


def _filters(a: argparse.Namespace, *extra: str) -> dict[str, Any]:
    return {n: getattr(a, n, None) for n in (*FILTERS, *extra)}


def calls_list(a: argparse.Namespace) -> int:
    data = admin_call("usage:admin_calls", query={**_filters(a, "status", "limit", "cursor"),
                                                  "from": a.start, "to": a.end})
    return _out(a, data, CALL_COLUMNS)


def calls_show(a: argparse.Namespace) -> int:
    return _out(a, admin_call("usage:admin_call", params={"request_id": a.request_id}))


def calls_export(a: argparse.Namespace) -> int:
    text = admin_call("usage:admin_calls_csv", query={**_filters(a, "status", "limit"), "from": a.start, "to": a.end})
    if a.output == "-":
        print(text, end="")
    else:
        with open(a.output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print(f"wrote {max(0, text.count(chr(10)) - 1)} call(s) to {a.output}")
    return 0


def usage_summary(a: argparse.Namespace) -> int:
    return _out(a, admin_call("usage:admin_summary", query={**_filters(a, "group_by"), "from": a.start, "to": a.end}))


def usage_timeseries(a: argparse.Namespace) -> int:
    query = {**_filters(a, "group_by", "granularity"), "from": a.start, "to": a.end}
    return _out(a, admin_call("usage:admin_timeseries", query=query))


def usage_top_models(a: argparse.Namespace) -> int:
    query = {**_filters(a, "by", "limit"), "from": a.start, "to": a.end}
    return _out(a, admin_call("usage:admin_top_models", query=query))


def usage_quota(a: argparse.Namespace) -> int:
    return _out(a, admin_call("usage:admin_quota", query={"account_id": a.account_id}))


def _filter_options(p: argparse.ArgumentParser) -> None:
    for name in FILTERS:
        p.add_argument(f"--{name.replace('_', '-')}")
    p.add_argument("--from", dest="start", help="ISO 8601 date or time (UTC unless it names an offset)")
    p.add_argument("--to", dest="end", help="ISO 8601 date or time, excluded")


def add_calls(sub: Any) -> None:
    g = group(sub, "calls", "the call log: list, show one, export CSV")
    p = command(g, "list", "calls, newest first", "aihub calls list --from 2026-12-01 --provider openai --status failed",
                calls_list)
    _filter_options(p)
    p.add_argument("--status", choices=["success", "failed"])
    p.add_argument("--limit", type=int)
    p.add_argument("--cursor", help="the next_cursor of the previous page")
    p = command(g, "show", "one call in full", "aihub calls show req_123", calls_show)
    p.add_argument("request_id")
    p = command(g, "export", "the call log as CSV", "aihub calls export --from 2026-12-01 --output calls.csv",
                calls_export, json_flag=False)
    _filter_options(p)
    p.add_argument("--status", choices=["success", "failed"])
    p.add_argument("--limit", type=int)
    p.add_argument("--output", default="-", help="a file, or - for stdout")

    g = group(sub, "usage", "usage analytics: summary, time series, top models, quota")
    p = command(g, "summary", "totals over a window (default: the last 30 days)",
                "aihub usage summary --from 2026-11-01 --group-by provider,model", usage_summary)
    _filter_options(p)
    p.add_argument("--group-by", help="comma-separated: account, key, provider, model, type, app")
    p = command(g, "timeseries", "totals per hour, day or month",
                "aihub usage timeseries --granularity day --from 2026-11-01", usage_timeseries)
    _filter_options(p)
    p.add_argument("--group-by")
    p.add_argument("--granularity", choices=["hour", "day", "month"])
    p = command(g, "top-models", "the most used models", "aihub usage top-models --by credits --limit 5",
                usage_top_models)
    _filter_options(p)
    p.add_argument("--by", choices=["calls", "credits", "tokens"])
    p.add_argument("--limit", type=int)
    p = command(g, "quota", "an account's balance and spend against its caps", "aihub usage quota --account-id acct_1",
                usage_quota)
    p.add_argument("--account-id")


def add_all(sub: Any) -> None:
    for add in (add_keys, add_providers, add_models, add_rates, add_credits, add_calls):
        add(sub)
