"""Render the results as fixed-width tables, and save them as JSON."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Row = dict[str, Any]
Column = tuple[str, str, Callable[[Any], str]]  # header, row key, formatter


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def added(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def integer(value: int | float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def text(value: Any) -> str:
    return str(value)


def table(title: str, columns: Sequence[Column], rows: Sequence[Row]) -> str:
    cells = [[fmt(row.get(key)) for _, key, fmt in columns] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _, _) in enumerate(columns)]
    # First column (the label) left-aligned, figures right-aligned.
    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))
    out = [title, line([h for h, _, _ in columns]), "  ".join("-" * w for w in widths)]
    out += [line(c) for c in cells]
    return "\n".join(out)


LATENCY: list[Column] = [
    ("target", "target", text), ("conc", "concurrency", integer), ("n", "n", integer),
    ("p50 ms", "p50_ms", ms), ("p99 ms", "p99_ms", ms),
    ("added p50", "added_p50_ms", added), ("added p99", "added_p99_ms", added),
]
TTFT: list[Column] = [
    ("target", "target", text), ("n", "n", integer), ("TTFT p50", "ttft_p50_ms", ms),
    ("TTFT p99", "ttft_p99_ms", ms), ("added TTFT p50", "added_ttft_p50_ms", added),
    ("stream p50", "stream_p50_ms", ms), ("added stream p50", "added_stream_p50_ms", added),
]
THROUGHPUT: list[Column] = [
    ("target", "target", text), ("conc", "concurrency", integer), ("calls", "calls", integer),
    ("req/s", "rps", integer), ("gateway CPU ms/call", "gateway_cpu_ms_per_call", ms),
    ("upstream CPU ms/call", "upstream_cpu_ms_per_call", ms), ("client CPU ms/call", "client_cpu_ms_per_call", ms),
]
REUSE: list[Column] = [
    ("target", "target", text), ("calls", "calls", integer),
    ("upstream conns closed", "new_upstream_conns", integer), ("per call", "per_call", lambda v: f"{v:.2f}"),
]
COLD: list[Column] = [
    ("runs", "runs", integer), ("process->response ms", "process_to_response_ms", ms),
    ("bare python ms", "bare_python_ms", ms), ("cold start ms", "cold_start_ms", ms),
    ("modules", "modules_loaded", integer),
    ("boto3", "boto3", text), ("httpx", "httpx", text), ("also imported", "also", text),
]


def us(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def added_us(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


TRANSLATION: list[Column] = [
    ("target", "target", text), ("n", "n", integer), ("TTFT p50", "ttft_p50_ms", ms),
    ("added TTFT p50", "added_ttft_p50_ms", added), ("stream p50", "stream_p50_ms", ms),
    ("stream p99", "stream_p99_ms", ms), ("added stream p50", "added_stream_p50_ms", added),
    ("gateway CPU ms/call", "gateway_cpu_ms_per_call", ms), ("fake CPU ms/call", "upstream_cpu_ms_per_call", ms),
]
TRANSLATION_SUMMARY: list[Column] = [
    ("Anthropic over OpenAI, through the gateway", "measure", text), ("per call ms", "per_call_ms", added),
    ("per chunk µs", "per_chunk_us", added_us), ("< 0.3 ms/call", "goal_call", text),
    ("< 20 µs/chunk", "goal_chunk", text),
]
TRANSLATION_MICRO: list[Column] = [
    ("in-process, best of 5 timeit runs", "measure", text), ("OpenAI µs", "openai_us", us),
    ("Anthropic µs", "anthropic_us", us), ("OpenAI µs/chunk", "openai_per_chunk_us", us),
    ("Anthropic µs/chunk", "anthropic_per_chunk_us", us), ("added µs/chunk", "added_per_chunk_us", added_us),
    ("added ms/call", "added_per_call_ms", added),
]
FAILOVER: list[Column] = [
    ("target", "target", text), ("conc", "concurrency", integer), ("ok", "ok", integer),
    ("errors", "errors", integer), ("calls/s", "calls_per_s", integer), ("p50 ms", "p50_ms", ms),
    ("p99 ms", "p99_ms", ms), ("added p50", "added_p50_ms", added), ("added p99", "added_p99_ms", added),
    ("gateway CPU ms/call", "gateway_cpu_ms_per_call", ms), ("retried", "retried_pct", pct),
    ("retried p50 ms (log)", "retried_p50_ms", ms), ("failed attempts", "failed_attempts", integer),
    ("via openrouter", "via_openrouter", integer),
    ("0 errors", "goal_errors", text), ("added <= 1 ms", "goal_added", text),
]


def _failover_rows(rows: Sequence[Row]) -> list[Row]:
    out = []
    for row in rows:
        extra: Row = {"goal_errors": "yes" if row["errors"] == 0 else "NO", "goal_added": "-"}
        if row["added_p50_ms"] is not None:
            extra["goal_added"] = "yes" if max(row["added_p50_ms"], row["added_p99_ms"]) <= 1.0 else "NO"
        out.append({**row, **extra})
    return out


def _error_lines(rows: Sequence[Row]) -> str:
    lines = [f"  {row['target']}, concurrency {row['concurrency']}: {message}"
             for row in rows for message in row.get("error_messages") or ()]
    return ("\nclient-visible errors (first of each run):\n" + "\n".join(lines)) if lines else ""


def _cold_rows(rows: Sequence[Row]) -> list[Row]:
    out = []
    for row in rows:
        imported = row["imported"]
        also = [m for m, yes in imported.items() if yes and m not in ("boto3", "httpx")]
        out.append({**row, "boto3": "yes" if imported["boto3"] else "no",
                    "httpx": "yes" if imported["httpx"] else "no", "also": ", ".join(also) or "-"})
    return out


def _load(meta: dict[str, Any]) -> str:
    if "loadavg_1m" not in meta:
        return ""
    before, after = meta["loadavg_1m"]
    return f", load average {before:.2f} before / {after:.2f} after"


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    header = (f"aihub bench ({meta['mode']}): {meta['cpus']} CPUs, Python {meta['python']}, "
              f"commit {meta['commit']}, {meta['elapsed_s']:.0f} s{_load(meta)}. Loopback; upstream, gateway(s) and "
              f"client each in their own process. Times in ms; 'added' = gateway minus direct.")
    parts = [
        header,
        table("1+5) Non-streamed chat, openai/gpt-4o-mini via fake upstream (keep-alive, interleaved batches)",
              LATENCY, results["latency"]),
        table("2) Streamed chat (stream: true), concurrency 1: time to first SSE data chunk, and to stream end",
              TTFT, results["ttft"]),
        table("3) Closed-loop throughput, 16 connections; CPU = /proc/<pid>/stat utime+stime over the run / calls",
              THROUGHPUT, results["throughput"]),
        table("3b) Upstream keep-alive, concurrency 1: upstream TCP connections opened and closed per gateway call "
              "(0 = pooled)", REUSE, results["upstream_reuse"]),
        table("4) Cold start: fresh `python -c` importing app, GET /health via the Lambda handler (median), "
              "minus bare `python -c pass`", COLD, _cold_rows(results["cold_start"])),
    ]
    if "translation" in results:
        parts += [
            table("6) Translation cost: the same streamed chat (20 content chunks, no delay between events), concurrency 1, "
                  "interleaved; 'added' = gateway minus direct to the same fake; CPU split per target from schedstat",
                  TRANSLATION, results["translation"]["rows"]),
            table("6b) Translation cost, end to end (goal: < 0.3 ms per call and < 20 µs per chunk; per chunk = "
                  "per call / 20)", TRANSLATION_SUMMARY, results["translation"]["summary"]),
            table("6c) Translation cost in-process: OpenAI StreamState.feed (relay) vs Anthropic StreamTranslator.feed "
                  "(translate), realistic events", TRANSLATION_MICRO, results["translation_micro"]),
        ]
    if "failover" in results:
        parts.append(
            table("7) Failover: non-streamed chat on bare gpt-4o-mini (openai: 3 credentials, then openrouter: 2); "
                  "'1 of 5 flaky': one openai credential answers HTTP 500 to every second call; 'added' = flaky minus "
                  "healthy, successful calls only (goal: 0 errors, added p50/p99 within 1 ms)",
                  FAILOVER, _failover_rows(results["failover"])) + _error_lines(results["failover"]))
    return "\n\n".join(parts)


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
