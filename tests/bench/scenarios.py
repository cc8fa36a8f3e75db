"""One function per measurement; each returns plain rows (dicts) for the report."""
from __future__ import annotations

import dataclasses
import json
import statistics
import time
import timeit
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.bench.client import percentile
from tests.bench.stack import (
    GatewayUnderTest,
    Upstream,
    admin,
    bench_env,
    chat_body,
    closed_connections,
    direct_anthropic_target,
    direct_target,
    gateway_target,
    run_loadgen,
)
from tests.support import cold_start as cold

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
    translation_samples: int  # per target (4 targets), streamed, concurrency 1
    failover_c1_samples: int  # per gateway (2), concurrency 1
    failover_c16_samples: int  # per gateway (2), concurrency 16
    micro_seconds: float  # about how long each in-process timing runs
    billing_c1_samples: int  # per target (4 per journal mode), concurrency 1
    billing_c16_samples: int  # per target (4), concurrency 16, WAL only
    analytics_calls: int  # rows in the synthetic call log of tests.bench.analytics
    analytics_repeat: int  # timed runs of each analytics query
    recording_seconds: float = 2.0  # each case of tests.bench.recording


FULL = Plan(c1_samples=3000, c1_batch=100, c16_samples=8000, c16_batch=25, ttft_samples=600,
            throughput_calls=8000, cold_runs=10, warmup=30, translation_samples=1200,
            failover_c1_samples=1000, failover_c16_samples=2400, micro_seconds=0.4,
            billing_c1_samples=2500, billing_c16_samples=4000, analytics_calls=1_000_000, analytics_repeat=5)
QUICK = Plan(c1_samples=300, c1_batch=50, c16_samples=1600, c16_batch=10, ttft_samples=100,
             throughput_calls=1600, cold_runs=3, warmup=10, translation_samples=150,
             failover_c1_samples=150, failover_c16_samples=480, micro_seconds=0.1,
             billing_c1_samples=200, billing_c16_samples=320, analytics_calls=100_000, analytics_repeat=3,
             recording_seconds=0.5)


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


def first_token(upstream: Upstream, gateways: list[GatewayUnderTest], plan: Plan) -> list[Row]:
    """stream: true at concurrency 1: request written -> first SSE data chunk, and whole stream."""
    targets = [direct_target(upstream, stream=True), *(gateway_target(gw, stream=True) for gw in gateways)]
    result = run_loadgen({"targets": targets, "concurrency": 1, "per_target": plan.ttft_samples,
                          "batch": 50, "warmup": plan.warmup})["targets"]
    rows = []
    base = result["direct"]
    for name, label in (("direct", "direct -> upstream"), *((gw.label, f"gateway, journal={gw.label}") for gw in gateways)):
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


