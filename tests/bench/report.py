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
    ("request", "request", text), ("runs", "runs", integer), ("process->response ms", "process_to_response_ms", ms),
    ("bare python ms", "bare_python_ms", ms), ("cold start ms", "cold_start_ms", ms),
    ("CPU ms", "cold_start_cpu_ms", ms), ("modules", "modules_loaded", integer),
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


BILLING: list[Column] = [
    ("target (non-streamed openai/gpt-4o-mini)", "target", text), ("journal", "journal", text),
    ("conc", "concurrency", integer), ("ok", "n", integer), ("errors", "errors", integer),
    ("p50 ms", "p50_ms", ms), ("p99 ms", "p99_ms", ms), ("gateway CPU ms/call", "gateway_cpu_ms_per_call", ms),
]
BILLING_SUMMARY: list[Column] = [
    ("difference", "measure", text), ("journal", "journal", text), ("conc", "concurrency", integer),
    ("added p50 ms", "added_p50_ms", added), ("added p99 ms", "added_p99_ms", added),
    ("added CPU ms/call", "added_cpu_ms", added), ("p50 < 0.5 ms", "goal_p50", text),
    ("CPU < 0.5 ms", "goal_cpu", text),
]
BILLING_ACCOUNTS: list[Column] = [
    ("journal", "journal", text), ("key's account", "account", text), ("credits used", "used", lambda v: f"{v:g}"),
    ("credits reserved", "reserved", lambda v: f"{v:g}"),
]
UI_SIZE: list[Column] = [
    ("file", "file", text), ("raw kB", "raw_kb", lambda v: f"{v:,.1f}"), ("gzip -9 kB", "gzip_kb", lambda v: f"{v:,.1f}"),
]
UI_SERVED: list[Column] = [
    ("GET (Accept-Encoding: gzip, br)", "file", text), ("status", "status", text),
    ("content-encoding", "encoding", text), ("bytes on the wire", "wire_bytes", integer),
]


def _indent(block: str) -> str:
    return "\n".join("  " + line if line else line for line in block.splitlines())


def render_billing(billing: dict[str, Any]) -> str:
    parts = [
        table("8) Billing on vs off (issue 5): two gateways set up alike (a rate for openai/gpt-4o-mini, keys with "
              "1,000,000 credits each), AIHUB_BILLING=off and =on, same fake upstream; four keys interleaved in one run "
              "per row group: no limits, and rpm=100000/tpm=100000000 (PATCH /admin/keys/{id})",
              BILLING, billing["rows"])
        + _error_lines([{**r, "target": f"{r['target']}, journal={r['journal']}"} for r in billing["rows"]]),
        table("8b) Billing cost per call (goal: billing on adds < 0.5 ms per call; at concurrency 16 on 2 CPUs latency "
              "includes queueing behind the other 15 calls, so CPU ms/call is the per-call cost there)",
              BILLING_SUMMARY, billing["summary"]),
    ]
    accounts = [{"journal": check["journal"], "account": name, **v}
                for check in billing["checks"] for name, v in check["accounts"].items()]
    parts.append(table("8c) Check: the keys' accounts after the runs (GET /admin/accounts/{id}); billing on charges, "
                       "billing off does not", BILLING_ACCOUNTS, accounts))
    return "\n\n".join(parts)


def render_analytics(result: dict[str, Any]) -> str:
    title = (f"9) Usage analytics over {result['calls']:,} calls (issue 5): `python -m tests.bench.analytics "
             f"--calls {result['calls']} --repeat {result.get('repeat', '?')}`, {result['elapsed_s']:.0f} s")
    if "error" in result:
        return f"{title}\n  FAILED ({result['error']}); its output:\n{_indent(result['output'])}"
    slow = result["slowest"]
    return (f"{title}\n{_indent(result['output'])}\n"
            f"  slowest median: {slow['p50_ms']:.1f} ms ({slow['query']}, {slow['scope']}); "
            f"{result['over_goal']} of {len(result['rows'])} medians at or over the 200 ms goal")


def render_contention(result: dict[str, Any]) -> str:
    title = ("10) SQLite contention imitating many Lambdas (issue 6): `python -m tests.deploy.contention_bench`, "
             f"{result['elapsed_s']:.0f} s")
    body = _indent(result["output"]) if result["output"] else "  (no output)"
    if "error" in result:
        body += f"\n  FAILED: {result['error']}"
    rates = result["writes_per_s"]
    if "delete" in rates and "wal" in rates:
        body += (f"\n  per write, all 8 processes together: rollback journal {1000 / rates['delete']:.2f} ms, "
                 f"WAL {1000 / rates['wal']:.2f} ms (WAL {rates['wal'] / rates['delete']:.1f}x the rate)")
    return f"{title}\n{body}"


