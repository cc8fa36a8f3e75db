"""Building blocks of the CLI's commands: a subcommand with its example, and argument types."""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def command(group: Any, name: str, help: str, example: str,
            fn: Callable[[argparse.Namespace], int], *, json_flag: bool = True) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with an example; with --json for scripts where it prints data."""
    p = group.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    if json_flag:
        p.add_argument("--json", action="store_true", help="print the API's JSON answer instead of a table")
    p.set_defaults(fn=fn)
    return p


def group(sub: Any, name: str, help: str) -> Any:
    return sub.add_parser(name, help=help, description=help).add_subparsers(dest="action", required=True,
                                                                            metavar="ACTION")


def when(raw: str) -> int:
    """An ISO 8601 date or date-time (UTC unless it names an offset), or epoch milliseconds."""
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw)  # 3.11 reads a trailing Z
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO 8601 date (2026-12-31 or 2026-12-31T18:00:00Z)") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


NONE = "none"


def optional(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """A value, or `none` to clear a limit."""
    def parse(raw: str) -> Any:
        return None if raw.lower() == NONE else kind(raw)
    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def amount(raw: str) -> float:
    """A finite number: JSON has no NaN, and the API would read it as no amount at all."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a finite number")
    return value


def pairs(raw: str) -> dict[str, str]:
    """`a=b,c=d` as a mapping."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{item!r} is not NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def names(raw: str) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip()]


def on_off(raw: str) -> bool:
    if raw.lower() not in ("on", "off"):
        raise argparse.ArgumentTypeError("on or off")
    return raw.lower() == "on"


def secret_value(raw: str) -> str | dict[str, str]:
    """A credential from the command line: '-' reads stdin (keeps it out of shell history)."""
    text = sys.stdin.read().strip() if raw == "-" else raw
    return json.loads(text) if text.startswith("{") else text


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options the user gave (argparse.SUPPRESS leaves the others out of the namespace)."""
    return {n: getattr(args, n) for n in names if hasattr(args, n)}
