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


def _cold_rows(rows: Sequence[Row]) -> list[Row]:
    out = []
    for row in rows:
        imported = row["imported"]
        also = [m for m, yes in imported.items() if yes and m not in ("boto3", "httpx")]
        out.append({**row, "boto3": "yes" if imported["boto3"] else "no",
                    "httpx": "yes" if imported["httpx"] else "no", "also": ", ".join(also) or "-"})
    return out


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    header = (f"aihub bench ({meta['mode']}): {meta['cpus']} CPUs, Python {meta['python']}, "
              f"commit {meta['commit']}, {meta['elapsed_s']:.0f} s. Loopback; upstream, gateway(s) and "
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
    return "\n\n".join(parts)


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