def render_module(title: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{title}\n  FAILED: {result['error']}\n{_indent(result.get('output', ''))}"
    return f"{title}\n{_indent(result['output'])}"


def render_recording(result: dict[str, Any]) -> str:
    title = ("12) Recording calls (issue 10): `python -m tests.bench.recording`; goal: no regression at "
             "concurrency 1, at least 3x the calls recorded per second at 16 with the rollback journal")
    if "error" in result:
        return f"{title}\n  FAILED: {result['error']}\n{_indent(result.get('output', ''))}"
    return f"{title}\n{_indent(result['output'])}"


def render_ui(result: dict[str, Any]) -> str:
    title = "11) Web UI (issue 7): the first page, index.html + the JS and CSS it names, in chalicelib/ui/"
    if "skipped" in result:
        return f"{title}\n  skipped: {result['skipped']}"
    kb = [{**r, "raw_kb": r["raw_bytes"] / 1024, "gzip_kb": r["gzip_bytes"] / 1024} for r in result["rows"]]
    total = result["rows"][-1]
    every = result["all_assets"]
    lines = [
        table(f"{title} (build: {result['build']})", UI_SIZE, kb),
        (f"  gzipped total {total['gzip_bytes'] / 1024:,.1f} kB; goal < {result['budget_bytes'] / 1024:.0f} kB "
         f"gzipped: {result['goal']}. All of chalicelib/ui/assets/: {every['files']} files, "
         f"{every['raw_bytes'] / 1024:,.1f} kB raw."),
        "",
        table("11b) What `aihub serve` sends for the same files (chalicelib/handlers/ui.py)", UI_SERVED,
              result["served"]),
    ]
    return "\n".join(lines)


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
    parts = [header]
    if "latency" in results:  # absent from a `--cold-start` run
        parts += [
            table("1+5) Non-streamed chat, openai/gpt-4o-mini via fake upstream (keep-alive, interleaved batches)",
                  LATENCY, results["latency"]),
            table("2) Streamed chat (stream: true), concurrency 1: time to first SSE data chunk, and to stream end",
                  TTFT, results["ttft"]),
            table("3) Closed-loop throughput, 16 connections; CPU = /proc/<pid>/stat utime+stime over the run / calls",
                  THROUGHPUT, results["throughput"]),
            table("3b) Upstream keep-alive, concurrency 1: upstream TCP connections opened and closed per gateway call "
                  "(0 = pooled)", REUSE, results["upstream_reuse"]),
        ]
    parts.append(
        table("4) Cold start: fresh `python -c` importing app, one request via the Lambda handler (median), "
              "minus a bare `python -c` (goals: /health < 60 ms, first chat < 120 ms, boto3 not imported); CPU ms: "
              "the process's CPU time when it answers, minus bare Python's (moves less with the load)", COLD,
              _cold_rows(results["cold_start"])))
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
    if "billing" in results:
        parts.append(render_billing(results["billing"]))
    if "analytics" in results:
        parts.append(render_analytics(results["analytics"]))
    if "contention" in results:
        parts.append(render_contention(results["contention"]))
    if "recording" in results:
        parts.append(render_recording(results["recording"]))
    if "surfaces" in results:
        parts.append(render_module("13) Client surfaces (issue 11): `python -m tests.bench.surfaces`", results["surfaces"]))
    if "efs" in results:
        parts.append(render_module("14) SQLite on emulated EFS (issue 15): `python -m tests.bench.efs`; goal: the "
                                   "batching writer >= 50x per-call transactions at 16 writers", results["efs"]))
    if "hot_path" in results:
        parts.append(render_module("15) Auth, resolve and rate lookup per request, warm snapshots (issue 14): "
                                   "`python -m tests.bench.hot_path`", results["hot_path"]))
    if "web_ui" in results:
        parts.append(render_ui(results["web_ui"]))
    if "litellm" in results:
        parts.append(render_litellm(results["litellm"]))
    if "relay" in results:
        parts.append(render_relay(results["relay"]))
    return "\n\n".join(parts)


LITELLM_TTFT: list[Column] = [
    ("target", "target", text), ("n", "n", integer), ("TTFT p50", "ttft_p50_ms", ms),
    ("added TTFT p50", "added_ttft_p50_ms", added),
]
LITELLM_THROUGHPUT: list[Column] = [
    ("target", "target", text), ("conc", "concurrency", integer), ("calls", "calls", integer),
    ("req/s", "rps", integer), ("p50 ms", "p50_ms", ms), ("gateway CPU ms/call", "gateway_cpu_ms_per_call", ms),
]


def render_litellm(section: dict[str, Any]) -> str:
    title = "12) Side by side with LiteLLM's proxy: same fake upstream, same client, one worker each"
    if "skipped" in section:
        return f"{title}: skipped ({section['skipped']})"
    note = f" ({section['note']})" if section.get("note") else ""
    return "\n\n".join([
        table(f"{title}{note}; non-streamed chat, concurrency 1, interleaved; 'added' = minus direct",
              LATENCY, section["latency"]),
        table("12b) Streamed chat, concurrency 1: added time to the first SSE data chunk", LITELLM_TTFT, section["ttft"]),
        table("12c) Closed loop, 16 connections: calls/s and CPU per call of the gateway's processes",
              LITELLM_THROUGHPUT, section["throughput"]),
    ])


RELAY: list[Column] = [
    ("target (openai SDK dialect -> OpenAI-dialect fake)", "target", text), ("pace", "pace", text),
    ("streams", "n", integer), ("stream p50 ms", "stream_p50_ms", ms), ("idle CPU ms/s", "idle_ms_per_s", ms),
    ("CPU ms/call, long", "cpu_long_ms", ms), ("CPU ms/call, 1 chunk", "cpu_short_ms", ms),
    ("CPU µs/chunk", "cpu_per_chunk_us", us), ("goal", "goal", text), ("fake's CPU µs/chunk", "fake_per_chunk_us", us),
    ("vs LiteLLM", "vs_litellm", text),
]


def render_relay(section: dict[str, Any]) -> str:
    return table(f"16) Relay CPU per streamed chunk (issue 14): {section['chunks']:,}-chunk minus 1-chunk stream, same "
                 f"dialect, concurrency 1, gateway CPU from schedstat less its idle CPU; goal <= {section['goal_us']:g} "
                 f"µs/chunk and 10x less than LiteLLM (LiteLLM: {section['litellm']})", RELAY, section["rows"])


def save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