def throughput(upstream: Upstream, gateways: list[GatewayUnderTest], plan: Plan) -> list[Row]:
    """Closed loop, 16 keep-alive connections; CPU from /proc/<pid>/stat (the gateway's process
    and its workers) over the measured part. The first gateway also serves demo/echo."""
    up_pid = upstream.process.pid
    gw = gateways[0]
    return [
        _throughput_row("direct -> upstream", direct_target(upstream), {"upstream": up_pid}, plan),
        *(_throughput_row(f"gateway, journal={g.label}", gateway_target(g), {"gateway": g.pid, "upstream": up_pid},
                          plan) for g in gateways),
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
        opened = len(closed_connections(upstream.port) - before)
        rows.append({"target": f"gateway, {'stream: true' if stream else 'non-streamed'}", "calls": calls,
                     "new_upstream_conns": opened, "per_call": opened / calls})
    return rows


# The modules whose presence the cold-start rows report (tests/support/cold_start.py lists them all).
COLD_HEAVY = ("boto3", "botocore", "httpx", "aiohttp", "pydantic", "sqlite_utils", "sqlite3", "uvicorn", "orjson",
              "prometheus_client")


def _timed_child(env: dict[str, str], code: str = cold.CHILD) -> tuple[float, dict[str, Any]]:
    """ms from spawning a cold-start child (tests/support/cold_start.py) to its `COLD {json}`
    line; the json, with the CPU the child had used by then (`cpu_ms`: on a shared box it moves
    far less with the load than the wall time)."""
    started = time.perf_counter()
    process = cold.spawn(env, code)
    assert process.stdout is not None
    line = ""
    while not line.startswith("COLD "):  # the call log line comes first
        line = process.stdout.readline().decode()
        if not line:
            break
    elapsed = (time.perf_counter() - started) * 1000
    _, err = process.communicate(timeout=30)
    if process.returncode != 0 or not line:
        raise RuntimeError(f"cold-start child failed:\n{err.decode(errors='replace')}")
    return elapsed, cold.parse(line)


def cold_start(tmp: Path, upstream: Upstream, plan: Plan) -> list[Row]:
    """Each request kind in fresh processes (tests/support/cold_start.py) on a database already
    at the current schema (as a Lambda finds it after the first deploy), alternating with a bare
    interpreter (`cold.BARE`)."""
    env = cold.base_env(bench_env(), upstream.base_url, tmp / "cold.db")
    key = cold.user_key(env)
    rows = []
    for label, path, chat in cold.PATHS:
        child_env = cold.child_env(env, path, key if chat else None)
        _timed_child(child_env)  # the first run writes .pyc files; not a cold start
        app_ms, app_cpu, bare_ms, bare_cpu, report = [], [], [], [], {}
        for _ in range(plan.cold_runs):  # alternate, so drift hits both alike
            elapsed, report = _timed_child(child_env)
            app_ms.append(elapsed)
            app_cpu.append(report["cpu_ms"])
            elapsed, bare = _timed_child(env, cold.BARE)
            bare_ms.append(elapsed)
            bare_cpu.append(bare["cpu_ms"])
        if report["status"] != 200:
            raise RuntimeError(f"{label} via the Lambda handler answered {report}")
        app_median, bare_median = statistics.median(app_ms), statistics.median(bare_ms)
        rows.append({
            "request": label, "runs": plan.cold_runs, "status": report["status"],
            "process_to_response_ms": app_median, "bare_python_ms": bare_median,
            "cold_start_ms": app_median - bare_median,
            "cold_start_cpu_ms": statistics.median(app_cpu) - statistics.median(bare_cpu),
            "modules_loaded": len(report["modules"]),
            "imported": {m: m in report["modules"] for m in COLD_HEAVY},
        })
    return rows


# -- translation cost (issue 3) ---------------------------------------------------------------

TRANSLATION_CHUNKS = 20  # content chunks per streamed answer, in both dialects
TRANSLATION_CHUNK_DELAY_S = 0.0  # the fakes send every event at once: only the gateway's work differs
GOAL_CALL_MS = 0.3  # translation adds less than this per call...
GOAL_CHUNK_US = 20.0  # ...and less than this per content chunk
DIALECTS = (("openai", "openai/gpt-4o-mini"), ("anthropic", "anthropic/claude-sonnet-4-5"))


def translation(upstream: Upstream, gw: GatewayUnderTest, plan: Plan) -> dict[str, list[Row]]:
    """The same streamed chat (20 content chunks) through the gateway to an OpenAI-dialect fake
    (relayed nearly as is) and to an Anthropic-dialect fake (each event translated to an OpenAI
    chunk), each beside the same request sent straight to the fake; all four interleaved at
    concurrency 1. CPU of the gateway and the fake is split per target from
    /proc/<pid>/task/*/schedstat around every batch."""
    targets = [
        direct_target(upstream, stream=True, name="direct openai"),
        direct_anthropic_target(upstream, name="direct anthropic"),
        *(gateway_target(gw, model, stream=True, name=f"gateway {dialect}") for dialect, model in DIALECTS),
        # For scale: the same answer not streamed, so streamed minus this is the cost of relaying chunks.
        gateway_target(gw, DIALECTS[0][1], name="gateway openai, non-streamed"),
    ]
    result = run_loadgen({"targets": targets, "concurrency": 1, "per_target": plan.translation_samples,
                          "batch": 50, "warmup": plan.warmup,
                          "target_cpu_pids": {"gateway": gw.pid, "upstream": upstream.process.pid}})["targets"]
    rows: list[Row] = []
    p50: dict[str, dict[str, float]] = {}
    for dialect, model in DIALECTS:
        for via in ("direct", "gateway"):
            name = f"{via} {dialect}"
            got = result[name]
            ttft, total = got["first_data_ms"], got["total_ms"]
            if len(ttft) != len(total):
                raise RuntimeError(f"{name}: {len(total) - len(ttft)} streams had no data: chunk")
            cpu = {k: v / len(total) for k, v in got["cpu_ms"].items()}
            p50[name] = {"ttft": percentile(ttft, 50), "stream": percentile(total, 50), "gateway_cpu": cpu["gateway"]}
            base = p50.get(f"direct {dialect}") if via == "gateway" else None
            rows.append({
                "target": f"{via} -> {dialect} fake" if via == "direct" else f"gateway {model} -> {dialect} fake",
                "n": len(total), "ttft_p50_ms": p50[name]["ttft"], "stream_p50_ms": p50[name]["stream"],
                "stream_p99_ms": percentile(total, 99),
                "added_ttft_p50_ms": None if base is None else p50[name]["ttft"] - base["ttft"],
                "added_stream_p50_ms": None if base is None else p50[name]["stream"] - base["stream"],
                "gateway_cpu_ms_per_call": cpu["gateway"] if via == "gateway" else None,
                "upstream_cpu_ms_per_call": cpu["upstream"],
            })
    plain = result["gateway openai, non-streamed"]
    plain_cpu = plain["cpu_ms"]["gateway"] / len(plain["total_ms"])
    rows.append({
        "target": f"gateway {DIALECTS[0][1]} -> openai fake, non-streamed", "n": len(plain["total_ms"]),
        "stream_p50_ms": percentile(plain["total_ms"], 50), "stream_p99_ms": percentile(plain["total_ms"], 99),
        "gateway_cpu_ms_per_call": plain_cpu, "upstream_cpu_ms_per_call": plain["cpu_ms"]["upstream"] / len(plain["total_ms"]),
    })
    oai, ant = p50["gateway openai"], p50["gateway anthropic"]
    oai_direct, ant_direct = p50["direct openai"], p50["direct anthropic"]
    chunks = TRANSLATION_CHUNKS

    def row(measure: str, per_call_ms: float, per_chunk: bool = True, goals: bool = True) -> Row:
        per_chunk_us = per_call_ms / chunks * 1000 if per_chunk else None
        return {"measure": measure, "per_call_ms": per_call_ms, "per_chunk_us": per_chunk_us,
                "goal_call": "-" if not goals else "yes" if per_call_ms < GOAL_CALL_MS else "NO",
                "goal_chunk": "-" if per_chunk_us is None or not goals else
                ("yes" if per_chunk_us < GOAL_CHUNK_US else "NO")}

    summary = [
        row("stream p50 via gateway: anthropic - openai", ant["stream"] - oai["stream"]),
        row("added stream p50 (gateway - direct): anthropic - openai",
            (ant["stream"] - ant_direct["stream"]) - (oai["stream"] - oai_direct["stream"])),
        row("TTFT p50 via gateway: anthropic - openai", ant["ttft"] - oai["ttft"], per_chunk=False),
        row("gateway CPU per call: anthropic - openai", ant["gateway_cpu"] - oai["gateway_cpu"]),
        row("for scale, not translation: gateway CPU, openai streamed - non-streamed", oai["gateway_cpu"] - plain_cpu,
            goals=False),
    ]
    return {"rows": rows, "summary": summary}


def _best_us(fn: Callable[[], object], seconds: float, repeat: int = 5) -> float:
    """Best (least disturbed) µs per fn() over `repeat` timeit runs of about seconds/repeat each."""
    timer = timeit.Timer(fn)
    number = 1
    while (took := timer.timeit(number)) < 0.005:  # calibrate on a short run
        number *= 4
    number = max(1, int(number * (seconds / repeat) / took))
    return min(timer.repeat(repeat, number)) / number * 1e6


def _drive(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never suspends (its source is in memory) without an event loop."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("the coroutine suspended")


def translation_micro(plan: Plan) -> list[Row]:
    """In-process, the per-event work of each dialect's stream translator on realistic events:
    chalicelib.providers.openai_compat.translate.StreamState.feed (OpenAI chunks relayed, usage
    read) and chalicelib.providers.anthropic.translate.StreamTranslator.feed (Anthropic events
    to OpenAI chunks). Best of 5 timeit runs."""
    from chalicelib.providers import sse
    from chalicelib.providers.anthropic.translate import StreamTranslator
    from chalicelib.providers.openai_compat.translate import StreamState
    from tests.fakes import anthropic, chat_echo

    pieces = chat_echo.text_pieces(TRANSLATION_CHUNKS)
    oai_frames = chat_echo.stream_frames(pieces)
    ant_frames = anthropic.sse(chat_echo.anthropic_events(pieces))
    def events(frames: tuple[bytes, ...]) -> list[tuple[bytes | None, bytes]]:
        parsed = [sse.parse_event(f.rstrip(b"\n")) for f in frames]
        return [(event, data) for event, data in parsed if data is not None]

    oai_events, ant_events = events(oai_frames), events(ant_frames)

    def new_openai() -> StreamState:
        return StreamState("openai", client_wants_usage=False)

    def new_anthropic() -> StreamTranslator:
        return StreamTranslator("anthropic")

    # One content chunk, steady state: the translator has seen the stream's start.
    oai_state = new_openai()
    oai_event, oai_data = oai_events[1]  # " from": a plain content chunk
    ant_state = new_anthropic()
    for event, data in ant_events[:3]:  # message_start, content_block_start, ping
        ant_state.feed(event, data)
    ant_event, ant_data = next((e, d) for e, d in ant_events if e == b"content_block_delta")

    def whole(make: Callable[[], Any], stream: list[tuple[bytes | None, bytes]]) -> Callable[[], None]:
        def run() -> None:
            translator = make()
            for event, data in stream:
                translator.feed(event, data)
            assert translator.done
        return run

    def parsed(make: Callable[[], Any], frames: tuple[bytes, ...]) -> Callable[[], None]:
        async def source() -> AsyncIterator[bytes]:
            for f in frames:  # one network read per event, as the fakes send them
                yield f

        async def relay() -> None:
            translator = make()
            async for events in sse.batches(source()):
                for event, data in events:
                    translator.feed(event, data)

        return lambda: _drive(relay())

    seconds = plan.micro_seconds
    measures: list[tuple[str, Callable[[], object], Callable[[], object], int]] = [
        ("feed(): one content chunk (steady state)",
         lambda: oai_state.feed(oai_event, oai_data), lambda: ant_state.feed(ant_event, ant_data), 1),
        (f"feed(): every event of a {TRANSLATION_CHUNKS}-chunk stream ({len(oai_events)} vs {len(ant_events)} events)",
         whole(new_openai, oai_events), whole(new_anthropic, ant_events), TRANSLATION_CHUNKS),
        ("SSE parsing (sse.batches) + feed(): the whole stream",
         parsed(new_openai, oai_frames), parsed(new_anthropic, ant_frames), TRANSLATION_CHUNKS),
    ]
    rows = []
    for label, openai_fn, anthropic_fn, per in measures:
        openai_us, anthropic_us = _best_us(openai_fn, seconds), _best_us(anthropic_fn, seconds)
        rows.append({"measure": label, "openai_us": openai_us, "anthropic_us": anthropic_us,
                     "openai_per_chunk_us": openai_us / per, "anthropic_per_chunk_us": anthropic_us / per,
                     "added_per_chunk_us": (anthropic_us - openai_us) / per,
                     "added_per_call_ms": (anthropic_us - openai_us) / 1000 if per > 1 else None})
    return rows


# -- failover (issue 4) -----------------------------------------------------------------------

FLAKY_KEY = "sk-bench-flaky-0000000000000001"  # the fake answers HTTP 500 to every second call with it
FAIL_RATE = 0.5
FAILOVER_MODEL = "gpt-4o-mini"  # bare: openai first, then openrouter (as openai/gpt-4o-mini)
OPENROUTER_PREFIX = "/or"  # openrouter's own path prefix on the fake upstream


def failover_upstream_args() -> list[str]:
    return ["--path-prefix", OPENROUTER_PREFIX, "--fail-key", FLAKY_KEY, "--fail-rate", str(FAIL_RATE)]


def failover_env(upstream: Upstream) -> dict[str, str]:
    return {"OPENAI_BASE_URL": upstream.base_url + "/v1",
            "OPENROUTER_BASE_URL": upstream.base_url + OPENROUTER_PREFIX + "/v1"}


def failover_keys(flaky: bool) -> dict[str, list[str]]:
    """3 credentials on openai (the first one flaky, or not) and 2 on openrouter."""
    first = FLAKY_KEY if flaky else "sk-bench-openai-0000000000000001"
    return {"openai": [first, "sk-bench-openai-0000000000000002", "sk-bench-openai-0000000000000003"],
            "openrouter": ["sk-bench-openrouter-000000000001", "sk-bench-openrouter-000000000002"]}


def add_credentials(gw: GatewayUnderTest, keys: dict[str, list[str]]) -> None:
    """Through the admin API; database credentials replace the environment's for a provider."""
    for provider, values in keys.items():
        for value in values:
            admin(gw, "POST", f"/admin/providers/{provider}/credentials", {"value": value, "weight": 1, "check": False})
        listed = admin(gw, "GET", f"/admin/providers/{provider}")
        if listed["credentials"]["active"] != len(values):
            raise RuntimeError(f"{gw.label}: {provider} has {listed['credentials']} after adding {len(values)}")


def _last_call_id(gw: GatewayUnderTest) -> int:
    data = admin(gw, "GET", "/admin/calls?limit=1")["data"]
    return data[0]["id"] if data else 0


def _call_stats(gw: GatewayUnderTest, after_id: int) -> dict[str, Any]:
    """From the call log (GET /admin/calls): calls since `after_id` (warm-up included), how many
    needed more than one attempt and how long those took in the gateway, their failed attempts,
    and the provider that finally served each call."""
    stats: dict[str, Any] = {"logged": 0, "retried": 0, "failed_attempts": 0, "failed_calls": 0, "openai": 0,
                             "openrouter": 0, "retried_ms": []}
    before: int | None = None
    while True:
        page = admin(gw, "GET", "/admin/calls?limit=5000" + (f"&before={before}" if before else ""))
        for call in page["data"]:
            if call["id"] <= after_id:
                return stats
            stats["logged"] += 1
            attempts = json.loads(call["attempts"]) if call.get("attempts") else []
            stats["failed_attempts"] += sum(1 for a in attempts if a["status"] != 200)
            if len(attempts) > 1:
                stats["retried"] += 1
                stats["retried_ms"].append(call["duration_ms"])
            stats["failed_calls"] += call["status"] != "success"
            if call["status"] == "success" and call["provider"] in ("openai", "openrouter"):
                stats[call["provider"]] += 1
        if not page["has_more"]:
            return stats
        before = page["next_cursor"]


def failover(flaky: GatewayUnderTest, healthy: GatewayUnderTest, conc: int, plan: Plan) -> list[Row]:
    """Non-streamed chat on the bare model name through two gateways set up alike (openai: 3
    credentials, openrouter: 2), one of whose openai credentials fails half its calls with HTTP
    500; interleaved in one run. Client-visible errors are counted, not fatal."""
    gateways = {"all healthy": healthy, "1 of 5 flaky": flaky}
    targets = [gateway_target(gw, FAILOVER_MODEL, name=label) for label, gw in gateways.items()]
    samples = plan.failover_c1_samples if conc == 1 else plan.failover_c16_samples
    marks = {label: _last_call_id(gw) for label, gw in gateways.items()}
    result = run_loadgen({"targets": targets, "concurrency": conc, "per_target": samples,
                          "batch": 50 if conc == 1 else 10, "warmup": plan.warmup, "allow_errors": True,
                          "target_cpu_pids": {label: gw.pid for label, gw in gateways.items()}})
    base = result["targets"]["all healthy"]["total_ms"]
    rows = []
    for label, gw in gateways.items():
        got = result["targets"][label]
        ok = got["total_ms"]
        is_base = label == "all healthy"
        stats = _call_stats(gw, marks[label])
        rows.append({
            "target": f"gateway, {label}", "concurrency": conc, "ok": len(ok), "errors": got["errors"],
            "calls_per_s": (len(ok) + got["errors"]) / got["busy_s"],
            "p50_ms": percentile(ok, 50), "p99_ms": percentile(ok, 99),
            "added_p50_ms": None if is_base else percentile(ok, 50) - percentile(base, 50),
            "added_p99_ms": None if is_base else percentile(ok, 99) - percentile(base, 99),
            "gateway_cpu_ms_per_call": got["cpu_ms"][label] / max(1, len(ok) + got["errors"]),
            "retried_pct": 100 * stats["retried"] / max(1, stats["logged"]),
            "retried_p50_ms": percentile(stats["retried_ms"], 50) if stats["retried_ms"] else None,
            "failed_attempts": stats["failed_attempts"], "via_openrouter": stats["openrouter"],
            "error_messages": got["error_messages"],
        })
    return rows


# -- billing on vs off (issue 5) --------------------------------------------------------------

BILLING_RATE = {"provider": "openai", "model": "gpt-4o-mini", "input_rate": 0.00015, "output_rate": 0.0006}
BILLING_CREDITS = 1_000_000  # per key (each key gets its own account): never runs out here
KEY_LIMITS = {"rpm": 100_000, "tpm": 100_000_000}  # far above what the run sends: never refuses
GOAL_BILLING_MS = 0.5  # billing on adds less than this per call
BILLING_VARIANTS = (("off", "no limits"), ("on", "no limits"), ("off", "rpm/tpm limits"), ("on", "rpm/tpm limits"))


@dataclass(frozen=True)
class BillingPair:
    """Two gateways set up alike (same rate, same kinds of key), AIHUB_BILLING off and on."""

    journal: str
    gateways: dict[str, GatewayUnderTest]  # "off"/"on" -> gateway
    keys: dict[tuple[str, str], GatewayUnderTest]  # (billing, limits) -> the gateway with that key as user_key
    accounts: dict[tuple[str, str], str]  # (billing, limits) -> the key's account id


def billing_env(on: bool) -> dict[str, str]:
    return {"AIHUB_BILLING": "on" if on else "off"}


def setup_billing_pair(journal: str, off: GatewayUnderTest, on: GatewayUnderTest) -> BillingPair:
    """On each gateway: a rate for openai/gpt-4o-mini, a key with plenty of credits, and another
    with plenty of credits and rpm/tpm limits (PATCH /admin/keys/{id}). Then one call per key,
    checked: 200, and the limited key's answer carries its x-ratelimit headers."""
    keys: dict[tuple[str, str], GatewayUnderTest] = {}
    accounts: dict[tuple[str, str], str] = {}
    for billing, gw in (("off", off), ("on", on)):
        admin(gw, "POST", "/admin/model-rates", BILLING_RATE)
        for limits in ("no limits", "rpm/tpm limits"):
            made = admin(gw, "POST", "/admin/keys", {"name": f"bench billing {billing}, {limits}",
                                                     "credits": BILLING_CREDITS})
            if limits != "no limits":
                admin(gw, "PATCH", f"/admin/keys/{made['id']}", KEY_LIMITS)
            label = f"billing {billing}, {limits}"
            user = dataclasses.replace(gw, label=label, user_key=made["key"])
            reply = httpx.post(gw.gateway.url + "/v1/chat/completions", json=chat_body("openai/gpt-4o-mini"),
                               headers={"authorization": f"Bearer {made['key']}"}, timeout=10)
            if reply.status_code != 200:
                raise RuntimeError(f"{journal}, {label}: a first call answered {reply.status_code}: {reply.text[:300]}")
            limited = reply.headers.get("x-ratelimit-limit-requests") == str(KEY_LIMITS["rpm"])
            if limited != (limits != "no limits"):
                raise RuntimeError(f"{journal}, {label}: x-ratelimit-limit-requests is "
                                   f"{reply.headers.get('x-ratelimit-limit-requests')!r}")
            keys[(billing, limits)] = user
            accounts[(billing, limits)] = made["account_id"]
    return BillingPair(journal, {"off": off, "on": on}, keys, accounts)


def billing_check(pair: BillingPair) -> dict[str, Any]:
    """What the accounts say after the runs: credits used and still reserved, per variant."""
    out = {}
    for (billing, limits), account in pair.accounts.items():
        got = admin(pair.gateways[billing], "GET", f"/admin/accounts/{account}")
        out[f"billing {billing}, {limits}"] = {"used": got["used"], "reserved": got["reserved"]}
    return out


def billing_overhead(pair: BillingPair, conc: int, plan: Plan) -> dict[str, list[Row]]:
    """Non-streamed openai/gpt-4o-mini through the same fake upstream, by four keys interleaved
    in one run: billing off and on (two gateways), each without and with rpm/tpm limits. Gateway
    CPU per call is split per target from schedstat (each target's own gateway)."""
    samples = plan.billing_c1_samples if conc == 1 else plan.billing_c16_samples
    targets = [gateway_target(pair.keys[v], name=f"billing {v[0]}, {v[1]}") for v in BILLING_VARIANTS]
    result = run_loadgen({"targets": targets, "concurrency": conc, "per_target": samples,
                          "batch": 50 if conc == 1 else 10, "warmup": plan.warmup, "allow_errors": True,
                          "target_cpu_pids": {b: gw.pid for b, gw in pair.gateways.items()}})["targets"]
    stats: dict[tuple[str, str], dict[str, float]] = {}
    rows = []
    for variant in BILLING_VARIANTS:
        name = f"billing {variant[0]}, {variant[1]}"
        got = result[name]
        ok = got["total_ms"]
        cpu = got["cpu_ms"][variant[0]] / max(1, len(ok) + got["errors"])
        stats[variant] = {"p50": percentile(ok, 50), "p99": percentile(ok, 99), "cpu": cpu}
        rows.append({"target": name, "journal": pair.journal, "concurrency": conc, "n": len(ok),
                     "errors": got["errors"], "p50_ms": stats[variant]["p50"], "p99_ms": stats[variant]["p99"],
                     "gateway_cpu_ms_per_call": cpu, "error_messages": got["error_messages"]})

    def diff(measure: str, a: tuple[str, str], b: tuple[str, str], goal: bool) -> Row:
        d = {k: stats[a][k] - stats[b][k] for k in ("p50", "p99", "cpu")}
        return {"measure": measure, "journal": pair.journal, "concurrency": conc, "added_p50_ms": d["p50"],
                "added_p99_ms": d["p99"], "added_cpu_ms": d["cpu"],
                "goal_p50": ("yes" if d["p50"] < GOAL_BILLING_MS else "NO") if goal else "-",
                "goal_cpu": ("yes" if d["cpu"] < GOAL_BILLING_MS else "NO") if goal else "-"}

    summary = [
        diff("billing on - off, key without limits", ("on", "no limits"), ("off", "no limits"), True),
        diff("billing on - off, key with rpm/tpm limits", ("on", "rpm/tpm limits"), ("off", "rpm/tpm limits"), True),
        diff("limits - none, billing off (limits alone)", ("off", "rpm/tpm limits"), ("off", "no limits"), False),
        diff("limits - none, billing on", ("on", "rpm/tpm limits"), ("on", "no limits"), False),
        diff("billing on + limits - billing off, no limits", ("on", "rpm/tpm limits"), ("off", "no limits"), False),
    ]
    return {"rows": rows, "summary": summary}
