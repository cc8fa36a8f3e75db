"""How the CLI shows an answer: a table (or key: value lines) for people, JSON for scripts."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

# Fields holding epoch milliseconds (the API's unit), shown as ISO 8601 in tables.
_TIME_SUFFIXES = ("_at", "_until")
_TIME_NAMES = frozenset({"created", "start", "end", "from", "to", "bucket", "timestamp"})
MAX_CELL = 60


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _is_time(name: str, value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value > 0
            and (name.endswith(_TIME_SUFFIXES) or name in _TIME_NAMES))


def cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if _is_time(name, value):
        return iso(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(none)"
    names = list(columns or [k for k, v in rows[0].items() if k != "object" and not isinstance(v, (dict, list))])
    grid = [[cell(n, row.get(n)) for n in names] for row in rows]
    widths = [max(len(n), *(len(r[i]) for r in grid)) for i, n in enumerate(names)]
    lines = ["  ".join(n.upper().ljust(w) for n, w in zip(names, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in grid]
    return "\n".join(lines)


def record(data: dict[str, Any]) -> str:
    shown = {k: v for k, v in data.items() if k != "object"}
    width = max((len(k) for k in shown), default=0)
    return "\n".join(f"{k.ljust(width)}  {cell(k, v) if not isinstance(v, (dict, list)) else json.dumps(v)}"
                     for k, v in shown.items())


def show(data: Any, *, as_json: bool, columns: Sequence[str] | None = None) -> None:
    """A list answer ({"data": [...]}) as a table, any other object as key: value lines."""
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    elif isinstance(data, dict) and isinstance(data.get("data"), list):
        print(table(data["data"], columns))
        if data.get("has_more"):
            print(f"(more: next_cursor={data.get('next_cursor')})" if data.get("next_cursor") else "(more)")
    elif isinstance(data, list):
        print(table(data, columns))
    elif isinstance(data, dict):
        print(record(data))
    else:
        print(data)
