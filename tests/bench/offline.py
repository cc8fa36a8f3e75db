"""Measurements made by other programs or on files, not by load on a gateway: usage analytics
over a synthetic call log (tests.bench.analytics), SQLite writes from many processes
(tests.deploy.contention_bench), and the size of the web UI's first page."""
from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.bench.stack import ROOT, bench_env
from tests.support.gateway import start_gateway

Row = dict[str, Any]

ANALYTICS_GOAL_MS = 200.0


def analytics(calls: int, repeat: int) -> dict[str, Any]:
    """`python -m tests.bench.analytics --calls N --repeat R` in its own process: its printed
    report, and its figures (--json). Its progress lines go to stderr as they come."""
    with tempfile.TemporaryDirectory(prefix="aihub-bench-analytics-json-") as tmp:
        out = Path(tmp) / "analytics.json"
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tests.bench.analytics", "--calls", str(calls),
                               "--repeat", str(repeat), "--json", str(out)], check=False,
                              cwd=ROOT, env=bench_env(), stdout=subprocess.PIPE, text=True, timeout=900)
        elapsed = time.perf_counter() - began
        if done.returncode != 0:
            return {"calls": calls, "error": f"exit code {done.returncode}", "output": done.stdout, "elapsed_s": elapsed}
        figures = json.loads(out.read_text())
    rows = figures["rows"]
    slowest = max(rows, key=lambda r: r["p50_ms"])
    over = [r for r in rows if r["p50_ms"] >= ANALYTICS_GOAL_MS]
    return {**figures, "output": done.stdout.rstrip("\n"), "elapsed_s": elapsed,
            "slowest": {"query": slowest["query"], "scope": slowest["scope"], "p50_ms": slowest["p50_ms"]},
            "over_goal": len(over)}


CONTENTION_LINE = re.compile(r"^\s*(\w+)\s+([\d.]+) writes/s")


def contention() -> dict[str, Any]:
    """`python -m tests.deploy.contention_bench` (8 processes x 250 writes, rollback journal
    then WAL) in its own process: its printed lines, and the writes/s per journal mode."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tests.deploy.contention_bench"], cwd=ROOT, env=bench_env(),
                          check=False, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - began
    rates = {m.group(1): float(m.group(2)) for line in done.stdout.splitlines() if (m := CONTENTION_LINE.match(line))}
    result: dict[str, Any] = {"output": done.stdout.rstrip("\n"), "writes_per_s": rates, "elapsed_s": elapsed}
    if done.returncode != 0:
        result["error"] = f"exit code {done.returncode}: {done.stderr.strip()[-2000:]}"
    return result


def module_report(module: str, args: list[str] | None = None) -> dict[str, Any]:
    """`python -m <module> [args]` in its own process: its printed table (figures only)."""
    done = subprocess.run([sys.executable, "-m", module, *(args or [])], cwd=ROOT, env=bench_env(), check=False,
                          stdout=subprocess.PIPE, text=True, timeout=600)
    if done.returncode != 0:
        return {"error": f"exit code {done.returncode}", "output": done.stdout}
    return {"output": done.stdout.rstrip("\n")}


def recording(seconds: float) -> dict[str, Any]:
    """`python -m tests.bench.recording` in its own process: calls recorded per second inline on
    the loop (before issue 10) and through the writer thread, both journals, concurrency 1 and 16."""
    with tempfile.TemporaryDirectory(prefix="aihub-bench-recording-json-") as tmp:
        out = Path(tmp) / "recording.json"
        done = subprocess.run([sys.executable, "-m", "tests.bench.recording", "--seconds", str(seconds),
                               "--json", str(out)], cwd=ROOT, env=bench_env(), check=False,
                              stdout=subprocess.PIPE, text=True, timeout=600)
        if done.returncode != 0:
            return {"error": f"exit code {done.returncode}", "output": done.stdout}
        return {"rows": json.loads(out.read_text()), "output": done.stdout.rstrip("\n")}


UI = ROOT / "chalicelib" / "ui"
UI_BUDGET = 300 * 1024  # bytes, gzipped (web/scripts/size.mjs checks the same at build time)
ASSET_REF = re.compile(r'(?:src|href)="\.?/?(assets/[^"]+)"')  # as web/scripts/size.mjs reads index.html


def _make_ui() -> str:
    """`make ui` unless the build is newer than web/'s sources; what was done."""
    existed = (UI / "index.html").is_file()
    stale = subprocess.run(["make", "-q", "chalicelib/ui/.built"], cwd=ROOT, capture_output=True,
                           check=False).returncode != 0
    if existed and not stale:
        return "up to date with web/"
    done = subprocess.run(["make", "--no-print-directory", "ui"], cwd=ROOT, stdout=sys.stderr, stderr=sys.stderr,
                          check=False, timeout=900)
    if done.returncode != 0 or not (UI / "index.html").is_file():
        raise RuntimeError(f"`make ui` failed (exit code {done.returncode}); its output is above")
    return "rebuilt now by `make ui` (web/ had changed)" if existed else "built now by `make ui`"


def _served(files: list[str]) -> list[Row]:
    """GET each file from a real gateway (`aihub serve`) with Accept-Encoding: gzip, br: what it
    sends on the wire (the UI handler, chalicelib/handlers/ui.py, serves the same files)."""
    rows = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="aihub-bench-ui-") as tmp:
        gateway = start_gateway(Path(tmp), {})
        stack.callback(gateway.stop)
        with httpx.Client(base_url=gateway.url, timeout=10) as client:
            for file in files:
                reply = client.get("/" if file == "index.html" else "/" + file,
                                   headers={"accept-encoding": "gzip, br"})
                rows.append({"file": file, "status": reply.status_code,
                             "encoding": reply.headers.get("content-encoding", "none"),
                             "wire_bytes": reply.num_bytes_downloaded})
    return rows


def web_ui() -> dict[str, Any]:
    """index.html and the assets it names (what a browser fetches to show the first page), raw
    and gzipped (level 9, like web/scripts/size.mjs); then what `aihub serve` actually sends."""
    if shutil.which("npm") is None:
        if not (UI / "index.html").is_file():
            return {"skipped": "npm not found and chalicelib/ui/ not built: install Node.js 20.19+ and run `make ui`"}
        build = "npm not found: measured the build already in chalicelib/ui/ (may be older than web/)"
    else:
        build = _make_ui()
    html = (UI / "index.html").read_text()
    files = ["index.html", *dict.fromkeys(ASSET_REF.findall(html))]
    rows = []
    for file in files:
        data = (UI / file).read_bytes()
        rows.append({"file": file, "raw_bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9, mtime=0))})
    all_assets = sorted((UI / "assets").iterdir())
    total = {"file": "total", "raw_bytes": sum(r["raw_bytes"] for r in rows),
             "gzip_bytes": sum(r["gzip_bytes"] for r in rows)}
    return {"build": build, "rows": [*rows, total], "budget_bytes": UI_BUDGET,
            "goal": "yes" if total["gzip_bytes"] < UI_BUDGET else "NO",
            "all_assets": {"files": len(all_assets), "raw_bytes": sum(p.stat().st_size for p in all_assets)},
            "served": _served(files)}
