"""Recorded calls/s with SQLite on an emulated EFS: `python -m tests.bench.efs [--quick] [--json PATH]`.

NFS cannot run on the bench machine (no NFS client or server in its kernel, no netem), so the
database lives in a local directory seen through efs_delay.so (tests/bench/efs_delay.c, built
here with gcc): an LD_PRELOAD layer that adds a fixed delay to every sync, byte-range lock
request, read and open/close/unlink of files in that directory, and counts them. Rows:

- per-call transactions, 1 / 4 / 16 writer processes: what every Lambda container does today
  when SQLite on EFS is written directly. Each writer is its own process with its own Store
  (rollback journal, synchronous=FULL, BEGIN IMMEDIATE, the busy timeout and write budget of
  production) and settles each call in its own transaction: the in-flight row ends, the hold is
  released and the cost charged (chalicelib.billing.accounting), the call row is inserted
  (chalicelib.store.calls).
- the batching writer, 10 and 100 calls per transaction: one process applies the same
  statements for N calls in one transaction (one savepoint per call), as the SQS-fed writer
  function does with those batch sizes; the producers never touch SQLite.

Every row starts from a copy of one database that already holds a history of calls (and their
ledger rows), so that its B-trees have the depth of a database in use: after another process's
commit SQLite re-reads every page it touches, and over NFS each read is a round trip.

After each row the database is checked: every call recorded exactly once (count and distinct
request ids), one charge per call in the ledger, no hold left. Figures only, never a pass/fail
on timings; a row whose check fails is printed as such and makes the exit code 1.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.store.calls import CallRecord

ROOT = Path(__file__).resolve().parents[2]
SHIM_SOURCE = Path(__file__).with_name("efs_delay.c")
HOLD = 1_000_000  # minor units held per call (0.001 credit); the charge is a little less
COST = 700_000
STARTING_BALANCE = 10**15


@dataclass(frozen=True)
class Delays:
    """Per-operation delays of the emulated mount, in microseconds (see efs_delay.c)."""

    lock_us: int = 1000  # one round trip at ~1 ms
    sync_us: int = 2700  # EFS's published write latency (Regional, elastic throughput)
    meta_us: int = 1000
    read_us: int = 1000  # EFS's published read latency, same table

    def env(self, directory: Path) -> dict[str, str]:
        return {"EFS_DELAY_DIR": str(directory), "EFS_DELAY_LOCK_US": str(self.lock_us),
                "EFS_DELAY_SYNC_US": str(self.sync_us), "EFS_DELAY_META_US": str(self.meta_us),
                "EFS_DELAY_READ_US": str(self.read_us)}


@dataclass(frozen=True)
class Plan:
    writers: tuple[int, ...] = (1, 4, 16)
    per_call_calls: int = 320  # calls per per-call row, split among its writers
    batch_sizes: tuple[int, ...] = (10, 100)
    batches: int = 60  # transactions per batching row
    history: int = 50_000  # calls (and ledger rows) already in the database


FULL = Plan()
QUICK = Plan(writers=(1, 4), per_call_calls=40, batch_sizes=(10,), batches=8, history=2_000)


# --- what a writer does -----------------------------------------------------------------------

def _message(call: dict[str, Any]) -> Any:
    """A billed call's settlement, as the gateway sends it to the call log."""
    from chalicelib.calllog.message import Message
    from chalicelib.hotstate.base import Hold
    from chalicelib.store.calls import CallRecord

    record = CallRecord(**call["record"])
    return Message("settle", record, Hold(record.request_id, record.account_id, None, HOLD, None), cost=call["cost"])


def settle_batch(conn: sqlite3.Connection, batch: Sequence[dict[str, Any]]) -> None:
    """The calls of one transaction through the call log's own apply (chalicelib/calllog), one
    savepoint each: what the per-call path commits one at a time and the writer in batches."""
    from chalicelib.calllog.apply import apply_batch

    for ok, value in apply_batch(conn, [_message(call) for call in batch]):
        if not ok:
            raise value


COUNTED = ("locks", "syncs", "metas", "reads")  # the order of efs_delay_counts()


