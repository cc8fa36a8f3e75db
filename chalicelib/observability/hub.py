"""Where a settled call and a database commit reach the log, the metrics and the traces.

Which of those are on is decided once per process from the settings; what is off costs
nothing per call (not even an import). Nothing here may fail a call: an observer's error is
logged and the call goes on.
"""
from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib.billing.units import from_minor
from chalicelib.config import observability
from chalicelib.observability import logs
from chalicelib.observability.trace_context import Trace
from chalicelib.store.calls import CallRecord

log = logging.getLogger("aihub.observability")
CallObserver = Callable[[CallRecord, list[dict[str, Any]], "Trace | None"], None]
CommitObserver = Callable[[float, int, int], None]


def record_fields(rec: CallRecord, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """A call's log line: ids, route, outcome, usage and timings; never a secret (no key, no
    credential value, no prompt, no upstream error text, which may echo what the client sent)."""
    return {
        "request_id": rec.request_id, "account_id": rec.account_id, "key_id": rec.key_id, "type": rec.type,
        "surface": rec.surface, "provider": rec.provider, "model": rec.model, "requested_model": rec.requested_model,
        "credential_id": rec.credential_id, "status": rec.status, "http_status": rec.http_status,
        "error_code": rec.error_code, "stream": bool(rec.stream), "prompt_tokens": rec.prompt_tokens,
        "completion_tokens": rec.completion_tokens, "cache_read_tokens": rec.cache_read_tokens,
        "cache_write_tokens": rec.cache_write_tokens, "reasoning_tokens": rec.reasoning_tokens,
        "images": rec.images, "usage_estimated": bool(rec.usage_estimated), "credits": from_minor(rec.credits),
        "duration_ms": rec.duration_ms, "ttfb_ms": rec.ttfb_ms, "attempts": len(attempts),
        "app_id": rec.app_id,
    }


def _log_line(rec: CallRecord, attempts: list[dict[str, Any]], trace: Trace | None) -> None:
    fields = record_fields(rec, attempts)
    if trace is not None:
        fields["trace_id"] = trace.trace_id
    logs.call_line(fields)


def _emf_line(rec: CallRecord, attempts: list[dict[str, Any]], trace: Trace | None) -> None:
    from chalicelib.observability import emf

    fields = record_fields(rec, attempts)
    fields.update(emf.call_metrics(rec, attempts))
    if trace is not None:
        fields["trace_id"] = trace.trace_id
    logs.call_line(fields)


def _prometheus(rec: CallRecord, attempts: list[dict[str, Any]], trace: Trace | None) -> None:
    from chalicelib.observability import prom

    prom.observe_call(rec, attempts)


def _spans(rec: CallRecord, attempts: list[dict[str, Any]], trace: Trace | None) -> None:
    if trace is not None:
        from chalicelib.observability import tracing

        tracing.export(rec, attempts, trace)


@lru_cache(maxsize=1)
def prometheus_on() -> bool:
    """On under `aihub serve` where prometheus-client is installed (requirements-local.txt); a
    bundle without it (the Lambda ones) serves without metrics rather than failing calls."""
    cfg = observability()
    return cfg.metrics and not cfg.on_lambda and importlib.util.find_spec("prometheus_client") is not None


@lru_cache(maxsize=1)
def call_observers() -> tuple[CallObserver, ...]:
    cfg = observability()
    found: list[CallObserver] = []
    if cfg.on_lambda:
        found.append(_emf_line)  # the call line itself, with its metrics embedded
    elif cfg.call_log:
        found.append(_log_line)
    if prometheus_on():
        found.append(_prometheus)
    if cfg.otlp:
        found.append(_spans)
    return tuple(found)


def call_settled(rec: CallRecord, attempts: list[dict[str, Any]], trace: Trace | None) -> None:
    for observe in call_observers():
        try:
            observe(rec, attempts, trace)
        except Exception:
            log.exception("observing call %s failed", rec.request_id)


def commit_observer() -> CommitObserver | None:
    """What the writer thread reports each commit to, or None when nothing listens."""
    try:
        if observability().on_lambda:
            from chalicelib.observability import emf

            return emf.commit_line
        if prometheus_on():
            from chalicelib.observability import prom

            return prom.observe_commit
    except Exception:  # the writer (and so every call) must start whatever happens here
        log.exception("database write metrics are off")
    return None
