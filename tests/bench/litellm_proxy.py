"""aihub next to LiteLLM's proxy, on the same fake upstream and the same load generator, in one run.

LiteLLM (pinned below) goes into its own venv under .bench/, installed on first use: its proxy
extras pin versions the gateway's venv must not get. Where it cannot be installed or started,
the section is skipped with the reason. It runs as configured out of the box with no database,
so it keeps no per-call record; aihub records every call (model_calls) in these rows.
"""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tests.bench.client import build_request, percentile
from tests.bench.stack import (
    HOST,
    ROOT,
    UPSTREAM_KEYS,
    GatewayUnderTest,
    Upstream,
    chat_body,
    direct_target,
    gateway_target,
    run_loadgen,
    stop_process,
)
from tests.support.gateway import free_port

VERSION = "1.110.2"  # as requirements-dev.txt pins it for the SDK test
LITELLM = f"litellm[proxy]=={VERSION}"
VENV = ROOT / ".bench" / "litellm-venv"
MASTER_KEY = "sk-bench-litellm-master"
Row = dict[str, Any]


# The [proxy] extra's own requirements, less its split-out packages (litellm-proxy and its
# extras, the enterprise hooks): where those are not on the index, litellm's wheel still carries
# the proxy server (litellm/proxy), which runs without them on a config file and no database.
PROXY_DEPS = (
    "import importlib.metadata as m; print('\\n'.join(r.split(';')[0].strip() for r in m.requires('litellm') or () "
    "if \"extra == 'proxy'\" in r and not r.startswith('litellm')))"
)


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(python), "-m", "pip", "install", "-q", *args], capture_output=True, timeout=1800)


def ensure_venv() -> tuple[Path, str]:
    """The venv's python with LiteLLM's proxy installed (once: a stamp file says how), and a note
    on how it was installed."""
    python, stamp = VENV / "bin" / "python", VENV / ".installed"
    if stamp.exists() and stamp.read_text().startswith(VERSION):
        return python, stamp.read_text().partition(" ")[2]
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=300)
    note = f"{LITELLM}"
    if _pip(python, LITELLM).returncode != 0:
        core = _pip(python, f"litellm=={VERSION}")
        if core.returncode != 0:
            raise RuntimeError(f"pip install litellm=={VERSION} failed: {core.stderr.decode(errors='replace')[-400:]}")
        deps = subprocess.run([str(python), "-c", PROXY_DEPS], capture_output=True, timeout=60, check=True)
        done = _pip(python, *deps.stdout.decode().split())
        if done.returncode != 0:
            raise RuntimeError(f"LiteLLM's proxy requirements failed: {done.stderr.decode(errors='replace')[-400:]}")
        note = f"litellm=={VERSION} with its proxy requirements; litellm-proxy=={VERSION} is not on this index"
    stamp.write_text(f"{VERSION} {note}")
    return python, note


class Proxy:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.port = process, port

    @property
    def pid(self) -> int:
        return self.process.pid

    def target(self, stream: bool = False, name: str = "litellm", model: str = "gpt-4o-mini") -> dict[str, Any]:
        request = build_request(HOST, self.port, "/v1/chat/completions", chat_body(model, stream), MASTER_KEY)
        return {"name": name, "host": HOST, "port": self.port, "request": request.decode("latin-1")}


def _model(name: str, upstream: Upstream) -> str:
    return (f"  - model_name: {name}\n"
            "    litellm_params:\n"
            "      model: openai/gpt-4o-mini\n"
            f"      api_base: {upstream.base_url}/v1\n"
            f"      api_key: {UPSTREAM_KEYS['OPENAI_API_KEY']}\n")


def start_proxy(stack: ExitStack, tmp: Path, upstream: Upstream, python: Path,
                more: dict[str, Upstream] | None = None) -> Proxy:
    """`litellm --config` with model gpt-4o-mini on the fake upstream (and each model of `more` on
    its own fake), one worker, logging quiet."""
    config = tmp / "litellm.yaml"
    models = {"gpt-4o-mini": upstream, **(more or {})}
    config.write_text(
        "model_list:\n"
        + "".join(_model(name, up) for name, up in models.items())
        + "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    port = free_port()
    log = open(tmp / "litellm.log", "wb")
    stack.callback(log.close)
    litellm = python.parent / "litellm"
    process = subprocess.Popen([str(litellm), "--config", str(config), "--host", HOST, "--port", str(port),
                                "--num_workers", "1"], cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                               env={"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp),
                                    "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    stack.callback(stop_process, process)
    deadline = time.monotonic() + 120  # its import alone takes seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"litellm exited: {(tmp / 'litellm.log').read_text(errors='replace')[-600:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/health/liveliness", timeout=1).status_code == 200:
                return Proxy(process, port)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("litellm did not come up in 120 s")


def _latency(result: dict[str, Any], name: str, label: str, base: list[float]) -> Row:
    values = result[name]["total_ms"]
    return {"target": label, "concurrency": 1, "n": len(values), "p50_ms": percentile(values, 50),
            "p99_ms": percentile(values, 99), "added_p50_ms": percentile(values, 50) - percentile(base, 50),
            "added_p99_ms": percentile(values, 99) - percentile(base, 99)}


def side_by_side(upstream: Upstream, gw: GatewayUnderTest, proxy: Proxy, c1_samples: int, c16_calls: int,
                 warmup: int) -> dict[str, list[Row]]:
    """Concurrency 1 (interleaved batches), streamed TTFT, then 16 connections each with CPU per call."""
    direct = direct_target(upstream)
    result = run_loadgen({"targets": [direct, gateway_target(gw, name="aihub"), proxy.target()],
                          "concurrency": 1, "per_target": c1_samples, "batch": 50, "warmup": warmup})["targets"]
    base = result["direct"]["total_ms"]
    label = "aihub (WAL, every call recorded)"
    latency = [_latency(result, "aihub", label, base),
               _latency(result, "litellm", "LiteLLM proxy", base)]

    streamed = run_loadgen({"targets": [direct_target(upstream, stream=True),
                                        gateway_target(gw, stream=True, name="aihub"), proxy.target(stream=True)],
                            "concurrency": 1, "per_target": max(50, c1_samples // 3), "batch": 25,
                            "warmup": warmup})["targets"]
    first = streamed["direct"]["first_data_ms"]
    ttft = [{"target": label, "n": len(streamed[name]["first_data_ms"]),
             "ttft_p50_ms": percentile(streamed[name]["first_data_ms"], 50),
             "added_ttft_p50_ms": percentile(streamed[name]["first_data_ms"], 50) - percentile(first, 50)}
            for name, label in (("aihub", "aihub"), ("litellm", "LiteLLM proxy"))]

    rows = []
    for name, target, pid in ((label, gateway_target(gw, name="aihub"), gw.pid),
                              ("LiteLLM proxy", proxy.target(), proxy.pid)):
        got = run_loadgen({"targets": [target], "concurrency": 16, "per_target": c16_calls,
                           "batch": -(-c16_calls // 16), "warmup": warmup, "cpu_pids": {"gateway": pid}})
        calls = len(got["targets"][target["name"]]["total_ms"])
        rows.append({"target": name, "concurrency": 16, "calls": calls, "rps": calls / got["wall_s"],
                     "gateway_cpu_ms_per_call": got["cpu_ticks"]["gateway"] / got["clk_tck"] * 1000 / calls,
                     "p50_ms": percentile(got["targets"][target["name"]]["total_ms"], 50)})
    return {"latency": latency, "ttft": ttft, "throughput": rows}