def _shim_counts() -> list[int]:
    out = (ctypes.c_ulong * len(COUNTED))()
    ctypes.CDLL(None).efs_delay_counts(out)  # the preloaded layer's symbol, found in the process
    return list(out)


def worker(spec_path: str) -> None:
    """One writer process: open the Store (as a warm container has it open), say ready, wait
    for the go on stdin, write, print its figures as one JSON line."""
    from chalicelib.store.db import DatabaseUnavailable, Store

    spec = json.loads(Path(spec_path).read_text())
    store = Store(spec["db"], journal_mode="delete", busy_timeout_ms=2_000, write_budget_ms=10_000)
    store.query_one("SELECT 1 FROM model_calls LIMIT 1")  # connection open, schema read: warm
    units = spec["units"]  # one list of calls per transaction
    print("ready", flush=True)
    sys.stdin.readline()
    before = _shim_counts()
    durations, over_budget = [], 0
    began = time.perf_counter()
    for unit in units:
        while True:
            start = time.perf_counter()
            try:
                store.write(lambda conn, unit=unit: settle_batch(conn, unit))
            except DatabaseUnavailable:
                over_budget += 1  # the gateway's writer keeps the settlement and tries again
                continue
            durations.append((time.perf_counter() - start) * 1000)
            break
    ended = time.perf_counter()
    after = _shim_counts()
    print(json.dumps({"began": began, "ended": ended, "durations_ms": durations, "over_budget": over_budget,
                      **{kind: a - b for kind, a, b in zip(COUNTED, after, before, strict=True)}}), flush=True)


# --- the parent: set-up, run, check -----------------------------------------------------------

@dataclass
class Row:
    mode: str
    writers: int
    batch: int
    calls: int
    transactions: int
    seconds: float
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    locks_per_call: float
    syncs_per_call: float
    metas_per_call: float
    reads_per_call: float
    over_budget: int
    check: str
    ratio: float | None = None


def build_shim(directory: Path) -> tuple[Path | None, str]:
    """efs_delay.so compiled into `directory`; (None, why) without a C compiler."""
    compiler = shutil.which(os.environ.get("CC", "gcc"))
    if compiler is None:
        return None, "gcc not found: the delay layer cannot be built"
    out = directory / "efs_delay.so"
    done = subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(out), str(SHIM_SOURCE), "-ldl"],
                          capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        return None, f"gcc failed: {done.stderr.strip()[-500:]}"
    return out, ""


def _call(request_id: str, account: str, i: int) -> CallRecord:
    from chalicelib.store.calls import CallRecord

    return CallRecord(request_id=request_id, created_at=int(time.time() * 1000), type="chat", account_id=account,
                      provider="openai", model="gpt-4o-mini", requested_model="gpt-4o-mini", http_status=200,
                      prompt_tokens=120 + i % 50, completion_tokens=40 + i % 30, duration_ms=850.0, ttfb_ms=300.0)


def make_history(db: Path, calls: int) -> None:
    """A migrated database holding `calls` settled calls of one account, with their charges."""
    from chalicelib.store import calls as call_rows
    from chalicelib.store import keys, ledger
    from chalicelib.store.db import Store
    from chalicelib.store.migrations import migrate

    store = Store(str(db), journal_mode="delete")
    migrate(store)

    def history(conn: sqlite3.Connection) -> None:
        account = keys.create_account(conn, "history")
        ledger.grant(conn, account, STARTING_BALANCE)
        for i in range(calls):
            record = _call(f"past-{i}", account, i)
            record.credits = COST
            call_rows.insert(conn, record)
            ledger.add(conn, account, -COST, kind="charge", request_id=record.request_id)

    store.write(history)
    store.close()


