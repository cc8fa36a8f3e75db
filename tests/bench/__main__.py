"""`python -m tests.bench [--quick] [--json PATH]`: run every measurement, print the tables.

Figures only, never assertions: timings on a shared 2-core box are for reading, not gating.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.bench import litellm_proxy, offline, relay, report, scenarios
from tests.bench.stack import ROOT, start_gateway_process, start_upstream

DEFAULT_JSON = ROOT / ".bench" / "latest.json"


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return (sha or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


_STARTED = time.perf_counter()


def _progress(message: str) -> None:
    elapsed = time.perf_counter() - _STARTED
    print(f"[bench {elapsed:5.1f}s] {message}", file=sys.stderr, flush=True)  # stdout stays just the tables


def _meta(plan: scenarios.Plan, mode: str, started: float, load_before: float) -> dict[str, Any]:
    return {
        "mode": mode, "plan": vars(plan), "python": platform.python_version(), "cpus": os.cpu_count(),
        "commit": _commit(), "elapsed_s": time.perf_counter() - started, "timestamp": int(time.time()),
        # Other work on the box skews every figure: the 1-minute load average before and after.
        "loadavg_1m": [load_before, os.getloadavg()[0]],
    }


def run_cold_start(plan: scenarios.Plan, mode: str) -> dict[str, Any]:
    """The cold-start rows alone (`--cold-start`): a minute, where the whole bench takes many."""
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="aihub-bench-") as tmp_name:
        _progress("cold start: GET /health and the first chat completion through the Lambda handler")
        results = {"cold_start": scenarios.cold_start(Path(tmp_name), start_upstream(stack), plan)}
    results["meta"] = _meta(plan, mode + ", cold start only", started, load_before)
    return results


def run(plan: scenarios.Plan, mode: str) -> dict[str, Any]:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {}
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="aihub-bench-") as tmp_name:
        tmp = Path(tmp_name)
        _progress("starting fake upstream and gateways (WAL, rollback journal)")
        upstream = start_upstream(stack)
        # Two gateways on one upstream, so one interleaved run compares both journal modes.
        wal = start_gateway_process(stack, tmp, upstream, "wal", "wal")
        delete = start_gateway_process(stack, tmp, upstream, "delete", "delete")
        # `aihub serve --workers 2` for the concurrency rows: one process per core.
        two = start_gateway_process(stack, tmp, upstream, "wal, 2 workers", "wal", workers=2)
        # The same server on httpx's own transport: what the aiohttp one saves.
        plain = start_gateway_process(stack, tmp, upstream, "wal, httpx transport", "wal",
                                      {"AIHUB_HTTP_TRANSPORT": "httpx"})

        _progress("added latency, concurrency 1")
        latency = scenarios.added_latency(upstream, [wal, delete, plain], 1, plan)
        _progress("added latency, concurrency 16")
        latency += scenarios.added_latency(upstream, [wal, delete, two], 16, plan)
        results["latency"] = latency
        _progress("time to first token")
        results["ttft"] = scenarios.first_token(upstream, [wal, plain], plan)
        _progress("throughput and CPU per call (one worker, two workers)")
        results["throughput"] = scenarios.throughput(upstream, [wal, plain, two], plan)
        _progress("upstream connection reuse")
        results["upstream_reuse"] = scenarios.upstream_reuse(upstream, wal, plan)
        stack.close()  # stop servers before the next ones start: idle ones would only add noise

        _progress(f"translation cost: streamed chat, {scenarios.TRANSLATION_CHUNKS} chunks, to OpenAI- vs "
                  "Anthropic-dialect fakes")
        with ExitStack() as sub:
            echo = start_upstream(sub, scenarios.TRANSLATION_CHUNK_DELAY_S,
                                  ["--anthropic-echo", "--chunks", str(scenarios.TRANSLATION_CHUNKS)])
            translating = start_gateway_process(sub, tmp, echo, "translate", "wal")
            results["translation"] = scenarios.translation(echo, translating, plan)
        _progress("translation cost in-process (timeit over the stream translators)")
        results["translation_micro"] = scenarios.translation_micro(plan)

        _progress("failover: 5 credentials on openai + openrouter, one failing half its calls (HTTP 500)")
        with ExitStack() as sub:
            flaky_up = start_upstream(sub, extra_args=scenarios.failover_upstream_args())
            env = scenarios.failover_env(flaky_up)
            healthy = start_gateway_process(sub, tmp, flaky_up, "healthy", "wal", env)
            flaky = start_gateway_process(sub, tmp, flaky_up, "flaky", "wal", env)
            scenarios.add_credentials(healthy, scenarios.failover_keys(flaky=False))
            scenarios.add_credentials(flaky, scenarios.failover_keys(flaky=True))
            results["failover"] = scenarios.failover(flaky, healthy, 1, plan)
            _progress("failover, concurrency 16")
            results["failover"] += scenarios.failover(flaky, healthy, 16, plan)
        results["billing"] = {"rows": [], "summary": [], "checks": []}
        # WAL at concurrency 1 and 16; the rollback journal (what EFS needs) at 1, where a write costs most.
        for journal, concurrencies in (("wal", (1, 16)), ("delete", (1,))):
            _progress(f"billing on vs off, journal={journal}: starting two gateways")
            with ExitStack() as sub:
                billing_up = start_upstream(sub)
                off = start_gateway_process(sub, tmp, billing_up, f"billing-off-{journal}", journal,
                                            scenarios.billing_env(False))
                on = start_gateway_process(sub, tmp, billing_up, f"billing-on-{journal}", journal,
                                           scenarios.billing_env(True))
                pair = scenarios.setup_billing_pair(journal, off, on)
                for conc in concurrencies:
                    _progress(f"billing on vs off, journal={journal}, concurrency {conc}")
                    got = scenarios.billing_overhead(pair, conc, plan)
                    results["billing"]["rows"] += got["rows"]
                    results["billing"]["summary"] += got["summary"]
                results["billing"]["checks"].append({"journal": journal, "accounts": scenarios.billing_check(pair)})
        _progress("side by side with LiteLLM's proxy (installing it into .bench/litellm-venv on first use)")
        results["litellm"] = _litellm(tmp, plan)
        _progress(f"relay CPU per streamed chunk: {relay.RELAY_CHUNKS:,}-chunk vs 1-chunk streams, spaced and burst, "
                  "aihub and LiteLLM (tests.bench.relay)")
        results["relay"] = relay.run(plan, tmp)
        _progress("cold start: GET /health and the first chat completion through the Lambda handler")
        with ExitStack() as sub:
            results["cold_start"] = scenarios.cold_start(tmp, start_upstream(sub), plan)
    _progress(f"usage analytics over {plan.analytics_calls:,} calls (tests.bench.analytics, own process)")
    results["analytics"] = offline.analytics(plan.analytics_calls, plan.analytics_repeat)
    _progress("SQLite contention, 8 processes x 250 writes (tests.deploy.contention_bench, own process)")
    results["contention"] = offline.contention()
    _progress("recording calls: inline on the loop vs the writer thread (tests.bench.recording, own process)")
    results["recording"] = offline.recording(plan.recording_seconds)
    _progress("SQLite on emulated EFS: per-call transactions vs the batching writer (tests.bench.efs, own process)")
    results["efs"] = offline.module_report("tests.bench.efs", ["--quick"] if mode == "quick" else [])
    _progress("client surfaces over OpenAI chat, in process (tests.bench.surfaces, own process)")
    results["surfaces"] = offline.module_report("tests.bench.surfaces")
    _progress("auth, resolve and rate lookup per request, in process (tests.bench.hot_path, own process)")
    results["hot_path"] = offline.module_report("tests.bench.hot_path")
    _progress("web UI first page size")
    try:
        results["web_ui"] = offline.web_ui()
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:  # figures only: a note, not a crash
        results["web_ui"] = {"skipped": f"{type(error).__name__}: {error}"}
    results["meta"] = _meta(plan, mode, started, load_before)
    return results


def _litellm(tmp: Path, plan: scenarios.Plan) -> dict[str, Any]:
    """aihub (one worker, WAL) and LiteLLM's proxy on one fresh upstream; a note when LiteLLM is
    unavailable, never a failed run."""
    try:
        python, note = litellm_proxy.ensure_venv()
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return {"skipped": f"LiteLLM could not be installed: {error}"}
    with ExitStack() as sub:
        upstream = start_upstream(sub)
        gateway = start_gateway_process(sub, tmp, upstream, "beside litellm", "wal")
        try:
            proxy = litellm_proxy.start_proxy(sub, tmp, upstream, python)
        except (OSError, RuntimeError) as error:
            return {"skipped": f"LiteLLM's proxy did not start: {error}"}
        rows = litellm_proxy.side_by_side(upstream, gateway, proxy, plan.c1_samples, plan.throughput_calls,
                                          plan.warmup)
    return {**rows, "note": note}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke run in well under a minute")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to save results (default {DEFAULT_JSON})")
    parser.add_argument("--cold-start", action="store_true",
                        help="only the cold-start rows (GET /health and the first chat completion via the Lambda handler)")
    args = parser.parse_args(argv)
    plan, mode = (scenarios.QUICK, "quick") if args.quick else (scenarios.FULL, "full")
    results = run_cold_start(plan, mode) if args.cold_start else run(plan, mode)
    print(report.render(results), flush=True)
    report.save(results, args.json)
    _progress(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
