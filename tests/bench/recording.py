"""`python -m tests.bench.recording`: how fast calls are recorded, written inline on the event
loop (the design before issue 10) or through the writer thread with group commit (now).

Each "call" writes its `model_calls` row as the pipeline's settlement does, on a fresh database
with the real schema, from C concurrent asyncio tasks in one process, for a fixed time. Printed:
recorded calls per second, the latency of one recording (p50, p99), and for the writer how many
calls shared one commit. Figures only, never assertions.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chalicelib.store import calls
from chalicelib.store.calls import CallRecord
from chalicelib.store.db import Store
from chalicelib.store.migrations import migrate
from chalicelib.store.writer import Writer

Row = dict[str, Any]


def _record(n: int) -> CallRecord:
    return CallRecord(request_id=f"req_{n:012d}", created_at=int(time.time() * 1000), type="chat", provider="openai",
                      model="gpt-4o-mini", requested_model="openai/gpt-4o-mini", account_id="acct_bench",
                      key_id="key_bench", prompt_tokens=21, completion_tokens=9, duration_ms=1.5)


async def _run(store: Store, mode: str, concurrency: int, seconds: float) -> Row:
    writer = Writer(store) if mode == "writer" else None
    latencies: list[float] = []
    counter = 0
    deadline = time.perf_counter() + seconds

    async def one_task() -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            counter += 1
            record = _record(counter)
            began = time.perf_counter()
            if writer is None:
                store.write(lambda conn, r=record: calls.insert(conn, r))  # blocks the loop, as before
                await asyncio.sleep(0)  # let the other calls run, as a real server's would
            else:
                await writer.run(lambda conn, r=record: calls.insert(conn, r), durable=True)
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(one_task() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    recorded = store.query_one("SELECT COUNT(*) FROM model_calls")[0]
    row: Row = {"mode": mode, "concurrency": concurrency, "recorded": recorded, "calls_per_s": recorded / elapsed,
                "p50_ms": statistics.median(latencies), "p99_ms": _p99(latencies)}
    if writer is not None:
        row["calls_per_commit"] = writer.jobs / max(1, writer.batches)
        writer.close()
    return row


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(seconds: float = 2.0) -> list[Row]:
    rows: list[Row] = []
    for journal in ("wal", "delete"):
        for concurrency in (1, 16):
            for mode in ("inline", "writer"):
                with tempfile.TemporaryDirectory(prefix="aihub-bench-rec-") as tmp:
                    store = Store(str(Path(tmp) / "rec.db"), journal_mode=journal)
                    migrate(store)
                    row = asyncio.run(_run(store, mode, concurrency, seconds))
                    store.close()
                rows.append({"journal": journal, **row})
                print(f"[recording] {journal} c{concurrency} {mode}: {row['calls_per_s']:.0f} calls/s",
                      file=sys.stderr, flush=True)
    return rows


def render(rows: list[Row]) -> str:
    lines = ["Recording calls: inline on the loop (before) vs writer thread with group commit (now), one process",
             f"{'journal':8} {'conc':>4} {'mode':7} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'per commit':>10}"]
    for r in rows:
        lines.append(f"{r['journal']:8} {r['concurrency']:>4} {r['mode']:7} {r['calls_per_s']:>9.0f} "
                     f"{r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r.get('calls_per_commit', 1.0):>10.1f}")
    for journal in ("wal", "delete"):
        for concurrency in (1, 16):
            pair = {r["mode"]: r for r in rows if r["journal"] == journal and r["concurrency"] == concurrency}
            if len(pair) == 2:
                ratio = pair["writer"]["calls_per_s"] / pair["inline"]["calls_per_s"]
                lines.append(f"  {journal} c{concurrency}: writer records {ratio:.2f}x the calls per second of inline")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.recording", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each case runs")
    parser.add_argument("--json", type=Path, help="also save the figures here")
    args = parser.parse_args(argv)
    rows = measure(args.seconds)
    print(render(rows), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
