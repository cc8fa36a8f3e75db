"""The load generator, run as its own process: `python -m tests.bench.loadgen < spec.json`.

Its own process (and event loop) so the client's CPU never competes with the orchestrator's,
and so the gateway and upstream are measured from outside, as a real client would see them.

Spec (JSON on stdin)::

    {"targets": [{"name": "direct", "host": "127.0.0.1", "port": 8001, "request": "<latin-1 bytes>"}],
     "concurrency": 16, "per_target": 4000, "batch": 25, "warmup": 20,
     "cpu_pids": {"gateway": 1234}}

Result (JSON on stdout): per target the total and first-data times in ms, the wall time and
CPU ticks of each pid in `cpu_pids` over the measured part only (warm-up excluded).
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tests.bench.client import Connection, Sample


@dataclass
class Target:
    name: str
    host: str
    port: int
    request: bytes
    conns: list[Connection] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()  # the command name may contain spaces
    return int(fields[11]) + int(fields[12])


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _worker(conn: Connection, request: bytes, count: int, out: list[Sample] | None) -> None:
    for _ in range(count):
        sample = await conn.roundtrip(request)
        if out is not None:
            out.append(sample)


async def _batch(target: Target, per_conn: int, record: bool) -> None:
    out = target.samples if record else None
    await asyncio.gather(*(_worker(c, target.request, per_conn, out) for c in target.conns))


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    targets = [Target(t["name"], t["host"], t["port"], t["request"].encode("latin-1")) for t in spec["targets"]]
    concurrency: int = spec["concurrency"]
    batch: int = spec["batch"]  # requests per connection before switching target
    pids: dict[str, int] = spec.get("cpu_pids", {})
    for t in targets:
        t.conns = [await Connection.open(t.host, t.port) for _ in range(concurrency)]
    for t in targets:  # warm-up: pools, caches, lazy imports; discarded
        await _batch(t, spec["warmup"], record=False)

    rounds = max(1, -(-spec["per_target"] // (batch * concurrency)))
    ticks_before = {name: cpu_ticks(pid) for name, pid in pids.items()}
    cpu_before, started = self_cpu_s(), time.perf_counter()
    for r in range(rounds):
        # Alternate targets in short batches, rotating who goes first, so slow drift
        # (thermal, other load on the box) lands on every target alike.
        shift = r % len(targets)
        for t in targets[shift:] + targets[:shift]:
            await _batch(t, batch, record=True)
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
