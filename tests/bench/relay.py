"""Relay cost per streamed chunk (issue 14): `python -m tests.bench.relay [--quick] [--no-litellm] [--c1]`.

A long stream (RELAY_CHUNKS content chunks) and a 1-chunk stream, both from the OpenAI-dialect
fake to an OpenAI client (the same dialect: the relay's cheapest path), through one gateway
process; the gateway's CPU per call (schedstat of its process tree, split per target around
every batch) of the long stream minus that of the short one, over the chunks between them, is
what relaying one chunk costs, with the per-call work (auth, admission, record) taken out. What
the process spends while idle (timers, background threads), measured before the run, is taken
out of each stream in proportion to its wall time: a long spaced stream lasts seconds. The
fake upstream's own CPU per chunk is shown beside it, for scale.

Two paces: "spaced", one event per millisecond, so every chunk reaches the gateway in a read
of its own as a model's tokens do; and "burst", every event written at once, so reads carry
many events and the relay may batch them. LiteLLM's proxy, where it runs (tests/bench/
litellm_proxy.py), gets the same streams in the same run.

`--c1` measures instead the other figures of issue 14 alone (sections 1 and 2 of `python -m
tests.bench`, one gateway, WAL): added latency of a non-streamed call at concurrency 1, and
added time to the first token.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.bench import litellm_proxy, report, scenarios
from tests.bench.client import percentile
from tests.bench.loadgen import cpu_ns
from tests.bench.scenarios import FULL, QUICK, Plan
from tests.bench.stack import (
    gateway_target,
    run_loadgen,
    start_gateway_process,
    start_upstream,
)

Row = dict[str, Any]
RELAY_CHUNKS = 2000
GOAL_CHUNK_US = 15.0
LONG_MODEL = "openai/gpt-4o-mini"  # OPENAI_BASE_URL: the fake with RELAY_CHUNKS chunks
SHORT_MODEL = "deepseek/deepseek-chat"  # DEEPSEEK_BASE_URL (the same OpenAI-compatible adapter): 1 chunk
PACES = (("spaced 1 ms", 0.001), ("burst", 0.0))
IDLE_S = 2.0
# For scale: what the fake upstream itself spends per chunk of the long stream, sending it (a
# timer and one write per event, where the gateway reads, relays and writes).
FAKE = "fake"


def samples(plan: Plan, pace_s: float) -> int:
    """Long streams per target: a spaced one lasts RELAY_CHUNKS ms, so fewer of those."""
    full = plan is FULL
    return (12 if full else 4) if pace_s else (40 if full else 10)


def idle_rates(pids: dict[str, int]) -> dict[str, float]:
    """CPU ms per second of wall time each process spends serving nothing."""
    before = {name: cpu_ns(pid) for name, pid in pids.items()}
    time.sleep(IDLE_S)
    return {name: (cpu_ns(pid) - before[name]) / 1e6 / IDLE_S for name, pid in pids.items()}


def _per_call(got: dict[str, Any], name: str, idle_ms_per_s: float) -> float:
    """CPU ms per call, less what the process would have spent idle for as long."""
    return got["cpu_ms"][name] / len(got["total_ms"]) - idle_ms_per_s * statistics.fmean(got["total_ms"]) / 1000


def _rows(result: dict[str, Any], pace: str, names: dict[str, str], idle: dict[str, float]) -> list[Row]:
    rows = []
    for label, name in names.items():
        long, short = result[f"{name} long"], result[f"{name} short"]
        cpu_long = _per_call(long, name, idle[name])
        cpu_short = _per_call(short, name, idle[name])
        rows.append({"target": label, "pace": pace, "n": len(long["total_ms"]),
                     "stream_p50_ms": percentile(long["total_ms"], 50), "idle_ms_per_s": idle[name],
                     "cpu_long_ms": cpu_long, "cpu_short_ms": cpu_short,
                     "cpu_per_chunk_us": (cpu_long - cpu_short) / (RELAY_CHUNKS - 1) * 1000,
                     "fake_per_chunk_us": _per_call(long, FAKE, idle[FAKE]) / RELAY_CHUNKS * 1000})
    by_name = {row["target"]: row for row in rows}
    theirs = by_name.get("LiteLLM proxy")
    for row in rows:
        row["goal"] = "yes" if row["cpu_per_chunk_us"] <= GOAL_CHUNK_US else "NO"
        row["vs_litellm"] = "-"
        if theirs is not None and row is not theirs and row["cpu_per_chunk_us"] > 0:
            row["vs_litellm"] = f"{theirs['cpu_per_chunk_us'] / row['cpu_per_chunk_us']:.1f}x less"
    return rows


def _litellm_python() -> tuple[Path | None, str]:
    try:
        python, note = litellm_proxy.ensure_venv()
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return None, f"LiteLLM could not be installed: {error}"
    return python, note


def run(plan: Plan, tmp: Path, with_litellm: bool = True) -> dict[str, Any]:
    """Both paces; per pace its own fakes (the pace and the chunk count are the fake's options),
    one gateway and, where it runs, LiteLLM's proxy."""
    python, note = _litellm_python() if with_litellm else (None, "not asked for (--no-litellm)")
    rows: list[Row] = []
    for pace, delay in PACES:
        with ExitStack() as stack:
            long = start_upstream(stack, delay, ["--chunks", str(RELAY_CHUNKS)])
            short = start_upstream(stack, delay, ["--chunks", "1"])
            gw = start_gateway_process(stack, tmp, long, f"relay {pace}", "wal",
                                       {"DEEPSEEK_BASE_URL": short.base_url + "/v1"})
            targets = [gateway_target(gw, LONG_MODEL, stream=True, name="aihub long"),
                       gateway_target(gw, SHORT_MODEL, stream=True, name="aihub short")]
            pids = {"aihub": gw.pid, FAKE: long.process.pid}
            names = {"aihub (every call recorded)": "aihub"}
            if python is not None:
                try:
                    proxy = litellm_proxy.start_proxy(stack, tmp, long, python, {"short": short})
                except (OSError, RuntimeError) as error:
                    python, note = None, f"LiteLLM's proxy did not start: {error}"
                else:
                    targets += [proxy.target(stream=True, name="litellm long"),
                                proxy.target(stream=True, name="litellm short", model="short")]
                    pids["litellm"] = proxy.pid
                    names["LiteLLM proxy"] = "litellm"
            idle = idle_rates(pids)
            result = run_loadgen({"targets": targets, "concurrency": 1, "per_target": samples(plan, delay),
                                  "batch": 2, "warmup": 2, "target_cpu_pids": pids})["targets"]
            rows += _rows(result, pace, names, idle)
    return {"rows": rows, "chunks": RELAY_CHUNKS, "goal_us": GOAL_CHUNK_US,
            "litellm": note if python is not None else f"skipped: {note}"}


def c1(plan: Plan, tmp: Path) -> str:
    """Added latency (non-streamed) and time to first token at concurrency 1, one gateway."""
    with ExitStack() as stack:
        upstream = start_upstream(stack)
        gw = start_gateway_process(stack, tmp, upstream, "wal", "wal")
        latency = scenarios.added_latency(upstream, [gw], 1, plan)
        ttft = scenarios.first_token(upstream, [gw], plan)
    return "\n\n".join([
        report.table("1) Non-streamed chat, concurrency 1 (goal: added p50 <= 0.8 ms, p99 <= 2 ms)", report.LATENCY,
                     latency),
        report.table("2) Streamed chat, concurrency 1 (goal: added TTFT <= 1.5 ms)", report.TTFT, ttft),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer streams")
    parser.add_argument("--no-litellm", action="store_true", help="aihub alone")
    parser.add_argument("--c1", action="store_true", help="instead: added latency and TTFT at concurrency 1")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="aihub-bench-relay-") as tmp:
        print(c1(plan, Path(tmp)) if args.c1 else report.render_relay(run(plan, Path(tmp), not args.no_litellm)))
    print(f"(load average {load:.2f} before / {os.getloadavg()[0]:.2f} after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
