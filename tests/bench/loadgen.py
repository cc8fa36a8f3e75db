"""The load generator, run as its own process: `python -m tests.bench.loadgen < spec.json`.

Its own process (and event loop) so the client's CPU never competes with the orchestrator's,
and so the gateway and upstream are measured from outside, as a real client would see them.

Spec (JSON on stdin)::

    {"targets": [{"name": "direct", "host": "127.0.0.1", "port": 8001, "request": "<latin-1 bytes>"}],
     "concurrency": 16, "per_target": 4000, "batch": 25, "warmup": 20,
     "cpu_pids": {"gateway": 1234},          # optional: CPU of these processes over the whole run
     "target_cpu_pids": {"gateway": 1234},   # optional: their CPU split by the target being served
     "allow_errors": false}                  # optional: count non-2xx answers instead of stopping

Result (JSON on stdout): per target the total and first-data times in ms of its successful
calls, its error count and first error messages, the wall time of its batches, and (with
`target_cpu_pids`) the CPU ms each pid spent while that target's batches ran; the wall time and CPU ticks of each pid in
`cpu_pids` over the measured part only (warm-up excluded).
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tests.bench.client import Connection, HttpError, Sample

# uvicorn closes a keep-alive connection after 5 s idle (timeout_keep_alive). Interleaved
# batches can leave a target's connections idle that long, so older ones are reopened
# before a batch, outside any timing.
MAX_IDLE_S = 3.0
MAX_ERROR_MESSAGES = 3


@dataclass
class Target:
    name: str
    host: str
    port: int
    request: bytes
    conns: list[Connection] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    cpu_ns: dict[str, int] = field(default_factory=dict)  # pid label -> CPU while this target ran
    busy_s: float = 0.0  # wall time of this target's measured batches


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants: `aihub serve --workers N` (and LiteLLM's proxy) serve
    from child processes, whose CPU reaches the parent's counters only when they exit."""
    found, index = [pid], 0
    while index < len(found):
        for path in glob.glob(f"/proc/{found[index]}/task/*/children"):
            try:
                with open(path, "rb") as f:
                    found += [int(child) for child in f.read().split()]
            except OSError:  # it just ended
                pass
        index += 1
    return found


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process and its descendants, in clock ticks (fields 14 and 15 of
    /proc/<pid>/stat)."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()  # the command name may contain spaces
        total += int(fields[11]) + int(fields[12])
    return total


def cpu_ns(pid: int) -> int:
    """CPU time of all threads of a process and its descendants in ns (/proc/<pid>/task/*/schedstat,
    first field): fine enough to split between batches of a few ms, unlike clock ticks."""
    total = 0
    for path in (p for member in process_tree(pid) for p in glob.glob(f"/proc/{member}/task/*/schedstat")):
        try:
            with open(path, "rb") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):  # a thread that just ended
            pass
    return total


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _fresh(target: Target, index: int) -> Connection:
    old = target.conns[index]
    await old.close()
    target.conns[index] = await Connection.open(target.host, target.port)
    return target.conns[index]


async def _worker(target: Target, index: int, count: int, record: bool, allow_errors: bool) -> None:
    conn = target.conns[index]
    if conn.idle_s() > MAX_IDLE_S or conn.reader.at_eof():
        conn = await _fresh(target, index)
    for _ in range(count):
        try:
            sample = await conn.roundtrip(target.request)
        except HttpError as error:
            if not allow_errors:
                raise
            if record:
                target.errors += 1
                if len(target.error_messages) < MAX_ERROR_MESSAGES:
                    target.error_messages.append(str(error))
            if error.closed:
                conn = await _fresh(target, index)
            continue
        if record:
            target.samples.append(sample)


async def _batch(target: Target, per_conn: int, record: bool, allow_errors: bool = False) -> None:
    await asyncio.gather(*(_worker(target, i, per_conn, record, allow_errors) for i in range(len(target.conns))))


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    targets = [Target(t["name"], t["host"], t["port"], t["request"].encode("latin-1")) for t in spec["targets"]]
    concurrency: int = spec["concurrency"]
    batch: int = spec["batch"]  # requests per connection before switching target
    pids: dict[str, int] = spec.get("cpu_pids", {})
    split_pids: dict[str, int] = spec.get("target_cpu_pids", {})
    allow_errors: bool = spec.get("allow_errors", False)
    for t in targets:
        t.conns = [await Connection.open(t.host, t.port) for _ in range(concurrency)]
        t.cpu_ns = {name: 0 for name in split_pids}
    for t in targets:  # warm-up: pools, caches, lazy imports; discarded
        await _batch(t, spec["warmup"], record=False, allow_errors=allow_errors)

    rounds = max(1, -(-spec["per_target"] // (batch * concurrency)))
    ticks_before = {name: cpu_ticks(pid) for name, pid in pids.items()}
    cpu_before, started = self_cpu_s(), time.perf_counter()
    for r in range(rounds):
        # Alternate targets in short batches, rotating who goes first, so slow drift
        # (thermal, other load on the box) lands on every target alike.
        shift = r % len(targets)
        for t in targets[shift:] + targets[:shift]:
            before = {name: cpu_ns(pid) for name, pid in split_pids.items()}
            began = time.perf_counter()
            await _batch(t, batch, record=True, allow_errors=allow_errors)
            t.busy_s += time.perf_counter() - began
            for name, pid in split_pids.items():
                t.cpu_ns[name] += cpu_ns(pid) - before[name]
    wall_s = time.perf_counter() - started
    client_cpu_s = self_cpu_s() - cpu_before
    ticks = {name: cpu_ticks(pid) - ticks_before[name] for name, pid in pids.items()}
    for t in targets:
        for c in t.conns:
            await c.close()
    return {
        "wall_s": wall_s,
        "client_cpu_s": client_cpu_s,
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "cpu_ticks": ticks,
        "targets": {
            t.name: {
                "total_ms": [s.total_ms for s in t.samples],
                "first_data_ms": [s.first_data_ms for s in t.samples if s.first_data_ms is not None],
                "errors": t.errors,
                "busy_s": t.busy_s,
                "error_messages": t.error_messages,
                "cpu_ms": {name: ns / 1e6 for name, ns in t.cpu_ns.items()},
            }
            for t in targets
        },
    }


def _event_loop_runner() -> Any:
    try:
        import uvloop  # a faster loop keeps the client's own overhead small

        return uvloop.run
    except ImportError:
        return asyncio.run


def main() -> int:
    spec = json.load(sys.stdin)
    result = _event_loop_runner()(run(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
