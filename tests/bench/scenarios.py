"""One function per measurement; each returns plain rows (dicts) for the report."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.client import percentile
from tests.bench.stack import (
    ROOT,
    GatewayUnderTest,
    Upstream,
    bench_env,
    closed_connections,
    direct_target,
    gateway_target,
    run_loadgen,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """Sample sizes; --quick shrinks them all for a smoke run."""

    c1_samples: int  # per target at concurrency 1 (2000+ for a stable p99)
    c1_batch: int
    c16_samples: int  # per target at concurrency 16
    c16_batch: int  # per connection
    ttft_samples: int
    throughput_calls: int
    cold_runs: int
    warmup: int  # per connection, discarded


FULL = Plan(c1_samples=3000, c1_batch=100, c16_samples=8000, c16_batch=25, ttft_samples=600,
            throughput_calls=8000, cold_runs=10, warmup=30)
QUICK = Plan(c1_samples=300, c1_batch=50, c16_samples=1600, c16_batch=10, ttft_samples=100,
             throughput_calls=1600, cold_runs=3, warmup=10)


def _latency_row(label: str, conc: int, values: list[float], base: list[float] | None) -> Row:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    row: Row = {"target": label, "concurrency": conc, "n": len(values), "p50_ms": p50, "p99_ms": p99,
                "added_p50_ms": None, "added_p99_ms": None}
    if base is not None:
        row["added_p50_ms"] = p50 - percentile(base, 50)
        row["added_p99_ms"] = p99 - percentile(base, 99)
    return row


def added_latency(upstream: Upstream, gateways: list[GatewayUnderTest], conc: int, plan: Plan) -> list[Row]:
    """Non-streamed chat: direct vs each gateway (one per journal mode), interleaved in one run.

    The first gateway also serves demo/echo (answered in-process): its latency is the
    gateway's own floor, without the upstream hop.
    """
    targets = [direct_target(upstream), *(gateway_target(gw) for gw in gateways),
               gateway_target(gateways[0], model="demo/echo", name=f"{gateways[0].label} demo")]
    samples, batch = (plan.c1_samples, plan.c1_batch) if conc == 1 else (plan.c16_samples, plan.c16_batch)
    result = run_loadgen({"targets": targets, "concurrency": conc, "per_target": samples, "batch": batch,
                          "warmup": plan.warmup})["targets"]
    direct = result["direct"]["total_ms"]
    rows = [_latency_row("direct -> upstream", conc, direct, None)]
    for gw in gateways:
        rows.append(_latency_row(f"gateway, journal={gw.label}", conc, result[gw.label]["total_ms"], direct))
    demo = result[f"{gateways[0].label} demo"]["total_ms"]
    rows.append(_latency_row(f"gateway demo/echo, journal={gateways[0].label}", conc, demo, None))
    return rows


def first_token(upstream: Upstream, gw: GatewayUnderTest, plan: Plan) -> list[Row]:
    """stream: true at concurrency 1: request written -> first SSE data chunk, and whole stream."""
    targets = [direct_target(upstream, stream=True), gateway_target(gw, stream=True)]
    result = run_loadgen({"targets": targets, "concurrency": 1, "per_target": plan.ttft_samples,
                          "batch": 50, "warmup": plan.warmup})["targets"]
    rows = []
    base = result["direct"]
    for name, label in (("direct", "direct -> upstream"), (gw.label, f"gateway, journal={gw.label}")):
        ttft, total = result[name]["first_data_ms"], result[name]["total_ms"]
        if len(ttft) != len(total):
            raise RuntimeError(f"{name}: {len(total) - len(ttft)} streams had no data: chunk")
        is_base = name == "direct"
        rows.append({
            "target": label, "n": len(ttft),
            "ttft_p50_ms": percentile(ttft, 50), "ttft_p99_ms": percentile(ttft, 99),
            "added_ttft_p50_ms": None if is_base else percentile(ttft, 50) - percentile(base["first_data_ms"], 50),
            "stream_p50_ms": percentile(total, 50),
            "added_stream_p50_ms": None if is_base else percentile(total, 50) - percentile(base["total_ms"], 50),
        })
    return rows


def _throughput_row(label: str, target: dict[str, Any], pids: dict[str, int], plan: Plan) -> Row:
    result = run_loadgen({"targets": [target], "concurrency": 16, "per_target": plan.throughput_calls,
                          "batch": -(-plan.throughput_calls // 16), "warmup": plan.warmup, "cpu_pids": pids})
    calls = len(result["targets"][target["name"]]["total_ms"])
    per_call_ms = {name: ticks / result["clk_tck"] * 1000 / calls for name, ticks in result["cpu_ticks"].items()}
    return {
        "target": label, "concurrency": 16, "calls": calls, "wall_s": result["wall_s"],
        "rps": calls / result["wall_s"],
        "gateway_cpu_ms_per_call": per_call_ms.get("gateway"),
        "upstream_cpu_ms_per_call": per_call_ms.get("upstream"),
        "client_cpu_ms_per_call": result["client_cpu_s"] * 1000 / calls,
    }


def throughput(upstream: Upstream, gw: GatewayUnderTest, plan: Plan) -> list[Row]:
    """Closed loop, 16 keep-alive connections; CPU from /proc/<pid>/stat over the measured part."""
    up_pid = upstream.process.pid
    return [
        _throughput_row("direct -> upstream", direct_target(upstream), {"upstream": up_pid}, plan),
        _throughput_row(f"gateway, journal={gw.label}", gateway_target(gw),
                        {"gateway": gw.pid, "upstream": up_pid}, plan),
        _throughput_row(f"gateway demo/echo, journal={gw.label}", gateway_target(gw, model="demo/echo"),
                        {"gateway": gw.pid}, plan),
    ]


def upstream_reuse(upstream: Upstream, gw: GatewayUnderTest, plan: Plan) -> list[Row]:
    """New upstream TCP connections per gateway call (TIME_WAIT delta on the upstream port).

    Not a timing, but it explains one: a connection not returned to the pool costs a TCP (and,
    against a real provider, TLS) handshake on the next call.
    """
    calls = max(50, plan.ttft_samples // 3)
    rows = []
    for stream in (False, True):
        before = closed_connections(upstream.port)
        run_loadgen({"targets": [gateway_target(gw, stream=stream)], "concurrency": 1, "per_target": calls,
                     "batch": calls, "warmup": 0})
        time.sleep(0.2)  # let the last call's connection close land
        opened = closed_connections(upstream.port) - before
        rows.append({"target": f"gateway, {'stream: true' if stream else 'non-streamed'}", "calls": calls,
                     "new_upstream_conns": opened, "per_call": opened / calls})
    return rows


# Imports app, answers GET /health through the Lambda entry point with an API Gateway REST
# proxy event, then reports which heavy modules that dragged in.
COLD_START_CHILD = r"""
import json, sys
import app
event = {
    "resource": "/health", "path": "/health", "httpMethod": "GET",
    "headers": {"Accept": "*/*", "Host": "abc123.execute-api.us-east-1.amazonaws.com"},
    "multiValueHeaders": {"Accept": ["*/*"], "Host": ["abc123.execute-api.us-east-1.amazonaws.com"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/health", "httpMethod": "GET", "path": "/api/health",
                       "stage": "api", "apiId": "abc123", "requestId": "bench",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
response = app.app(event, None)
heavy = ("boto3", "botocore", "httpx", "pydantic", "sqlite_utils", "sqlite3", "uvicorn", "orjson")
print(json.dumps({"status": response["statusCode"], "body": response["body"],
                  "imported": {m: m in sys.modules for m in heavy}, "modules": len(sys.modules)}), flush=True)
"""


def _timed_child(code: str, env: dict[str, str], wait_for_line: bool) -> tuple[float, str]:
    """ms from spawning `python -c code` to its first output line (or to its exit)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline().decode() if wait_for_line else ""
    if not wait_for_line:
        process.wait()
    elapsed = (time.perf_counter() - started) * 1000
    _, err = process.communicate(timeout=30)
    if process.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{err.decode(errors='replace')}")
    return elapsed, line


def cold_start(tmp: Path, plan: Plan) -> list[Row]:
    env = {**bench_env(), "AIHUB_DB": str(tmp / "cold.db"), "AIHUB_ADMIN_KEY": "bench-admin-key",
           "OPENAI_API_KEY": "sk-bench"}
    _timed_child(COLD_START_CHILD, env, True)  # first run writes .pyc files; not a cold start
    app_ms, bare_ms, report = [], [], {}
    for _ in range(plan.cold_runs):  # alternate, so drift hits both alike
        elapsed, line = _timed_child(COLD_START_CHILD, env, True)
        app_ms.append(elapsed)
        report = json.loads(line)
        bare_ms.append(_timed_child("pass", env, False)[0])
    if report["status"] != 200:
        raise RuntimeError(f"GET /health via the Lambda handler answered {report}")
    app_median, bare_median = statistics.median(app_ms), statistics.median(bare_ms)
    return [{
        "runs": plan.cold_runs, "health_status": report["status"],
        "process_to_response_ms": app_median, "bare_python_ms": bare_median,
        "cold_start_ms": app_median - bare_median, "modules_loaded": report["modules"],
        "imported": report["imported"],
    }]
