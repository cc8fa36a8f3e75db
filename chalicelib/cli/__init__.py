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
