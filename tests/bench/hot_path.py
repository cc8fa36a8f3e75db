"""`python -m tests.bench.hot_path`: what auth, resolve and the rate lookup cost a request once
the snapshots are warm, in process on a fresh database (issue 14).

Per call: `authenticate` of a user key, `plan` of a bare and of a pinned model, and
`rate_for` of the chosen route, with nothing changed in between; and the SQLite statements
that ran on the caller's thread in those calls (what the request path would wait on). Best of
5 timeit runs; figures only.
"""
from __future__ import annotations

import os
import sys
import tempfile
import timeit
from collections.abc import Callable

from tests.bench import report
from tests.support.gateway import TEST_SECRET

Row = dict[str, object]


def _best_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def _statements(fn: Callable[[], object], calls: int) -> float:
    """SQLite statements per fn() on this thread's connection, counted by its trace callback."""
    from chalicelib.store.shared import store

    seen: list[str] = []
    conn = store().conn
    conn.set_trace_callback(seen.append)
    try:
        for _ in range(calls):
            fn()
    finally:
        conn.set_trace_callback(None)
    return len(seen) / calls


def measure() -> list[Row]:
    from chalicelib.billing import rates
    from chalicelib.gateway import auth
    from chalicelib.gateway.http import ApiRequest
    from chalicelib.gateway.resolve import plan
    from chalicelib.store import keys
    from chalicelib.store import rates as rate_rows
    from chalicelib.store.shared import store

    _, raw = keys.create_key(store(), name="bench")
    store().write(lambda conn: rate_rows.upsert_many(conn, [
        {"provider": "openai", "model": "gpt-4o-mini", "type": "chat", "input_rate": 1, "output_rate": 2}]))
    req = ApiRequest("POST", "/v1/chat/completions", {"authorization": f"Bearer {raw}"})

    def request_path(model: str) -> Callable[[], object]:
        def run() -> object:
            auth.authenticate(req)
            spec, upstream = plan(model).routes[0]
            return rates.rate_for(spec.name, upstream)
        return run

    cases = [("authenticate", lambda: auth.authenticate(req)),
             ("plan, pinned (openai/gpt-4o-mini)", lambda: plan("openai/gpt-4o-mini")),
             ("plan, bare (gpt-4o-mini)", lambda: plan("gpt-4o-mini")),
             ("rate_for", lambda: rates.rate_for("openai", "gpt-4o-mini")),
             ("authenticate + plan + rate_for, pinned", request_path("openai/gpt-4o-mini")),
             ("authenticate + plan + rate_for, bare", request_path("gpt-4o-mini"))]
    rows: list[Row] = []
    for name, fn in cases:
        fn()  # warm: the snapshots are built once, outside the measurement
        rows.append({"measure": name, "us": _best_us(fn, 2000), "statements": _statements(fn, 2000)})
    return rows


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="aihub-bench-hot-path-") as tmp:
        os.environ.update({"AIHUB_DB": os.path.join(tmp, "aihub.db"), "AIHUB_SECRET": TEST_SECRET,
                           "OPENAI_API_KEY": "sk-bench-0123456789"})
        rows = measure()
    print(report.table("per call, warm snapshots, nothing changed", [
        ("measure", "measure", report.text), ("µs per call", "us", lambda v: f"{v:.2f}"),
        ("SQLite statements per call", "statements", lambda v: f"{v:.3f}")], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
