"""`python -m tests.bench.analytics [--calls N] [--repeat R] [--json PATH]`: usage analytics over a synthetic call log.

Builds a log of 1,000,000 calls (90 days, ~50 accounts, ~200 keys, ~50 models at 5 providers)
in a temporary SQLite file, times the roll-up, then times each analytics route in-process
(handler, parameters and JSON included) for the busiest account and for all accounts.
Figures only, never assertions; the goal is under 200 ms per query on a 2-core machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench import report

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
PROVIDERS = ("openai", "anthropic", "google", "bedrock", "deepseek")
INSERT_COLUMNS = (
    "request_id", "created_at", "account_id", "key_id", "provider", "model", "requested_model", "type", "stream",
    "status", "http_status", "error_code", "prompt_tokens", "completion_tokens", "cache_read_tokens",
    "cache_write_tokens", "reasoning_tokens", "images", "credits", "duration_ms", "ttfb_ms",
)
INSERT_SQL = f"INSERT INTO model_calls ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
TEMPLATES = 100_000  # distinct calls drawn from; rows pick among them, so building 1M rows is quick


@dataclass(frozen=True)
class Model:
    provider: str
    name: str
    type: str
    popularity: float
    latency_ms: float  # median duration
    input_rate: int  # minor credit units per token (per image for images)
    output_rate: int


@dataclass(frozen=True)
class Key:
    id: str
    account_id: str
    activity: float
    models: tuple[Model, ...]
    model_weights: tuple[float, ...]


@dataclass(frozen=True)
class Population:
    accounts: tuple[str, ...]
    keys: tuple[Key, ...]
    models: tuple[Model, ...]


def population(rng: random.Random, *, accounts: int = 50, keys: int = 200, models_per_provider: int = 10) -> Population:
    """Skewed like real traffic: a few busy accounts, keys and models; each key uses few models."""
    models = []
    for p, provider in enumerate(PROVIDERS):
        for m in range(models_per_provider):
            kind = "embedding" if m == 8 else "image" if m == 9 and p < 2 else "chat"
            latency = {"chat": rng.uniform(400, 4000), "embedding": rng.uniform(40, 200),
                       "image": rng.uniform(5000, 15000)}
            rate = rng.choice((50, 150, 300, 1000, 3000))
            models.append(Model(provider, f"{provider}-model-{m}", kind, 1 / (1 + p + m) ** 1.2, latency[kind],
                                rate * (20_000 if kind == "image" else 1), rate * 4))
    account_ids = tuple(f"acct_{i:04d}" for i in range(accounts))
    key_list = []
    for k in range(keys):
        account = account_ids[min(accounts - 1, int(rng.paretovariate(1.2)) - 1)] if k >= accounts else account_ids[k]
        chosen = tuple(rng.choices(models, weights=[m.popularity for m in models], k=rng.randint(1, 4)))
        key_list.append(Key(f"key_{k:04d}", account, 1 / (k + 1) ** 0.9, chosen,
                            tuple(rng.uniform(0.2, 1) for _ in chosen)))
    return Population(account_ids, tuple(key_list), tuple(models))


def _template(rng: random.Random, key: Key) -> tuple[Any, ...]:
    """Every column after request_id and created_at, in INSERT_COLUMNS order."""
    model = rng.choices(key.models, weights=key.model_weights)[0]
    stream = int(model.type == "chat" and rng.random() < 0.6)
    failed = rng.random() < 0.02
    duration = model.latency_ms * rng.lognormvariate(0, 0.6)
    ttfb = duration * rng.uniform(0.05, 0.4) if model.type == "chat" else duration * rng.uniform(0.8, 0.98)
    prompt = completion = cache_read = cache_write = reasoning = images = 0
    if not failed:
        if model.type == "image":
            prompt, images = int(rng.lognormvariate(3, 0.5)), rng.choice((1, 1, 2, 4))
        else:
            prompt = int(rng.lognormvariate(6.5, 1.2))
            completion = int(rng.lognormvariate(5.5, 1.0)) if model.type == "chat" else 0
            if model.provider in ("anthropic", "openai") and rng.random() < 0.3:
                cache_read = int(prompt * rng.uniform(0.3, 0.9))
                cache_write = int(prompt * rng.uniform(0, 0.1))
            reasoning = int(completion * rng.uniform(0.2, 0.6)) if model.name.endswith(("-0", "-1")) else 0
    credits = 0 if failed else (images or prompt) * model.input_rate + completion * model.output_rate
    error = (rng.choice(((429, "rate_limited"), (502, "upstream_error"), (504, "upstream_timeout"))) if failed
             else (200, None))
    return (key.account_id, key.id, model.provider, model.name, f"{model.provider}/{model.name}", model.type, stream,
            "failed" if failed else "success", error[0], error[1], prompt, completion, cache_read, cache_write,
            reasoning, images, credits, round(duration, 3), None if failed and rng.random() < 0.5 else round(ttfb, 3))


def _hour_weights(hours: int, end_ms: int) -> list[float]:
    """Busier in working hours and weekdays, and growing over the period."""
    first = end_ms // HOUR_MS - hours
    weights = []
    for h in range(hours):
        hour_of_day = (first + h) % 24
        weekday = ((first + h) // 24 + 3) % 7  # 1970-01-01 was a Thursday
        daily = 0.3 + math.exp(-((hour_of_day - 14) ** 2) / 18)
        weights.append(daily * (0.6 if weekday >= 5 else 1.0) * (0.6 + 0.8 * h / hours))
    return weights


def synthetic_calls(rng: random.Random, pop: Population, n: int, start_ms: int, end_ms: int,
                    *, first_id: int = 0) -> Iterator[tuple[Any, ...]]:
    """n calls with created_at in [start_ms, end_ms), oldest first, as INSERT_COLUMNS tuples."""
    templates = [_template(rng, key) for key in rng.choices(pop.keys, weights=[k.activity for k in pop.keys],
                                                             k=min(n, TEMPLATES))]
    hours = max(1, (end_ms - start_ms) // HOUR_MS)
    slots = rng.choices(range(hours), weights=_hour_weights(hours, end_ms), k=n)
    span = (end_ms - start_ms) / hours
    times = sorted(start_ms + int((slot + rng.random()) * span) for slot in slots)
    for i, (created_at, template) in enumerate(zip(times, rng.choices(templates, k=n)), start=first_id):
        yield (f"req_{i:012x}", created_at, *template)


def insert_calls(conn: sqlite3.Connection, rows: Iterator[tuple[Any, ...]]) -> None:
    conn.executemany(INSERT_SQL, rows)


def build(path: Path, n: int, now: int, rng: random.Random) -> Population:
    from chalicelib.store.db import Store
    from chalicelib.store.migrations import migrate

    schema = Store(str(path), journal_mode="delete")
    migrate(schema)
    schema.close()
    pop = population(rng)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # a throwaway file: no need to survive a crash
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO accounts (id, name, balance, reserved, created_at) VALUES (?, ?, ?, 0, ?)",
                     [(a, a, rng.randint(0, 500) * 10**9, now - 120 * DAY_MS) for a in pop.accounts])
    insert_calls(conn, synthetic_calls(rng, pop, n, now - 90 * DAY_MS, now))
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return pop


@dataclass(frozen=True)
class Case:
    name: str
    handler: str  # function of chalicelib.handlers.usage
    query: dict[str, str]
    params: dict[str, str] | None = None


def cases(now: int) -> list[Case]:
    def iso(ms: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))

    week_ago, month_ago, quarter_ago = (iso(now - d * DAY_MS) for d in (7, 30, 90))
    return [
        Case("summary, 30 days", "summary", {}),
        Case("summary, 90 days", "summary", {"from": quarter_ago}),
        Case("summary by model", "summary", {"group_by": "model"}),
        Case("summary by key", "summary", {"group_by": "key"}),
        Case("timeseries hour, 7 days", "timeseries", {"granularity": "hour", "from": week_ago}),
        Case("timeseries hour, 30 days", "timeseries", {"granularity": "hour"}),
        Case("timeseries day, 30 days", "timeseries", {"granularity": "day"}),
        Case("timeseries month, 90 days", "timeseries", {"granularity": "month", "from": quarter_ago}),
        Case("timeseries day by model", "timeseries", {"granularity": "day", "group_by": "model"}),
        Case("top models", "top_models", {"limit": "10"}),
        Case("quota", "quota", {}),
        Case("calls page, filtered", "calls", {"from": month_ago, "to": week_ago, "status": "success",
                                                 "type": "chat", "limit": "100"}),
        Case("calls page, by provider", "calls", {"provider": "anthropic", "limit": "100"}),
        Case("calls.csv, 10k rows", "calls_csv", {"limit": "10000"}),
    ]


def _run(loop: asyncio.AbstractEventLoop, handler: Any, query: dict[str, str], who: Any) -> int:
    """Call a handler as the gateway would; returns the size of the body."""
    from chalicelib.gateway.http import ApiRequest

    async def call() -> int:
        response = await handler(ApiRequest("GET", "/bench", {}, query=query), who)
        if isinstance(response.body, bytes):
            assert response.status == 200, response.body[:300]
            return len(response.body)
        return sum([len(chunk) async for chunk in response.body])

    return loop.run_until_complete(call())


def time_cases(loop: asyncio.AbstractEventLoop, now: int, scopes: Sequence[tuple[str, Any, str]],
               repeat: int) -> list[dict[str, Any]]:
    from chalicelib.handlers import usage

    rows = []
    for case in cases(now):
        for scope_name, who, prefix in scopes:
            handler = getattr(usage, prefix + case.handler)
            samples, size = [], 0
            for _ in range(repeat + 1):  # the first run warms caches and is not counted
                began = time.perf_counter()
                size = _run(loop, handler, case.query, who)
                samples.append((time.perf_counter() - began) * 1000)
            rows.append({"query": case.name, "scope": scope_name, "p50_ms": statistics.median(samples[1:]),
                         "max_ms": max(samples[1:]), "kb": size / 1024})
    return rows


def check_summary(store: Any, now: int) -> str:
    """The 30-day summary of every account against one direct SQL sum over the log."""
    from chalicelib.analytics import periods, reports
    from chalicelib.analytics.scope import Scope
    from chalicelib.billing.units import from_minor

    start = now - 30 * DAY_MS
    got = reports.summary(store, Scope(), periods.Window(start, None, now), ())
    row = store.query_one("SELECT COUNT(*), SUM(status = 'failed'), SUM(prompt_tokens), SUM(completion_tokens),"
                          " SUM(credits) FROM model_calls WHERE created_at >= ?", (start,))
    want = (row[0], row[1], row[2], row[3], from_minor(row[4]))
    have = (got["calls"], got["errors"], got["prompt_tokens"], got["completion_tokens"], got["credits"])
    return "exact" if have == want else f"MISMATCH: {have} != {want}"


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.analytics", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls in the synthetic log (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each query (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON (make bench reads them)")
    args = parser.parse_args(argv)
    rng = random.Random(5)
    now = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="aihub-bench-analytics-") as tmp:
        path = Path(tmp) / "aihub.db"
        os.environ["AIHUB_DB"] = str(path)
        from chalicelib.analytics import rollup
        from chalicelib.gateway.auth import ENV_ADMIN, Principal
        from chalicelib.store.shared import store

        _progress(f"building a log of {args.calls:,} calls")
        began = time.perf_counter()
        pop = build(path, args.calls, now, rng)
        build_s = time.perf_counter() - began
        db = store()

        _progress("rolling up")
        began = time.perf_counter()
        rollup.catch_up(db)
        rollup_s = time.perf_counter() - began
        grains = dict(db.query("SELECT grain, COUNT(*) FROM usage_rollup GROUP BY grain"))
        new = list(synthetic_calls(rng, pop, 1000, now - HOUR_MS, now, first_id=args.calls))
        db.write(lambda conn: insert_calls(conn, iter(new)))
        began = time.perf_counter()
        rollup.catch_up(db)
        increment_ms = (time.perf_counter() - began) * 1000

        busiest = db.query_one("SELECT account_id FROM model_calls GROUP BY account_id"
                               " ORDER BY COUNT(*) DESC LIMIT 1")[0]
        share = db.query_one("SELECT AVG(account_id = ?) FROM model_calls", (busiest,))[0]
        user = Principal(key_id=None, account_id=busiest, role="user")
        _progress("timing queries")
        loop = asyncio.new_event_loop()
        scopes = [(f"account ({share:.0%} of calls)", user, ""), ("all accounts", ENV_ADMIN, "admin_")]
        rows = time_cases(loop, now, scopes, args.repeat)
        check = check_summary(db, now)
        loop.close()
        size_mb = path.stat().st_size / 2**20

    print(f"Usage analytics over {args.calls:,} calls (90 days, {len(pop.accounts)} accounts, {len(pop.keys)} keys,"
          f" {len(pop.models)} models); {os.cpu_count()} CPUs, database {size_mb:,.0f} MB")
    print(f"build {build_s:.1f} s; roll-up {rollup_s:.1f} s ({args.calls / rollup_s:,.0f} calls/s) into"
          f" {grains.get('hour', 0):,} hour, {grains.get('day', 0):,} day, {grains.get('month', 0):,} month rows;"
          f" catching up 1,000 new calls {increment_ms:.1f} ms")
    print(f"30-day summary against a direct SQL sum: {check}")
    print()
    print(report.table(f"ms per query (median and max of {args.repeat} after a warm-up; goal < 200 ms)", [
        ("query", "query", report.text), ("scope", "scope", report.text), ("p50 ms", "p50_ms", report.ms),
        ("max ms", "max_ms", report.ms), ("body KB", "kb", lambda v: f"{v:,.1f}"),
    ], rows))
    if args.json:
        args.json.write_text(json.dumps({
            "calls": args.calls, "repeat": args.repeat, "accounts": len(pop.accounts), "keys": len(pop.keys),
            "models": len(pop.models), "database_mb": size_mb, "build_s": build_s, "rollup_s": rollup_s,
            "rollup_rows": grains, "increment_ms": increment_ms, "check": check, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