def _prepare(db: Path, writers: int, calls_each: int) -> list[list[dict[str, Any]]]:
    """One funded account per writer and a hold (with its in-flight row) for every call, as
    admission leaves them, added to the database at `db` (migrated here if new); the calls,
    per writer."""
    from chalicelib.billing import accounting
    from chalicelib.store import inflight, keys, ledger
    from chalicelib.store.db import Store
    from chalicelib.store.migrations import migrate

    store = Store(str(db), journal_mode="delete")
    migrate(store)
    per_writer: list[list[dict[str, Any]]] = []

    def setup(conn: sqlite3.Connection) -> None:
        for w in range(writers):
            account = keys.create_account(conn, f"writer {w}")
            ledger.grant(conn, account, STARTING_BALANCE)
            mine = []
            for i in range(calls_each):
                record = _call(f"efs-{w}-{i}", account, i)
                inflight.begin(conn, record)
                if not accounting.reserve(conn, record.request_id, account, None, HOLD):
                    raise RuntimeError("set-up: the hold was refused")
                mine.append({"record": asdict(record), "cost": COST})
            per_writer.append(mine)

    store.write(setup)
    store.close()
    return per_writer


def _check(db: Path, expected: int) -> str:
    """Every call of the run (request ids `efs-...`, not the history's) recorded and charged once."""
    conn = sqlite3.connect(db)
    try:
        rows, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM model_calls"
                                      " WHERE request_id LIKE 'efs-%'").fetchone()
        charges = conn.execute("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM credit_ledger"
                               " WHERE kind = 'charge' AND request_id LIKE 'efs-%'").fetchone()
        holds = conn.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
        inflight = conn.execute("SELECT COUNT(*) FROM inflight").fetchone()[0]
    finally:
        conn.close()
    problems = []
    if rows != expected or distinct != expected:
        problems.append(f"{rows} call rows ({distinct} distinct) for {expected} calls")
    if tuple(charges) != (expected, expected):
        problems.append(f"{charges[0]} charges ({charges[1]} distinct) for {expected} calls")
    if holds or inflight:
        problems.append(f"{holds} holds and {inflight} in-flight rows left")
    return "; ".join(problems) or f"ok: {expected} rows, {expected} distinct, 0 lost, 0 duplicated"


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_row(shim: Path, delays: Delays, workdir: Path, history: Path, *, writers: int, calls_each: int, batch: int,
            mode: str) -> Row:
    """One row: set up on a copy of `history`, start the writers under the delay layer, let
    them go together, check."""
    directory = Path(tempfile.mkdtemp(prefix=f"{mode}-{writers}-{batch}-", dir=workdir))
    db = directory / "aihub.db"
    shutil.copyfile(history, db)
    per_writer = _prepare(db, writers, calls_each)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
    env.update(delays.env(directory), LD_PRELOAD=str(shim), PYTHONPATH=str(ROOT))
    procs = []
    for w, mine in enumerate(per_writer):
        spec = directory / f"writer-{w}.json"
        spec.write_text(json.dumps({"db": str(db), "units": [mine[i:i + batch] for i in range(0, len(mine), batch)]}))
        procs.append(subprocess.Popen([sys.executable, "-m", "tests.bench.efs", "--worker", str(spec)], cwd=ROOT,
                                      env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"writer exited before it was ready (code {p.wait()})")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"a writer failed with exit code {p.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    calls = writers * calls_each
    seconds = max(r["ended"] for r in results) - min(r["began"] for r in results)
    durations = [d for r in results for d in r["durations_ms"]]
    row = Row(mode=mode, writers=writers, batch=batch, calls=calls, transactions=len(durations), seconds=seconds,
              calls_per_s=calls / seconds, p50_ms=statistics.median(durations), p99_ms=_percentile(durations, 0.99),
              locks_per_call=sum(r["locks"] for r in results) / calls,
              syncs_per_call=sum(r["syncs"] for r in results) / calls,
              metas_per_call=sum(r["metas"] for r in results) / calls,
              reads_per_call=sum(r["reads"] for r in results) / calls,
              over_budget=sum(r["over_budget"] for r in results), check=_check(db, calls))
    shutil.rmtree(directory, ignore_errors=True)
    return row


def run(plan: Plan, delays: Delays, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="aihub-efs-") as tmp_name:
        tmp = Path(tmp_name)
        shim, why = build_shim(tmp)
        if shim is None:
            return {"skipped": why}
        progress(f"a database with a history of {plan.history:,} calls")
        history = tmp / "history.db"
        make_history(history, plan.history)
        rows: list[Row] = []
        for writers in plan.writers:
            progress(f"per-call transactions, {writers} writer process(es)")
            rows.append(run_row(shim, delays, tmp, history, writers=writers, calls_each=max(1, plan.per_call_calls // writers),
                                batch=1, mode="per-call"))
        for size in plan.batch_sizes:
            progress(f"batching writer, {size} calls per transaction")
            rows.append(run_row(shim, delays, tmp, history, writers=1, calls_each=size * plan.batches, batch=size,
                                mode="batching"))
    baseline = next((r for r in rows if r.mode == "per-call" and r.writers == max(plan.writers)), None)
    for r in rows:
        r.ratio = r.calls_per_s / baseline.calls_per_s if baseline else None
    return {"delays": asdict(delays), "plan": asdict(plan), "rows": [asdict(r) for r in rows],
            "baseline_writers": baseline.writers if baseline else None,
            "loadavg": {"before": list(load_before), "after": list(os.getloadavg())}}


def render(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"SQLite on emulated EFS: skipped ({result['skipped']})"
    d = result["delays"]
    lines = [
        f"history: {result['plan']['history']:,} calls already in the database",
        (f"SQLite on emulated EFS (LD_PRELOAD delay layer, not NFS): {d['lock_us'] / 1000:g} ms per lock request, "
        f"{d['sync_us'] / 1000:g} ms per sync, {d['read_us'] / 1000:g} ms per read, {d['meta_us'] / 1000:g} ms per "
         "open/close/unlink; rollback journal, "
        "synchronous=FULL, BEGIN IMMEDIATE; per call: end in-flight row, release hold + charge, insert call row"),
        (f"{'mode':<10} {'writers':>7} {'batch':>5} {'calls':>6} {'tx':>5} {'calls/s':>9} {'tx p50 ms':>9} "
        f"{'tx p99 ms':>9} {'locks/call':>10} {'syncs/call':>10} {'reads/call':>10} {'meta/call':>9} {'retried':>7} "
        f"{'x per-call@' + str(result['baseline_writers']):>14}  check"),
    ]
    for r in result["rows"]:
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] is not None else "-"
        lines.append(
            f"{r['mode']:<10} {r['writers']:>7} {r['batch']:>5} {r['calls']:>6} {r['transactions']:>5} "
            f"{r['calls_per_s']:>9.1f} {r['p50_ms']:>9.1f} {r['p99_ms']:>9.1f} {r['locks_per_call']:>10.2f} "
            f"{r['syncs_per_call']:>10.2f} {r['reads_per_call']:>10.2f} {r['metas_per_call']:>9.2f} {r['over_budget']:>7} {ratio:>14}  {r['check']}")
    batching = [r for r in result["rows"] if r["mode"] == "batching" and r["ratio"] is not None]
    if batching:
        best = max(batching, key=lambda r: r["ratio"])
        lines.append(f"goal: the batching writer >= 50x the per-call path at {result['baseline_writers']} writers: "
                     f"{'yes' if best['ratio'] >= 50 else 'NO'} ({best['ratio']:.1f}x at batch {best['batch']})")
    load = result["loadavg"]
    lines.append("load average (1, 5, 15 min): before " + ", ".join(f"{x:.2f}" for x in load["before"])
                 + "; after " + ", ".join(f"{x:.2f}" for x in load["after"]))
    lines.append("'retried' = transactions that ran past the 10 s write budget and were tried again "
                 "(the gateway keeps such a settlement and retries it)")
    return "\n".join(lines)


def failed(result: dict[str, Any]) -> bool:
    return any(not r["check"].startswith("ok") for r in result.get("rows", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.efs", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 4 writers, batch 10, few calls: a smoke run")
    parser.add_argument("--json", type=Path, help="also save the figures here")
    parser.add_argument("--lock-us", type=int, default=Delays.lock_us)
    parser.add_argument("--sync-us", type=int, default=Delays.sync_us)
    parser.add_argument("--meta-us", type=int, default=Delays.meta_us)
    parser.add_argument("--read-us", type=int, default=Delays.read_us)
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one writer process
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    delays = Delays(args.lock_us, args.sync_us, args.meta_us, args.read_us)
    result = run(QUICK if args.quick else FULL, delays,
                 lambda message: print(f"[efs] {message}", file=sys.stderr, flush=True))
    print(render(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 1 if failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
