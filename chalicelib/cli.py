"""The `aihub` command: serve the gateway, manage keys, migrate the database."""
from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from chalicelib.config import settings


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from chalicelib.store import keys
    from chalicelib.store.shared import store

    cfg = settings()
    db = store()  # creates and migrates the database
    if not cfg.admin_key and not keys.has_admin_key(db):
        _, raw = keys.create_key(db, name="bootstrap admin", role="admin")
        print("No admin key yet: created one. It is shown this once; keep it safe:")
        print(f"  AIHUB admin key: {raw}")
    host = args.host or cfg.host
    port = args.port or cfg.port
    print(f"aihub serving on http://{host}:{port} (database {cfg.db_path}, billing {'on' if cfg.billing else 'off'})",
          flush=True)
    uvicorn.run(
        "chalicelib.fronts.asgi_front:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        http="httptools",
        access_log=False,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from chalicelib.store.shared import store

    store()
    print(f"database {settings().db_path} is up to date")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from chalicelib.billing.units import to_minor
    from chalicelib.handlers.admin import key_view
    from chalicelib.store import keys
    from chalicelib.store.shared import store

    db = store()
    if args.action == "create":
        record, raw = keys.create_key(
            db, name=args.name, role=args.role, account_id=args.account_id,
            credits_minor=to_minor(args.credits) if args.credits else None,
        )
        _print_json({**key_view(record), "key": raw, "credits": float(args.credits) if args.credits else None})
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
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
