"""CloudWatch embedded metric format: on Lambda the figures /metrics gives under `aihub serve`
ride in the JSON log lines themselves, and CloudWatch turns them into metrics (namespace
AIHUB_METRICS_NAMESPACE, default `aihub`) with no agent and no API call.

Each call line gains its metric values and an `_aws` block naming them; each commit of the
writer thread writes one line of database figures. infra/ builds the dashboard and the alarms
on these names: keep them stable.
"""
from __future__ import annotations

import time
from typing import Any

from chalicelib.config import observability
from chalicelib.observability import logs
from chalicelib.store.calls import CallRecord

# Totals (no dimension) for the alarms, per provider and per provider and model for the dashboard.
CALL_DIMENSIONS = [[], ["Provider"], ["Provider", "Model"], ["Surface"]]
CALL_METRICS = [
    {"Name": "Requests", "Unit": "Count"}, {"Name": "Errors4xx", "Unit": "Count"},
    {"Name": "Errors5xx", "Unit": "Count"}, {"Name": "Throttles", "Unit": "Count"},
    {"Name": "Attempts", "Unit": "Count"}, {"Name": "ProviderErrors", "Unit": "Count"},
    {"Name": "Retries", "Unit": "Count"}, {"Name": "Failovers", "Unit": "Count"},
    {"Name": "InputTokens", "Unit": "Count"}, {"Name": "OutputTokens", "Unit": "Count"},
    {"Name": "Credits", "Unit": "None"},
    {"Name": "Duration", "Unit": "Milliseconds"}, {"Name": "TimeToFirstToken", "Unit": "Milliseconds"},
]
DB_METRICS = [{"Name": "DbWriteLatency", "Unit": "Milliseconds"}, {"Name": "DbWriteJobs", "Unit": "Count"},
              {"Name": "DbQueueDepth", "Unit": "Count"}]


def _block(metrics: list[dict[str, str]], dimensions: list[list[str]]) -> dict[str, Any]:
    directive = {"Namespace": observability().metrics_namespace, "Dimensions": dimensions, "Metrics": metrics}
    return {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [directive]}


def call_metrics(rec: CallRecord, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """The EMF members of a call's log line (its dimensions are also plain fields of it)."""
    status = rec.http_status or 0
    failed_attempts = sum(1 for a in attempts if a["status"] != 200)
    failovers = sum(1 for a, b in zip(attempts, attempts[1:]) if a["provider"] != b["provider"])
    fields: dict[str, Any] = {
        "_aws": _block(CALL_METRICS, CALL_DIMENSIONS),
        "Provider": rec.provider or "none", "Model": rec.model or "none", "Surface": rec.surface,
        "Requests": 1, "Errors4xx": int(400 <= status < 500), "Errors5xx": int(status >= 500),
        "Throttles": int(status == 429), "Attempts": len(attempts), "ProviderErrors": failed_attempts,
        "Retries": max(0, len(attempts) - 1), "Failovers": failovers,
        "InputTokens": rec.prompt_tokens, "OutputTokens": rec.completion_tokens,
        "Credits": rec.credits / 10**9, "Duration": rec.duration_ms or 0,
    }
    if rec.ttfb_ms is not None:
        fields["TimeToFirstToken"] = rec.ttfb_ms
    return fields


def commit_line(seconds: float, jobs: int, backlog: int) -> None:
    logs.write({"_aws": _block(DB_METRICS, [[]]), "logger": "aihub.writer", "message": "db commit",
                "DbWriteLatency": round(seconds * 1000, 3), "DbWriteJobs": jobs, "DbQueueDepth": backlog})
