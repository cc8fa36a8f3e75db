"""The `aihub` command: serve the gateway, manage keys, migrate the database."""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from decimal import Decimal
from typing import Any

from chalicelib.config import Settings, from_env, secret_file, settings


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _ensure_secret() -> Settings:
    """On a laptop without AIHUB_SECRET, make one once and keep it beside the database (0600)."""
    cfg = settings()
    if cfg.secret:
        return cfg
    path = secret_file(cfg.db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    print(f"No AIHUB_SECRET set: generated one in {path} to encrypt provider credentials.")
    settings.cache_clear()
    return settings()


def _admin_call(handler_ref: str, *, params: dict[str, str] | None = None, body: Any = None,
                query: dict[str, str] | None = None) -> int:
    """Run an admin route's handler in-process, so the CLI shares its validation and rules."""
    import asyncio

    import orjson

    from chalicelib.errors import ApiError
    from chalicelib.gateway.auth import ENV_ADMIN
    from chalicelib.gateway.dispatch import Endpoint
    from chalicelib.gateway.http import ApiRequest, ApiResponse

    req = ApiRequest("CLI", handler_ref, {}, orjson.dumps(body) if body is not None else b"",
                     query=query or {}, params=params or {})
    async def call() -> ApiResponse:
        return await Endpoint("CLI", handler_ref, handler_ref, "admin").handler()(req, ENV_ADMIN)

    try:
        response = asyncio.run(call())
    except ApiError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    assert isinstance(response.body, bytes)
    _print_json(orjson.loads(response.body))
    return 0


def _secret_value(raw: str) -> str | dict[str, str]:
    """A credential value from the command line: '-' reads stdin (keeps it out of shell history)."""
    text = sys.stdin.read().strip() if raw == "-" else raw
    return json.loads(text) if text.startswith("{") else text


def cmd_providers(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _admin_call("providers:list_providers")
    if args.action == "delete":
        return _admin_call("providers:delete_provider", params={"name": args.name})
    fields = {"kind": args.kind, "base_url": args.base_url, "region": args.region, "display_name": args.display_name,
              "enabled": args.enabled}
    body = {k: v for k, v in fields.items() if v is not None}
    if args.action == "add":
        return _admin_call("providers:create_provider", body={"name": args.name, **body})
    return _admin_call("providers:update_provider", params={"name": args.name}, body=body)


def cmd_credentials(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _admin_call("providers:list_credentials", params={"name": args.provider})
    if args.action == "add":
        body = {"value": _secret_value(args.value), "weight": args.weight, "check": not args.no_check}
        if args.name:
            body["name"] = args.name
        return _admin_call("providers:add_credential", params={"name": args.provider}, body=body)
    if args.action == "update":
        fields = {"weight": args.weight, "active": args.active, "name": args.name,
                  "value": _secret_value(args.value) if args.value else None}
        return _admin_call("providers:update_credential", params={"id": args.id},
                           body={k: v for k, v in fields.items() if v is not None})
    if args.action == "check":
        return _admin_call("providers:check_credential", params={"id": args.id})
    return _admin_call("providers:delete_credential", params={"id": args.id})


def cmd_rekey(args: argparse.Namespace) -> int:
    from chalicelib.handlers.maintenance import rekey_credentials

    print(f"re-sealed {rekey_credentials()} secret(s) (credentials, provider headers) with the current AIHUB_SECRET")
    return 0


def cmd_rates(args: argparse.Namespace) -> int:
    if args.action == "list":
        query = {k: v for k, v in {"provider": args.provider, "search": args.search}.items() if v}
        return _admin_call("billing:list_rates", query=query)
    if args.action == "set":
        fields = {"provider": args.provider, "model": args.model, "type": args.type, "input_rate": args.input_rate,
                  "output_rate": args.output_rate, "cache_read_rate": args.cache_read_rate,
                  "cache_write_rate": args.cache_write_rate, "image_rate": args.image_rate,
                  "second_rate": args.second_rate}
        return _admin_call("billing:set_rate", body={k: v for k, v in fields.items() if v is not None})
    if args.action == "deprecate":
        return _admin_call("billing:update_rate", params={"id": str(args.id)}, body={"deprecated": True})
    body = {"margin": args.margin, "credit_price": args.credit_price, "source": args.source, "dry_run": not args.apply}
    if args.provider:
        body["provider"] = args.provider
    return _admin_call("billing:bulk_rates", body=body)


def cmd_credits(args: argparse.Namespace) -> int:
    if args.action == "accounts":
        return _admin_call("billing:list_accounts")
    body = {"amount": args.amount, "kind": args.kind}
    if args.expires_at:
        body["expires_at"] = args.expires_at
    if args.note:
        body["note"] = args.note
    return _admin_call("billing:add_credits", params={"id": args.account_id}, body=body)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from chalicelib.observability.logs import uvicorn_config
    from chalicelib.store import keys
    from chalicelib.store.shared import store

    refused = from_env().admin_key_error  # before settings(), which would log it as ignored
    if refused:
        print(f"aihub: {refused}", file=sys.stderr)
        return 2
    cfg = _ensure_secret()
    db = store()  # creates and migrates the database
    if not cfg.admin_key and not keys.has_admin_key(db):
        _, raw = keys.create_key(db, name="bootstrap admin", role="admin")
        print("No admin key yet: created one. It is shown this once; keep it safe:")
        print(f"  AIHUB admin key: {raw}")
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker is a process with its own counters: they share a directory, and a scrape
        # of any worker sums them (chalicelib/observability/prom.py). Set before workers start.
        import tempfile

        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="aihub-metrics-")
    host = args.host or cfg.host
    port = args.port or cfg.port
    print(f"aihub serving on http://{host}:{port} (database {cfg.db_path}, billing {'on' if cfg.billing else 'off'})",
          flush=True)
    try:
        uvicorn.run(
            "chalicelib.fronts.asgi_front:create_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            http="httptools",
            access_log=False,  # aihub's own JSON access line instead (AIHUB_ACCESS_LOG)
            log_level=args.log_level,
            log_config=uvicorn_config(args.log_level),
            timeout_graceful_shutdown=5,
        )
    finally:
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from chalicelib.store.shared import store

    store()
    print(f"database {settings().db_path} is up to date")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from chalicelib.api.admin import KeyCreate
    from chalicelib.api.validation import validate
    from chalicelib.billing.units import to_minor
    from chalicelib.errors import ApiError
    from chalicelib.handlers.admin import key_view
    from chalicelib.store import keys, ledger
    from chalicelib.store.shared import store

    db = store()
    if args.action == "create":
        try:  # the API's bounds, so the CLI cannot write what the API would refuse
            spec = validate(KeyCreate, {"name": args.name, "role": args.role, "account_id": args.account_id,
                                        "credits": None if args.credits is None else float(args.credits)})
            record, raw = keys.create_key(db, name=spec.name, role=spec.role, account_id=spec.account_id,
                                          credits_minor=to_minor(spec.credits) if spec.credits else None)
        except ApiError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        except (LookupError, ledger.CreditLimit) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        _print_json({**key_view(record), "key": raw, "credits": spec.credits})
    elif args.action == "list":
        for r in keys.list_keys(db, args.account_id):
            state = "revoked" if r.revoked_at else "active"
            print(f"{r.id}  {r.masked}  {r.role:5}  {state:7}  account={r.account_id}  {r.name or ''}")
    elif args.action == "revoke":
        revoked = keys.revoke_key(db, args.id)
        if revoked is None:
            print(f"no key with id {args.id}", file=sys.stderr)
            return 1
        print(f"revoked {revoked.id} ({revoked.masked})")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="aihub", description="aihub: an OpenAI-compatible AI gateway")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway with true streaming (uvicorn)")
    serve.add_argument("--host", help="default $AIHUB_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default $AIHUB_PORT or 8000")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="warning")
    serve.set_defaults(fn=cmd_serve)

    sub.add_parser("migrate", help="create or upgrade the database").set_defaults(fn=cmd_migrate)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--credits", type=Decimal, help="credits to grant to a new account")
    create.add_argument("--role", choices=["user", "admin"], default="user")
    create.add_argument("--account-id")
    listing = keys.add_parser("list", help="list keys (masked)")
    listing.add_argument("--account-id")
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("id")
    for p in (create, listing, revoke):
        p.set_defaults(fn=cmd_keys)

    providers = sub.add_parser("providers", help="manage providers").add_subparsers(dest="action", required=True)
    providers.add_parser("list", help="built-in and added providers").set_defaults(fn=cmd_providers)
    for action in ("add", "update"):
        p = providers.add_parser(action, help=f"{action} a provider")
        p.add_argument("name")
        p.add_argument("--kind", required=action == "add", help="the adapter, e.g. openai for any compatible API")
        p.add_argument("--base-url")
        p.add_argument("--region")
        p.add_argument("--display-name")
        p.add_argument("--enable", dest="enabled", action="store_const", const=True)
        p.add_argument("--disable", dest="enabled", action="store_const", const=False)
        p.set_defaults(fn=cmd_providers)
    p = providers.add_parser("delete", help="delete a provider you added (and its credentials)")
    p.add_argument("name")
    p.set_defaults(fn=cmd_providers)

    creds = sub.add_parser("credentials", help="manage provider credentials").add_subparsers(dest="action", required=True)
    p = creds.add_parser("list", help="a provider's credentials (masked)")
    p.add_argument("provider")
    p.set_defaults(fn=cmd_credentials)
    p = creds.add_parser("add", help="add a credential (checked live unless --no-check)")
    p.add_argument("provider")
    p.add_argument("--value", required=True, help="the key, or JSON for AWS/custom; '-' reads it from stdin")
    p.add_argument("--name")
    p.add_argument("--weight", type=int, default=1)
    p.add_argument("--no-check", action="store_true")
    p.set_defaults(fn=cmd_credentials)
    p = creds.add_parser("update", help="change a credential")
    p.add_argument("id")
    p.add_argument("--weight", type=int)
    p.add_argument("--name")
    p.add_argument("--value", help="a new secret; '-' reads it from stdin")
    p.add_argument("--enable", dest="active", action="store_const", const=True)
    p.add_argument("--disable", dest="active", action="store_const", const=False)
    p.set_defaults(fn=cmd_credentials)
    for action in ("check", "delete"):
        p = creds.add_parser(action, help=f"{action} a credential")
        p.add_argument("id")
        p.set_defaults(fn=cmd_credentials)
    creds.add_parser("rekey", help="after rotating AIHUB_SECRET (old one in AIHUB_SECRET_PREVIOUS): seal every "
                                   "credential and provider header with the new secret").set_defaults(fn=cmd_rekey)

    rates = sub.add_parser("rates", help="model rates (credits per token / image / second)").add_subparsers(
        dest="action", required=True)
    p = rates.add_parser("list", help="list rates")
    p.add_argument("--provider")
    p.add_argument("--search")
    p.set_defaults(fn=cmd_rates)
    p = rates.add_parser("set", help="create or replace a model's rate")
    p.add_argument("provider")
    p.add_argument("model")
    p.add_argument("--type", default="chat", choices=["chat", "embedding", "image", "video", "moderation", "audio"])
    for name in ("input", "output", "cache-read", "cache-write", "image", "second"):
        p.add_argument(f"--{name}-rate", type=float)
    p.set_defaults(fn=cmd_rates)
    p = rates.add_parser("deprecate", help="stop selling a model at its rate")
    p.add_argument("id", type=int)
    p.set_defaults(fn=cmd_rates)
    p = rates.add_parser("bulk", help="rate = unit cost x (1 + margin) / credit price (a dry run unless --apply)")
    p.add_argument("--margin", type=float, required=True)
    p.add_argument("--credit-price", type=float, required=True, help="USD per credit")
    p.add_argument("--provider")
    p.add_argument("--source", choices=["existing", "catalogue"], default="existing")
    p.add_argument("--apply", action="store_true")
    p.set_defaults(fn=cmd_rates)

    credits = sub.add_parser("credits", help="accounts and their credits").add_subparsers(dest="action", required=True)
    credits.add_parser("accounts", help="list accounts and balances").set_defaults(fn=cmd_credits)
    p = credits.add_parser("add", help="grant, top up or refund credits")
    p.add_argument("account_id")
    p.add_argument("amount", type=float)
    p.add_argument("--kind", choices=["grant", "topup", "refund"], default="grant")
    p.add_argument("--expires-at", type=int, help="epoch ms (grants only)")
    p.add_argument("--note")
    p.set_defaults(fn=cmd_credits)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
