"""Prometheus metrics of `aihub serve`, updated from each settled call and each commit of the
writer thread, and rendered by GET /metrics.

With several uvicorn workers each one is its own process: `aihub serve --workers N` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory (before the workers start), every worker writes
its figures there and a scrape of any worker sums them all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from chalicelib.store.calls import CallRecord

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# In multiprocess mode the figures live in the directory's files, not in a registry of this process.
_registry = None if MULTIPROCESS else CollectorRegistry()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter("aihub_requests", "Model calls, by surface, provider, model and HTTP status.",
                   ["surface", "provider", "model", "status"], registry=_registry)
TOKENS = Counter("aihub_tokens", "Tokens of settled calls, by kind (input, output, cache_read, cache_write, "
                 "reasoning).", ["provider", "model", "kind"], registry=_registry)
CREDITS = Counter("aihub_credits", "Credits charged.", ["provider", "model"], registry=_registry)
DURATION = Histogram("aihub_request_duration_seconds", "Time from a call's arrival to its settlement.",
                     ["surface", "provider"], buckets=LATENCY_BUCKETS, registry=_registry)
TTFT = Histogram("aihub_time_to_first_token_seconds", "Time to the provider's first byte (the first token "
                 "of a stream).", ["provider"], buckets=LATENCY_BUCKETS, registry=_registry)
ATTEMPTS = Counter("aihub_upstream_attempts", "Upstream attempts, by provider and upstream HTTP status "
                   "(0 where none came: timeout, connection error).", ["provider", "status"], registry=_registry)
RETRIES = Counter("aihub_retries", "Attempts after a call's first.", ["provider"], registry=_registry)
FAILOVERS = Counter("aihub_failovers", "Moves of a call from one provider to another.", ["from_provider",
                    "to_provider"], registry=_registry)
DB_WRITE = Histogram("aihub_db_write_seconds", "Commit time of one batch of the writer thread.",
                     buckets=DB_BUCKETS, registry=_registry)
DB_JOBS = Counter("aihub_db_write_jobs", "Writes committed by the writer thread.", registry=_registry)
DB_QUEUE = Gauge("aihub_db_write_queue_depth", "Writes waiting for the writer thread, after its last commit.",
                 registry=_registry, multiprocess_mode="livesum")


def _label(value: str | None) -> str:
    return value or "none"


@dataclass(frozen=True, slots=True)
class _Route:
    """The labelled series of one (surface, provider, model, status): looking a child up by its
    labels takes a lock and a tuple each time, and a call touches up to nine of them."""

    requests: Any
    duration: Any
    ttft: Any
    credits: Any
    tokens: tuple[Any, ...]  # input, output, cache_read, cache_write, reasoning


@lru_cache(maxsize=4096)
def _route(surface: str, provider: str, model: str, status: str) -> _Route:
    return _Route(REQUESTS.labels(surface, provider, model, status), DURATION.labels(surface, provider),
                  TTFT.labels(provider), CREDITS.labels(provider, model),
                  tuple(TOKENS.labels(provider, model, kind) for kind in TOKEN_KINDS))


def observe_call(rec: CallRecord, attempts: list[dict[str, Any]]) -> None:
    route = _route(rec.surface, _label(rec.provider), _label(rec.model), str(rec.http_status or 0))
    route.requests.inc()
    route.duration.observe((rec.duration_ms or 0) / 1000)
    if rec.ttfb_ms is not None:
        route.ttft.observe(rec.ttfb_ms / 1000)
    counts = (rec.prompt_tokens, rec.completion_tokens, rec.cache_read_tokens, rec.cache_write_tokens,
              rec.reasoning_tokens)
    for series, count in zip(route.tokens, counts):
        if count:
            series.inc(count)
    if rec.credits:
        route.credits.inc(rec.credits / 10**9)
    previous = None
    for number, attempt in enumerate(attempts):
        ATTEMPTS.labels(attempt["provider"], str(attempt["status"] or 0)).inc()
        if number:
            RETRIES.labels(attempt["provider"]).inc()
            if attempt["provider"] != previous:
                FAILOVERS.labels(previous, attempt["provider"]).inc()
        previous = attempt["provider"]


def observe_commit(seconds: float, jobs: int, backlog: int) -> None:
    DB_WRITE.observe(seconds)
    DB_JOBS.inc(jobs)
    DB_QUEUE.set(backlog)


def credential_states(rows: list[dict[str, Any]]) -> GaugeMetricFamily:
    """Credentials of each provider by state, read from the database at scrape time (so every
    worker reports the same figure)."""
    family = GaugeMetricFamily("aihub_credentials", "Provider credentials by state (active, disabled, "
                               "cooling: rate-limited for a while).", labels=["provider", "state"])
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        state = "disabled" if not row["active"] else "cooling" if row["cooling"] else "active"
        counts[(row["provider"], state)] = counts.get((row["provider"], state), 0) + 1
    for (provider, state), count in sorted(counts.items()):
        family.add_metric([provider, state], count)
    return family


def render(extra: list[Any]) -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every worker's) figures
    plus `extra` metric families."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _registry  # type: ignore[assignment]
    return generate_latest(registry) + (generate_latest(_Fixed(extra)) if extra else b"")  # type: ignore[arg-type]


class _Fixed:
    """A one-off collector of families already built (generate_latest takes any collector)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families
