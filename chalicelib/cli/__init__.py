"""The `aihub` command: serve the gateway, migrate its database, and every admin task of the API.

Admin commands run the admin API's handlers in-process on the database the server uses
(chalicelib.config.default_db_path), print a table (or `--json`), and refuse to create a
database that is not there.
"""
from __future__ import annotations

import argparse
import sys

from chalicelib.cli.admin import add_all
from chalicelib.cli.calllog import add_calllog
from chalicelib.cli.commands import command
from chalicelib.cli.runtime import CliError


def _serve(args: argparse.Namespace) -> int:
    from chalicelib.cli.serve import cmd_serve

    return cmd_serve(args)


def _migrate(args: argparse.Namespace) -> int:
    from chalicelib.config import settings
    from chalicelib.store.shared import store

    store()
    print(f"database {settings().db_path} is up to date")
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    import json

    from chalicelib.config import settings

    if settings().hot_state != "dynamodb":
        print("the hot state is SQLite (AIHUB_HOT_STATE): the ledger is the balance, nothing to reconcile")
        return 0
    from chalicelib.cli.runtime import existing_database
    from chalicelib.hotstate.dynamodb import hot_state
    from chalicelib.hotstate.reconcile import reconcile
    from chalicelib.store.shared import store

    existing_database()
    report = reconcile(hot_state(), store(), recheck_s=args.recheck)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"released {len(report.swept)} expired holds, settled {len(report.settled)} at the ledger's charge,"
              f" mirrored {report.mirrored} credits, "
              f"{len(report.drift)} accounts drifted")
        for d in report.drift:
            print(f"  {d.account_id}: DynamoDB {d.hot}, ledger {d.ledger} ({d.difference:+d} minor units)")
    return 1 if report.drift else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="aihub", description="aihub: an OpenAI-compatible AI gateway. Every command takes --help.",
        epilog="The database: $AIHUB_DB, else data/aihub.db of the aihub checkout (where `make serve` runs), "
               "wherever you run the command from.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = command(sub, "serve", "run the gateway with true streaming (uvicorn)", "aihub serve --port 8000",
                    _serve, json_flag=False)
    serve.add_argument("--host", help="default $AIHUB_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default $AIHUB_PORT or 8000")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="warning")
    command(sub, "migrate", "create or upgrade the database", "AIHUB_DB=/srv/aihub.db aihub migrate", _migrate,
            json_flag=False)
    reconcile = command(sub, "reconcile", "release expired DynamoDB holds and check its balances against the "
                        "ledger (exit 1 on drift)", "AIHUB_HOT_STATE=dynamodb aihub reconcile", _reconcile)
    reconcile.add_argument("--recheck", type=float, default=5.0, metavar="SECONDS",
                           help="read a drifted account again after this long before reporting it")
    add_all(sub)
    add_calllog(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except CliError as error:
        print(f"aihub: {error}", file=sys.stderr)
        return error.status


if __name__ == "__main__":
    raise SystemExit(main())
